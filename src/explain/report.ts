import type { Baseline } from "../baseline/baseline.js";
import type { NetmonConfig } from "../config/schema.js";
import type { Policy } from "../detection/policy.js";
import type { DnsNameInfo } from "../flows/dns-cache.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { Proto } from "../model/events.js";
import type { Mode } from "../model/mode.js";
import type { AllowedBy } from "../model/verdict.js";
import type { LedgerEntry } from "./connection-ledger.js";

/** What `netmon explain` looks at: the daemon's live state, or a replay inventory + baseline + config. */
export interface ExplainSources {
  config: NetmonConfig;
  containers: { get(id: string): ContainerInfo | undefined; all(): ContainerInfo[] };
  /** The engine's policy: the verdict comes from it, never from a second implementation. */
  policy: Policy;
  baseline: Baseline;
  /** The names a container's DNS answers gave an address (the engine's DNS cache, read-only); none offline. */
  dns: { inspect(scope: string, ip: string, nowMs: number): DnsNameInfo[] } | null;
  /** Recent destinations of a container (the daemon's ledger); none offline. */
  recent: { of(containerId: string): LedgerEntry[] } | null;
  now: number;
}

export type EvidenceKind = "rule" | "label" | "declared" | "resolver" | "dns" | "baseline";

/** A rule, label, DNS name or baseline entry that matches the question, or nearly does. */
export interface Evidence {
  kind: EvidenceKind;
  /** Where it is written: "policy.workloads[0].egress[1]", "label netmon.egress", "baseline", "DNS cache". */
  source: string;
  /** The rule, entry or name as written. */
  text: string;
  match: "match" | "near";
  /** Why it matches, or what differs. */
  why: string;
  /** Baseline entries and names seen on connections: when first and last seen (ms), and how often. */
  seen?: { first: number; last: number; count: number };
  /** A name from the DNS cache: when its answer was seen (ms), its TTL (s) and what keeps it. */
  answer?: Omit<DnsNameInfo, "live">;
}

export interface ModeReport {
  /** From the config and labels, before the learning period. */
  configured: Mode;
  /** Now (learning ends by itself). */
  effective: Mode;
  /** Where it comes from: label, policy.workloads rule, learning, global mode. */
  source: string;
  /** A workload that declares nothing learns first: since / until when (ms; null before its first sighting). */
  learning: { since: number | null; until: number | null } | null;
}

export interface VerdictReport {
  /** False in mode off (nothing is judged) and without a port. */
  judged: boolean;
  /** True / false when judged; null otherwise. */
  allowed: boolean | null;
  allowedBy: AllowedBy;
  /** The rule, label, entry or resolver that allowed it (first match, as the policy tries them), or null. */
  by: string | null;
  denylisted: boolean;
  /** One sentence. */
  text: string;
}

export interface EnforceReport {
  /** What the detector would raise, or null when it would stay silent. */
  alert: { detector: string; kind: string; severity: string } | null;
  /** The blocking rule that would act (blocking.rules[i]), or null. */
  rule: string | null;
  /** The kernel commands a block would run (ipset entry, conntrack cut), exactly as the blocker builds them. */
  commands: string[];
  /** The NETMON chain rules that make such an entry bite (set up once at start). */
  chain: string[];
  /** Entries the never-block list would refuse. */
  refused: string[];
  /** One sentence: what enforce mode does, and whether this daemon would do it now. */
  text: string;
}

export interface ExplainTarget {
  /** The address judged; null for a DNS name never seen resolved (judged by the name alone). */
  ip: string | null;
  port: number | null;
  proto: Proto;
  /** Names judged with it: live answers, and the name asked about. */
  names: string[];
  /** The destination container's name, when it is one. */
  container: string | null;
}

export interface ExplainReport {
  kind: "egress" | "listen";
  container: { id: string; name: string; image: string; workload: string };
  /** The question as given. */
  asked: string;
  target: ExplainTarget;
  mode: ModeReport;
  evidence: Evidence[];
  verdict: VerdictReport;
  enforce: EnforceReport;
  notes: string[];
  /** When it was answered (ms since the epoch). */
  at: number;
}

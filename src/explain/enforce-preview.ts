import type { Alert } from "../alerts/alert.js";
import type { BlockingConfig } from "../block/block-config.js";
import { addEntry, CHAIN, chainRules, conntrackDelete, ipt, iptablesFor } from "../block/commands.js";
import { decideBlock } from "../block/decision.js";
import { NeverBlock } from "../block/safety.js";
import { entryText } from "../block/types.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { FindingEndpoint, Severity } from "../model/finding.js";
import type { Mode } from "../model/mode.js";
import type { EnforceReport } from "./report.js";

/** The alert the detector would raise for the question (as it builds it), or null: silent. */
export interface WouldAlert {
  detector: string;
  kind: string;
  severity: Severity;
  summary: string;
  dst?: FindingEndpoint;
}

export interface EnforceInput {
  info: ContainerInfo;
  workload: string;
  /** The container's effective mode now, and this daemon's blocking.mode. */
  mode: Mode;
  blocking: BlockingConfig;
  /** policy.dnsResolvers: never blocked, as the blocker adds them. */
  resolvers: readonly string[];
  /** Every known container (their networks' gateways are never blocked either). */
  containers: readonly ContainerInfo[];
  alert: WouldAlert | null;
  now: number;
}

const ipsOf = (info: ContainerInfo): string[] =>
  info.networks.flatMap((n) => [n.ipv4, n.ipv6].filter((ip): ip is string => ip !== null));

/**
 * What enforce mode would do about the question: the blocker's own decision (decideBlock) on the
 * alert the detector would raise, its never-block list, and the exact commands (src/block/commands.ts)
 * it would run. A first block: repeat offenders get longer blocks (see blocking.maxDurationSeconds).
 */
export function enforcePreview(input: EnforceInput): EnforceReport {
  const { alert, blocking } = input;
  const empty = { rule: null, commands: [], chain: [], refused: [] };
  if (alert === null) return { alert: null, ...empty, text: "nothing: no alert, so nothing to block" };
  const shown = { detector: alert.detector, kind: alert.kind, severity: alert.severity };
  const asAlert: Alert = {
    fingerprint: "explain",
    detector: alert.detector,
    kind: alert.kind,
    severity: alert.severity,
    workload: input.workload,
    container: input.info.ref,
    summary: alert.summary,
    count: 1,
    firstSeen: input.now,
    lastSeen: input.now,
    action: "none",
    state: "active",
    ...(alert.dst ? { dst: alert.dst } : {}),
  };
  const ips = ipsOf(input.info);
  const decision = decideBlock(asAlert, blocking, ips, 0);
  if (decision === null) {
    return {
      alert: shown,
      ...empty,
      text: `alert only: no blocking.rules entry blocks ${alert.detector}/${alert.kind} at ${alert.severity}`,
    };
  }
  // The rule that decided: the first one that decides alone (decideBlock tries them in order).
  const ruleIndex = blocking.rules.findIndex(
    (r) => decideBlock(asAlert, { ...blocking, rules: [r] }, ips, 0) !== null,
  );
  const never = new NeverBlock(blocking.neverBlock);
  for (const r of input.resolvers) never.add(r);
  for (const c of input.containers) for (const n of c.networks) if (n.gateway) never.add(n.gateway);
  const commands: string[] = [];
  const refused: string[] = [];
  const families = new Set<4 | 6>();
  for (const entry of decision.entries) {
    const why = never.refuse(entry);
    if (why !== null) {
      refused.push(`${entryText(entry)}: ${why}`);
      continue;
    }
    families.add(entry.family);
    commands.push(addEntry(entry, decision.durationSeconds).join(" "));
    const cut = conntrackDelete(entry);
    if (cut !== null) commands.push(cut.join(" "));
  }
  const chain: string[] = [];
  for (const f of families)
    for (const rule of chainRules(f)) chain.push(ipt(iptablesFor(f), "-A", CHAIN, ...rule).join(" "));
  const what =
    decision.scope === "container" ? "quarantine the container's new egress" : "block this destination";
  const now =
    blocking.mode === "off"
      ? "blocking.mode is off on this daemon: nothing is blocked"
      : input.mode !== "enforce"
        ? `the workload is in ${input.mode} mode: nothing is blocked now`
        : blocking.mode === "dry-run"
          ? "blocking.mode is dry-run: the commands are logged, not run"
          : "this daemon would run them now";
  const text =
    commands.length === 0
      ? `would ${what}, but the never-block list refuses it (${now})`
      : `would ${what} for ${decision.durationSeconds} s (${now})`;
  return {
    alert: shown,
    rule: ruleIndex >= 0 ? `blocking.rules[${ruleIndex}]` : null,
    commands,
    chain,
    refused,
    text,
  };
}

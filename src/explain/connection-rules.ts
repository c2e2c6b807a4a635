import type { BaselineEntry } from "../baseline/baseline.js";
import type { ContainerRules } from "../detection/policy.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { Mode } from "../model/mode.js";
import type { AllowedBy } from "../model/verdict.js";
import type { LedgerEntry } from "./connection-ledger.js";
import { baselineEvidenceOf, ruleEvidenceOf } from "./egress-evidence.js";
import { allowingRule, resolverOf } from "./egress-explain.js";
import type { Evidence, ExplainSources } from "./report.js";

/** One recent connection of a container and what allowed it (/api/container/<id>). */
export interface ConnectionAllowance {
  ip: string;
  port: number;
  proto: string;
  names: readonly string[];
  /** The destination container's name, when it is one. */
  container: string | null;
  firstSeen: number;
  lastSeen: number;
  attempts: number;
  /** The engine's verdict of the latest attempt. */
  mode: Mode;
  allowedBy: AllowedBy;
  denylisted: boolean;
  /** The rule, label, entry or resolver that allowed it ("label netmon.egress: db:5432/tcp"), or null. */
  rule: string | null;
  /** One phrase: "allowed by …", "nothing allowed it", "not judged (mode off)". */
  text: string;
}

/** Connections listed per container at most (most recent first). */
export const MAX_CONNECTIONS_SHOWN = 50;

/** The resolver, rules, labels and baseline entries that match a connection (when its verdict names no rule). */
function evidenceOf(
  src: ExplainSources,
  info: ContainerInfo,
  rules: ContainerRules["egress"],
  learned: readonly BaselineEntry[],
  e: LedgerEntry,
): Evidence[] {
  const names = [...e.names, ...(e.dstContainer === null ? [] : [e.dstContainer.toLowerCase()])];
  const probe = { ip: e.ip, port: e.port, proto: e.proto, names, earlierNames: [] };
  return [
    ...resolverOf(src, info, e.ip, e.port),
    ...ruleEvidenceOf(rules, probe),
    ...baselineEvidenceOf(learned, probe),
  ];
}

/**
 * A container's recent connections, each with the rule or label that allowed it (the engine's verdict
 * of its latest attempt names it; the baseline entry, or the rule of a verdict that names none, is
 * the first evidence of that kind that matches, as the policy tries them), or saying that nothing did.
 */
export function connectionAllowances(src: ExplainSources, containerId: string): ConnectionAllowance[] {
  const info = src.containers.get(containerId);
  const entries: LedgerEntry[] = (src.recent?.of(containerId) ?? []).slice(0, MAX_CONNECTIONS_SHOWN);
  if (info === undefined || entries.length === 0) return [];
  const rules = src.policy.rulesOf(info.ref).egress;
  const learned = src.baseline.entries(src.policy.workloadOf(info.ref));
  return entries.map((e) => {
    const v = e.verdict;
    const named = typeof v.allowedRule === "string";
    const rule = allowingRule(v, named ? [] : evidenceOf(src, info, rules, learned, e));
    const text =
      v.mode === "off"
        ? "not judged (mode off)"
        : v.allowedBy === null
          ? v.mode === "learn"
            ? "nothing allowed it (learned: the workload was learning)"
            : "nothing allowed it"
          : `allowed by ${rule ?? v.allowedBy}${v.denylisted ? " (but denylisted)" : ""}`;
    return {
      ip: e.ip,
      port: e.port,
      proto: e.proto,
      names: e.names,
      container: e.dstContainer,
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
      attempts: e.attempts,
      mode: v.mode,
      allowedBy: v.allowedBy,
      denylisted: v.denylisted,
      rule,
      text,
    };
  });
}

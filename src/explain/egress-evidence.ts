import { type BaselineEntry, parseEntry } from "../baseline/baseline.js";
import type { SourcedRule as Sourced } from "../detection/policy.js";
import type { Proto } from "../model/events.js";
import { type EgressRule, ruleMatches } from "../rules/egress-rule.js";
import { portInRange } from "../rules/listen-rule.js";
import type { Evidence } from "./report.js";

/** The destination as the evidence is matched against it. */
export interface EgressProbe {
  ip: string | null;
  port: number | null;
  proto: Proto;
  /** Names that vouch now (live answers, the name asked about, the destination container's names). */
  names: readonly string[];
  /** Names that resolved to the address earlier and are no longer live. */
  earlierNames: readonly string[];
}

/** How many "same port, other host" baseline entries are shown: the point is a hint, not a dump. */
const MAX_OTHER_HOSTS = 5;

const portsText = (rule: EgressRule): string =>
  `${rule.ports === null ? "any port" : rule.ports.from === rule.ports.to ? `port ${rule.ports.from}` : `ports ${rule.ports.from}-${rule.ports.to}`}${rule.proto === null ? "" : `/${rule.proto}`}`;

/** Whether the rule's address part takes the destination (any port), by IP or by one of `names`. */
function addressMatches(rule: EgressRule, ip: string | null, names: readonly string[]): boolean {
  return ruleMatches({ ...rule, ports: null, proto: null }, { ip: ip ?? "", port: 1, proto: "tcp", names });
}

function portMatches(rule: EgressRule, port: number, proto: Proto): boolean {
  return (rule.proto === null || rule.proto === proto) && portInRange(rule.ports, port);
}

/** One rule against the probe: a match, a near match (and why), or nothing. */
function ruleEvidence(r: Sourced<EgressRule>, p: EgressProbe): Evidence | null {
  const kind = r.by === "label" ? "label" : "rule";
  const ev = (match: Evidence["match"], why: string): Evidence => ({
    kind,
    source: r.source,
    text: r.rule.text,
    match,
    why,
  });
  const rule = r.rule;
  const byAddress = addressMatches(rule, p.ip, p.names);
  if (p.port === null) return byAddress ? ev("near", `same host; the rule allows ${portsText(rule)}`) : null;
  const byPort = portMatches(rule, p.port, p.proto);
  if (byAddress && byPort) {
    const how =
      rule.kind === "cidr" ? `${p.ip} is in ${rule.cidr.text}` : "by the DNS name the container resolved";
    return ev("match", `allows ${p.port}/${p.proto}: ${how}`);
  }
  if (byAddress) return ev("near", `same host, other port: the rule allows ${portsText(rule)}`);
  if (rule.kind !== "cidr" && addressMatches(rule, p.ip, p.earlierNames))
    return ev("near", "a name it allows resolved to this address earlier, but that answer is no longer live");
  if (rule.kind === "wildcard" && p.names.some((n) => `.${n}` === rule.suffix))
    return ev("near", `*${rule.suffix} covers subdomains only, not ${rule.suffix.slice(1)} itself`);
  if (byPort && rule.ports !== null)
    return ev("near", `same port, other host (the rule allows ${portsText(rule)})`);
  return null;
}

/** Every applicable rule and label that matches or nearly matches, in the order the policy tries them. */
export function ruleEvidenceOf(rules: readonly Sourced<EgressRule>[], p: EgressProbe): Evidence[] {
  return rules.flatMap((r) => ruleEvidence(r, p) ?? []);
}

/** The workload's learned egress entries that match or nearly match the probe. */
export function baselineEvidenceOf(entries: readonly BaselineEntry[], p: EgressProbe): Evidence[] {
  const same: Evidence[] = [];
  const others: Evidence[] = [];
  for (const e of entries) {
    if (e.kind !== "egress") continue;
    const parsed = parseEntry(e.entry);
    if (parsed === null) continue;
    const [dest = "", portText = "", proto = ""] = parsed.key.split("|");
    const port = Number(portText);
    const seen = { first: e.firstSeen, last: e.lastSeen, count: e.count };
    const ev = (match: Evidence["match"], why: string): Evidence => ({
      kind: "baseline",
      source: "baseline",
      text: e.entry,
      match,
      why,
      seen,
    });
    const samePort = p.port === port && p.proto === proto;
    const host = dest === p.ip || p.names.includes(dest);
    if (host && p.port === null) same.push(ev("near", "same host, learned on this port"));
    else if (host && samePort) same.push(ev("match", "learned"));
    else if (host) same.push(ev("near", "same host, other port"));
    else if (p.earlierNames.includes(dest))
      same.push(ev("near", "learned by a name that resolved to this address earlier (no longer live)"));
    else if (samePort && others.length < MAX_OTHER_HOSTS) others.push(ev("near", "same port, other host"));
  }
  return [...same, ...others];
}

import type { UnexpectedOutboundOptions } from "../../detectors/unexpected-outbound.js";
import { findContainer } from "../graph/details.js";
import type { ContainerInfo } from "../inventory/types.js";
import { egressTargetOf, isAlerting, judgeAttempt } from "../model/detector-api.js";
import type { ConnectionEvent, ContainerRef } from "../model/events.js";
import type { ConnectionVerdict } from "../model/verdict.js";
import { normalizeIp } from "../net/ip-format.js";
import type { LedgerEntry } from "./connection-ledger.js";
import { dnsEvidenceOf } from "./dns-evidence.js";
import { baselineEvidenceOf, type EgressProbe, ruleEvidenceOf } from "./egress-evidence.js";
import { enforcePreview, type WouldAlert } from "./enforce-preview.js";
import { modeReportOf } from "./mode-report.js";
import type { Evidence, ExplainReport, ExplainSources, ExplainTarget, VerdictReport } from "./report.js";
import type { ExplainQuery } from "./target.js";

type EgressQuery = Extract<ExplainQuery, { kind: "egress" }>;

const addressesOf = (c: ContainerInfo): string[] =>
  c.networks.flatMap((n) => [n.ipv4, n.ipv6].filter((ip): ip is string => ip !== null));

/** The destination container's address the source reaches it by: on a network they share, else its first. */
function addressTowards(src: ContainerInfo, dst: ContainerInfo): string | null {
  const shared = dst.networks.find((n) => src.networks.some((m) => m.networkId === n.networkId));
  return shared?.ipv4 ?? shared?.ipv6 ?? addressesOf(dst)[0] ?? null;
}

interface Resolved {
  ip: string | null;
  container: ContainerInfo | null;
  /** The name asked about, when the destination is a DNS name. */
  askedName: string | null;
  notes: string[];
}

function resolveDestination(
  src: ExplainSources,
  info: ContainerInfo,
  q: EgressQuery,
  recent: LedgerEntry[],
): Resolved {
  if (q.ip !== null) {
    const owner = src.containers.all().find((c) => c.running && addressesOf(c).includes(q.ip ?? "")) ?? null;
    return { ip: q.ip, container: owner, askedName: null, notes: [] };
  }
  const dst = findContainer(src.containers, q.destination);
  if (dst !== undefined) return { ip: addressTowards(info, dst), container: dst, askedName: null, notes: [] };
  const seen = recent.filter((e) => e.names.includes(q.destination)).map((e) => e.ip);
  const ips = [...new Set(seen)];
  const notes =
    ips.length === 0
      ? [
          `${q.destination} is no known container, and ${info.ref.name} was not seen connecting to an address of that name: judged by the name alone (address rules, resolvers and the denylist need an address: ask with the IP)`,
        ]
      : ips.length > 1
        ? [
            `${q.destination} resolved to ${ips.join(", ")} for ${info.ref.name}: judged for ${ips[0]}, the latest`,
          ]
        : [];
  return { ip: ips[0] ?? null, container: null, askedName: q.destination, notes };
}

/** The names the policy also knows a destination container by (Docker's embedded DNS answers them unseen). */
export function containerNames(c: ContainerInfo | null): string[] {
  if (c === null) return [];
  return [c.ref.name.toLowerCase(), ...(c.ref.service ? [c.ref.service.toLowerCase()] : [])];
}

export function resolverOf(
  src: Pick<ExplainSources, "config">,
  info: ContainerInfo,
  ip: string | null,
  port: number | null,
): Evidence[] {
  if (ip === null || port !== 53) return [];
  const configured = src.config.policy.dnsResolvers.map((r) => normalizeIp(r) ?? r);
  const gateway = info.networks.find((n) => n.gateway === ip);
  if (!configured.includes(ip) && gateway === undefined) return [];
  return [
    {
      kind: "resolver",
      source: gateway ? `gateway of network ${gateway.networkName}` : "policy.dnsResolvers",
      text: `${ip}:53`,
      match: "match",
      why: "a DNS resolver the container may always query on port 53",
    },
  ];
}

/**
 * What allowed it, as "where: what": the policy's own words for a rule, label or resolver
 * (verdict.allowedRule), else the first matching evidence of the verdict's kind (the baseline entry,
 * or a verdict made without allowedRule), as the policy tries them.
 */
export function allowingRule(
  v: Pick<ConnectionVerdict, "allowedBy" | "allowedRule">,
  evidence: readonly Evidence[],
): string | null {
  if (v.allowedBy === null) return null;
  if (typeof v.allowedRule === "string") return v.allowedRule;
  const matches = evidence.filter((e) => e.match === "match");
  const kinds: readonly Evidence["kind"][] =
    v.allowedBy === "dns-resolver"
      ? ["resolver"]
      : v.allowedBy === "baseline"
        ? ["baseline"]
        : ["rule", "label"];
  const by = matches.find((e) => kinds.includes(e.kind));
  return by === undefined ? null : `${by.source}: ${by.text}`;
}

function verdictText(v: ConnectionVerdict, by: string | null): string {
  const allowedBy = by ?? v.allowedBy;
  const allowed = v.allowedBy !== null;
  if (v.mode === "off") return "not judged: the workload's mode is off";
  if (v.denylisted)
    return `denylisted: critical whatever allows it${allowed ? ` (otherwise allowed by ${allowedBy})` : ""}`;
  if (allowed) return `allowed by ${allowedBy}`;
  if (v.mode === "learn")
    return "nothing allows it yet: the workload is learning, so it would be learned (no alert)";
  return "refused: no rule, label, DNS name or baseline entry allows it";
}

/** The alert unexpected-outbound would raise for this verdict (its own conditions), or null. */
function wouldAlert(
  src: ExplainSources,
  v: ConnectionVerdict,
  ev: ConnectionEvent,
  containerName: string,
): WouldAlert | null {
  const opts = src.config.detectors["unexpected-outbound"] as UnexpectedOutboundOptions | undefined;
  if (opts === undefined) return null;
  if ((ev.proto === "udp" && !opts.udp) || (ev.dst.container !== null && !opts.internal)) return null;
  if (!(isAlerting(v.mode) || (v.denylisted && v.mode === "learn"))) return null;
  if (!v.denylisted && v.allowedBy !== null) return null;
  return {
    detector: "unexpected-outbound",
    kind: v.denylisted ? "denylisted" : "unexpected",
    severity: v.denylisted ? "critical" : opts.severity,
    summary: `${containerName} connected to ${ev.dst.ip}:${ev.dst.port}/${ev.proto}`,
    dst: { ip: ev.dst.ip, port: ev.dst.port, proto: ev.proto },
  };
}

/** An attempt as the engine would see it now, for the engine's own judgement (judgeAttempt). */
function attemptOf(
  info: ContainerInfo,
  dst: ContainerRef | null,
  t: ExplainTarget,
  now: number,
): ConnectionEvent {
  return {
    kind: "connection",
    ts: now,
    proto: t.proto,
    state: "attempt",
    src: { ip: addressesOf(info)[0] ?? "", port: 0, container: info.ref },
    dst: { ip: t.ip ?? "", port: t.port ?? 0, container: dst, names: t.names },
    direction: dst === null ? "outbound" : "internal",
    packets: 1,
    iface: "explain",
  };
}

export function explainEgress(src: ExplainSources, info: ContainerInfo, q: EgressQuery): ExplainReport {
  const ref = info.ref;
  const recent = src.recent?.of(ref.id) ?? [];
  const dest = resolveDestination(src, info, q, recent);
  const answers = dest.ip === null ? [] : (src.dns?.inspect(ref.id, dest.ip, src.now) ?? []);
  const live = answers.filter((n) => n.live).map((n) => n.name);
  const cached = new Set(answers.map((n) => n.name));
  // Names of earlier connections whose answers the cache no longer holds at all.
  const earlier = new Map<string, LedgerEntry>();
  for (const e of recent)
    if (e.ip === dest.ip) for (const n of e.names) if (!cached.has(n) && !earlier.has(n)) earlier.set(n, e);
  const names = [...new Set([...live, ...(dest.askedName === null ? [] : [dest.askedName])])];
  const target: ExplainTarget = {
    ip: dest.ip,
    port: q.port,
    proto: q.proto,
    names,
    container: dest.container?.ref.name ?? null,
  };
  const probe: EgressProbe = {
    ip: dest.ip,
    port: q.port,
    proto: q.proto,
    names: [...names, ...containerNames(dest.container)],
    earlierNames: [...answers.filter((n) => !n.live).map((n) => n.name), ...earlier.keys()],
  };
  const workload = src.policy.workloadOf(ref);
  const evidence = [
    ...resolverOf(src, info, dest.ip, q.port),
    ...ruleEvidenceOf(src.policy.rulesOf(ref).egress, probe),
    ...dnsEvidenceOf(dest.ip, answers, earlier, dest.askedName, src.now),
    ...baselineEvidenceOf(src.baseline.entries(workload), probe),
  ];
  const mode = modeReportOf(src, ref);
  const notes = [...dest.notes];
  let verdict: VerdictReport;
  let alert: WouldAlert | null = null;
  if (q.port === null) {
    verdict = {
      judged: false,
      allowed: null,
      allowedBy: null,
      by: null,
      denylisted: false,
      text: "no port given: the verdict depends on the port (ask DEST:PORT[/PROTO])",
    };
  } else {
    const ev = attemptOf(info, dest.container?.ref ?? null, target, src.now);
    const judged = judgeAttempt(src.policy, ref, ev);
    // The rule's words come with the policy's verdict (Policy.egress); judgeAttempt may not pass them on.
    const v: ConnectionVerdict =
      judged.mode === "off" || judged.allowedRule !== undefined
        ? judged
        : { ...judged, allowedRule: src.policy.egress(ref, egressTargetOf(ev)).allowedRule ?? null };
    const by = allowingRule(v, evidence);
    verdict = {
      judged: v.mode !== "off",
      allowed: v.mode === "off" ? null : v.allowedBy !== null && !v.denylisted,
      allowedBy: v.allowedBy,
      by,
      denylisted: v.denylisted,
      text: verdictText(v, by),
    };
    alert = wouldAlert(src, v, ev, ref.name);
  }
  const enforce = enforcePreview({
    info,
    workload,
    mode: mode.effective,
    blocking: src.config.blocking,
    resolvers: src.config.policy.dnsResolvers,
    containers: src.containers.all(),
    alert,
    now: src.now,
  });
  return {
    kind: "egress",
    container: { id: ref.id, name: ref.name, image: ref.image, workload },
    asked: `${q.container} ${q.destination}${q.port === null ? "" : `:${q.port}/${q.proto}`}`,
    target,
    mode,
    evidence,
    verdict,
    enforce,
    notes,
    at: src.now,
  };
}

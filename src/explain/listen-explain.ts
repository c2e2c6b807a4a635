import type { UnusualListenerOptions } from "../../detectors/unusual-listener.js";
import type { ContainerInfo } from "../inventory/types.js";
import { isAlerting } from "../model/detector-api.js";
import type { Proto } from "../model/events.js";
import { listenMatches } from "../rules/listen-rule.js";
import { enforcePreview, type WouldAlert } from "./enforce-preview.js";
import { modeReportOf } from "./mode-report.js";
import type { Evidence, ExplainReport, ExplainSources, VerdictReport } from "./report.js";
import type { ExplainQuery } from "./target.js";

type ListenQuery = Extract<ExplainQuery, { kind: "listen" }>;

/** "80/tcp" items the container declares (EXPOSE, published), with where each comes from. */
function declaredOf(info: ContainerInfo): { text: string; source: string }[] {
  const out = info.exposedPorts.map((e) => ({ text: e.includes("/") ? e : `${e}/tcp`, source: "EXPOSE" }));
  for (const p of info.publishedPorts)
    out.push({ text: `${p.containerPort}/${p.proto}`, source: "published port" });
  return out;
}

function portEvidence(
  kind: Evidence["kind"],
  source: string,
  text: string,
  port: number,
  proto: Proto,
): Evidence | null {
  const [p = "", pr = "tcp"] = text.split("/");
  if (Number(p) !== port) return null;
  return pr === proto
    ? { kind, source, text, match: "match", why: `declares ${port}/${proto}` }
    : { kind, source, text, match: "near", why: "same port, other proto" };
}

export function explainListen(src: ExplainSources, info: ContainerInfo, q: ListenQuery): ExplainReport {
  const ref = info.ref;
  const workload = src.policy.workloadOf(ref);
  const evidence: Evidence[] = [];
  for (const d of declaredOf(info)) {
    const e = portEvidence("declared", d.source, d.text, q.port, q.proto);
    if (e !== null) evidence.push(e);
  }
  for (const r of src.policy.rulesOf(ref).listen) {
    const kind = r.by === "label" ? "label" : "rule";
    if (listenMatches(r.rule, q.port, q.proto))
      evidence.push({
        kind,
        source: r.source,
        text: r.rule.text,
        match: "match",
        why: `allows ${q.port}/${q.proto}`,
      });
    else if (listenMatches({ ...r.rule, proto: null }, q.port, q.proto))
      evidence.push({
        kind,
        source: r.source,
        text: r.rule.text,
        match: "near",
        why: "same port, other proto",
      });
  }
  for (const e of src.baseline.entries(workload)) {
    if (e.kind !== "listen") continue;
    const ev = portEvidence("baseline", "baseline", e.entry, q.port, q.proto);
    if (ev !== null)
      evidence.push({
        ...ev,
        why: ev.match === "match" ? "learned" : ev.why,
        seen: { first: e.firstSeen, last: e.lastSeen, count: e.count },
      });
  }
  const mode = modeReportOf(src, ref);
  // The detector's own question (unusual-listener): the policy's listenAllowed.
  const allowedBy = src.policy.listenAllowed(ref, q.port, q.proto);
  const by = evidence.find(
    (e) =>
      e.match === "match" &&
      (allowedBy === "declared"
        ? e.kind === "declared"
        : allowedBy === "baseline"
          ? e.kind === "baseline"
          : e.kind === "rule" || e.kind === "label"),
  );
  const judged = isAlerting(mode.effective);
  const verdict: VerdictReport = {
    judged,
    allowed: allowedBy !== null,
    allowedBy,
    by: by === undefined ? null : `${by.source}: ${by.text}`,
    denylisted: false,
    text:
      allowedBy !== null
        ? `allowed by ${by === undefined ? allowedBy : `${by.source} ${JSON.stringify(by.text)}`}`
        : judged
          ? "undeclared: nothing declares or learned this port"
          : `undeclared, but the workload is in ${mode.effective} mode: no alert`,
  };
  const opts = src.config.detectors["unusual-listener"] as UnusualListenerOptions | undefined;
  const alert: WouldAlert | null =
    judged && allowedBy === null && opts !== undefined
      ? {
          detector: "unusual-listener",
          kind: "undeclared-port",
          severity: opts.severity,
          summary: `${ref.name} listens on undeclared port ${q.port}/${q.proto}`,
        }
      : null;
  return {
    kind: "listen",
    container: { id: ref.id, name: ref.name, image: ref.image, workload },
    asked: `${q.container} --listen ${q.port}/${q.proto}`,
    target: { ip: null, port: q.port, proto: q.proto, names: [], container: null },
    mode,
    evidence,
    verdict,
    enforce: enforcePreview({
      info,
      workload,
      mode: mode.effective,
      blocking: src.config.blocking,
      resolvers: src.config.policy.dnsResolvers,
      containers: src.containers.all(),
      alert,
      now: src.now,
    }),
    notes:
      alert === null
        ? []
        : ["a port bound to loopback only is reported at detectors.unusual-listener.loopbackSeverity"],
    at: src.now,
  };
}

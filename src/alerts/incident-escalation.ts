import type { Finding } from "../model/finding.js";
import { formatDuration } from "../util/duration.js";

/**
 * Findings that say more about an incident another detector already opened on the same
 * destination (issue 17: one incident per attack). A beacon to host H is what the workload's
 * active `unexpected-outbound` incident for H was: it folds into it, and its evidence, sentence and
 * severity join that incident instead of opening a second alert.
 *
 * dns-abuse: a `tunnel` under domain D folds into an active unexpected-outbound incident whose host
 * is D or a name under D (the same registrable domain: the zone the tunnel is delegated to). No
 * other DNS finding folds: a tunnel or a DGA burst goes to the container's resolver, not to the
 * destination any other incident is about, and what is done about it differs (a destination block
 * of the resolver would cut the container's DNS), so it stays an incident of its own. A `dga` burst
 * names no one domain at all.
 */
export interface Escalation {
  /** The incident host (unexpected-outbound's `Finding.host`) this finding is about. */
  readonly host: string;
  /** Also names under `host` match (a registrable domain), not only `host` itself. */
  readonly under: boolean;
  /** Key of its evidence in the incident's details (`details.beacon`). */
  readonly evidence: string;
  /** What it adds to the incident's summary: "beacons every 1 min (±2 %) to port 443/tcp, …". */
  readonly clause: string;
}

/** The detector whose per-host incidents take escalations in. */
export const HOST_INCIDENT_DETECTOR = "unexpected-outbound";
/** Detectors whose findings may escalate one: their `host` finds that incident, it never counts towards a fan-out. */
export const ESCALATING_DETECTORS: ReadonlySet<string> = new Set(["beaconing", "dns-abuse"]);

function num(d: Readonly<Record<string, unknown>>, k: string): number {
  const v = d[k];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function beaconClause(f: Finding, d: Readonly<Record<string, unknown>>): string {
  const missed = num(d, "missedBeats");
  const port = f.dst === undefined ? "" : ` to port ${f.dst.port}/${f.dst.proto}`;
  return (
    `beacons every ${formatDuration(num(d, "intervalMs"))} (±${num(d, "jitterPct")} %)${port}, ` +
    `${num(d, "connections")} connections over ${formatDuration(num(d, "spanMs"))}` +
    (missed > 0 ? ` (${missed} missed)` : "") +
    `, score ${num(d, "score").toFixed(2)}`
  );
}

function tunnelClause(domain: string, d: Readonly<Record<string, unknown>>): string {
  const encoded = num(d, "encodedPct");
  return (
    `asked for ${num(d, "distinct")} distinct names under ${domain} in ${formatDuration(num(d, "spanMs"))}` +
    (encoded > 0 ? ` (${encoded} % look encoded)` : "") +
    ": DNS tunneling?"
  );
}

/** The host incident this finding would fold into, or null when it always opens its own. */
export function escalationOf(f: Finding): Escalation | null {
  const d = f.details ?? {};
  if (f.detector === "beaconing" && f.kind === "beacon" && f.host !== undefined) {
    return { host: f.host, under: false, evidence: "beacon", clause: beaconClause(f, d) };
  }
  if (f.detector === "dns-abuse" && f.kind === "tunnel" && typeof d.domain === "string") {
    return { host: d.domain, under: true, evidence: "dnsTunnel", clause: tunnelClause(d.domain, d) };
  }
  return null;
}

/** True when an incident about `host` is what `e` is about. */
export function escalates(e: Escalation, host: string): boolean {
  return host === e.host || (e.under && host.endsWith(`.${e.host}`));
}

/**
 * What escalations brought one incident: the latest of each kind (a beacon, a tunnel), so the
 * incident's summary and details keep saying it while its own findings replace the rest. Bounded:
 * one entry per evidence key.
 */
export class IncidentEvidence {
  private readonly byKey = new Map<string, { clause: string; details: Readonly<Record<string, unknown>> }>();
  /** Findings folded in this way (the incident's count includes them). */
  findings = 0;

  add(e: Escalation, f: Finding): void {
    this.findings++;
    this.byKey.delete(e.evidence); // the latest last, so the summary says the newest evidence last
    this.byKey.set(e.evidence, { clause: e.clause, details: f.details ?? {} });
  }

  clauses(): string[] {
    return Array.from(this.byKey.values(), (v) => v.clause);
  }

  /** The own finding's details with the escalations' evidence beside them (`details.beacon`). */
  details(own: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = { ...own };
    for (const [k, v] of this.byKey) out[k] = v.details;
    return out;
  }
}

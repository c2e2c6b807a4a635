import type { Finding } from "../model/finding.js";
import type { Entry } from "./incident-entry.js";
import { incidentSummary } from "./incident-summary.js";
import { IncidentTally } from "./incident-tally.js";
import { fixOf, scanThresholdFix } from "./next-step.js";

/** Counts the finding's value into the incident's tally; true when it is new there. */
export function tallyFinding(entry: Entry, f: Finding, own: boolean): boolean {
  let of: string;
  let value: string;
  if (own) {
    if (f.target === undefined) return false;
    ({ of, value } = f.target);
  } else if (entry.role === "fan-out") {
    of = "destinations";
    value = f.host ?? f.key;
  } else {
    of = "targets";
    value = f.host ?? f.key;
  }
  entry.tally ??= new IncidentTally(of);
  return entry.tally.add(value);
}

/**
 * The incident took a finding in: its fix follows at once (a scan's threshold fix follows the
 * incident's count, and a later finding's fix may fall back on it), its summary and targets when
 * next read (describeIncident): a flood's thousands of findings into one incident write it once.
 */
export function incidentChanged(entry: Entry): void {
  const a = entry.alert;
  entry.described = false;
  if (entry.measure === null) return;
  const shape = entry.measure.facts(a.container.name, a.lastSeen);
  a.fix = scanThresholdFix(shape) ?? a.fix ?? null;
}

/** Brings the incident's summary and targets up to date with every finding it took in. */
export function describeIncident(entry: Entry, fanOutAfter: number): void {
  if (entry.described) return;
  entry.described = true;
  const a = entry.alert;
  if (entry.fixFrom !== null) {
    a.fix = fixOf(entry.fixFrom);
    entry.fixFrom = null;
  }
  const shape = entry.measure?.facts(a.container.name, a.lastSeen) ?? null;
  a.summary = incidentSummary({
    role: entry.role,
    base: entry.base,
    shape,
    container: a.container,
    count: a.count,
    folded: a.folded ?? 0,
    tally: entry.tally,
    fanOutAfter,
    evidence: entry.evidence,
  });
  const reached = entry.measure?.reached ?? null;
  if (reached !== null && reached.distinct > 0) a.targets = reached.targets();
  else if (entry.tally !== null) a.targets = entry.tally.targets();
}

import type { ContainerRef } from "../model/events.js";
import type { IncidentEvidence } from "./incident-escalation.js";
import type { IncidentTally } from "./incident-tally.js";
import type { IncidentRole } from "./incidents.js";
import { type ShapeFacts, shapeSentence } from "./shape-sentence.js";

/** Samples named in a summary line (the alert's `targets.samples` holds more). */
const SUMMARY_SAMPLES = 3;

export interface SummaryInput {
  role: IncidentRole;
  /** The summary of the incident's latest own finding (none for a fan-out). */
  base: string;
  /** A shape incident's facts over the whole incident (exact counts, whole span), when it is one. */
  shape?: ShapeFacts | null;
  container: ContainerRef;
  count: number;
  folded: number;
  tally: IncidentTally | null;
  fanOutAfter: number;
  /** What findings of other detectors about its host (a beacon) brought it: said after the rest. */
  evidence?: IncidentEvidence | null;
}

function samples(tally: IncidentTally): string {
  const s = tally.targets().samples.slice(0, SUMMARY_SAMPLES);
  return tally.distinct > s.length ? `${s.join(", ")}, …` : s.join(", ");
}

/**
 * One sentence for the incident as it stands: the detector's own sentence while it is one finding,
 * then what it grew by (how often, how many distinct targets, what was folded in).
 */
export function incidentSummary(i: SummaryInput): string {
  const e = i.evidence;
  if (e === undefined || e === null) return summaryOf(i);
  // Its count and folds without the escalations, which say themselves: "…; beacons every 1 min …".
  const own = summaryOf({ ...i, count: i.count - e.findings, folded: i.folded - e.findings });
  return [own, ...e.clauses()].join("; ");
}

function summaryOf(i: SummaryInput): string {
  const t = i.tally;
  if (i.role === "fan-out") {
    const what = t === null ? "more destinations" : `${t.describe().replace(/ /, " more ")}`;
    return (
      `${i.container.name} connected to ${what} that nothing allows, after ${i.fanOutAfter} alerted ` +
      `on their own (${i.count} ${i.count === 1 ? "attempt" : "attempts"}${t === null ? "" : `: ${samples(t)}`})`
    );
  }
  if (i.shape !== undefined && i.shape !== null) {
    // The shape's own sentence already counts its findings' connections, ports or hosts.
    const base = shapeSentence(i.shape);
    if (i.folded === 0 || t === null) return base;
    return `${base}; folded in: ${i.folded} more ${i.folded === 1 ? "finding" : "findings"} (${t.describe()}: ${samples(t)})`;
  }
  if (i.folded > 0 && t !== null) {
    return `${i.base}; folded in: ${i.folded} more ${i.folded === 1 ? "finding" : "findings"} (${t.describe()}: ${samples(t)})`;
  }
  if (i.count > 1 && t !== null) {
    return t.distinct > 1 ? `${i.base} (${i.count} times, ${t.describe()})` : `${i.base} (${i.count} times)`;
  }
  return i.base;
}

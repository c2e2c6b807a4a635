import type { ContainerRef } from "../model/events.js";
import type { IncidentTally } from "./incident-tally.js";
import type { IncidentRole } from "./incidents.js";

/** Samples named in a summary line (the alert's `targets.samples` holds more). */
const SUMMARY_SAMPLES = 3;

export interface SummaryInput {
  role: IncidentRole;
  /** The summary of the incident's latest own finding (none for a fan-out). */
  base: string;
  container: ContainerRef;
  count: number;
  folded: number;
  tally: IncidentTally | null;
  fanOutAfter: number;
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
  const t = i.tally;
  if (i.role === "fan-out") {
    const what = t === null ? "more destinations" : `${t.describe().replace(/ /, " more ")}`;
    return (
      `${i.container.name} connected to ${what} that nothing allows, after ${i.fanOutAfter} alerted ` +
      `on their own (${i.count} ${i.count === 1 ? "attempt" : "attempts"}${t === null ? "" : `: ${samples(t)}`})`
    );
  }
  if (i.folded > 0 && t !== null) {
    return `${i.base}; folded in: ${i.folded} more ${i.folded === 1 ? "finding" : "findings"} (${t.describe()}: ${samples(t)})`;
  }
  if (i.count > 1 && t !== null) {
    return t.distinct > 1 ? `${i.base} (${i.count} times, ${t.describe()})` : `${i.base} (${i.count} times)`;
  }
  return i.base;
}

/**
 * What became of a finding: it opened an incident (alert), updated its own (a line), was folded
 * into its own silently (suppressed), or into another incident: a fan-out, a shape, or the host
 * incident a beacon or DNS tunnel escalates (folded).
 */
export type FindingOutcome = "alert" | "updated" | "suppressed" | "folded";

/** Every finding by detector and outcome (netmon_findings_total): nothing is dropped without being counted. */
export class FindingOutcomes {
  private readonly byDetector: Record<string, Record<FindingOutcome, number>> = {};

  count(detector: string, outcome: FindingOutcome): void {
    let byOutcome = this.byDetector[detector];
    if (byOutcome === undefined) {
      byOutcome = { alert: 0, updated: 0, suppressed: 0, folded: 0 };
      this.byDetector[detector] = byOutcome;
    }
    byOutcome[outcome]++;
  }

  /** A copy: callers cannot change the counts through it. */
  snapshot(): Record<string, Record<FindingOutcome, number>> {
    return Object.fromEntries(Object.entries(this.byDetector).map(([d, o]) => [d, { ...o }]));
  }
}

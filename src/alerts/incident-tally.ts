import type { AlertTargets } from "./alert.js";

/** Distinct values remembered per incident, at most: beyond it the count is a lower bound (memory bound). */
export const MAX_DISTINCT_TARGETS = 1024;
/** Values an alert shows as samples: the first ones seen, in order. */
export const MAX_TARGET_SAMPLES = 10;

/**
 * The distinct targets of one incident (ports of a host, destinations of a fan-out), bounded in
 * memory: exact up to MAX_DISTINCT_TARGETS, and the first MAX_TARGET_SAMPLES kept as samples.
 */
export class IncidentTally {
  private readonly seen = new Set<string>();
  private readonly samples: string[] = [];
  private capped = false;
  private view: AlertTargets | null = null;

  constructor(readonly of: string) {}

  /** Counts one value; true when it is new to this incident (so a decision may be due). */
  add(value: string): boolean {
    if (this.seen.has(value)) return false;
    if (this.seen.size >= MAX_DISTINCT_TARGETS) {
      this.capped = true;
      return false;
    }
    this.seen.add(value);
    if (this.samples.length < MAX_TARGET_SAMPLES) this.samples.push(value);
    this.view = null;
    return true;
  }

  get distinct(): number {
    return this.seen.size;
  }

  /** "15 ports", "1 port", "1024+ destinations". */
  describe(): string {
    const n = this.seen.size;
    const noun = n === 1 && !this.capped && this.of.endsWith("s") ? this.of.slice(0, -1) : this.of;
    return `${n}${this.capped ? "+" : ""} ${noun}`;
  }

  /** A frozen view for the alert; made again only when the tally changed. */
  targets(): AlertTargets {
    if (this.view === null || this.view.capped !== this.capped) {
      this.view = Object.freeze({
        of: this.of,
        distinct: this.seen.size,
        capped: this.capped,
        samples: Object.freeze([...this.samples]) as string[],
      });
    }
    return this.view;
  }
}

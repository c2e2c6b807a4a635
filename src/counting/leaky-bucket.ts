/**
 * A leaky bucket on event time (CrowdSec's bucket, or a token bucket seen from the other side):
 * what is poured in leaks out at a fixed rate; callers compare the level with their capacity.
 * Used by connection-burst (bad connections) and the alert log's line budget. The leak rate is
 * passed in rather than held, so a detector keeping one bucket per container pays two numbers each.
 */
export class LeakyBucket {
  level = 0;
  /** Event time of the latest leak (ms); NaN before the first. */
  at = Number.NaN;

  /**
   * Leaks what `leakPerMs` drains between the latest leak and `ts`, and returns the level. A late
   * event (ts before the latest) leaks nothing and never rewinds the clock.
   */
  leak(ts: number, leakPerMs: number): number {
    if (Number.isNaN(this.at)) this.at = ts;
    else if (ts > this.at) {
      this.level = Math.max(0, this.level - (ts - this.at) * leakPerMs);
      this.at = ts;
    }
    return this.level;
  }

  /** The level the bucket would have at `ts`, without changing it. */
  levelAt(ts: number, leakPerMs: number): number {
    if (Number.isNaN(this.at) || ts <= this.at) return this.level;
    return Math.max(0, this.level - (ts - this.at) * leakPerMs);
  }
}

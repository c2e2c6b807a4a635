/**
 * How regular a series of values is, the way RITA scores beacons: the Bowley (quartile) skewness
 * and the median absolute deviation of the values, each turned into a score in [0, 1] (1 = a
 * metronome). Works on caller-owned typed arrays with scratch space of its own, so scoring
 * allocates nothing.
 */

/** The statistics of one series; filled in place by RegularityScorer.score(). */
export interface Regularity {
  median: number;
  /** Median absolute deviation from the median. */
  mad: number;
  /** Bowley skewness, (q1 + q3 − 2·median) / (q3 − q1), damped when the spread is within resolution. */
  skew: number;
  /** (1 − |skew| + max(0, 1 − mad / (tolerance × scale))) / 2, scale = max(median, floor). */
  score: number;
}

export function emptyRegularity(): Regularity {
  return { median: 0, mad: 0, skew: 0, score: 0 };
}

/**
 * A spread (interquartile range) under this fraction of the scale is jitter whose shape says
 * nothing: RITA gets the same effect from whole-second timestamps, where a few percent of jitter
 * has no quartiles at all.
 */
const SKEW_RESOLUTION = 0.2;

export class RegularityScorer {
  private readonly sorted: Float64Array;
  private readonly deviations: Float64Array;

  constructor(capacity: number) {
    this.sorted = new Float64Array(capacity);
    this.deviations = new Float64Array(capacity);
  }

  /**
   * Scores values[0..n). `floor` is the smallest scale the deviation is measured against: values
   * that differ by less than it (a few ms of duration) count as equal. `tolerance` is the deviation,
   * as a fraction of the scale, that scores 0: RITA's is 1 (a deviation as large as the median);
   * smaller is stricter.
   */
  score(values: Float64Array, n: number, floor: number, tolerance: number, out: Regularity): Regularity {
    const sorted = this.sorted.subarray(0, n);
    sorted.set(values.subarray(0, n));
    sorted.sort();
    const median = quantile(sorted, 0.5);
    const q1 = quantile(sorted, 0.25);
    const q3 = quantile(sorted, 0.75);
    const dev = this.deviations.subarray(0, n);
    for (let i = 0; i < n; i++) dev[i] = Math.abs(sorted[i]! - median);
    dev.sort();
    const mad = quantile(dev, 0.5);
    const scale = Math.max(median, floor);
    const iqr = q3 - q1;
    const raw = iqr > 0 ? (q1 + q3 - 2 * median) / iqr : 0;
    const skew = scale > 0 ? raw * Math.min(1, iqr / (SKEW_RESOLUTION * scale)) : 0;
    const madScore = scale > 0 ? Math.max(0, 1 - mad / (tolerance * scale)) : 1;
    out.median = median;
    out.mad = mad;
    out.skew = skew;
    out.score = (1 - Math.abs(skew) + 2 * madScore) / 3;
    return out;
  }
}

/** Linear interpolation between the closest ranks of a sorted, non-empty array. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Missed beats: a gap within `tolerance` (a fraction) of k × `median`, for k in 2..maxMultiple, is
 * k beats of which k − 1 did not happen (a sleeping laptop, a dropped connection); it is replaced by
 * gap / k in place. Returns how many beats were missed.
 */
export function foldMissedBeats(
  gaps: Float64Array,
  n: number,
  median: number,
  maxMultiple: number,
  tolerance: number,
): number {
  if (median <= 0) return 0;
  let missed = 0;
  for (let i = 0; i < n; i++) {
    const g = gaps[i]!;
    const k = Math.round(g / median);
    if (k < 2 || k > maxMultiple) continue;
    if (Math.abs(g - k * median) > tolerance * k * median) continue;
    gaps[i] = g / k;
    missed += k - 1;
  }
  return missed;
}

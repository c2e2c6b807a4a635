import { RATE_BUCKET_MS, type RateProfile, type RateProfiles } from "./rate-profiles.js";

/**
 * Bursts measured against what is normal for the key: on top of a RateProfiles store, a window of
 * closed buckets whose count reaches an absolute floor AND exceeds a multiple of the key's profile
 * (its quantile per bucket, scaled to the window) is a burst. Judged only when buckets close (event
 * time), so the result never depends on where a tick falls between events. A bucket that makes a
 * burst is not learned, and the buckets a burst counted are not counted again by the next one: a
 * sustained burst is reported once per full window after the first report. A group (a workload) seen for less than `warmupMs`
 * is still learning what is normal for it: its buckets are learned and never judged.
 */

export interface RateBurstOptions {
  /** Minimum count within the window, whatever the profile says. */
  floor: number;
  /** Window length in buckets (≥ 1). */
  windowBuckets: number;
  /** The window's count must exceed this many times the profile's quantile × windowBuckets. */
  multiple: number;
  /** A group seen for less than this (ms) is not judged. */
  warmupMs: number;
  /** The profile's quantile (0..1) taken as "normal per bucket". */
  quantile: number;
}

/** One key's burst, with the caller's tag (what the caller needs to name it). */
export interface RateBurst<T> {
  tag: T;
  key: string;
  count: number;
  /** The profile's quantile per bucket (what is normal). */
  normal: number;
  windowMs: number;
  /** End of the window (ms): the bucket boundary it closed at. */
  ts: number;
}

/** What the watch keeps per key noted recently: the caller's tag and the window bookkeeping. */
export interface RateWatchEntry<T> {
  tag: T | null;
  /** Newest bucket already counted by a burst: later windows start after it. */
  consumed: number;
  /** Newest bucket noted. */
  last: number;
}

export class RateBurstWatch<T> {
  private readonly entries = new Map<string, RateWatchEntry<T>>();
  private found: RateBurst<T>[] = [];
  private readonly judge = (p: RateProfile, start: number, count: number): boolean =>
    this.judgeBucket(p, start, count);

  constructor(
    readonly store: RateProfiles,
    private readonly opts: RateBurstOptions,
  ) {}

  /**
   * Counts one occurrence for `key` of `group` at `ts`. Returns the key's entry (set its `tag` when it
   * is null), or null when the store does not track the key.
   */
  note(group: string, key: string, ts: number): RateWatchEntry<T> | null {
    if (!this.store.note(group, key, ts)) return null;
    const idx = Math.floor(ts / RATE_BUCKET_MS);
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { tag: null, consumed: Number.NEGATIVE_INFINITY, last: idx };
      this.entries.set(key, e);
    } else if (idx > e.last) e.last = idx;
    return e;
  }

  /** Closes the buckets ended by `nowMs` and returns the bursts they make (oldest first). */
  close(nowMs: number): readonly RateBurst<T>[] {
    this.store.close(nowMs, this.judge);
    const out = this.found;
    if (out.length > 0) this.found = [];
    // A key quiet for a whole window has nothing left to add to one.
    const stale = Math.floor(nowMs / RATE_BUCKET_MS) - this.opts.windowBuckets;
    for (const [key, e] of this.entries) if (e.last < stale) this.entries.delete(key);
    return out;
  }

  get tracked(): number {
    return this.entries.size;
  }

  private judgeBucket(p: RateProfile, start: number, count: number): boolean {
    const o = this.opts;
    const since = this.store.since(p.group);
    if (since === null || since > start - o.warmupMs) return true;
    const e = this.entries.get(p.key);
    const idx = start / RATE_BUCKET_MS;
    const consumed = e?.consumed ?? Number.NEGATIVE_INFINITY;
    const total = count + p.sumOfLast(o.windowBuckets - 1, consumed);
    if (total < o.floor) return true;
    const normal = p.quantile(o.quantile);
    if (total <= o.multiple * normal * o.windowBuckets) return true;
    // Still inside the window of the burst just reported: not learned, reported with the next full one.
    if (idx - consumed < o.windowBuckets) return false;
    if (e !== undefined) {
      e.consumed = idx;
      if (e.tag !== null) {
        this.found.push({
          tag: e.tag,
          key: p.key,
          count: total,
          normal,
          windowMs: o.windowBuckets * RATE_BUCKET_MS,
          ts: start + RATE_BUCKET_MS,
        });
      }
    }
    return false;
  }
}

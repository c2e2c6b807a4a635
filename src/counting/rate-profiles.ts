/**
 * Rolling profiles of how often something happens per key, in event time: for every key a ring of
 * per-bucket counts (RATE_BUCKET_MS buckets over RATE_BUCKETS of them: 10 s over the last hour), so a
 * caller can ask what is normal for that key (a quantile of its buckets) and compare a new bucket with
 * it. connection-burst keys it by workload and destination (short or failed connections). Owned by the
 * engine, so it outlives detector re-creation on SIGHUP, and saved next to the baseline by the daemon
 * (toJSON / load); the counting itself is pure.
 *
 * A bucket is counted while it is open and judged once it has closed (`close`): the judge says whether
 * it is learned. One it refuses (an anomaly) keeps its count for the caller's window sums but never
 * enters the profile, so an attack is never learned as normal. Bounded: `maxKeys` profiles (the least
 * recently noted evicted, counted) and `maxKeysPerGroup` per group (a new key of a full group is not
 * tracked, counted), so one client scanning allowed ports cannot push every other profile out.
 */

/** Width of one bucket (ms). */
export const RATE_BUCKET_MS = 10_000;
/** Buckets a profile remembers: one hour of 10 s buckets. */
export const RATE_BUCKETS = 360;
/** A count above this is kept as this (15 bits; the 16th marks a bucket that was not learned). */
const MAX_COUNT = 0x7fff;
const NOT_LEARNED = 0x8000;
/** A bucket that never closes (no tick) is learned unjudged once this many are waiting. */
const MAX_PENDING = RATE_BUCKETS;

export interface RateProfilesOptions {
  maxKeys: number;
  maxKeysPerGroup: number;
}

export const RATE_PROFILES_DEFAULTS: RateProfilesOptions = { maxKeys: 10_000, maxKeysPerGroup: 512 };

/** One key's profile. */
export class RateProfile {
  /** Counts of closed buckets by absolute index modulo RATE_BUCKETS; the high bit: not learned. */
  readonly ring = new Uint16Array(RATE_BUCKETS);
  /** Absolute index (ts / RATE_BUCKET_MS) of the first bucket of its history. */
  first: number;
  /** Absolute index of the newest closed bucket (first - 1 before any). */
  closed: number;
  /** Counts of the buckets after `closed` not yet closed: closed+1, closed+2, … */
  readonly pending: number[] = [];
  /** Newest bucket with a count (closed or pending); older than the ring = nothing left. */
  lastCounted: number;

  constructor(
    readonly key: string,
    readonly group: string,
    first: number,
  ) {
    this.first = first;
    this.closed = first - 1;
    this.lastCounted = first;
  }

  /** Sum of the raw counts of the newest `n` closed buckets after `after` (learned or not). */
  sumOfLast(n: number, after = Number.NEGATIVE_INFINITY): number {
    let sum = 0;
    const from = Math.max(this.first, this.closed - n + 1, after + 1, this.closed - RATE_BUCKETS + 1);
    for (let i = from; i <= this.closed; i++) sum += this.ring[i % RATE_BUCKETS]! & MAX_COUNT;
    return sum;
  }

  /**
   * The `q` quantile (0..1, nearest rank) of the learned closed buckets of the last hour, quiet ones
   * included; 0 when none. Called only for a bucket worth judging (rare), so it may sort.
   */
  quantile(q: number): number {
    const from = Math.max(this.first, this.closed - RATE_BUCKETS + 1);
    const values: number[] = [];
    for (let i = from; i <= this.closed; i++) {
      const v = this.ring[i % RATE_BUCKETS]!;
      if ((v & NOT_LEARNED) === 0) values.push(v);
    }
    if (values.length === 0) return 0;
    values.sort((a, b) => a - b);
    return values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
  }

  /** Buckets of history it has (closed, within the ring). */
  get historyBuckets(): number {
    return Math.max(0, Math.min(RATE_BUCKETS, this.closed - this.first + 1));
  }

  /** Moves `closed` to `idx` (quiet buckets in between count 0) and stores `count` there. */
  write(idx: number, count: number, learned: boolean): void {
    const gap = idx - this.closed;
    if (gap > RATE_BUCKETS) this.ring.fill(0);
    else for (let i = this.closed + 1; i < idx; i++) this.ring[i % RATE_BUCKETS] = 0;
    this.ring[idx % RATE_BUCKETS] = Math.min(count, MAX_COUNT) | (learned ? 0 : NOT_LEARNED);
    this.closed = idx;
  }
}

/** Judges a bucket that just closed: true = learn it into the profile. */
export type BucketJudge = (profile: RateProfile, bucketStartMs: number, count: number) => boolean;

interface GroupState {
  /** Event time the group was first seen (ms). */
  since: number;
  keys: number;
}

/** The saved form (rate-profiles.json). */
export interface RateProfilesJson {
  version: 1;
  bucketMs: number;
  buckets: number;
  groups: Record<string, number>;
  /** `counts`: [bucket index, count] of each closed non-quiet bucket (negative count: not learned). */
  profiles: { key: string; group: string; first: number; closed: number; counts: [number, number][] }[];
}

export class RateProfiles {
  /** Insertion order = least recently noted first. */
  private readonly profiles = new Map<string, RateProfile>();
  private readonly groups = new Map<string, GroupState>();
  /** Profiles with buckets waiting to close. */
  private readonly active = new Set<RateProfile>();
  private lastKey: string | null = null;
  private lastBoundary = Number.NEGATIVE_INFINITY;
  private nextSweep = Number.NEGATIVE_INFINITY;
  evictions = 0;
  dropped = 0;
  /** Changed since the last save (the saver clears it): the daemon writes the file only then. */
  dirty = false;

  constructor(private readonly opts: RateProfilesOptions = RATE_PROFILES_DEFAULTS) {}

  get size(): number {
    return this.profiles.size;
  }

  /** Records that `group` exists at `ts` (its first sighting starts its history). */
  seen(group: string, ts: number): void {
    const g = this.groups.get(group);
    if (g === undefined) this.group(group, ts);
    else if (ts < g.since) g.since = ts;
  }

  /** When `group` was first seen (ms), or null. */
  since(group: string): number | null {
    return this.groups.get(group)?.since ?? null;
  }

  /** Counts one occurrence for `key` (of `group`) at `ts`; false when the key is not tracked (group full). */
  note(group: string, key: string, ts: number): boolean {
    const idx = Math.floor(ts / RATE_BUCKET_MS);
    const p = this.profile(group, key, idx, ts);
    if (p === null) return false;
    // A late event whose bucket already closed counts in the oldest bucket still open.
    const at = Math.max(idx, p.closed + 1);
    while (p.closed + p.pending.length < at) p.pending.push(0);
    const slot = at - p.closed - 1;
    p.pending[slot] = p.pending[slot]! + 1;
    if (at > p.lastCounted) p.lastCounted = at;
    // No tick for a long time (a caller that never closes): the oldest is learned as it is.
    while (p.pending.length > MAX_PENDING) p.write(p.closed + 1, p.pending.shift()!, true);
    this.active.add(p);
    return true;
  }

  /**
   * Closes every bucket that ended at or before the bucket boundary at or before `nowMs`, oldest
   * first, asking `judge` about each one with a count. Only whole buckets before the boundary: where
   * between two events a tick falls never changes what is judged.
   */
  close(nowMs: number, judge: BucketJudge): void {
    const boundary = Math.floor(nowMs / RATE_BUCKET_MS);
    if (boundary <= this.lastBoundary) return;
    this.lastBoundary = boundary;
    for (const p of this.active) {
      while (p.pending.length > 0 && p.closed + 1 < boundary) {
        const idx = p.closed + 1;
        const count = p.pending.shift()!;
        p.write(idx, count, count === 0 || judge(p, idx * RATE_BUCKET_MS, count));
        this.dirty = true;
      }
      if (p.pending.length === 0) this.active.delete(p);
    }
    if (boundary >= this.nextSweep) {
      this.nextSweep = boundary + RATE_BUCKETS / 6;
      this.sweep(boundary);
    }
  }

  /** A one-line account for status output. */
  status(): string {
    return `${this.profiles.size} rate profiles, ${this.evictions} evictions, ${this.dropped} not tracked (group full)`;
  }

  toJSON(): RateProfilesJson {
    const profiles: RateProfilesJson["profiles"] = [];
    for (const p of this.profiles.values()) {
      const counts: [number, number][] = [];
      const from = Math.max(p.first, p.closed - RATE_BUCKETS + 1);
      for (let i = from; i <= p.closed; i++) {
        const v = p.ring[i % RATE_BUCKETS]!;
        const n = v & MAX_COUNT;
        if (n > 0) counts.push([i, (v & NOT_LEARNED) === 0 ? n : -n]);
      }
      if (counts.length > 0)
        profiles.push({ key: p.key, group: p.group, first: p.first, closed: p.closed, counts });
    }
    const groups: Record<string, number> = {};
    for (const [name, g] of this.groups) groups[name] = g.since;
    return { version: 1, bucketMs: RATE_BUCKET_MS, buckets: RATE_BUCKETS, groups, profiles };
  }

  /**
   * Adds what a saved file holds (already checked for shape, see rate-profiles-file.ts). A file made
   * with other bucket sizes is ignored: its counts would mean something else. Returns the profiles loaded.
   */
  load(json: RateProfilesJson): number {
    if (json.bucketMs !== RATE_BUCKET_MS || json.buckets !== RATE_BUCKETS) return 0;
    for (const [name, since] of Object.entries(json.groups)) this.seen(name, since);
    let loaded = 0;
    for (const saved of json.profiles) {
      const p = this.profile(saved.group, saved.key, saved.first, saved.first * RATE_BUCKET_MS);
      if (p === null) continue;
      for (const [idx, n] of saved.counts) {
        if (idx < saved.first || idx > saved.closed || idx <= p.closed) continue;
        p.write(idx, Math.abs(n), n > 0);
        p.lastCounted = idx;
      }
      if (saved.closed > p.closed) p.write(saved.closed, 0, true);
      loaded++;
    }
    return loaded;
  }

  private group(name: string, ts: number): GroupState {
    let g = this.groups.get(name);
    if (g === undefined) {
      if (this.groups.size >= this.opts.maxKeys) {
        // Forget a group with no profile left (the oldest such), else the oldest.
        let victim: string | undefined;
        for (const [n, s] of this.groups) {
          victim ??= n;
          if (s.keys === 0) {
            victim = n;
            break;
          }
        }
        if (victim !== undefined) this.groups.delete(victim);
      }
      g = { since: ts, keys: 0 };
      this.groups.set(name, g);
      this.dirty = true;
    }
    return g;
  }

  /** The key's profile, made most recently noted; null when its group is full. */
  private profile(group: string, key: string, idx: number, ts: number): RateProfile | null {
    let p = this.profiles.get(key);
    if (p !== undefined) {
      if (this.lastKey !== key) {
        this.profiles.delete(key);
        this.profiles.set(key, p);
        this.lastKey = key;
      }
      return p;
    }
    const g = this.group(group, ts);
    if (g.keys >= this.opts.maxKeysPerGroup) {
      this.dropped++;
      return null;
    }
    if (this.profiles.size >= this.opts.maxKeys) {
      const oldest = this.profiles.values().next();
      if (!oldest.done) this.remove(oldest.value);
      this.evictions++;
    }
    p = new RateProfile(key, group, idx);
    this.profiles.set(key, p);
    g.keys++;
    this.lastKey = key;
    return p;
  }

  /** Forgets profiles with nothing counted in the last hour. */
  private sweep(boundary: number): void {
    for (const p of this.profiles.values()) {
      if (p.pending.length === 0 && p.lastCounted <= boundary - RATE_BUCKETS) this.remove(p);
    }
  }

  private remove(p: RateProfile): void {
    this.profiles.delete(p.key);
    this.active.delete(p);
    if (this.lastKey === p.key) this.lastKey = null;
    const g = this.groups.get(p.group);
    if (g !== undefined) g.keys--;
    this.dirty = true;
  }
}

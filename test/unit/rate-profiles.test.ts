/**
 * The engine's rate profiles (src/counting/rate-profiles.ts) and their file (rate-profiles-file.ts):
 * 10 s buckets over an hour per key, closed in event time, bounded, saved and loaded as JSON.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  RATE_BUCKET_MS,
  RATE_BUCKETS,
  type RateProfile,
  RateProfiles,
} from "../../src/counting/rate-profiles.js";
import {
  loadRateProfiles,
  loadRateProfilesKeepingCorruptFile,
  RateProfilesFileError,
  saveRateProfiles,
} from "../../src/counting/rate-profiles-file.js";

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % RATE_BUCKET_MS);
const B = RATE_BUCKET_MS;

/** Notes `perBucket[i]` occurrences in bucket i, closing as it goes; returns what the judge saw. */
function fill(store: RateProfiles, perBucket: number[], key = "k", group = "g"): [number, number][] {
  const seen: [number, number][] = [];
  perBucket.forEach((n, i) => {
    for (let j = 0; j < n; j++) store.note(group, key, T0 + i * B + j);
    store.close(T0 + (i + 1) * B, (_p, start, count) => {
      seen.push([(start - T0) / B, count]);
      return true;
    });
  });
  return seen;
}

describe("RateProfiles", () => {
  it("closes each bucket once, oldest first, only when its end has passed", () => {
    const store = new RateProfiles();
    store.note("g", "k", T0 + 1);
    store.note("g", "k", T0 + B + 1);
    const judged: number[] = [];
    const judge = (_p: RateProfile, start: number) => {
      judged.push((start - T0) / B);
      return true;
    };
    store.close(T0 + B - 1, judge);
    expect(judged).toEqual([]);
    store.close(T0 + B, judge);
    expect(judged).toEqual([0]);
    store.close(T0 + B + 500, judge);
    expect(judged).toEqual([0]);
    store.close(T0 + 3 * B, judge);
    expect(judged).toEqual([0, 1]);
  });

  it("counts a late event in the oldest bucket still open", () => {
    const store = new RateProfiles();
    const seen = fill(store, [3]);
    store.note("g", "k", T0 + 5); // bucket 0 already closed
    store.close(T0 + 2 * B, (_p, start, count) => {
      seen.push([(start - T0) / B, count]);
      return true;
    });
    expect(seen).toEqual([
      [0, 3],
      [1, 1],
    ]);
  });

  it("takes the p99 of the learned buckets of the last hour, quiet ones included", () => {
    const store = new RateProfiles();
    // 356 quiet-ish buckets of 2 and 4 spikes of 50: the p99 of 360 is the 4th largest → 50.
    const counts = Array.from({ length: RATE_BUCKETS }, (_, i) => (i % 90 === 0 ? 50 : 2));
    fill(store, counts);
    let q = -1;
    store.note("g", "k", T0 + RATE_BUCKETS * B);
    store.close(T0 + (RATE_BUCKETS + 1) * B, (p) => {
      q = p.quantile(0.99);
      return true;
    });
    expect(q).toBe(50);
  });

  it("leaves out buckets the judge refused: an anomaly never becomes normal", () => {
    const store = new RateProfiles();
    fill(store, Array(30).fill(1));
    for (let j = 0; j < 500; j++) store.note("g", "k", T0 + 30 * B + j);
    store.close(T0 + 31 * B, () => false);
    let q = -1;
    let sum = -1;
    store.note("g", "k", T0 + 31 * B);
    store.close(T0 + 32 * B, (p) => {
      q = p.quantile(1);
      sum = p.sumOfLast(1);
      return true;
    });
    expect(q).toBe(1);
    // The refused bucket still counts in window sums.
    expect(sum).toBe(500);
  });

  it("bounds keys: the least recently noted is evicted, a full group tracks no new key", () => {
    const store = new RateProfiles({ maxKeys: 3, maxKeysPerGroup: 2 });
    expect(store.note("a", "a1", T0)).toBe(true);
    expect(store.note("a", "a2", T0)).toBe(true);
    expect(store.note("a", "a3", T0)).toBe(false);
    expect(store.note("b", "b1", T0)).toBe(true);
    expect(store.note("b", "b2", T0)).toBe(true);
    expect(store.size).toBe(3);
    expect(store.status()).toBe("3 rate profiles, 1 evictions, 1 not tracked (group full)");
  });

  it("forgets a profile with nothing counted for an hour", () => {
    const store = new RateProfiles();
    fill(store, [5]);
    expect(store.size).toBe(1);
    store.close(T0 + (RATE_BUCKETS + 100) * B, () => true);
    expect(store.size).toBe(0);
  });

  it("remembers when a group was first seen", () => {
    const store = new RateProfiles();
    store.seen("g", T0 + 5_000);
    store.seen("g", T0 + 9_000);
    expect(store.since("g")).toBe(T0 + 5_000);
    expect(store.since("other")).toBeNull();
  });

  it("survives a JSON round trip: counts, refused buckets, groups", () => {
    const store = new RateProfiles();
    store.seen("g", T0 - 3_600_000);
    fill(store, [1, 0, 7, 2]);
    for (let j = 0; j < 90; j++) store.note("g", "k", T0 + 4 * B + j);
    store.close(T0 + 5 * B, () => false);
    const copy = new RateProfiles();
    expect(copy.load(JSON.parse(JSON.stringify(store.toJSON())))).toBe(1);
    expect(copy.since("g")).toBe(T0 - 3_600_000);
    expect(copy.toJSON()).toEqual(store.toJSON());
    expect(store.toJSON().profiles[0]!.counts).toEqual([
      [T0 / B, 1],
      [T0 / B + 2, 7],
      [T0 / B + 3, 2],
      [T0 / B + 4, -90],
    ]);
  });

  it("ignores a file made with other bucket sizes", () => {
    const json = new RateProfiles().toJSON();
    expect(new RateProfiles().load({ ...json, bucketMs: 60_000 })).toBe(0);
  });
});

describe("rate-profiles.json", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "netmon-rates-"));

  it("a missing file is an empty store; save then load gives the same profiles", () => {
    const path = join(dir(), "rate-profiles.json");
    expect(loadRateProfiles(path).size).toBe(0);
    const store = new RateProfiles();
    store.seen("g", T0);
    fill(store, [4, 4]);
    saveRateProfiles(path, store);
    expect(store.dirty).toBe(false);
    expect(loadRateProfiles(path).toJSON()).toEqual(store.toJSON());
  });

  it("writes only when something changed", () => {
    const path = join(dir(), "rate-profiles.json");
    const store = new RateProfiles();
    saveRateProfiles(path, store);
    expect(existsSync(path)).toBe(false);
  });

  it("a corrupt file is an error naming it, and is moved aside by the daemon's loader", () => {
    const d = dir();
    const path = join(d, "rate-profiles.json");
    writeFileSync(path, '{"version": 1, "profiles": "no"}');
    expect(() => loadRateProfiles(path)).toThrow(RateProfilesFileError);
    const warnings: string[] = [];
    const store = loadRateProfilesKeepingCorruptFile(
      path,
      (m, movedTo) => warnings.push(`${m} → ${movedTo}`),
      42,
    );
    expect(store.size).toBe(0);
    expect(warnings).toEqual([expect.stringMatching(/not a valid rate profiles file.*corrupt-42$/)]);
    expect(readdirSync(d)).toEqual(["rate-profiles.json.corrupt-42"]);
    expect(readFileSync(join(d, "rate-profiles.json.corrupt-42"), "utf8")).toContain("profiles");
  });
});

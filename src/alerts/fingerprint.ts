import { createHash } from "node:crypto";

/** Ids held by fingerprintOf's cache before it starts again empty. */
const MAX_CACHED_IDS = 16_384;

/**
 * Every finding asks for its alert's id, and an attack's thousands of findings share a few: sha256
 * each was a tenth of the daemon's CPU under a flood. Nested by detector, workload and key, so a
 * lookup hashes strings the finding already holds instead of building a new one.
 */
const cache = new Map<string, Map<string, Map<string, string>>>();
let cached = 0;

/**
 * Stable alert id: the first 16 hex chars (64 bits) of sha256 over detector, workload and key.
 * JSON-encoding the triple keeps it unambiguous ("a|b" + "c" never collides with "a" + "b|c"), and
 * depends on nothing but the inputs, so ids match across restarts, replays and hosts.
 */
export function fingerprintOf(detector: string, workload: string, key: string): string {
  let byWorkload = cache.get(detector);
  if (byWorkload === undefined) {
    byWorkload = new Map();
    cache.set(detector, byWorkload);
  }
  let byKey = byWorkload.get(workload);
  if (byKey === undefined) {
    byKey = new Map();
    byWorkload.set(workload, byKey);
  }
  const hit = byKey.get(key);
  if (hit !== undefined) return hit;
  const id = createHash("sha256")
    .update(JSON.stringify([detector, workload, key]))
    .digest("hex")
    .slice(0, 16);
  if (++cached > MAX_CACHED_IDS) {
    cache.clear();
    cached = 1;
    const fresh = new Map([[key, id]]);
    cache.set(detector, new Map([[workload, fresh]]));
    return id;
  }
  byKey.set(key, id);
  return id;
}

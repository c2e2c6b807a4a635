import { createHash } from "node:crypto";
import { BoundedMemo } from "../util/bounded-memo.js";

/** Every finding asks for its alert's id: an attack's thousands of findings share a few (sha256 each was a tenth of the daemon's CPU under a flood). */
const ids = new BoundedMemo<string>(16_384);

/**
 * Stable alert id: the first 16 hex chars (64 bits) of sha256 over detector, workload and key.
 * JSON-encoding the triple keeps it unambiguous ("a|b" + "c" never collides with "a" + "b|c"), and
 * depends on nothing but the inputs, so ids match across restarts, replays and hosts.
 */
export function fingerprintOf(detector: string, workload: string, key: string): string {
  const input = JSON.stringify([detector, workload, key]);
  return ids.get(input, () => createHash("sha256").update(input).digest("hex").slice(0, 16));
}

import { createHash } from "node:crypto";

/**
 * Stable alert id: the first 16 hex chars (64 bits) of sha256 over detector, workload and key.
 * JSON-encoding the triple keeps it unambiguous ("a|b" + "c" never collides with "a" + "b|c"), and
 * depends on nothing but the inputs, so ids match across restarts, replays and hosts.
 */
export function fingerprintOf(detector: string, workload: string, key: string): string {
  return createHash("sha256")
    .update(JSON.stringify([detector, workload, key]))
    .digest("hex")
    .slice(0, 16);
}

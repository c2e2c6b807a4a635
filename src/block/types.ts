import type { Proto } from "../model/events.js";

/**
 * What a block cuts. `destination`: this container IP → that IP:port/proto (both directions, open
 * connections too). `container`: all new egress of this container IP except the never-block list.
 */
export type BlockEntry =
  | { scope: "destination"; family: 4 | 6; src: string; proto: Proto; port: number; dst: string }
  | { scope: "container"; family: 4 | 6; src: string };

/** A block netmon holds: the kernel entry plus why, for whom and until when. */
export interface BlockRecord {
  id: string;
  entry: BlockEntry;
  container: string;
  workload: string;
  /** The alert that caused it. */
  fingerprint: string;
  reason: string;
  createdAt: number;
  expiresAt: number;
}

export function entryText(e: BlockEntry): string {
  return e.scope === "destination"
    ? `${e.src} -> ${e.dst}:${e.port}/${e.proto}`
    : `${e.src} -> * (quarantine)`;
}

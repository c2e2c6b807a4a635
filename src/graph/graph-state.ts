import type { ConnectionEvent } from "../model/events.js";
import type { PortState } from "./edge-ports.js";
import { EDGE_VERDICTS, type EdgeVerdict, type GraphContainer, type NodeKind } from "./snapshot-types.js";

// What TopologyGraph holds per node and edge (model.ts updates it, snapshot-view.ts reads it).

export const VERDICT_COUNT = EDGE_VERDICTS.length;

export const RANK: Record<EdgeVerdict, number> = {
  unjudged: 0,
  learning: 1,
  "allowed-policy": 2,
  "allowed-baseline": 3,
  unexpected: 4,
  blocked: 5,
};

export interface NodeState {
  id: string;
  kind: Exclude<NodeKind, "project" | "sweep">;
  label: string;
  workload?: string;
  project?: string;
  group?: "dns" | "net";
  /** Newest first. */
  containers?: GraphContainer[];
  lastSeen: number;
  /** Bucket in which this node was last moved to the end of the LRU order. */
  lruBucket: number;
  edges: Set<string>;
}

export interface EdgeState {
  key: string;
  /** The public id: JSON of [source, target]. */
  id: string;
  source: string;
  target: string;
  firstSeen: number;
  lastSeen: number;
  lruBucket: number;
  /** Per time slice (ring): the slice number it holds (NaN: empty), attempts, failures, worst rank + 1. */
  epochs: Float64Array;
  counts: Uint32Array;
  failed: Uint32Array;
  ranks: Uint8Array;
  /** Per slice and verdict (slot * VERDICT_COUNT + rank): attempts. */
  byVerdict: Uint32Array;
  /** Rank + 1 of the latest attempt: the verdict of a long-lived connection whose attempt left the window. */
  lastRank: number;
  /** "srcIp dstIp" of recent connections, to match block entries. */
  pairs: string[];
  /** By portKey(). */
  ports: Map<number, PortState>;
  /** Ports past the caps were tried: not held, not counted. */
  morePorts: boolean;
  /** "srcIp srcPort dstIp dstPort" of recent mid-stream and /proc attempts. */
  seeded: string[];
}

/** A connection whose opening netmon did not see: picked up mid-stream, or read from /proc. */
export function isSeeded(ev: ConnectionEvent): boolean {
  return ev.midstream === true || ev.source === "proc";
}

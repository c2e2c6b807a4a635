import type { Proto } from "../model/events.js";

/** Ports held per edge; the ports of a scan past it are only flagged (GraphEdge.morePorts). */
export const MAX_PORTS_PER_EDGE = 1024;
/** Ports listed per edge in a snapshot (all of them are in its folded ranges). */
export const MAX_PORTS_LISTED = 64;
/** Ranges per protocol written out in GraphEdge.portRanges before "…". */
const MAX_RANGES = 12;

/** One destination port of an edge, since the port was last quiet for a whole window. */
export interface PortState {
  proto: Proto;
  port: number;
  firstSeen: number;
  lastSeen: number;
  connections: number;
  failed: number;
  open: boolean;
  /** Worst verdict rank + 1 (0: none yet). */
  rank: number;
}

/** A port's key in an edge's table: every tcp port sorts before every udp port, each numerically. */
export function portKey(proto: Proto, port: number): number {
  return (proto === "udp" ? 65_536 : 0) + port;
}

/** Sorted numerically, tcp first. */
export function comparePorts(a: Pick<PortState, "proto" | "port">, b: Pick<PortState, "proto" | "port">) {
  return portKey(a.proto, a.port) - portKey(b.proto, b.port);
}

/** Ascending distinct port numbers as ranges: [1, 2, 3, 80] → "1-3, 80"; past `max` ranges, "…". */
export function foldRanges(ports: readonly number[], max = MAX_RANGES): string {
  const out: string[] = [];
  let i = 0;
  while (i < ports.length) {
    const start = ports[i]!;
    let end = start;
    while (i + 1 < ports.length && ports[i + 1] === end + 1) end = ports[++i]!;
    i++;
    if (out.length === max) {
      out.push("…");
      break;
    }
    out.push(start === end ? String(start) : `${start}-${end}`);
  }
  return out.join(", ");
}

/** "tcp/1-100, 443; udp/53" from ports sorted by comparePorts. */
export function portRangesText(ports: readonly Pick<PortState, "proto" | "port">[]): string {
  const parts: string[] = [];
  for (const proto of ["tcp", "udp"] as const) {
    const numbers = ports.filter((p) => p.proto === proto).map((p) => p.port);
    if (numbers.length > 0) parts.push(`${proto}/${foldRanges(numbers)}`);
  }
  return parts.join("; ");
}

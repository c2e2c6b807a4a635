import type { GraphEdge, GraphNode } from "./snapshot-types.js";

/** Refused or unanswered ports (or hosts) that make a scan (or a sweep)… */
export const SCAN_MIN_TRIED = 10;
/** …when that many were first tried within this time. */
export const SCAN_WITHIN_MS = 60_000;

/** Whether `count` of the times (ascending) fall within SCAN_WITHIN_MS of each other. */
function dense(sortedTimes: readonly number[], count: number): boolean {
  for (let i = 0; i + count - 1 < sortedTimes.length; i++)
    if (sortedTimes[i + count - 1]! - sortedTimes[i]! <= SCAN_WITHIN_MS) return true;
  return false;
}

/**
 * A port scan: at least SCAN_MIN_TRIED ports refused or unanswered and never answered, first tried
 * within SCAN_WITHIN_MS, and those are most of the edge's ports (a client of many open ports is no
 * scanner).
 */
export function isPortScan(ports: readonly { firstSeen: number; failed: number; open: boolean }[]): boolean {
  const closed = ports.filter((p) => p.failed > 0 && !p.open);
  if (closed.length < SCAN_MIN_TRIED || closed.length * 2 < ports.length) return false;
  return dense(
    closed.map((p) => p.firstSeen).sort((a, b) => a - b),
    SCAN_MIN_TRIED,
  );
}

/** The node a sweep's edge goes to. */
export function sweepNodeId(source: string, ports: string): string {
  return `sweep:${source} ${ports}`;
}

function isSweepCandidate(e: GraphEdge): boolean {
  return e.kind === "connections" && e.portCount === 1 && !e.morePorts && e.openPorts === 0 && e.failed > 0;
}

/**
 * Folds sweeps: one source trying one port on at least SCAN_MIN_TRIED destinations, refused or
 * unanswered everywhere, first tried within SCAN_WITHIN_MS. Their edges become one edge to a
 * "sweep" node (their targets listed in it); other edges are returned as they are. Edges come
 * sorted by source and target, and the result keeps that order.
 */
export function foldSweeps(
  edges: readonly GraphEdge[],
  rankOf: (e: GraphEdge) => number,
): { edges: GraphEdge[]; nodes: GraphNode[] } {
  const groups = new Map<string, GraphEdge[]>();
  for (const e of edges) {
    if (!isSweepCandidate(e)) continue;
    const key = `${e.source}\u0000${e.portRanges}`;
    const list = groups.get(key) ?? [];
    list.push(e);
    groups.set(key, list);
  }
  const folded = new Set<GraphEdge>();
  const sweeps: GraphEdge[] = [];
  const nodes: GraphNode[] = [];
  for (const members of groups.values()) {
    if (members.length < SCAN_MIN_TRIED) continue;
    if (
      !dense(
        members.map((e) => e.firstSeen).sort((a, b) => a - b),
        SCAN_MIN_TRIED,
      )
    )
      continue;
    for (const e of members) folded.add(e);
    const first = members[0]!;
    const target = sweepNodeId(first.source, first.portRanges);
    const verdicts: GraphEdge["verdicts"] = {};
    let worst = first;
    for (const e of members) {
      if (rankOf(e) > rankOf(worst)) worst = e;
      for (const [v, n] of Object.entries(e.verdicts) as [keyof GraphEdge["verdicts"], number][])
        verdicts[v] = (verdicts[v] ?? 0) + n;
    }
    const lastSeen = Math.max(...members.map((e) => e.lastSeen));
    const connections = members.reduce((n, e) => n + e.connections, 0);
    const failed = members.reduce((n, e) => n + e.failed, 0);
    sweeps.push({
      ...first,
      id: JSON.stringify([first.source, target]),
      target,
      kind: "sweep",
      connections,
      failed,
      ports: first.ports.map((p) => ({ ...p, connections, failed, verdict: worst.verdict })),
      verdicts,
      verdict: worst.verdict,
      firstSeen: Math.min(...members.map((e) => e.firstSeen)),
      lastSeen,
      targets: members.map((e) => e.target).sort(),
    });
    nodes.push({ id: target, kind: "sweep", label: `${members.length} hosts`, lastSeen });
  }
  if (sweeps.length === 0) return { edges: [...edges], nodes };
  const out = edges.filter((e) => !folded.has(e));
  out.push(...sweeps);
  return { edges: out, nodes };
}

import type { Alert } from "../alerts/alert.js";
import type { BlockRecord } from "../block/types.js";
import type { Severity } from "../model/finding.js";
import { comparePorts, MAX_PORTS_LISTED, portKey, portRangesText } from "./edge-ports.js";
import { isPortScan } from "./edge-shape.js";
import { type EdgeState, type NodeState, VERDICT_COUNT } from "./graph-state.js";
import { projectNodeId } from "./node-keys.js";
import { EDGE_VERDICTS, type GraphEdge, type GraphNode, type GraphPort } from "./snapshot-types.js";

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export interface BlockIndex {
  /** "srcIp dstIp" → the portKey()s an active destination block cuts. */
  pairs: Map<string, number[]>;
  /** Quarantined source addresses. */
  quarantined: Set<string>;
}

export function blockIndex(blocks: readonly BlockRecord[]): BlockIndex {
  const out: BlockIndex = { pairs: new Map(), quarantined: new Set() };
  for (const b of blocks) {
    if (b.entry.scope === "container") {
      out.quarantined.add(b.entry.src);
      continue;
    }
    const pair = `${b.entry.src} ${b.entry.dst}`;
    const list = out.pairs.get(pair) ?? [];
    list.push(portKey(b.entry.proto, b.entry.port));
    out.pairs.set(pair, list);
  }
  return out;
}

/**
 * One edge as the snapshot shows it (its label is set once sweeps are folded): the sums over the
 * ring's slices of the window, its ports (those quiet for the window are dropped from `e`, and
 * counted in `droppedPorts`), and the blocks that cut it.
 */
export function edgeView(
  e: EdgeState,
  window: { oldest: number; current: number; buckets: number },
  blocks: BlockIndex,
): { edge: GraphEdge; droppedPorts: number } {
  const { oldest, current, buckets: n } = window;
  let droppedPorts = 0;
  let connections = 0;
  let failed = 0;
  let rank = 0;
  const byVerdict = new Array<number>(VERDICT_COUNT).fill(0);
  for (let i = 0; i < n; i++) {
    if (!(e.epochs[i]! > current - n)) continue;
    connections += e.counts[i]!;
    failed += e.failed[i]!;
    if (e.ranks[i]! > rank) rank = e.ranks[i]!;
    for (let v = 0; v < VERDICT_COUNT; v++) byVerdict[v]! += e.byVerdict[i * VERDICT_COUNT + v]!;
  }
  if (rank === 0) rank = e.lastRank;
  for (const [k, p] of e.ports) {
    if (p.lastSeen > oldest) continue;
    e.ports.delete(k);
    droppedPorts++;
  }
  const quarantined = e.pairs.some((p) => blocks.quarantined.has(p.slice(0, p.indexOf(" "))));
  const cut = new Set<number>();
  for (const p of e.pairs) for (const k of blocks.pairs.get(p) ?? []) cut.add(k);
  const held = [...e.ports.values()].sort(comparePorts);
  let openPorts = 0;
  let blocked = quarantined;
  const ports: GraphPort[] = [];
  for (const p of held) {
    if (p.open) openPorts++;
    const isCut = quarantined || cut.has(portKey(p.proto, p.port));
    if (isCut) blocked = true;
    if (ports.length >= MAX_PORTS_LISTED) continue;
    ports.push({
      proto: p.proto,
      port: p.port,
      connections: p.connections,
      failed: p.failed,
      open: p.open,
      verdict: isCut ? "blocked" : EDGE_VERDICTS[Math.max(0, p.rank - 1)]!,
    });
  }
  const verdicts: GraphEdge["verdicts"] = {};
  byVerdict.forEach((count, v) => {
    if (count > 0) verdicts[EDGE_VERDICTS[v]!] = count;
  });
  const edge: GraphEdge = {
    id: e.id,
    source: e.source,
    target: e.target,
    kind: isPortScan(held) ? "port-scan" : "connections",
    label: "",
    ports,
    portRanges: portRangesText(held),
    portCount: held.length,
    morePorts: e.morePorts,
    openPorts,
    connections,
    failed,
    verdicts,
    firstSeen: e.firstSeen,
    lastSeen: e.lastSeen,
    verdict: blocked ? "blocked" : EDGE_VERDICTS[Math.max(0, rank - 1)]!,
  };
  return { edge, droppedPorts };
}

/**
 * The nodes the live edges join (others, with no edge left at all, are dropped from `held`), with
 * their alerts and gone containers, and the Compose projects as parent nodes.
 */
export function nodeViews(
  held: Map<string, NodeState>,
  live: Set<string>,
  overlay: { alerts?: readonly Alert[]; running?: (containerId: string) => boolean },
): GraphNode[] {
  const alerts = new Map<string, { count: number; severity: Severity }>();
  for (const a of overlay.alerts ?? []) {
    if (a.state !== "active") continue;
    const seen = alerts.get(a.workload);
    if (seen === undefined) alerts.set(a.workload, { count: 1, severity: a.severity });
    else {
      seen.count++;
      if (SEVERITY_RANK[a.severity] > SEVERITY_RANK[seen.severity]) seen.severity = a.severity;
    }
  }
  const nodes: GraphNode[] = [];
  const projects = new Map<string, number>();
  for (const n of held.values()) {
    if (!live.has(n.id)) {
      // Its edges all expired or were evicted (or it is only the target of a folded sweep).
      if (n.edges.size === 0) held.delete(n.id);
      continue;
    }
    const out: GraphNode = { id: n.id, kind: n.kind, label: n.label, lastSeen: n.lastSeen };
    if (n.project !== undefined) {
      out.parent = projectNodeId(n.project);
      out.project = n.project;
      projects.set(n.project, Math.max(projects.get(n.project) ?? 0, n.lastSeen));
    }
    if (n.workload !== undefined) {
      out.workload = n.workload;
      const a = alerts.get(n.workload);
      out.alerts = a?.count ?? 0;
      if (a !== undefined) out.severity = a.severity;
    }
    if (n.group !== undefined) out.group = n.group;
    if (n.containers !== undefined) {
      const running = overlay.running;
      out.containers = n.containers.map((c) =>
        running === undefined || running(c.id) ? { ...c } : { ...c, gone: true },
      );
      if (out.containers.length > 0 && out.containers.every((c) => c.gone)) out.gone = true;
    }
    nodes.push(out);
  }
  for (const [project, lastSeen] of projects) {
    nodes.push({ id: projectNodeId(project), kind: "project", label: project, lastSeen, project });
  }
  return nodes;
}

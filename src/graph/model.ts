import type { Alert } from "../alerts/alert.js";
import type { BlockRecord } from "../block/types.js";
import type { ConnectionEvent, ContainerRef, Proto } from "../model/events.js";
import type { Severity } from "../model/finding.js";
import { type NodeKey, NodeKeys, projectNodeId } from "./node-keys.js";
import {
  EDGE_VERDICTS,
  type EdgeVerdict,
  type GraphContainer,
  type GraphEdge,
  type GraphNode,
  type GraphSnapshot,
  type NodeKind,
} from "./snapshot-types.js";

const RANK: Record<EdgeVerdict, number> = {
  unjudged: 0,
  learning: 1,
  "allowed-policy": 2,
  "allowed-baseline": 3,
  unexpected: 4,
  blocked: 5,
};

export interface TopologyGraphOptions {
  /** Rolling window (ms; Infinity: keep everything, for a replay). Default 15 min. */
  windowMs: number;
  /** Most nodes held (workloads, external groups, the host); the least recently seen is evicted with its edges. */
  maxNodes: number;
  /** Most edges held; the least recently seen is evicted. */
  maxEdges: number;
  /** Counts are kept per window/buckets slice: the oldest slice may count up to one slice past the window. */
  buckets: number;
}

export const DEFAULT_GRAPH_OPTIONS: Readonly<TopologyGraphOptions> = Object.freeze({
  windowMs: 15 * 60_000,
  maxNodes: 500,
  maxEdges: 5000,
  buckets: 15,
});

export const MAX_CONTAINERS_PER_NODE = 8;
/** Address pairs remembered per edge, to match active blocks (newest replace oldest). */
const MAX_PAIRS_PER_EDGE = 4;

interface NodeState {
  id: string;
  kind: Exclude<NodeKind, "project">;
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

interface EdgeState {
  key: string;
  /** The public id: JSON of [source, target, proto, port]. */
  id: string;
  source: string;
  target: string;
  proto: Proto;
  port: number;
  firstSeen: number;
  lastSeen: number;
  lruBucket: number;
  /** Per time slice (ring): the slice number it holds (NaN: empty), attempts, failures, worst rank + 1. */
  epochs: Float64Array;
  counts: Uint32Array;
  failed: Uint32Array;
  ranks: Uint8Array;
  /** Rank + 1 of the latest attempt: the verdict of a long-lived connection whose attempt left the window. */
  lastRank: number;
  /** "srcIp dstIp" of recent connections, to match block entries. */
  pairs: string[];
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/**
 * A rolling, bounded map of who talked to whom: workloads (grouped by Compose project), external
 * destinations (by the DNS name the container resolved, else by /24 or /64) and the host; one edge
 * per source, destination, proto and port, with its connection count, last seen and worst verdict
 * over the window.
 *
 * observe() is O(1) (a few map lookups and a ring slot; eviction at the caps removes the least
 * recently seen node or edge), so it may run on every connection event; snapshot() does the work
 * (expiry, sums, overlaying alerts and blocks) and runs only when someone asks for the map. Time is
 * event time (packet timestamps), so replay and live behave the same.
 */
export class TopologyGraph {
  readonly options: Readonly<TopologyGraphOptions>;
  private readonly nodes = new Map<string, NodeState>();
  /** Insertion order is (approximately, at bucket granularity) least recently seen first. */
  private readonly edges = new Map<string, EdgeState>();
  private readonly keys = new NodeKeys();
  private readonly bucketMs: number;
  private counters = { observed: 0, evictedNodes: 0, evictedEdges: 0, expiredEdges: 0 };
  /** Event time of the latest observed event (ms); 0 before any. */
  lastEventMs = 0;

  constructor(opts: Partial<TopologyGraphOptions> = {}) {
    const o = { ...DEFAULT_GRAPH_OPTIONS, ...opts };
    if (!(o.windowMs > 0)) throw new RangeError(`graph: windowMs must be > 0 (got ${o.windowMs})`);
    if (!Number.isInteger(o.maxNodes) || o.maxNodes < 2)
      throw new RangeError(`graph: maxNodes must be an integer >= 2 (got ${o.maxNodes})`);
    if (!Number.isInteger(o.maxEdges) || o.maxEdges < 1)
      throw new RangeError(`graph: maxEdges must be an integer >= 1 (got ${o.maxEdges})`);
    if (!Number.isInteger(o.buckets) || o.buckets < 1 || o.buckets > 255)
      throw new RangeError(`graph: buckets must be an integer in 1..255 (got ${o.buckets})`);
    this.options = Object.freeze(o);
    this.bucketMs = o.windowMs / o.buckets;
  }

  /** The host's own addresses (network gateways); loopback always counts as the host. */
  setHostAddresses(ips: Iterable<string>): void {
    this.keys.setHostAddresses(ips);
  }

  get size(): { nodes: number; edges: number } {
    return { nodes: this.nodes.size, edges: this.edges.size };
  }

  /**
   * One connection event. An attempt opens (or counts on) an edge with its verdict; a later state
   * of the same connection (accepted, rejected, unanswered, closed) only updates an existing edge:
   * its last seen, and its failures. `verdict` is needed for attempts only (default "unjudged").
   */
  observe(ev: ConnectionEvent, verdict: EdgeVerdict = "unjudged"): void {
    this.counters.observed++;
    if (ev.ts > this.lastEventMs) this.lastEventMs = ev.ts;
    const bucket = Math.floor(ev.ts / this.bucketMs);
    const src = this.keys.of(ev.src);
    const dst = this.keys.of(ev.dst);
    const key = `${src.id}\u0000${dst.id}\u0000${ev.proto}\u0000${ev.dst.port}`;
    let edge = this.edges.get(key);
    if (edge === undefined) {
      if (ev.state !== "attempt") return;
      const s = this.touchNode(src, ev.src.container, ev.ts, bucket, dst.id);
      const d = this.touchNode(dst, ev.dst.container, ev.ts, bucket, s.id);
      if (this.edges.size >= this.options.maxEdges) this.evictOldestEdge();
      edge = {
        key,
        id: JSON.stringify([s.id, d.id, ev.proto, ev.dst.port]),
        source: s.id,
        target: d.id,
        proto: ev.proto,
        port: ev.dst.port,
        firstSeen: ev.ts,
        lastSeen: ev.ts,
        lruBucket: bucket,
        epochs: new Float64Array(this.options.buckets).fill(Number.NaN),
        counts: new Uint32Array(this.options.buckets),
        failed: new Uint32Array(this.options.buckets),
        ranks: new Uint8Array(this.options.buckets),
        lastRank: 0,
        pairs: [],
      };
      this.edges.set(key, edge);
      s.edges.add(key);
      d.edges.add(key);
    } else {
      this.touchNode(src, ev.src.container, ev.ts, bucket, dst.id);
      this.touchNode(dst, ev.dst.container, ev.ts, bucket, src.id);
      if (edge.lruBucket !== bucket) {
        // Moved to the end of the insertion order at most once per slice: approximate LRU, O(1).
        this.edges.delete(key);
        this.edges.set(key, edge);
        edge.lruBucket = bucket;
      }
    }
    if (ev.ts > edge.lastSeen) edge.lastSeen = ev.ts;
    const slot = this.slot(edge, bucket);
    if (ev.state === "attempt") {
      const rank = RANK[verdict] + 1;
      edge.lastRank = rank;
      if (slot >= 0) {
        edge.counts[slot]!++;
        if (rank > edge.ranks[slot]!) edge.ranks[slot] = rank;
      }
      const pair = `${ev.src.ip} ${ev.dst.ip}`;
      if (!edge.pairs.includes(pair)) {
        if (edge.pairs.length >= MAX_PAIRS_PER_EDGE) edge.pairs.shift();
        edge.pairs.push(pair);
      }
    } else if ((ev.state === "rejected" || ev.state === "unanswered") && slot >= 0) {
      edge.failed[slot]!++;
    }
  }

  /**
   * The map at `nowMs` (event time; the clock when live): edges seen within the window, the nodes
   * they join, and the Compose projects as parent nodes. Drops what left the window. Given the
   * active alerts, workload nodes carry their count and worst severity; given the active blocks,
   * edges they cut are "blocked". Sorted by id, so equal graphs print equally.
   */
  snapshot(
    nowMs: number,
    overlay: { alerts?: readonly Alert[]; blocks?: readonly BlockRecord[] } = {},
  ): GraphSnapshot {
    const { windowMs, buckets } = this.options;
    const oldest = nowMs - windowMs;
    const current = Math.floor(nowMs / this.bucketMs);
    const blockedPairs = new Set<string>();
    const quarantined = new Set<string>();
    for (const b of overlay.blocks ?? []) {
      if (b.entry.scope === "container") quarantined.add(b.entry.src);
      else blockedPairs.add(`${b.entry.src} ${b.entry.dst} ${b.entry.port} ${b.entry.proto}`);
    }
    const edges: GraphEdge[] = [];
    const live = new Set<string>();
    for (const e of this.edges.values()) {
      if (e.lastSeen <= oldest) {
        this.removeEdge(e);
        this.counters.expiredEdges++;
        continue;
      }
      let connections = 0;
      let failed = 0;
      let rank = 0;
      for (let i = 0; i < buckets; i++) {
        if (!(e.epochs[i]! > current - buckets)) continue;
        connections += e.counts[i]!;
        failed += e.failed[i]!;
        if (e.ranks[i]! > rank) rank = e.ranks[i]!;
      }
      if (rank === 0) rank = e.lastRank;
      let verdict = EDGE_VERDICTS[Math.max(0, rank - 1)]!;
      if (verdict !== "blocked" && this.isBlocked(e, blockedPairs, quarantined)) verdict = "blocked";
      edges.push({
        id: e.id,
        source: e.source,
        target: e.target,
        proto: e.proto,
        port: e.port,
        connections,
        failed,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        verdict,
      });
      live.add(e.source);
      live.add(e.target);
    }
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
    for (const n of this.nodes.values()) {
      if (!live.has(n.id)) {
        // Its edges all expired or were evicted.
        if (n.edges.size === 0) this.nodes.delete(n.id);
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
      if (n.containers !== undefined) out.containers = n.containers.map((c) => ({ ...c }));
      nodes.push(out);
    }
    for (const [project, lastSeen] of projects) {
      nodes.push({ id: projectNodeId(project), kind: "project", label: project, lastSeen, project });
    }
    nodes.sort((a, b) => compare(a.id, b.id));
    edges.sort(
      (a, b) =>
        compare(a.source, b.source) ||
        compare(a.target, b.target) ||
        compare(a.proto, b.proto) ||
        a.port - b.port,
    );
    return {
      version: 1,
      at: nowMs,
      windowMs: Number.isFinite(windowMs) ? windowMs : null,
      nodes,
      edges,
      stats: {
        ...this.counters,
        maxNodes: this.options.maxNodes,
        maxEdges: this.options.maxEdges,
      },
    };
  }

  private isBlocked(e: EdgeState, pairs: Set<string>, quarantined: Set<string>): boolean {
    if (pairs.size === 0 && quarantined.size === 0) return false;
    for (const p of e.pairs) {
      const space = p.indexOf(" ");
      if (quarantined.has(p.slice(0, space))) return true;
      if (pairs.has(`${p} ${e.port} ${e.proto}`)) return true;
    }
    return false;
  }

  /** The ring slot for `bucket`, reset when it held an older slice; -1 for an event older than the ring. */
  private slot(e: EdgeState, bucket: number): number {
    const n = this.options.buckets;
    const slot = Number.isFinite(bucket) ? ((bucket % n) + n) % n : 0;
    const held = e.epochs[slot]!;
    if (held === bucket) return slot;
    if (held > bucket) return -1;
    e.epochs[slot] = bucket;
    e.counts[slot] = 0;
    e.failed[slot] = 0;
    e.ranks[slot] = 0;
    return slot;
  }

  private touchNode(
    key: NodeKey,
    container: ContainerRef | null,
    ts: number,
    bucket: number,
    keep: string,
  ): NodeState {
    let n = this.nodes.get(key.id);
    if (n === undefined) {
      if (this.nodes.size >= this.options.maxNodes) this.evictOldestNode(keep);
      n = { ...key, lastSeen: ts, lruBucket: bucket, edges: new Set() };
      if (key.kind === "workload") n.containers = [];
      this.nodes.set(key.id, n);
    } else if (n.lruBucket !== bucket) {
      this.nodes.delete(key.id);
      this.nodes.set(key.id, n);
      n.lruBucket = bucket;
    }
    if (ts > n.lastSeen) n.lastSeen = ts;
    if (container !== null && n.containers !== undefined) {
      const list = n.containers;
      const first = list[0];
      if (first === undefined || first.id !== container.id || first.name !== container.name) {
        const at = list.findIndex((x) => x.id === container.id);
        if (at >= 0) list.splice(at, 1);
        list.unshift({ id: container.id, name: container.name, image: container.image });
        if (list.length > MAX_CONTAINERS_PER_NODE) list.pop();
      }
    }
    return n;
  }

  private evictOldestEdge(): void {
    const first = this.edges.values().next();
    if (first.done) return;
    this.removeEdge(first.value);
    this.counters.evictedEdges++;
  }

  /** Evicts the least recently seen node (never `keep`, the other end of the edge being added) and its edges. */
  private evictOldestNode(keep: string): void {
    for (const n of this.nodes.values()) {
      if (n.id === keep) continue;
      for (const key of n.edges) {
        const e = this.edges.get(key);
        if (e === undefined) continue;
        this.removeEdge(e);
        this.counters.evictedEdges++;
      }
      this.nodes.delete(n.id);
      this.counters.evictedNodes++;
      return;
    }
  }

  private removeEdge(e: EdgeState): void {
    this.edges.delete(e.key);
    this.nodes.get(e.source)?.edges.delete(e.key);
    this.nodes.get(e.target)?.edges.delete(e.key);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

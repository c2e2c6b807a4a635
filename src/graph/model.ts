import type { Alert } from "../alerts/alert.js";
import type { BlockRecord } from "../block/types.js";
import type { ConnectionEvent, ContainerRef } from "../model/events.js";
import { edgeText } from "./edge-label.js";
import { MAX_PORTS_PER_EDGE, portKey } from "./edge-ports.js";
import { foldSweeps } from "./edge-shape.js";
import { type EdgeState, isSeeded, type NodeState, RANK, VERDICT_COUNT } from "./graph-state.js";
import { type NodeKey, NodeKeys } from "./node-keys.js";
import type { EdgeVerdict, GraphEdge, GraphSnapshot } from "./snapshot-types.js";
import { blockIndex, edgeView, nodeViews } from "./snapshot-view.js";

export interface TopologyGraphOptions {
  /** Rolling window (ms; Infinity: keep everything, for a replay). Default 15 min. */
  windowMs: number;
  /** Most nodes held (workloads, external groups, the host); the least recently seen is evicted with its edges. */
  maxNodes: number;
  /** Most edges held; the least recently seen is evicted. */
  maxEdges: number;
  /** Counts are kept per window/buckets slice: the oldest slice may count up to one slice past the window. */
  buckets: number;
  /** Most destination ports held over all edges (each edge holds at most MAX_PORTS_PER_EDGE). */
  maxPorts: number;
}

export const DEFAULT_GRAPH_OPTIONS: Readonly<TopologyGraphOptions> = Object.freeze({
  windowMs: 15 * 60_000,
  maxNodes: 500,
  maxEdges: 5000,
  buckets: 15,
  maxPorts: 20_000,
});

export const MAX_CONTAINERS_PER_NODE = 8;
/** Address pairs remembered per edge, to match active blocks (newest replace oldest). */
const MAX_PAIRS_PER_EDGE = 4;
/** Connections picked up mid-stream or from /proc remembered per edge, so one seen both ways counts once. */
const MAX_SEEDED_PER_EDGE = 8;

/**
 * A rolling, bounded map of who talked to whom: workloads (grouped by Compose project), external
 * destinations (by the DNS name the container resolved, else by /24 or /64) and the host; one edge
 * per source and destination, its ports, connection counts and verdicts folded in (a port scan is
 * one edge, labelled so; a sweep of many destinations is folded into one at snapshot time).
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
  /** Port entries held over all edges (options.maxPorts caps it). */
  private portsHeld = 0;
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
   * One connection event. An attempt opens (or counts on) an edge and its port with its verdict; a
   * later state of the same connection only updates an existing edge: its last seen, its failures
   * (refused, unanswered; a late answer that `corrects` an unanswered one takes that failure back
   * or keeps it, never counts it twice), its open ports. A connection picked up mid-stream and from
   * /proc counts once. `verdict` is needed for attempts only (default "unjudged").
   */
  observe(ev: ConnectionEvent, verdict: EdgeVerdict = "unjudged"): void {
    this.counters.observed++;
    if (ev.ts > this.lastEventMs) this.lastEventMs = ev.ts;
    const bucket = Math.floor(ev.ts / this.bucketMs);
    const src = this.keys.of(ev.src);
    const dst = this.keys.of(ev.dst);
    const key = `${src.id}\u0000${dst.id}`;
    let edge = this.edges.get(key);
    if (edge === undefined) {
      if (ev.state !== "attempt") return;
      const s = this.touchNode(src, ev.src.container, ev.ts, bucket, dst.id);
      const d = this.touchNode(dst, ev.dst.container, ev.ts, bucket, s.id);
      if (this.edges.size >= this.options.maxEdges) this.evictOldestEdge();
      const n = this.options.buckets;
      edge = {
        key,
        id: JSON.stringify([s.id, d.id]),
        source: s.id,
        target: d.id,
        firstSeen: ev.ts,
        lastSeen: ev.ts,
        lruBucket: bucket,
        epochs: new Float64Array(n).fill(Number.NaN),
        counts: new Uint32Array(n),
        failed: new Uint32Array(n),
        ranks: new Uint8Array(n),
        byVerdict: new Uint32Array(n * VERDICT_COUNT),
        lastRank: 0,
        pairs: [],
        ports: new Map(),
        morePorts: false,
        seeded: [],
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
    if (ev.state === "attempt") this.countAttempt(edge, ev, bucket, RANK[verdict]);
    else this.countOutcome(edge, ev, bucket);
  }

  private countAttempt(edge: EdgeState, ev: ConnectionEvent, bucket: number, rank: number): void {
    if (isSeeded(ev)) {
      const tuple = `${ev.src.ip} ${ev.src.port} ${ev.dst.ip} ${ev.dst.port}`;
      if (edge.seeded.includes(tuple)) return;
      if (edge.seeded.length >= MAX_SEEDED_PER_EDGE) edge.seeded.shift();
      edge.seeded.push(tuple);
    }
    edge.lastRank = rank + 1;
    const slot = this.slot(edge, bucket);
    if (slot >= 0) {
      edge.counts[slot]!++;
      edge.byVerdict[slot * VERDICT_COUNT + rank]!++;
      if (rank + 1 > edge.ranks[slot]!) edge.ranks[slot] = rank + 1;
    }
    const pair = `${ev.src.ip} ${ev.dst.ip}`;
    if (!edge.pairs.includes(pair)) {
      if (edge.pairs.length >= MAX_PAIRS_PER_EDGE) edge.pairs.shift();
      edge.pairs.push(pair);
    }
    const pk = portKey(ev.proto, ev.dst.port);
    let port = edge.ports.get(pk);
    if (port === undefined) {
      if (edge.ports.size >= MAX_PORTS_PER_EDGE || this.portsHeld >= this.options.maxPorts) {
        edge.morePorts = true;
        return;
      }
      port = {
        proto: ev.proto,
        port: ev.dst.port,
        firstSeen: ev.ts,
        lastSeen: ev.ts,
        connections: 0,
        failed: 0,
        open: false,
        rank: 0,
      };
      edge.ports.set(pk, port);
      this.portsHeld++;
    }
    port.connections++;
    if (ev.ts > port.lastSeen) port.lastSeen = ev.ts;
    if (rank + 1 > port.rank) port.rank = rank + 1;
  }

  private countOutcome(edge: EdgeState, ev: ConnectionEvent, bucket: number): void {
    const port = edge.ports.get(portKey(ev.proto, ev.dst.port));
    if (port !== undefined && ev.ts > port.lastSeen) port.lastSeen = ev.ts;
    if (ev.state === "accepted") {
      if (port !== undefined) port.open = true;
      // The unanswered this answer replaces was counted as a failure: take it back.
      if (ev.corrects === "unanswered") {
        this.uncountFailure(edge);
        if (port !== undefined && port.failed > 0) port.failed--;
      }
      return;
    }
    const failure = ev.state === "rejected" || ev.state === "unanswered";
    // A late refusal replaces an unanswered already counted; a mid-stream flow is no failed connection.
    if (!failure || ev.corrects !== undefined || ev.midstream === true) return;
    const slot = this.slot(edge, bucket);
    if (slot >= 0) edge.failed[slot]!++;
    if (port !== undefined) port.failed++;
  }

  /** One failure fewer, in the latest slice that holds one. */
  private uncountFailure(edge: EdgeState): void {
    let best = -1;
    for (let i = 0; i < this.options.buckets; i++) {
      if (edge.failed[i]! > 0 && (best < 0 || edge.epochs[i]! > edge.epochs[best]!)) best = i;
    }
    if (best >= 0) edge.failed[best]!--;
  }

  /**
   * The map at `nowMs` (event time; the clock when live): edges seen within the window, the nodes
   * they join, and the Compose projects as parent nodes. Drops what left the window. Given the
   * active alerts, workload nodes carry their count and worst severity; given the active blocks,
   * edges they cut are "blocked"; given which containers run, the others are marked gone. Port
   * scans are labelled, sweeps folded into one edge. Sorted by id, so equal graphs print equally.
   */
  snapshot(
    nowMs: number,
    overlay: {
      alerts?: readonly Alert[];
      blocks?: readonly BlockRecord[];
      running?: (containerId: string) => boolean;
    } = {},
  ): GraphSnapshot {
    const { windowMs } = this.options;
    const oldest = nowMs - windowMs;
    const current = Math.floor(nowMs / this.bucketMs);
    const blocks = blockIndex(overlay.blocks ?? []);
    const built: GraphEdge[] = [];
    for (const e of this.edges.values()) {
      if (e.lastSeen <= oldest) {
        this.removeEdge(e);
        this.counters.expiredEdges++;
        continue;
      }
      const { edge, droppedPorts } = edgeView(e, { oldest, current, buckets: this.options.buckets }, blocks);
      this.portsHeld -= droppedPorts;
      built.push(edge);
    }
    built.sort((a, b) => compare(a.source, b.source) || compare(a.target, b.target));
    const { edges, nodes: sweepNodes } = foldSweeps(built, (e) => RANK[e.verdict]);
    const live = new Set<string>();
    for (const e of edges) {
      e.label = edgeText(e);
      live.add(e.source);
      live.add(e.target);
    }
    const nodes = nodeViews(this.nodes, live, overlay);
    nodes.push(...sweepNodes);
    nodes.sort((a, b) => compare(a.id, b.id));
    edges.sort((a, b) => compare(a.source, b.source) || compare(a.target, b.target));
    return {
      version: 2,
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
    e.byVerdict.fill(0, slot * VERDICT_COUNT, (slot + 1) * VERDICT_COUNT);
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
    this.portsHeld -= e.ports.size;
    this.edges.delete(e.key);
    this.nodes.get(e.source)?.edges.delete(e.key);
    this.nodes.get(e.target)?.edges.delete(e.key);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

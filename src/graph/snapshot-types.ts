import type { Proto } from "../model/events.js";
import type { Severity } from "../model/finding.js";

// The JSON shapes GET /api/graph returns (TopologyGraph.snapshot()); the page and `netmon graph` read them.

/**
 * What the policy said about the connections of an edge. Precedence (the worst wins over the window):
 * blocked > unexpected > allowed-baseline > allowed-policy > learning > unjudged.
 * - blocked: an active firewall block cuts this traffic (or the caller says so);
 * - unexpected: nothing allows it, or the destination is denylisted (what raises alerts);
 * - allowed-baseline: only the learned baseline allows it;
 * - allowed-policy: a config rule, a label, a DNS name rule or the DNS resolver rule allows it (also
 *   while the workload is learning);
 * - learning: the source workload is still learning and nothing but what it learns allows it;
 * - unjudged: the initiator is not a container, or its mode is off.
 */
export type EdgeVerdict =
  | "blocked"
  | "unexpected"
  | "allowed-baseline"
  | "allowed-policy"
  | "learning"
  | "unjudged";

/** Lowest first: the index is the rank. */
export const EDGE_VERDICTS: readonly EdgeVerdict[] = Object.freeze([
  "unjudged",
  "learning",
  "allowed-policy",
  "allowed-baseline",
  "unexpected",
  "blocked",
]);

/** "sweep": the one node standing for the hosts a sweep tried (see GraphEdge.kind). */
export type NodeKind = "workload" | "project" | "external" | "host" | "sweep";

export interface GraphContainer {
  id: string;
  name: string;
  image: string;
  /** The container no longer runs (only when the snapshot was told which containers run). */
  gone?: true;
}

export interface GraphNode {
  /**
   * Opaque and stable: "workload:<workload>", "project:<name>", "dns:<name>", "net:<cidr>", "host",
   * or "sweep:<source> <proto>/<port>".
   */
  id: string;
  kind: NodeKind;
  /** What to draw: the Compose service inside its project, else the workload, the DNS name or the network. */
  label: string;
  /** The Compose project node a workload belongs to. */
  parent?: string;
  /** Workload identity (workload nodes). */
  workload?: string;
  /** Compose project (workload and project nodes). */
  project?: string;
  /** How an external destination is grouped: by the DNS name the container resolved, or by /24 (IPv6 /64). */
  group?: "dns" | "net";
  /** The containers of a workload seen in the window, newest first (at most MAX_CONTAINERS_PER_NODE). */
  containers?: GraphContainer[];
  /** Every container of this workload seen in the window is gone. */
  gone?: true;
  /** Active alerts of the workload and the highest severity among them (when the snapshot was given alerts). */
  alerts?: number;
  severity?: Severity;
  /** Event time (ms) of the node's latest connection. */
  lastSeen: number;
}

/** One destination port of an edge. */
export interface GraphPort {
  proto: Proto;
  port: number;
  /** Attempts, and of those refused or unanswered, since the port was last quiet for a whole window. */
  connections: number;
  failed: number;
  /** Some connection to it was answered (SYN-ACK, UDP reply): the port is open. */
  open: boolean;
  verdict: EdgeVerdict;
}

/**
 * connections: the connections of one source to one destination, all ports folded in;
 * port-scan: the same, when many ports were tried within a short time and most were refused or
 * unanswered; sweep: one port tried on many destinations within a short time, most refused or
 * unanswered, folded into one edge to a "sweep" node (its `targets` are the destinations).
 */
export type EdgeKind = "connections" | "port-scan" | "sweep";

export interface GraphEdge {
  /** Opaque and unique: JSON of [source, target]. */
  id: string;
  source: string;
  target: string;
  kind: EdgeKind;
  /** What to draw: "tcp/5432 ×2", "tcp/80, 443 ×12 (3 failed)", "port scan: 100 ports (tcp/1-100), 0 open". */
  label: string;
  /** The destination ports, numerically sorted (tcp first); at most MAX_PORTS_LISTED (see portCount). */
  ports: GraphPort[];
  /** Every port, folded into ranges: "tcp/1-100, 443; udp/53" (long lists end in "…"). */
  portRanges: string;
  /** Distinct destination ports (at least: `morePorts` says ports past the per-edge cap went uncounted). */
  portCount: number;
  morePorts: boolean;
  /** Ports with an answered connection. */
  openPorts: number;
  /** Connections opened (attempts) within the window. */
  connections: number;
  /** Of those, refused (RST) or unanswered. */
  failed: number;
  /** The window's connections by verdict (verdicts with none are left out). */
  verdicts: Partial<Record<EdgeVerdict, number>>;
  /**
   * Event time (ms) the edge was first seen (it has been seen at least once per window since: an edge
   * quiet for a whole window is dropped), and of its latest event.
   */
  firstSeen: number;
  lastSeen: number;
  /** The worst verdict of the window's connections (see EdgeVerdict). */
  verdict: EdgeVerdict;
  /** Sweeps: the destinations tried, sorted (their own nodes are left out unless other edges need them). */
  targets?: string[];
}

export interface GraphStats {
  /** Connection events observed since start. */
  observed: number;
  /** Nodes and edges dropped because the caps were reached (oldest first), since start. */
  evictedNodes: number;
  evictedEdges: number;
  /** Edges dropped because they were quiet for the whole window, since start. */
  expiredEdges: number;
  maxNodes: number;
  maxEdges: number;
}

export interface GraphSnapshot {
  /** 2: one edge per pair of endpoints (1 had one per port). */
  version: 2;
  /** The time the snapshot describes (ms since the epoch) and the window before it. */
  at: number;
  windowMs: number | null;
  nodes: GraphNode[];
  edges: GraphEdge[];
  stats: GraphStats;
}

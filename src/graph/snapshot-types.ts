import type { Proto } from "../model/events.js";
import type { Severity } from "../model/finding.js";

// The JSON shapes GET /api/graph returns (TopologyGraph.snapshot()); the page and `netmon graph` read them.

/**
 * What the policy said about the connections of an edge. Precedence (the worst wins over the window):
 * blocked > unexpected > allowed-baseline > allowed-policy > learning > unjudged.
 * - blocked: an active firewall block cuts this traffic (or the caller says so);
 * - unexpected: nothing allows it, or the destination is denylisted (what raises alerts);
 * - allowed-baseline: only the learned baseline allows it;
 * - allowed-policy: a config rule, a label, a DNS name rule or the DNS resolver rule allows it;
 * - learning: the source workload is still learning;
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

export type NodeKind = "workload" | "project" | "external" | "host";

export interface GraphContainer {
  id: string;
  name: string;
  image: string;
}

export interface GraphNode {
  /** Opaque and stable: "workload:<workload>", "project:<name>", "dns:<name>", "net:<cidr>" or "host". */
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
  /** Active alerts of the workload and the highest severity among them (when the snapshot was given alerts). */
  alerts?: number;
  severity?: Severity;
  /** Event time (ms) of the node's latest connection. */
  lastSeen: number;
}

export interface GraphEdge {
  /** Opaque and unique: JSON of [source, target, proto, port]. */
  id: string;
  source: string;
  target: string;
  proto: Proto;
  /** Destination port. */
  port: number;
  /** Connections opened (attempts) within the window. */
  connections: number;
  /** Of those, refused (RST) or unanswered. */
  failed: number;
  /**
   * Event time (ms) the edge was first seen (it has been seen at least once per window since: an edge
   * quiet for a whole window is dropped), and of its latest event.
   */
  firstSeen: number;
  lastSeen: number;
  /** The worst verdict of the window's connections (see EdgeVerdict). */
  verdict: EdgeVerdict;
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
  version: 1;
  /** The time the snapshot describes (ms since the epoch) and the window before it. */
  at: number;
  windowMs: number | null;
  nodes: GraphNode[];
  edges: GraphEdge[];
  stats: GraphStats;
}

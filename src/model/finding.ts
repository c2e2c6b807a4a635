import type { ContainerRef, Proto } from "./events.js";

export type Severity = "info" | "warning" | "critical";

export interface FindingEndpoint {
  ip: string;
  port: number;
  proto: Proto;
  names?: string[];
}

/** One value an incident counts (distinct, with the first few kept): e.g. {of: "ports", value: "443/tcp"}. */
export interface FindingTarget {
  /** Plural noun of what is counted, as the alert shows it ("ports"). */
  of: string;
  value: string;
}

/**
 * What a detector raises: typed, with an identifier (`key`) that says which findings are the same
 * alert for this detector and workload. Suppression, routing and blocking live elsewhere.
 */
export interface Finding {
  detector: string;
  /**
   * Which of its finding kinds the detector raised (one of its module's `findings` keys, e.g.
   * "port-scan" for connection-burst/port-scan): what blocking rules select on.
   */
  kind?: string;
  severity: Severity;
  /** Identity of the alert within detector + workload, e.g. "203.0.113.7:443/tcp" or "port-scan:198.18.0.5". */
  key: string;
  container: ContainerRef;
  /** Workload identity (see src/model/workload.ts): Compose project/service, image repository, or name. */
  workload: string;
  /** One human sentence that names the container and what it did. */
  summary: string;
  /** Event time (packet time) in ms since the epoch. */
  ts: number;
  src?: FindingEndpoint;
  dst?: FindingEndpoint;
  /** Detector-specific evidence (shape, counts, targets), logged as alert.details. */
  details?: Record<string, unknown>;
  /** What this finding adds to its alert: the alert manager counts the distinct ones (alert.targets). */
  target?: FindingTarget;
  /**
   * The destination host, on a finding that is one of the many destinations a container may try
   * (unexpected-outbound, not denylisted): past `alerts.fanOutAfter` hosts of one workload such
   * findings fold into one fan-out incident, or into the workload's active connection-burst
   * incident (src/alerts/incidents.ts). Beaconing sets it the same way to find, and escalate, the
   * host's active unexpected-outbound incident (src/alerts/incident-escalation.ts).
   */
  host?: string;
}

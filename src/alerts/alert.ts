import type { ContainerRef } from "../events.js";
import type { FindingEndpoint, Severity } from "./finding.js";

export type AlertAction = "none" | "dry-run-block" | "blocked";

/** An alert as the alert manager tracks it: findings with the same fingerprint folded together. */
export interface Alert {
  /** Stable id: hash of detector + workload + finding key. */
  fingerprint: string;
  detector: string;
  severity: Severity;
  workload: string;
  container: ContainerRef;
  summary: string;
  src?: FindingEndpoint;
  dst?: FindingEndpoint;
  details?: Record<string, unknown>;
  /** How many findings this alert folded (1 on first fire). */
  count: number;
  /** Packet time of the first and latest finding (ms since the epoch). */
  firstSeen: number;
  lastSeen: number;
  action: AlertAction;
  state: "active" | "resolved";
}

/** fired: new alert (logged); repeated: still active after a suppression window (logged again with its count); resolved: quiet for resolveAfter. */
export type AlertTransition = "fired" | "repeated" | "resolved";

export interface AlertSink {
  onAlert(alert: Alert, transition: AlertTransition): void;
}

import type { ContainerRef } from "../model/events.js";
import type { FindingEndpoint, Severity } from "../model/finding.js";

export type AlertAction = "none" | "dry-run-block" | "blocked";

/** An alert as the alert manager tracks it: findings with the same fingerprint folded together. */
export interface Alert {
  /** Stable id: hash of detector + workload + finding key. */
  fingerprint: string;
  detector: string;
  /** The finding kind (see Finding.kind), when the detector names one. */
  kind?: string;
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

/** A passive observer of alerts (log, metrics, Alertmanager push): it never changes what happens. */
export interface AlertSink {
  onAlert(alert: Alert, transition: AlertTransition): void;
}

/**
 * The one place where an alert becomes an action (the blocker): called for fired and repeated alerts
 * before any sink, it returns what it did, or null to leave the alert's action as it is.
 */
export interface AlertDecider {
  decide(alert: Alert, transition: Exclude<AlertTransition, "resolved">): AlertAction | null;
}

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
  /**
   * The exact label, `policy.workloads` rule or config key that allows the legitimate case (of the
   * latest own finding), or null when nothing should allow it (a denylisted destination, a fan-out
   * of many hosts: each of its destinations has its own). Set by the alert manager.
   */
  fix?: string | null;
  /** URL of the alert's runbook section (alerts.runbookBaseUrl + the heading's anchor). Set by the alert manager. */
  runbook?: string;
  src?: FindingEndpoint;
  dst?: FindingEndpoint;
  details?: Record<string, unknown>;
  /** How many findings this incident took in (1 on first fire), folded ones from other alerts included. */
  count: number;
  /** What it counts distinct (ports of a host, destinations of a fan-out) and the first few, when its findings name one. */
  targets?: AlertTargets;
  /** Findings of other alerts folded into this incident (a fan-out's destinations, a burst's connections, a beacon to its host). */
  folded?: number;
  /** Packet time of the first and latest finding (ms since the epoch). */
  firstSeen: number;
  lastSeen: number;
  action: AlertAction;
  state: "active" | "resolved";
}

/** Distinct values an incident took in (bounded: `distinct` stops at a cap, `samples` keeps the first few). */
export interface AlertTargets {
  /** Plural noun of what is counted ("ports", "destinations"). */
  of: string;
  distinct: number;
  /** True when `distinct` reached the cap and is a lower bound. */
  capped: boolean;
  samples: string[];
}

/**
 * fired: an incident opens (`msg:"alert"`); repeated: it grew and a suppression window passed, or
 * its severity went up (`msg:"alert updated"`); resolved: quiet for resolveAfter (`msg:"alert resolved"`).
 */
export type AlertTransition = "fired" | "repeated" | "resolved";

/** A passive observer of alerts (log, metrics, Alertmanager push): it never changes what happens. */
export interface AlertSink {
  onAlert(alert: Alert, transition: AlertTransition): void;
}

/**
 * The one place where an alert becomes an action (the blocker): called for fired and repeated alerts
 * before any sink, and for each finding that brings an incident a new target while its log line is
 * suppressed (as "repeated", the alert's kind, severity and dst those of that finding), so every new
 * destination can be acted on; and, after the incident's own call, for a finding that escalated it (a
 * beacon to its host: as "repeated", with that finding's detector, kind, severity and dst). It returns
 * what it did, or null to leave the alert's action as it is.
 */
export interface AlertDecider {
  decide(alert: Alert, transition: Exclude<AlertTransition, "resolved">): AlertAction | null;
}

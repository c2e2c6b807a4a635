import { LeakyBucket } from "../counting/leaky-bucket.js";
import type { FindingEndpoint, Severity } from "../model/finding.js";
import type { Logger } from "../util/logger.js";
import type { Alert, AlertAction, AlertSink, AlertTargets, AlertTransition } from "./alert.js";
import { alertCommunityId } from "./alert-community-id.js";

export interface AlertLogEndpoint {
  ip: string;
  port: number;
  proto: FindingEndpoint["proto"];
  names?: string[];
}

/** The `alert` object of the log line: a contract (DESIGN.md "Contracts"), change only on purpose. */
export interface AlertLogFields {
  detector: string;
  severity: Severity;
  fingerprint: string;
  container: { id: string; name: string; image: string; service: string | null };
  summary: string;
  /** The label, rule or config key that allows the legitimate case; null when nothing should. */
  fix: string | null;
  /** URL of the runbook section. */
  runbook?: string;
  src?: AlertLogEndpoint;
  dst?: AlertLogEndpoint;
  /** Community ID v1 of the src → dst flow, when the alert names one flow (see alertCommunityId). */
  communityId?: string;
  count: number;
  /** Distinct ports (of a host), destinations (of a fan-out) or targets (folded into a shape), and the first few. */
  targets?: AlertTargets;
  /** Findings of other alerts folded into this incident. */
  folded?: number;
  /** ISO 8601. */
  firstSeen: string;
  lastSeen: string;
  action: AlertAction;
  workload: string;
  state: Alert["state"];
  transition: AlertTransition;
  details?: Record<string, unknown>;
}

/** An incident's three kinds of line: it opens, it grows (at most once per suppression window), it ends. */
export const ALERT_MSG = "alert";
export const ALERT_UPDATED_MSG = "alert updated";
export const ALERT_RESOLVED_MSG = "alert resolved";

function endpoint(e: FindingEndpoint): AlertLogEndpoint {
  // Only the contract's fields: a detector's extra properties must not leak into the line.
  const out: AlertLogEndpoint = { ip: e.ip, port: e.port, proto: e.proto };
  if (e.names !== undefined) out.names = e.names;
  return out;
}

function iso(ms: number): string {
  const d = new Date(ms);
  // toISOString throws on an invalid date: a bad timestamp must not lose the alert line.
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Builds the contract `alert` object (also useful to golden tests and other sinks). */
export function alertLogFields(alert: Alert, transition: AlertTransition): AlertLogFields {
  const c = alert.container;
  const communityId = alertCommunityId(alert);
  return {
    detector: alert.detector,
    severity: alert.severity,
    fingerprint: alert.fingerprint,
    container: { id: c.id.slice(0, 12), name: c.name, image: c.image, service: c.service },
    summary: alert.summary,
    fix: alert.fix ?? null,
    ...(alert.runbook !== undefined ? { runbook: alert.runbook } : {}),
    // Spread rather than assign later: keeps the contract's key order in the line.
    ...(alert.src !== undefined ? { src: endpoint(alert.src) } : {}),
    ...(alert.dst !== undefined ? { dst: endpoint(alert.dst) } : {}),
    ...(communityId !== undefined ? { communityId } : {}),
    count: alert.count,
    ...(alert.targets !== undefined ? { targets: alert.targets } : {}),
    ...(alert.folded !== undefined ? { folded: alert.folded } : {}),
    firstSeen: iso(alert.firstSeen),
    lastSeen: iso(alert.lastSeen),
    action: alert.action,
    workload: alert.workload,
    state: alert.state,
    transition,
    ...(alert.details !== undefined ? { details: alert.details } : {}),
  };
}

/**
 * One pino line per alert transition: `msg:"alert"` when an incident opens (fired), `msg:"alert
 * updated"` when it grows (repeated), `msg:"alert resolved"` when it ends; each names alert.fingerprint. Level follows severity (warn, error, info) so `level>=warn` filters keep alerts;
 * a resolution is good news and logs at info.
 */
export class LogAlertSink implements AlertSink {
  /** Alert lines not written because of the line budget (counted, and summarised in the log). */
  dropped = 0;
  /** Lines written, leaking at linesPerSecond: a line fits while the level stays within `burst`. */
  private readonly budget = new LeakyBucket();
  private readonly leakPerMs: number;
  private droppedSinceNote = 0;
  private lastNote = Number.NEGATIVE_INFINITY;

  /**
   * Each fingerprint is already limited by the alert manager's suppression window; `linesPerSecond`
   * bounds the total, so a flood of distinct alerts (1M destinations) cannot fill the disk. The
   * budget runs on event time (the alert's lastSeen), so a replay drops the same lines as live.
   * Critical alerts are always written; resolutions share the budget (a flood evicts as fast as it fires).
   */
  constructor(
    private readonly log: Logger,
    private readonly linesPerSecond = Number.POSITIVE_INFINITY,
    private readonly burst = 1000,
  ) {
    this.leakPerMs = linesPerSecond / 1000;
  }

  private admit(alert: Alert): boolean {
    if (!Number.isFinite(this.linesPerSecond) || alert.severity === "critical") return true;
    const now = alert.lastSeen;
    if (this.budget.leak(now, this.leakPerMs) + 1 <= this.burst) {
      this.budget.level += 1;
      return true;
    }
    this.dropped++;
    this.droppedSinceNote++;
    if (now - this.lastNote >= 10_000) {
      this.log.warn(
        { dropped: this.droppedSinceNote, totalDropped: this.dropped, linesPerSecond: this.linesPerSecond },
        "alert lines dropped by the log rate limit (alerts are still tracked, counted and exported)",
      );
      this.lastNote = now;
      this.droppedSinceNote = 0;
    }
    return false;
  }

  onAlert(alert: Alert, transition: AlertTransition): void {
    if (!this.admit(alert)) return;
    const line = { alert: alertLogFields(alert, transition) };
    if (transition === "resolved") {
      this.log.info(line, ALERT_RESOLVED_MSG);
      return;
    }
    const msg = transition === "fired" ? ALERT_MSG : ALERT_UPDATED_MSG;
    switch (alert.severity) {
      case "critical":
        this.log.error(line, msg);
        break;
      case "warning":
        this.log.warn(line, msg);
        break;
      case "info":
        this.log.info(line, msg);
        break;
    }
  }
}

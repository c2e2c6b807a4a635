import type { Logger } from "../logger.js";
import type { Alert, AlertAction, AlertSink, AlertTransition } from "./alert.js";
import type { FindingEndpoint, Severity } from "./finding.js";

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
  src?: AlertLogEndpoint;
  dst?: AlertLogEndpoint;
  count: number;
  /** ISO 8601. */
  firstSeen: string;
  lastSeen: string;
  action: AlertAction;
  workload: string;
  state: Alert["state"];
  transition: AlertTransition;
  details?: Record<string, unknown>;
}

export const ALERT_MSG = "alert";
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
  return {
    detector: alert.detector,
    severity: alert.severity,
    fingerprint: alert.fingerprint,
    container: { id: c.id.slice(0, 12), name: c.name, image: c.image, service: c.service },
    summary: alert.summary,
    // Spread rather than assign later: keeps the contract's key order in the line.
    ...(alert.src !== undefined ? { src: endpoint(alert.src) } : {}),
    ...(alert.dst !== undefined ? { dst: endpoint(alert.dst) } : {}),
    count: alert.count,
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
 * One pino line per alert transition: `msg:"alert"` for fired and repeated, `msg:"alert resolved"`
 * for resolved. Level follows severity (warn, error, info) so `level>=warn` filters keep alerts;
 * a resolution is good news and logs at info.
 */
export class LogAlertSink implements AlertSink {
  constructor(private readonly log: Logger) {}

  onAlert(alert: Alert, transition: AlertTransition): void {
    const line = { alert: alertLogFields(alert, transition) };
    if (transition === "resolved") {
      this.log.info(line, ALERT_RESOLVED_MSG);
      return;
    }
    switch (alert.severity) {
      case "critical":
        this.log.error(line, ALERT_MSG);
        break;
      case "warning":
        this.log.warn(line, ALERT_MSG);
        break;
      case "info":
        this.log.info(line, ALERT_MSG);
        break;
    }
  }
}

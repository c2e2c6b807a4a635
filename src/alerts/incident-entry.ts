import type { Finding, Severity } from "../model/finding.js";
import type { Alert } from "./alert.js";
import type { IncidentEvidence } from "./incident-escalation.js";
import type { IncidentTally } from "./incident-tally.js";
import type { IncidentRole } from "./incidents.js";
import type { ShapeMeasure } from "./shape-measure.js";

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/** One active incident as the alert manager holds it. */
export interface Entry {
  alert: Alert;
  readonly role: IncidentRole;
  /** Event time (ms) up to which a shape takes in others (see incidents.ts). */
  windowEnd: number;
  /** The summary of its latest own finding: the incident's summary is built on it. */
  base: string;
  tally: IncidentTally | null;
  /** A shape's numbers over the whole incident (connection-burst), so its summary says them exactly. */
  measure: ShapeMeasure | null;
  /** The destination host of its opening finding, on a per-host incident (see incidents.ts). */
  readonly host: string | null;
  /** What escalating findings (a beacon to its host) brought it, kept across its own findings. */
  evidence: IncidentEvidence | null;
  /** Event time of the latest notification (fired or repeated). */
  lastNotified: number;
  /** Seq of this entry's current heap node; older nodes of the entry are stale. */
  heapSeq: number;
  /** Its summary, targets and fix say every finding taken in (written when read, see AlertManager). */
  described: boolean;
  /** The finding whose fix the alert takes when next described (see AlertManager.takeFix). */
  fixFrom: Finding | null;
}

/** A frozen copy: sinks and callers can keep it, and cannot change the manager's state through it. */
export function snapshot(alert: Alert): Alert {
  return Object.freeze({ ...alert });
}

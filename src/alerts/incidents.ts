import type { Finding } from "../model/finding.js";
import type { Alert } from "./alert.js";
import { fingerprintOf } from "./fingerprint.js";
import {
  ESCALATING_DETECTORS,
  type Escalation,
  escalates,
  escalationOf,
  HOST_INCIDENT_DETECTOR,
} from "./incident-escalation.js";

/**
 * How an active incident takes part in folding:
 * - own: only findings of its own fingerprint;
 * - reach: one destination host a workload tried (a finding with `host`), counted towards fan-out;
 * - fan-out: the workload's many destinations past alerts.fanOutAfter, one incident;
 * - shape: a connection shape (scan, brute force, burst), which takes in the workload's reach
 *   findings and its other shapes of the same window.
 */
export type IncidentRole = "own" | "reach" | "fan-out" | "shape";

/** What the index needs of an active incident (the alert manager's entry). */
export interface IncidentEntry {
  readonly alert: Alert;
  readonly role: IncidentRole;
  /** Event time (ms) up to which a shape takes in other findings: its own latest finding + its window. */
  windowEnd: number;
  /** The destination host of its opening finding (`Finding.host`), on a per-host incident; else null. */
  readonly host: string | null;
}

/**
 * Detectors whose findings are the shape of an attack (connection-burst: scans, brute force,
 * bursts). While one is active, the same workload's destinations and other shapes of its window
 * fold into it: the shape says more than the destinations one by one, and one attack stays one
 * incident however many ports, hosts and thresholds it crosses.
 */
const SHAPE_DETECTORS: ReadonlySet<string> = new Set(["connection-burst"]);

/** The fan-out incident's key: no host name, container name or IP contains a space. */
const FAN_OUT_KEY = "fan-out *";
export const FAN_OUT_KIND = "fan-out";

const NO_ENTRIES: readonly never[] = Object.freeze([]);

/** Where a finding without an active alert of its own goes. */
export type Route<E> =
  | { fold: E }
  | { escalate: E; by: Escalation }
  | { open: "own" }
  | { open: "fan-out"; fingerprint: string };

/**
 * Which incident a finding belongs to, when it has no active alert of its own: its own new alert,
 * the workload's active shape incident of the same window, or the workload's fan-out incident
 * (open, or to open because `fanOutAfter` reach incidents are active). Critical findings
 * get their own alert (they may block, and must be seen), except an escalation (a beacon to a host
 * the workload's active unexpected-outbound incident is about: see incident-escalation.ts), which
 * joins that incident and raises its severity. Bounded by the active incidents.
 */
export class IncidentIndex<E extends IncidentEntry> {
  /** Active reach incidents per workload. */
  private readonly reach = new Map<string, number>();
  private readonly fanOuts = new Map<string, E>();
  private readonly shapes = new Map<string, E[]>();
  /** Active unexpected-outbound incidents per workload, one per host: at most fanOutAfter (then the fan-out takes the rest) plus critical ones. */
  private readonly hosts = new Map<string, E[]>();

  constructor(private readonly fanOutAfter: number) {}

  /** The role of an incident opened by this finding. */
  roleOf(f: Finding): IncidentRole {
    if (SHAPE_DETECTORS.has(f.detector)) return "shape";
    // A beacon names its host to find the incident it escalates, not to count towards a fan-out.
    if (ESCALATING_DETECTORS.has(f.detector)) return "own";
    return f.host !== undefined && f.severity !== "critical" ? "reach" : "own";
  }

  route(f: Finding): Route<E> {
    const by = escalationOf(f);
    if (by !== null) {
      const into = this.hosts.get(f.workload)?.find((e) => e.host !== null && escalates(by, e.host));
      return into === undefined ? { open: "own" } : { escalate: into, by };
    }
    const role = this.roleOf(f);
    if (role === "own" || f.severity === "critical") return { open: "own" };
    const shape = this.shapeFor(f.workload, f.ts);
    if (shape !== null) return { fold: shape };
    if (role === "shape") return { open: "own" };
    const fanOut = this.fanOuts.get(f.workload);
    if (fanOut !== undefined) return { fold: fanOut };
    if ((this.reach.get(f.workload) ?? 0) < this.fanOutAfter) return { open: "own" };
    return { open: "fan-out", fingerprint: fingerprintOf(f.detector, f.workload, FAN_OUT_KEY) };
  }

  opened(e: E): void {
    const w = e.alert.workload;
    if (this.isHostIncident(e)) {
      const list = this.hosts.get(w);
      if (list === undefined) this.hosts.set(w, [e]);
      else list.push(e);
    }
    switch (e.role) {
      case "reach":
        this.reach.set(w, (this.reach.get(w) ?? 0) + 1);
        break;
      case "fan-out":
        this.fanOuts.set(w, e);
        break;
      case "shape": {
        const list = this.shapes.get(w);
        if (list === undefined) this.shapes.set(w, [e]);
        else list.push(e);
        break;
      }
      case "own":
        break;
    }
  }

  closed(e: E): void {
    const w = e.alert.workload;
    if (this.isHostIncident(e)) removeFrom(this.hosts, w, e);
    switch (e.role) {
      case "reach": {
        const n = (this.reach.get(w) ?? 1) - 1;
        if (n > 0) this.reach.set(w, n);
        else this.reach.delete(w);
        break;
      }
      case "fan-out":
        if (this.fanOuts.get(w) === e) this.fanOuts.delete(w);
        break;
      case "shape":
        removeFrom(this.shapes, w, e);
        break;
      case "own":
        break;
    }
  }

  /** The workload's active shape incidents (connection-burst), in the order they opened. */
  shapesOf(workload: string): readonly E[] {
    return this.shapes.get(workload) ?? NO_ENTRIES;
  }

  private isHostIncident(e: E): boolean {
    return e.host !== null && e.role !== "fan-out" && e.alert.detector === HOST_INCIDENT_DETECTOR;
  }

  /** The workload's shape incident whose window still covers `ts` and reaches furthest, if any. */
  private shapeFor(workload: string, ts: number): E | null {
    let best: E | null = null;
    for (const e of this.shapes.get(workload) ?? []) {
      if (ts > e.windowEnd) continue;
      if (best === null || e.windowEnd > best.windowEnd) best = e;
    }
    return best;
  }
}

function removeFrom<E>(lists: Map<string, E[]>, key: string, e: E): void {
  const list = lists.get(key);
  if (list === undefined) return;
  const i = list.indexOf(e);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) lists.delete(key);
}

/**
 * Where the window a finding states (details.windowMs) ends: what it took in after its own time.
 * Folded findings never move it, so a shape takes in its own window and no more.
 */
export function windowEndOf(f: Finding): number {
  const w = f.details?.windowMs;
  return f.ts + (typeof w === "number" && Number.isFinite(w) && w > 0 ? w : 0);
}

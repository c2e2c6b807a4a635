import type { Finding, Severity } from "../model/finding.js";
import type { Alert, AlertAction, AlertDecider, AlertSink, AlertTransition } from "./alert.js";
import { type AlertsConfig, alertsSchema } from "./alerts-config.js";
import { fingerprintOf } from "./fingerprint.js";
import { incidentSummary } from "./incident-summary.js";
import { IncidentTally } from "./incident-tally.js";
import { FAN_OUT_KIND, IncidentIndex, type IncidentRole, windowEndOf } from "./incidents.js";
import { QuietHeap } from "./quiet-heap.js";

export interface AlertManagerOptions {
  /**
   * Event time (ms) between two notifications of the same active alert. Findings in between are
   * folded into its count and counted as suppressed. Shorter: noisier logs; longer: staler counts.
   */
  suppressMs: number;
  /** Event time (ms) without a finding after which an active alert resolves. */
  resolveAfterMs: number;
  /** Most alerts held at once; beyond it the one quiet the longest resolves early (memory bound). */
  maxActive: number;
  /** Destination hosts of one workload alerted on their own at once; the next fold into one fan-out incident. */
  fanOutAfter: number;
}

/** The manager's options from an `alerts:` config section (seconds → ms). */
export function alertManagerOptions(c: AlertsConfig): AlertManagerOptions {
  return {
    suppressMs: c.suppressSeconds * 1000,
    resolveAfterMs: c.resolveAfterSeconds * 1000,
    maxActive: c.maxActive,
    fanOutAfter: c.fanOutAfter,
  };
}

/** The schema's defaults: they are written once, in src/alerts/alerts-config.ts. */
const DEFAULTS: Readonly<AlertManagerOptions> = Object.freeze(alertManagerOptions(alertsSchema.parse({})));

export interface AlertManagerInit extends Partial<AlertManagerOptions> {
  /**
   * The decide stage (Zeek's notice policy, CrowdSec's alert → decision): told each fired or repeated
   * alert before any sink, and each new target of an incident (see AlertDecider), it returns the
   * action taken (or null to keep the current one).
   */
  decide?: AlertDecider | null;
  /** Told about each sink that threw (already counted in stats().sinkErrors), e.g. to log it. */
  onSinkError?: (err: unknown, sink: AlertSink | AlertDecider) => void;
}

/** What became of a finding: it opened an incident (alert), updated its own (a line), was folded into its own silently (suppressed), or into another incident, a fan-out or a shape (folded). */
export type FindingOutcome = "alert" | "updated" | "suppressed" | "folded";

export interface AlertManagerStats {
  active: number;
  /** Notifications by transition: incidents opened; updates (growth after a window, severity raises). */
  fired: number;
  repeated: number;
  /** Resolved after resolveAfterMs of quiet (early resolutions are in `evicted`, not here). */
  resolved: number;
  /** Resolved early because maxActive was reached. */
  evicted: number;
  /** Findings folded into an active alert without a notification, per detector. */
  suppressed: Record<string, number>;
  /** Every finding by detector and outcome: nothing is dropped without being counted. */
  findings: Record<string, Record<FindingOutcome, number>>;
  /** Sink calls that threw. */
  sinkErrors: number;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

interface Entry {
  alert: Alert;
  readonly role: IncidentRole;
  /** Event time (ms) up to which a shape takes in others (see incidents.ts). */
  windowEnd: number;
  /** The summary of its latest own finding: the incident's summary is built on it. */
  base: string;
  tally: IncidentTally | null;
  /** Event time of the latest notification (fired or repeated). */
  lastNotified: number;
  /** Seq of this entry's current heap node; older nodes of the entry are stale. */
  heapSeq: number;
}

/** A frozen copy: sinks and callers can keep it, and cannot change the manager's state through it. */
function snapshot(alert: Alert): Alert {
  return Object.freeze({ ...alert });
}

/**
 * Folds findings into incidents and decides what sinks hear. A finding joins its own alert
 * (fingerprint: detector + workload + key); without one, the incident index may fold it into the
 * workload's fan-out or shape incident (src/alerts/incidents.ts). Sinks hear an incident's life:
 * fired (it opens), repeated (it grew and suppressMs passed since its last line, or its severity
 * went up), resolved (quiet for resolveAfterMs, or evicted at maxActive). Before the sinks hear of
 * an alert, the decide stage (the blocker) sets its action. Time comes only from finding timestamps
 * and tick(), which the engine calls on packet time in live capture and replay alike (src/engine/).
 */
export class AlertManager {
  private readonly opts: AlertManagerOptions;
  private readonly sinks: readonly AlertSink[];
  private readonly decider: AlertDecider | null;
  private readonly onSinkError: ((err: unknown, sink: AlertSink | AlertDecider) => void) | undefined;
  private readonly byFingerprint = new Map<string, Entry>();
  private readonly quiet = new QuietHeap<Entry>(() => this.byFingerprint.size);
  private readonly counts = { fired: 0, repeated: 0, resolved: 0, evicted: 0, sinkErrors: 0 };
  private readonly suppressed: Record<string, number> = {};
  private readonly findings: Record<string, Record<FindingOutcome, number>> = {};
  private readonly incidents: IncidentIndex<Entry>;

  constructor(sinks: readonly AlertSink[] = [], init: AlertManagerInit = {}) {
    const { onSinkError, decide, ...opts } = init;
    // Values come checked from the config schema (or from tests); the defaults are the schema's.
    this.opts = { ...DEFAULTS, ...opts };
    // Fixed at construction: every alert reaches the same sinks in the same order, from the first one.
    this.sinks = Object.freeze([...sinks]);
    this.decider = decide ?? null;
    this.onSinkError = onSinkError;
    this.incidents = new IncidentIndex(this.opts.fanOutAfter);
  }

  /** Folds one finding in; returns a frozen snapshot of the incident it went to, after the fold. */
  onFinding(f: Finding): Alert {
    // Alerts quiet for resolveAfterMs by this finding's time resolve first, whether or not a clock
    // tick came in between: the order of lines then depends on event time alone.
    this.tick(f.ts);
    const fingerprint = fingerprintOf(f.detector, f.workload, f.key);
    const own = this.byFingerprint.get(fingerprint);
    if (own !== undefined) return this.fold(own, f, true);
    const route = this.incidents.route(f);
    if ("fold" in route) return this.fold(route.fold, f, false);
    if (route.open === "fan-out") {
      this.count(f, "folded");
      return this.open(route.fingerprint, f, "fan-out");
    }
    this.count(f, "alert");
    return this.open(fingerprint, f, this.incidents.roleOf(f));
  }

  /** Resolves every alert quiet since nowMs - resolveAfterMs (inclusive), oldest first. */
  tick(nowMs: number): void {
    for (;;) {
      const top = this.quiet.peek();
      if (top === undefined || top.alert.lastSeen + this.opts.resolveAfterMs > nowMs) return;
      this.quiet.take();
      this.counts.resolved++;
      this.resolve(top);
    }
  }

  get(fingerprint: string): Alert | undefined {
    const entry = this.byFingerprint.get(fingerprint);
    return entry === undefined ? undefined : snapshot(entry.alert);
  }

  /** Snapshots of the active alerts, in the order they fired. */
  active(): Alert[] {
    return Array.from(this.byFingerprint.values(), (e) => snapshot(e.alert));
  }

  stats(): AlertManagerStats {
    const findings = Object.fromEntries(Object.entries(this.findings).map(([d, o]) => [d, { ...o }]));
    return { active: this.byFingerprint.size, ...this.counts, suppressed: { ...this.suppressed }, findings };
  }

  /** Opens an incident from its first finding: its own alert, or the workload's fan-out. */
  private open(fingerprint: string, f: Finding, role: IncidentRole): Alert {
    if (this.byFingerprint.size >= this.opts.maxActive) this.evictOldest();
    const fanOut = role === "fan-out";
    const alert: Alert = {
      fingerprint,
      detector: f.detector,
      severity: f.severity,
      workload: f.workload,
      container: f.container,
      summary: f.summary,
      count: 1,
      firstSeen: f.ts,
      lastSeen: f.ts,
      action: "none",
      state: "active",
    };
    const kind = fanOut ? FAN_OUT_KIND : f.kind;
    if (kind !== undefined) alert.kind = kind;
    if (f.src !== undefined) alert.src = f.src;
    // A fan-out is about many destinations: it names them in targets, not in dst or details.
    if (f.dst !== undefined && !fanOut) alert.dst = f.dst;
    if (f.details !== undefined && !fanOut) alert.details = f.details;
    const entry: Entry = {
      alert,
      role,
      windowEnd: windowEndOf(f),
      base: f.summary,
      tally: null,
      lastNotified: f.ts,
      heapSeq: -1,
    };
    this.tallyOf(entry, f, !fanOut);
    this.describe(entry);
    this.byFingerprint.set(fingerprint, entry);
    this.incidents.opened(entry);
    this.quiet.push(entry);
    this.counts.fired++;
    this.notify(alert, "fired");
    return snapshot(alert);
  }

  /** Folds a finding into an active incident: its own alert (`own`), or a fan-out or shape it joins. */
  private fold(entry: Entry, f: Finding, own: boolean): Alert {
    const a = entry.alert;
    a.count++;
    if (!own && entry.role !== "fan-out") a.folded = (a.folded ?? 0) + 1;
    const isNew = this.tallyOf(entry, f, own);
    if (f.ts >= a.lastSeen) {
      // The latest finding describes the alert best (a container restart keeps the workload, not the id);
      // a finding folded into a shape leaves the shape's own description alone.
      if (own || entry.role === "fan-out") {
        a.container = f.container;
        a.src = f.src;
      }
      if (own) {
        entry.base = f.summary;
        a.dst = f.dst;
        a.details = f.details;
        if (entry.role === "shape") entry.windowEnd = Math.max(entry.windowEnd, windowEndOf(f));
      }
      if (f.ts > a.lastSeen) {
        a.lastSeen = f.ts;
        this.quiet.push(entry);
      }
    } else if (f.ts < a.firstSeen) {
      a.firstSeen = f.ts;
    }
    this.describe(entry);

    let outcome: FindingOutcome = own ? "updated" : "folded";
    if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[a.severity]) {
      // A raise is news: never hide a critical behind a warning's suppression window.
      a.severity = f.severity;
      this.update(entry);
    } else if (a.lastSeen - entry.lastNotified >= this.opts.suppressMs) {
      this.update(entry);
    } else {
      if (own) outcome = "suppressed";
      this.suppressed[f.detector] = (this.suppressed[f.detector] ?? 0) + 1;
      // No line, but a new destination may still call for an action (a block).
      if (isNew) this.decideOnly(a, f);
    }
    this.count(f, outcome);
    return snapshot(a);
  }

  /** Counts the finding's value into the incident's tally; true when it is new there. */
  private tallyOf(entry: Entry, f: Finding, own: boolean): boolean {
    let of: string;
    let value: string;
    if (own) {
      if (f.target === undefined) return false;
      ({ of, value } = f.target);
    } else if (entry.role === "fan-out") {
      of = "destinations";
      value = f.host ?? f.key;
    } else {
      of = "targets";
      value = f.host ?? f.key;
    }
    entry.tally ??= new IncidentTally(of);
    return entry.tally.add(value);
  }

  private describe(entry: Entry): void {
    const a = entry.alert;
    a.summary = incidentSummary({
      role: entry.role,
      base: entry.base,
      container: a.container,
      count: a.count,
      folded: a.folded ?? 0,
      tally: entry.tally,
      fanOutAfter: this.opts.fanOutAfter,
    });
    if (entry.tally !== null) a.targets = entry.tally.targets();
  }

  private update(entry: Entry): void {
    entry.lastNotified = entry.alert.lastSeen;
    this.counts.repeated++;
    this.notify(entry.alert, "repeated");
  }

  /** The decide stage alone, about the finding that brought the incident a new target. */
  private decideOnly(a: Alert, f: Finding): void {
    if (this.decider === null) return;
    const view: Alert = { ...a, severity: f.severity, summary: f.summary };
    if (f.kind !== undefined) view.kind = f.kind;
    if (f.dst !== undefined) view.dst = f.dst;
    else delete view.dst;
    try {
      const action = this.decider.decide(Object.freeze(view), "repeated");
      if (action !== null) a.action = action;
    } catch (err) {
      this.sinkFailed(err, this.decider);
    }
  }

  private count(f: Finding, outcome: FindingOutcome): void {
    let byOutcome = this.findings[f.detector];
    if (byOutcome === undefined) {
      byOutcome = { alert: 0, updated: 0, suppressed: 0, folded: 0 };
      this.findings[f.detector] = byOutcome;
    }
    byOutcome[outcome]++;
  }

  private evictOldest(): void {
    const top = this.quiet.take();
    if (top === undefined) return;
    this.counts.evicted++;
    this.resolve(top);
  }

  private resolve(entry: Entry): void {
    entry.alert.state = "resolved";
    this.byFingerprint.delete(entry.alert.fingerprint);
    this.incidents.closed(entry);
    this.notify(entry.alert, "resolved");
  }

  private notify(alert: Alert, transition: AlertTransition): void {
    if (transition !== "resolved" && this.decider !== null) {
      try {
        const action: AlertAction | null = this.decider.decide(snapshot(alert), transition);
        if (action !== null) alert.action = action;
      } catch (err) {
        this.sinkFailed(err, this.decider);
      }
    }
    // One snapshot for every sink: they are passive observers of the decided alert.
    const snap = snapshot(alert);
    for (const sink of this.sinks) {
      try {
        sink.onAlert(snap, transition);
      } catch (err) {
        this.sinkFailed(err, sink);
      }
    }
  }

  private sinkFailed(err: unknown, sink: AlertSink | AlertDecider): void {
    this.counts.sinkErrors++;
    try {
      this.onSinkError?.(err, sink);
    } catch {
      // The error hook is a sink too: it must not break detection either.
    }
  }
}

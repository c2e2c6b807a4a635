import type { Finding } from "../model/finding.js";
import type { Alert, AlertAction, AlertDecider, AlertSink, AlertTransition } from "./alert.js";
import { ALERT_MANAGER_DEFAULTS, type AlertManagerOptions } from "./alert-manager-options.js";
import { type FindingOutcome, FindingOutcomes } from "./finding-outcomes.js";
import { fingerprintOf } from "./fingerprint.js";
import { describeIncident, incidentChanged, tallyFinding } from "./incident-description.js";
import { type Entry, SEVERITY_RANK, snapshot } from "./incident-entry.js";
import { type Escalation, IncidentEvidence } from "./incident-escalation.js";
import { FAN_OUT_KIND, IncidentIndex, type IncidentRole, windowEndOf } from "./incidents.js";
import { fixOf } from "./next-step.js";
import { QuietHeap } from "./quiet-heap.js";
import { runbookUrlOf } from "./runbooks.js";
import { ShapeMeasure } from "./shape-measure.js";

export { type AlertManagerOptions, alertManagerOptions } from "./alert-manager-options.js";
export type { FindingOutcome } from "./finding-outcomes.js";

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

/**
 * Folds findings into incidents and decides what sinks hear. A finding joins its own alert
 * (fingerprint: detector + workload + key); without one, the incident index may fold it into the
 * workload's fan-out or shape incident, or a beacon into its host's incident (src/alerts/incidents.ts). Sinks hear an incident's life:
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
  private readonly findings = new FindingOutcomes();
  private readonly incidents: IncidentIndex<Entry>;

  constructor(sinks: readonly AlertSink[] = [], init: AlertManagerInit = {}) {
    const { onSinkError, decide, ...opts } = init;
    // Values come checked from the config schema (or from tests); the defaults are the schema's.
    this.opts = { ...ALERT_MANAGER_DEFAULTS, ...opts };
    // Fixed at construction: every alert reaches the same sinks in the same order, from the first one.
    this.sinks = Object.freeze([...sinks]);
    this.decider = decide ?? null;
    this.onSinkError = onSinkError;
    this.incidents = new IncidentIndex(this.opts.fanOutAfter);
  }

  /** Folds one finding in; returns a frozen snapshot of the incident it went to, after the fold. */
  onFinding(f: Finding): Alert {
    const entry = this.take(f);
    this.describe(entry);
    return snapshot(entry.alert);
  }

  /**
   * onFinding without the snapshot, for the engine (which keeps none): a flood's thousands of
   * findings into one incident then cost a fold each, and its summary is written only when a line,
   * a decision or a reader needs it.
   */
  add(f: Finding): void {
    this.take(f);
  }

  private take(f: Finding): Entry {
    // Alerts quiet for resolveAfterMs by this finding's time resolve first, whether or not a clock
    // tick came in between: the order of lines then depends on event time alone.
    this.tick(f.ts);
    const fingerprint = fingerprintOf(f.detector, f.workload, f.key);
    const own = this.byFingerprint.get(fingerprint);
    if (own !== undefined) return this.fed(f, this.fold(own, f, true));
    const route = this.incidents.route(f);
    if ("fold" in route) return this.fed(f, this.fold(route.fold, f, false));
    if ("escalate" in route) return this.fed(f, this.escalate(route.escalate, f, route.by));
    if (route.open === "fan-out") {
      this.count(f, "folded");
      return this.fed(f, this.open(route.fingerprint, f, "fan-out"));
    }
    this.count(f, "alert");
    return this.fed(f, this.open(fingerprint, f, this.incidents.roleOf(f)));
  }

  /**
   * A destination a shape of the same workload covers (a port of the scanned host, a host on the
   * swept port) counts towards that shape's number wherever the finding itself went, so a scan whose
   * host already had an alert of its own still says how many ports it reached. No line is written:
   * the shape's next line (an update, its resolution) says it.
   */
  private fed(f: Finding, result: Entry): Entry {
    if (f.dst === undefined) return result;
    for (const e of this.incidents.shapesOf(f.workload)) {
      if (f.ts > e.windowEnd || e.alert.detector === f.detector) continue;
      if (e.measure?.reach(f.dst) === true) incidentChanged(e);
    }
    return result;
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
    if (entry === undefined) return undefined;
    this.describe(entry);
    return snapshot(entry.alert);
  }

  /** Facts learned after the alert was raised (its process, looked up off the hot path) join its details in an `alert updated` line; count, lastSeen and the suppression window stay. */
  annotate(fingerprint: string, details: Readonly<Record<string, unknown>>): void {
    const entry = this.byFingerprint.get(fingerprint);
    if (entry === undefined) return; // resolved meanwhile: its lines are over
    entry.alert.details = { ...entry.alert.details, ...details };
    this.counts.repeated++;
    this.notify(entry, "repeated");
  }

  /** Snapshots of the active alerts, in the order they fired. */
  active(): Alert[] {
    return Array.from(this.byFingerprint.values(), (e) => {
      this.describe(e);
      return snapshot(e.alert);
    });
  }

  stats(): AlertManagerStats {
    const findings = this.findings.snapshot();
    return { active: this.byFingerprint.size, ...this.counts, suppressed: { ...this.suppressed }, findings };
  }

  /** Opens an incident from its first finding: its own alert, or the workload's fan-out. */
  private open(fingerprint: string, f: Finding, role: IncidentRole): Entry {
    if (this.byFingerprint.size >= this.opts.maxActive) this.evictOldest();
    const fanOut = role === "fan-out";
    const alert: Alert = {
      fingerprint,
      detector: f.detector,
      severity: f.severity,
      workload: f.workload,
      container: f.container,
      summary: f.summary,
      // A fan-out is many destinations: each one's own fix allows it, none allows them all.
      fix: null,
      runbook: runbookUrlOf(this.opts.runbookBaseUrl, f.detector, fanOut ? FAN_OUT_KIND : f.kind),
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
      measure: role === "shape" ? ShapeMeasure.of(f) : null,
      host: fanOut ? null : (f.host ?? null),
      evidence: null,
      lastNotified: f.ts,
      heapSeq: -1,
      described: false,
      fixFrom: null,
    };
    if (!fanOut) this.takeFix(entry, f);
    tallyFinding(entry, f, !fanOut);
    incidentChanged(entry);
    this.byFingerprint.set(fingerprint, entry);
    this.incidents.opened(entry);
    this.quiet.push(entry);
    this.counts.fired++;
    this.notify(entry, "fired");
    return entry;
  }

  /** Folds a finding into an active incident: its own alert (`own`), or a fan-out or shape it joins. */
  private fold(entry: Entry, f: Finding, own: boolean): Entry {
    const a = entry.alert;
    a.count++;
    if (!own && entry.role !== "fan-out") a.folded = (a.folded ?? 0) + 1;
    const isNew = tallyFinding(entry, f, own);
    if (own) entry.measure?.add(f);
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
        a.details = entry.evidence === null ? f.details : entry.evidence.details(f.details);
        this.takeFix(entry, f);
        if (entry.role === "shape") entry.windowEnd = Math.max(entry.windowEnd, windowEndOf(f));
      }
      if (f.ts > a.lastSeen) {
        a.lastSeen = f.ts;
        this.quiet.push(entry);
      }
    } else if (f.ts < a.firstSeen) {
      a.firstSeen = f.ts;
    }
    incidentChanged(entry);

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
      if (isNew) this.decideOnly(entry, f);
    }
    this.count(f, outcome);
    return entry;
  }

  /**
   * Folds a finding that says more about an incident of another detector (a beacon to its host):
   * count, summary and details take it in, the severity goes up to the finding's when higher, and
   * an update is written at once (new evidence is news). The decide stage hears it as the incident,
   * then as the finding (its detector, kind and severity: a `blocking.rules` entry for beaconing
   * selects it); every sink sees the action of the last call that did something.
   */
  private escalate(entry: Entry, f: Finding, by: Escalation): Entry {
    const a = entry.alert;
    a.count++;
    a.folded = (a.folded ?? 0) + 1;
    entry.evidence ??= new IncidentEvidence();
    entry.evidence.add(by, f);
    a.details = entry.evidence.details(a.details);
    if (f.ts > a.lastSeen) {
      a.lastSeen = f.ts;
      this.quiet.push(entry);
    } else if (f.ts < a.firstSeen) {
      a.firstSeen = f.ts;
    }
    if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[a.severity]) a.severity = f.severity;
    incidentChanged(entry);
    this.update(entry, f);
    this.count(f, "folded");
    return entry;
  }

  /**
   * The fix of the incident's latest own finding. Read only when the alert is (describeIncident),
   * unless a scan's threshold fix may fall back on it at once (incidentChanged): a flood's findings
   * then never build theirs.
   */
  private takeFix(entry: Entry, f: Finding): void {
    if (entry.measure === null) {
      entry.fixFrom = f;
      entry.described = false;
    } else {
      entry.alert.fix = fixOf(f);
    }
  }

  /** Brings the summary and targets up to date, before anyone reads the alert. */
  private describe(entry: Entry): void {
    describeIncident(entry, this.opts.fanOutAfter);
  }

  private update(entry: Entry, escalation?: Finding): void {
    entry.lastNotified = entry.alert.lastSeen;
    this.counts.repeated++;
    this.notify(entry, "repeated", escalation);
  }

  /** The decide stage alone, about a finding folded into the incident (a new target, an escalation). */
  private decideOnly(entry: Entry, f: Finding, asDetector = false): void {
    if (this.decider === null) return;
    this.describe(entry);
    const a = entry.alert;
    const view: Alert = { ...a, severity: f.severity, summary: f.summary };
    if (asDetector) view.detector = f.detector;
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
    this.findings.count(f.detector, outcome);
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
    this.notify(entry, "resolved");
  }

  /** Decides (unless resolved), then tells every sink; `escalation`, the finding that escalated it, is decided on too. */
  private notify(entry: Entry, transition: AlertTransition, escalation?: Finding): void {
    this.describe(entry);
    const alert = entry.alert;
    if (transition !== "resolved" && this.decider !== null) {
      try {
        const action: AlertAction | null = this.decider.decide(snapshot(alert), transition);
        if (action !== null) alert.action = action;
      } catch (err) {
        this.sinkFailed(err, this.decider);
      }
      if (escalation !== undefined) this.decideOnly(entry, escalation, true);
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

import type { Finding, Severity } from "../model/finding.js";
import type { Alert, AlertAction, AlertDecider, AlertSink, AlertTransition } from "./alert.js";
import { type AlertsConfig, alertsSchema } from "./alerts-config.js";
import { fingerprintOf } from "./fingerprint.js";

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
}

/** The manager's options from an `alerts:` config section (seconds → ms). */
export function alertManagerOptions(c: AlertsConfig): AlertManagerOptions {
  return {
    suppressMs: c.suppressSeconds * 1000,
    resolveAfterMs: c.resolveAfterSeconds * 1000,
    maxActive: c.maxActive,
  };
}

/** The schema's defaults: they are written once, in src/alerts/alerts-config.ts. */
const DEFAULTS: Readonly<AlertManagerOptions> = Object.freeze(alertManagerOptions(alertsSchema.parse({})));

export interface AlertManagerInit extends Partial<AlertManagerOptions> {
  /**
   * The decide stage (Zeek's notice policy, CrowdSec's alert → decision): told each fired or repeated
   * alert before any sink, it returns the action taken (or null to keep the current one).
   */
  decide?: AlertDecider | null;
  /** Told about each sink that threw (already counted in stats().sinkErrors), e.g. to log it. */
  onSinkError?: (err: unknown, sink: AlertSink | AlertDecider) => void;
}

export interface AlertManagerStats {
  active: number;
  /** Notifications by transition; `fired` includes severity raises of an active alert. */
  fired: number;
  repeated: number;
  /** Resolved after resolveAfterMs of quiet (early resolutions are in `evicted`, not here). */
  resolved: number;
  /** Resolved early because maxActive was reached. */
  evicted: number;
  /** Findings folded into an active alert without a notification, per detector. */
  suppressed: Record<string, number>;
  /** Sink calls that threw. */
  sinkErrors: number;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

interface Entry {
  alert: Alert;
  /** Event time of the latest notification (fired or repeated). */
  lastNotified: number;
  /** Seq of this entry's current heap node; older nodes of the entry are stale. */
  heapSeq: number;
}

/** Min-heap node ordered by (lastSeen, seq): the root is the alert quiet the longest. */
interface HeapNode {
  lastSeen: number;
  seq: number;
  entry: Entry;
}

/** A frozen copy: sinks and callers can keep it, and cannot change the manager's state through it. */
function snapshot(alert: Alert): Alert {
  return Object.freeze({ ...alert });
}

function before(a: HeapNode, b: HeapNode): boolean {
  return a.lastSeen < b.lastSeen || (a.lastSeen === b.lastSeen && a.seq < b.seq);
}

/**
 * Folds findings into alerts by fingerprint (detector + workload + key) and decides what sinks hear:
 * fired (new alert, or its severity went up), repeated (still going after suppressMs, with the folded
 * count), resolved (quiet for resolveAfterMs, or evicted at maxActive). Before the sinks hear of an
 * alert, the decide stage (the blocker) sets its action. Time comes only from finding timestamps and
 * tick(), which the engine calls on packet time in live capture and replay alike (src/engine/).
 */
export class AlertManager {
  private readonly opts: AlertManagerOptions;
  private readonly sinks: readonly AlertSink[];
  private readonly decider: AlertDecider | null;
  private readonly onSinkError: ((err: unknown, sink: AlertSink | AlertDecider) => void) | undefined;
  private readonly byFingerprint = new Map<string, Entry>();
  /** Lazy-deletion heap: a node is pushed when lastSeen grows; stale nodes are skipped on pop. */
  private heap: HeapNode[] = [];
  private seq = 0;
  private readonly counts = { fired: 0, repeated: 0, resolved: 0, evicted: 0, sinkErrors: 0 };
  private readonly suppressed: Record<string, number> = {};

  constructor(sinks: readonly AlertSink[] = [], init: AlertManagerInit = {}) {
    const { onSinkError, decide, ...opts } = init;
    // Values come checked from the config schema (or from tests); the defaults are the schema's.
    this.opts = { ...DEFAULTS, ...opts };
    // Fixed at construction: every alert reaches the same sinks in the same order, from the first one.
    this.sinks = Object.freeze([...sinks]);
    this.decider = decide ?? null;
    this.onSinkError = onSinkError;
  }

  /** Folds one finding in; returns a frozen snapshot of its alert after the fold. */
  onFinding(f: Finding): Alert {
    // Alerts quiet for resolveAfterMs by this finding's time resolve first, whether or not a clock
    // tick came in between: the order of lines then depends on event time alone.
    this.tick(f.ts);
    const fingerprint = fingerprintOf(f.detector, f.workload, f.key);
    const entry = this.byFingerprint.get(fingerprint);
    if (entry === undefined) return this.fire(fingerprint, f);

    const a = entry.alert;
    a.count++;
    if (f.ts >= a.lastSeen) {
      // The latest finding describes the alert best (a container restart keeps the workload, not the id).
      a.summary = f.summary;
      a.container = f.container;
      a.src = f.src;
      a.dst = f.dst;
      a.details = f.details;
      if (f.ts > a.lastSeen) {
        a.lastSeen = f.ts;
        this.push(entry);
      }
    } else if (f.ts < a.firstSeen) {
      a.firstSeen = f.ts;
    }

    if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[a.severity]) {
      // A raise is news: never hide a critical behind a warning's suppression window.
      a.severity = f.severity;
      entry.lastNotified = a.lastSeen;
      this.counts.fired++;
      this.notify(a, "fired");
    } else if (a.lastSeen - entry.lastNotified >= this.opts.suppressMs) {
      entry.lastNotified = a.lastSeen;
      this.counts.repeated++;
      this.notify(a, "repeated");
    } else {
      this.suppressed[a.detector] = (this.suppressed[a.detector] ?? 0) + 1;
    }
    return snapshot(a);
  }

  /** Resolves every alert quiet since nowMs - resolveAfterMs (inclusive), oldest first. */
  tick(nowMs: number): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return;
      if (!this.isLive(top)) {
        this.pop();
        continue;
      }
      if (top.lastSeen + this.opts.resolveAfterMs > nowMs) return;
      this.pop();
      this.counts.resolved++;
      this.resolve(top.entry);
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
    return { active: this.byFingerprint.size, ...this.counts, suppressed: { ...this.suppressed } };
  }

  private fire(fingerprint: string, f: Finding): Alert {
    if (this.byFingerprint.size >= this.opts.maxActive) this.evictOldest();
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
    if (f.kind !== undefined) alert.kind = f.kind;
    if (f.src !== undefined) alert.src = f.src;
    if (f.dst !== undefined) alert.dst = f.dst;
    if (f.details !== undefined) alert.details = f.details;
    const entry: Entry = { alert, lastNotified: f.ts, heapSeq: -1 };
    this.byFingerprint.set(fingerprint, entry);
    this.push(entry);
    this.counts.fired++;
    this.notify(alert, "fired");
    return snapshot(alert);
  }

  private evictOldest(): void {
    for (;;) {
      const top = this.pop();
      if (top === undefined) return;
      if (!this.isLive(top)) continue;
      this.counts.evicted++;
      this.resolve(top.entry);
      return;
    }
  }

  private resolve(entry: Entry): void {
    entry.alert.state = "resolved";
    this.byFingerprint.delete(entry.alert.fingerprint);
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

  private isLive(node: HeapNode): boolean {
    return node.entry.heapSeq === node.seq && node.entry.alert.state === "active";
  }

  private push(entry: Entry): void {
    const node: HeapNode = { lastSeen: entry.alert.lastSeen, seq: this.seq++, entry };
    entry.heapSeq = node.seq;
    const h = this.heap;
    h.push(node);
    this.siftUp(h.length - 1);
    // Every lastSeen bump leaves a stale node: rebuild before they outnumber the live ones.
    if (h.length > 2 * this.byFingerprint.size + 64) this.compact();
  }

  private pop(): HeapNode | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top !== undefined && last !== undefined && h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private compact(): void {
    this.heap = this.heap.filter((n) => this.isLive(n));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const node = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(node, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = node;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const node = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r]!, h[l]!) ? r : l;
      const c = h[child]!;
      if (!before(c, node)) break;
      h[i] = c;
      i = child;
    }
    h[i] = node;
  }
}

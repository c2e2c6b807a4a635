import os from "node:os";
import type { Logger } from "../util/logger.js";
import type { Alert, AlertSink, AlertTransition } from "./alert.js";
import { alertmanagerSchema } from "./alertmanager-options.js";
import { type AmAlert, type AmLinks, amAlertIdentity, iso, toAmAlert } from "./alertmanager-payload.js";
import {
  type ActiveAlert,
  AlertmanagerTarget,
  type AlertmanagerTargetOptions,
  type DeliveryCounts,
  defaultClearTimer,
  defaultSetTimer,
  errorText,
  type TimerHandle,
} from "./alertmanager-transport.js";

export interface AlertmanagerSinkOptions {
  /**
   * The peers of one Alertmanager cluster (base URLs, http or https, may carry a path prefix).
   * Every alert goes to each, as Alertmanager's client contract asks: the cluster de-duplicates the
   * notifications, and a peer that is down misses nothing the others got.
   */
  urls: string[];
  /** Wall-clock ms between two pushes of every active alert; keep it well under Alertmanager's resolve_timeout. */
  resendIntervalMs?: number;
  /** Per request (connect + response), in ms; a hanging Alertmanager is aborted and retried. */
  timeoutMs?: number;
  /** Alerts waiting per URL, at most; when full the oldest is dropped (and counted). */
  maxQueue?: number;
  /** Alerts per POST, at most. */
  maxBatch?: number;
  /** Retry back-off per URL after a failed request: first wait, doubled up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** The `host` label. */
  host?: string;
  /** netmon's external base URL: each alert's generatorURL points at its container in `/ui`. */
  baseUrl?: string;
  log: Logger;
  fetch?: typeof fetch;
  /** Wall clock (ms), used only to rate-limit the failure logs. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
  clearTimer?: (handle: TimerHandle) => void;
}

/** One peer's delivery: `peer` is its base URL as logged (password redacted). */
export interface AlertmanagerPeerStats extends DeliveryCounts {
  peer: string;
  /** Alerts waiting for this peer (at most maxQueue). */
  queued: number;
}

export interface AlertmanagerSinkStats extends DeliveryCounts {
  /** Alerts waiting, summed over URLs (each URL's queue holds at most maxQueue). */
  queued: number;
  /** The same counters per URL, in configuration order. */
  peers: AlertmanagerPeerStats[];
}

/** The configuration's defaults (`alertmanager:`), so a sink built without options behaves like the daemon's. */
const CONFIG_DEFAULTS = alertmanagerSchema.parse({});

export const DEFAULT_ALERTMANAGER_SINK_OPTIONS = Object.freeze({
  resendIntervalMs: CONFIG_DEFAULTS.resendIntervalSeconds * 1000,
  timeoutMs: CONFIG_DEFAULTS.timeoutSeconds * 1000,
  maxQueue: CONFIG_DEFAULTS.maxQueue,
  // Not in the configuration: fixed tuning of the push.
  maxBatch: 100,
  retryMinMs: 1_000,
  retryMaxMs: 60_000,
});

/**
 * Pushes alerts straight to Alertmanager (API v2), for hosts without a Prometheus rule in between.
 * Fired and repeated alerts are pushed and kept as "active"; every resendIntervalMs all active
 * alerts are pushed again (Alertmanager resolves an alert nobody re-sends after resolve_timeout);
 * resolved alerts are pushed once with endsAt. The URLs are the peers of one Alertmanager cluster
 * and every alert goes to each (the cluster de-duplicates notifications). Each URL has its own
 * bounded queue (deduplicated by label set, the newest version wins), its own in-flight request,
 * its own exponential back-off and its own counters, so a dead peer costs at most maxQueue alerts
 * of memory and never slows the others or detection. If a resolution is dropped, Alertmanager still resolves the alert after resolve_timeout.
 */
export class AlertmanagerSink implements AlertSink {
  private readonly opts: Required<
    Pick<
      AlertmanagerSinkOptions,
      "resendIntervalMs" | "timeoutMs" | "maxQueue" | "maxBatch" | "retryMinMs" | "retryMaxMs" | "host"
    >
  >;
  private readonly log: Logger;
  private readonly setTimer: (fn: () => void, ms: number) => TimerHandle;
  private readonly clearTimer: (handle: TimerHandle) => void;
  private readonly targets: AlertmanagerTarget[];
  /** Fingerprint → what Alertmanager was last told about the alert. */
  private readonly active = new Map<string, ActiveAlert>();
  private readonly links: AmLinks;
  private resendTimer: TimerHandle | undefined;
  private closed = false;

  constructor(options: AlertmanagerSinkOptions) {
    const d = DEFAULT_ALERTMANAGER_SINK_OPTIONS;
    this.opts = {
      resendIntervalMs: options.resendIntervalMs ?? d.resendIntervalMs,
      timeoutMs: options.timeoutMs ?? d.timeoutMs,
      maxQueue: options.maxQueue ?? d.maxQueue,
      maxBatch: options.maxBatch ?? d.maxBatch,
      retryMinMs: options.retryMinMs ?? d.retryMinMs,
      retryMaxMs: options.retryMaxMs ?? d.retryMaxMs,
      host: options.host ?? os.hostname(),
    };
    this.links = options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl };
    for (const key of ["resendIntervalMs", "timeoutMs", "retryMinMs", "retryMaxMs"] as const) {
      const v = this.opts[key];
      if (!Number.isFinite(v) || v <= 0) {
        throw new RangeError(`alertmanager: ${key} must be a finite number > 0 (got ${v})`);
      }
    }
    for (const key of ["maxQueue", "maxBatch"] as const) {
      const v = this.opts[key];
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`alertmanager: ${key} must be an integer >= 1 (got ${v})`);
      }
    }
    if (this.opts.retryMaxMs < this.opts.retryMinMs) {
      throw new RangeError("alertmanager: retryMaxMs must be >= retryMinMs");
    }
    this.log = options.log;
    this.setTimer = options.setTimer ?? defaultSetTimer;
    this.clearTimer = options.clearTimer ?? defaultClearTimer;
    const targetOptions: AlertmanagerTargetOptions = {
      timeoutMs: this.opts.timeoutMs,
      maxQueue: this.opts.maxQueue,
      maxBatch: this.opts.maxBatch,
      retryMinMs: this.opts.retryMinMs,
      retryMaxMs: this.opts.retryMaxMs,
      log: this.log,
      fetch: options.fetch ?? fetch,
      now: options.now ?? Date.now,
      setTimer: this.setTimer,
      clearTimer: this.clearTimer,
      activeAlert: (fingerprint: string) => this.active.get(fingerprint),
    };
    this.targets = options.urls.map((url) => new AlertmanagerTarget(url, targetOptions));
    if (this.targets.length > 0) this.armResend();
  }

  onAlert(alert: Alert, transition: AlertTransition): void {
    if (this.closed || this.targets.length === 0) return;
    try {
      const prev = this.active.get(alert.fingerprint);
      const resolved = transition === "resolved";
      const payload = toAmAlert(alert, this.opts.host, resolved, this.links);
      const key = amAlertIdentity(payload);
      if (prev !== undefined && prev.key !== key) {
        // Labels changed (severity raised, container renamed): Alertmanager sees a new alert, so
        // end the one it knows instead of leaving it to time out.
        this.enqueue(prev.key, {
          ...prev.payload,
          annotations: payload.annotations,
          endsAt: iso(alert.lastSeen) ?? new Date().toISOString(),
        });
        // A resolution only concerns the label set Alertmanager was told about.
        if (resolved) {
          this.active.delete(alert.fingerprint);
          return;
        }
      }
      if (resolved) {
        this.active.delete(alert.fingerprint);
      } else {
        this.active.set(alert.fingerprint, { key, payload });
      }
      this.enqueue(key, payload);
    } catch (err) {
      // A sink must never break detection.
      this.log.warn({ err: errorText(err) }, "alertmanager: could not queue an alert");
    }
  }

  stats(): AlertmanagerSinkStats {
    const peers = this.targets.map((t) => ({ peer: t.display, ...t.counts, queued: t.queued }));
    const total = { sent: 0, failed: 0, dropped: 0, queued: 0 };
    for (const p of peers) {
      total.sent += p.sent;
      total.failed += p.failed;
      total.dropped += p.dropped;
      total.queued += p.queued;
    }
    return { ...total, peers };
  }

  /** Stops every timer; requests in flight finish (bounded by timeoutMs) and the promise waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.resendTimer !== undefined) this.clearTimer(this.resendTimer);
    this.resendTimer = undefined;
    await Promise.all(this.targets.map((t) => t.close()));
  }

  private armResend(): void {
    this.resendTimer = this.setTimer(() => {
      this.resendTimer = undefined;
      if (this.closed) return;
      if (this.active.size > 0) {
        const fingerprints = Array.from(this.active.keys());
        for (const t of this.targets) t.resendAll(fingerprints);
      }
      this.armResend();
    }, this.opts.resendIntervalMs);
  }

  private enqueue(key: string, payload: AmAlert): void {
    for (const t of this.targets) t.enqueue(key, payload);
  }
}

import os from "node:os";
import type { Logger } from "../logger.js";
import type { Alert, AlertSink, AlertTransition } from "./alert.js";
import type { FindingEndpoint } from "./finding.js";

/** One alert as Alertmanager's API v2 takes it (`POST /api/v2/alerts`, a JSON array of these). */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: string;
  /** Only on resolutions: a firing alert is kept alive by re-sending it, as Prometheus does. */
  endsAt?: string;
}

export type TimerHandle = unknown;

export interface AlertmanagerSinkOptions {
  /** Alertmanager base URLs (http or https, may carry a path prefix); every alert goes to each. */
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
  log: Logger;
  fetch?: typeof fetch;
  /** Wall clock (ms), used only to rate-limit the failure logs. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
  clearTimer?: (handle: TimerHandle) => void;
}

export interface AlertmanagerSinkStats {
  /** Alerts delivered (2xx), summed over URLs; re-sends count again. */
  sent: number;
  /** Requests that failed (network error, timeout, non-2xx). */
  failed: number;
  /** Alerts lost: pushed out of a full queue, or in a batch Alertmanager rejected as invalid (400/422). */
  dropped: number;
  /** Alerts waiting, summed over URLs (each URL's queue holds at most maxQueue). */
  queued: number;
}

export const DEFAULT_ALERTMANAGER_SINK_OPTIONS = Object.freeze({
  resendIntervalMs: 60_000,
  timeoutMs: 5_000,
  maxQueue: 1000,
  maxBatch: 100,
  retryMinMs: 1_000,
  retryMaxMs: 60_000,
});

export const ALERTMANAGER_ALERTS_PATH = "/api/v2/alerts";
/** Failure logs per URL: the first of a streak, then at most one per this many ms. */
const WARN_EVERY_MS = 60_000;
/** Bytes of a response body read at most (quoted in the failure log, then the rest is discarded). */
const MAX_BODY_BYTES = 512;

/**
 * `Netmon` + the detector name in PascalCase: "unexpected-outbound" → "NetmonUnexpectedOutbound".
 * One alertname per detector so Alertmanager routes and inhibits per kind of finding, like one
 * Prometheus alerting rule per condition; `detector` carries the raw name as well.
 */
export function alertnameOf(detector: string): string {
  const pascal = detector
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
  return `Netmon${pascal}`;
}

function iso(ms: number): string | undefined {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** "ip:port/proto (name, name)"; IPv6 in brackets. */
export function describeEndpoint(e: FindingEndpoint): string {
  const host = e.ip.includes(":") ? `[${e.ip}]` : e.ip;
  const names = e.names !== undefined && e.names.length > 0 ? ` (${e.names.join(", ")})` : "";
  return `${host}:${e.port}/${e.proto}${names}`;
}

/**
 * The API v2 alert for a netmon alert. Labels (the alert's identity in Alertmanager, all strings,
 * empty ones dropped): alertname, detector, severity, container (name), workload, host, fingerprint.
 * `endsAt` (resolutions only) is the alert's last finding time.
 */
export function toAmAlert(alert: Alert, host: string, resolved: boolean): AmAlert {
  const labels: Record<string, string> = {};
  const put = (name: string, value: string): void => {
    if (value !== "") labels[name] = value;
  };
  put("alertname", alertnameOf(alert.detector));
  put("detector", alert.detector);
  put("severity", alert.severity);
  put("container", alert.container.name);
  put("workload", alert.workload);
  put("host", host);
  put("fingerprint", alert.fingerprint);

  const firstSeen = iso(alert.firstSeen);
  const lastSeen = iso(alert.lastSeen);
  const destination = alert.dst !== undefined ? describeEndpoint(alert.dst) : undefined;
  const lines = [alert.summary];
  if (destination !== undefined) lines.push(`destination: ${destination}`);
  lines.push(`count: ${alert.count}`);
  if (firstSeen !== undefined) lines.push(`first seen: ${firstSeen}`);
  if (lastSeen !== undefined) lines.push(`last seen: ${lastSeen}`);
  const annotations: Record<string, string> = {
    summary: alert.summary,
    description: lines.join("\n"),
    count: String(alert.count),
  };
  if (destination !== undefined) annotations.destination = destination;

  const out: AmAlert = { labels, annotations };
  // Without startsAt Alertmanager uses its receive time: better than failing on a bad timestamp.
  if (firstSeen !== undefined) out.startsAt = firstSeen;
  if (resolved) out.endsAt = lastSeen ?? new Date().toISOString();
  return out;
}

/** Alertmanager tells alerts apart by their label set: this is the queue's dedupe key. */
function identity(a: AmAlert): string {
  return JSON.stringify(a.labels);
}

interface ActiveEntry {
  key: string;
  payload: AmAlert;
}

type Outcome = { ok: true } | { ok: false; retry: boolean; status?: number; error: string };

interface Target {
  /** POST endpoint, credentials moved to `headers`. */
  endpoint: string;
  /** Base URL for logs, password redacted. */
  display: string;
  headers: Record<string, string>;
  /** Identity → latest payload, oldest first; changes waiting to be pushed. */
  queue: Map<string, AmAlert>;
  /** Fingerprints of the active alerts still to re-send this round, and how far we got. */
  resend: string[];
  resendPos: number;
  inFlight: Promise<void> | null;
  /** The pending flush (0 ms) or retry (back-off) timer: while set, nothing else starts a request. */
  timer: TimerHandle | undefined;
  /** Consecutive failed requests. */
  failures: number;
  lastWarnAt: number;
  warnsSuppressed: number;
}

function parseTarget(raw: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RangeError(`alertmanager: not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`alertmanager: URL must be http or https: ${JSON.stringify(raw)}`);
  }
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "netmon" };
  if (url.username !== "" || url.password !== "") {
    // fetch refuses URLs with credentials: send them as basic auth, and keep them out of the logs.
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  url.search = "";
  url.hash = "";
  const base = url.toString().replace(/\/+$/, "");
  const display = headers.authorization !== undefined ? base.replace("://", "://<redacted>@") : base;
  return {
    endpoint: `${base}${ALERTMANAGER_ALERTS_PATH}`,
    display,
    headers,
    queue: new Map(),
    resend: [],
    resendPos: 0,
    inFlight: null,
    timer: undefined,
    failures: 0,
    lastWarnAt: 0,
    warnsSuppressed: 0,
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    // undici reports "fetch failed" and puts the useful part (ECONNREFUSED ...) in the cause.
    const cause: unknown = err.cause;
    if (cause instanceof Error) return `${err.message}: ${cause.message}`;
    return err.message;
  }
  return String(err);
}

/** Reads at most MAX_BODY_BYTES and discards the rest: a misbehaving server cannot make us buffer much. */
async function readSome(res: Response): Promise<string> {
  const body = res.body;
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size < MAX_BODY_BYTES) chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_BODY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, MAX_BODY_BYTES).trim();
}

function defaultSetTimer(fn: () => void, ms: number): TimerHandle {
  const t = setTimeout(fn, ms);
  // The sink never keeps the process alive on its own: the daemon's lifecycle decides.
  t.unref();
  return t;
}

function defaultClearTimer(handle: TimerHandle): void {
  clearTimeout(handle as ReturnType<typeof setTimeout>);
}

/**
 * Pushes alerts straight to Alertmanager (API v2), for hosts without a Prometheus rule in between.
 * Fired and repeated alerts are pushed and kept as "active"; every resendIntervalMs all active
 * alerts are pushed again (Alertmanager resolves an alert nobody re-sends after resolve_timeout);
 * resolved alerts are pushed once with endsAt. Each URL has its own bounded queue (deduplicated by
 * label set, the newest version wins), its own in-flight request and its own exponential back-off,
 * so a dead Alertmanager costs at most maxQueue alerts of memory and never slows the others or
 * detection. If a resolution is dropped, Alertmanager still resolves the alert after resolve_timeout.
 */
export class AlertmanagerSink implements AlertSink {
  private readonly opts: Required<
    Pick<
      AlertmanagerSinkOptions,
      "resendIntervalMs" | "timeoutMs" | "maxQueue" | "maxBatch" | "retryMinMs" | "retryMaxMs" | "host"
    >
  >;
  private readonly log: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => TimerHandle;
  private readonly clearTimer: (handle: TimerHandle) => void;
  private readonly targets: Target[];
  /** Fingerprint → what Alertmanager was last told about the alert. */
  private readonly active = new Map<string, ActiveEntry>();
  private resendTimer: TimerHandle | undefined;
  private closed = false;
  private readonly counts = { sent: 0, failed: 0, dropped: 0 };

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
    this.targets = options.urls.map(parseTarget);
    this.log = options.log;
    this.fetchFn = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? defaultSetTimer;
    this.clearTimer = options.clearTimer ?? defaultClearTimer;
    if (this.targets.length > 0) this.armResend();
  }

  onAlert(alert: Alert, transition: AlertTransition): void {
    if (this.closed || this.targets.length === 0) return;
    try {
      const prev = this.active.get(alert.fingerprint);
      const resolved = transition === "resolved";
      const payload = toAmAlert(alert, this.opts.host, resolved);
      const key = identity(payload);
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
    let queued = 0;
    for (const t of this.targets) queued += t.queue.size;
    return { ...this.counts, queued };
  }

  /** Stops every timer; requests in flight finish (bounded by timeoutMs) and the promise waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.resendTimer !== undefined) this.clearTimer(this.resendTimer);
    this.resendTimer = undefined;
    const inFlight: Promise<void>[] = [];
    for (const t of this.targets) {
      if (t.timer !== undefined) this.clearTimer(t.timer);
      t.timer = undefined;
      if (t.inFlight !== null) inFlight.push(t.inFlight);
    }
    await Promise.all(inFlight);
  }

  private armResend(): void {
    this.resendTimer = this.setTimer(() => {
      this.resendTimer = undefined;
      if (this.closed) return;
      if (this.active.size > 0) {
        const fingerprints = Array.from(this.active.keys());
        for (const t of this.targets) {
          // An unfinished round (Alertmanager down) is replaced, never appended to: no growth.
          t.resend = fingerprints;
          t.resendPos = 0;
          this.kick(t);
        }
      }
      this.armResend();
    }, this.opts.resendIntervalMs);
  }

  private enqueue(key: string, payload: AmAlert): void {
    for (const t of this.targets) {
      // Replacing in place keeps the slot's age: the newest version goes out, nothing is added.
      if (!t.queue.has(key) && t.queue.size >= this.opts.maxQueue) {
        const oldest = t.queue.keys().next();
        if (!oldest.done) t.queue.delete(oldest.value);
        this.counts.dropped++;
      }
      t.queue.set(key, payload);
      this.kick(t);
    }
  }

  /** Schedules a flush on the next turn of the event loop, so a burst of alerts goes in one POST. */
  private kick(t: Target): void {
    if (this.closed || t.inFlight !== null || t.timer !== undefined) return;
    if (t.queue.size === 0 && t.resendPos >= t.resend.length) return;
    t.timer = this.setTimer(() => {
      t.timer = undefined;
      this.flush(t);
    }, 0);
  }

  private flush(t: Target): void {
    if (this.closed || t.inFlight !== null) return;
    const max = this.opts.maxBatch;
    const taken: [string, AmAlert][] = [];
    for (const entry of t.queue) {
      if (taken.length >= max) break;
      taken.push(entry);
    }
    for (const [key] of taken) t.queue.delete(key);
    const batch = taken.map(([, payload]) => payload);
    const inBatch = new Set(taken.map(([key]) => key));
    const resendFrom = t.resendPos;
    while (batch.length < max && t.resendPos < t.resend.length) {
      const entry = this.active.get(t.resend[t.resendPos++]!);
      // Resolved since the round started, or a newer version is queued or already in this batch.
      if (entry === undefined || t.queue.has(entry.key) || inBatch.has(entry.key)) continue;
      inBatch.add(entry.key);
      batch.push(entry.payload);
    }
    if (batch.length === 0) return;

    t.inFlight = this.post(t, batch)
      .then((outcome) => {
        t.inFlight = null;
        this.settle(t, outcome, taken, batch.length, resendFrom);
      })
      .catch((err: unknown) => {
        // post() does not reject; this only guards against a bug turning into an unhandled rejection.
        t.inFlight = null;
        this.log.warn({ url: t.display, err: errorText(err) }, "alertmanager: push bookkeeping failed");
      });
  }

  private settle(
    t: Target,
    outcome: Outcome,
    taken: [string, AmAlert][],
    batchSize: number,
    resendFrom: number,
  ): void {
    if (outcome.ok) {
      this.counts.sent += batchSize;
      if (t.failures > 0) {
        this.log.info(
          { url: t.display, failures: t.failures },
          "alertmanager: push works again after failures",
        );
      }
      t.failures = 0;
      t.warnsSuppressed = 0;
      this.kick(t);
      return;
    }

    this.counts.failed++;
    t.failures++;
    if (!outcome.retry) {
      // Alertmanager said the payload itself is invalid: sending it again cannot help.
      this.counts.dropped += taken.length;
      this.warn(t, outcome, undefined);
      this.kick(t);
      return;
    }

    // Put the batch back in front of what arrived meanwhile (a newer version of the same alert wins),
    // then trim the oldest beyond maxQueue.
    const merged = new Map<string, AmAlert>();
    for (const [key, payload] of taken) if (!t.queue.has(key)) merged.set(key, payload);
    for (const [key, payload] of t.queue) merged.set(key, payload);
    for (const key of merged.keys()) {
      if (merged.size <= this.opts.maxQueue) break;
      merged.delete(key);
      this.counts.dropped++;
    }
    t.queue = merged;
    t.resendPos = Math.min(resendFrom, t.resendPos);

    const delay = Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** Math.min(t.failures - 1, 30));
    this.warn(t, outcome, delay);
    if (this.closed) return;
    t.timer = this.setTimer(() => {
      t.timer = undefined;
      this.flush(t);
    }, delay);
  }

  private warn(t: Target, outcome: Extract<Outcome, { ok: false }>, retryInMs: number | undefined): void {
    const now = this.now();
    if (t.failures > 1 && now - t.lastWarnAt < WARN_EVERY_MS) {
      t.warnsSuppressed++;
      return;
    }
    t.lastWarnAt = now;
    this.log.warn(
      {
        url: t.display,
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        error: outcome.error,
        failures: t.failures,
        ...(retryInMs !== undefined ? { retryInMs } : {}),
        queued: t.queue.size,
        dropped: this.counts.dropped,
        suppressedLogs: t.warnsSuppressed,
      },
      outcome.retry ? "alertmanager: push failed; will retry" : "alertmanager: push rejected; alerts dropped",
    );
    t.warnsSuppressed = 0;
  }

  private async post(t: Target, batch: AmAlert[]): Promise<Outcome> {
    const controller = new AbortController();
    const timer = this.setTimer(() => controller.abort(), this.opts.timeoutMs);
    try {
      const res = await this.fetchFn(t.endpoint, {
        method: "POST",
        headers: t.headers,
        body: JSON.stringify(batch),
        signal: controller.signal,
      });
      // Read (part of) the body under the same timeout: it frees the connection for reuse.
      const text = await readSome(res);
      if (res.ok) return { ok: true };
      return {
        ok: false,
        // 400/422: Alertmanager rejected the alerts themselves; anything else may pass later.
        retry: res.status !== 400 && res.status !== 422,
        status: res.status,
        error: text !== "" ? text : res.statusText,
      };
    } catch (err) {
      const error = controller.signal.aborted ? `timed out after ${this.opts.timeoutMs} ms` : errorText(err);
      return { ok: false, retry: true, error };
    } finally {
      this.clearTimer(timer);
    }
  }
}

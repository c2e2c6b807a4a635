import type { Logger } from "../util/logger.js";
import type { AmAlert } from "./alertmanager-payload.js";

export type TimerHandle = unknown;

export const ALERTMANAGER_ALERTS_PATH = "/api/v2/alerts";
/** Failure logs per URL: the first of a streak, then at most one per this many ms. */
const WARN_EVERY_MS = 60_000;
/** Bytes of a response body read at most (quoted in the failure log, then the rest is discarded). */
const MAX_BODY_BYTES = 512;

/** Delivery counters of one URL (one Alertmanager peer). */
export interface DeliveryCounts {
  /** Alerts delivered (2xx); re-sends count again. */
  sent: number;
  /** Requests that failed (network error, timeout, non-2xx). */
  failed: number;
  /** Alerts lost: pushed out of a full queue, or in a batch Alertmanager rejected as invalid (400/422). */
  dropped: number;
}

/** An active alert as last told to Alertmanager: its identity (label set) and payload. */
export interface ActiveAlert {
  key: string;
  payload: AmAlert;
}

export interface AlertmanagerTargetOptions {
  timeoutMs: number;
  maxQueue: number;
  maxBatch: number;
  retryMinMs: number;
  retryMaxMs: number;
  log: Logger;
  fetch: typeof fetch;
  /** Wall clock (ms), used only to rate-limit the failure logs. */
  now: () => number;
  setTimer: (fn: () => void, ms: number) => TimerHandle;
  clearTimer: (handle: TimerHandle) => void;
  /** The current version of an active alert by fingerprint, read when its re-send goes out. */
  activeAlert: (fingerprint: string) => ActiveAlert | undefined;
}

type Outcome = { ok: true } | { ok: false; retry: boolean; status?: number; error: string };

interface Endpoint {
  /** POST endpoint, credentials moved to `headers`. */
  endpoint: string;
  /** Base URL for logs, password redacted. */
  display: string;
  headers: Record<string, string>;
}

function parseEndpoint(raw: string): Endpoint {
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
  return { endpoint: `${base}${ALERTMANAGER_ALERTS_PATH}`, display, headers };
}

export function errorText(err: unknown): string {
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

export function defaultSetTimer(fn: () => void, ms: number): TimerHandle {
  const t = setTimeout(fn, ms);
  // The sink never keeps the process alive on its own: the daemon's lifecycle decides.
  t.unref();
  return t;
}

export function defaultClearTimer(handle: TimerHandle): void {
  clearTimeout(handle as ReturnType<typeof setTimeout>);
}

/**
 * One Alertmanager URL: a bounded queue (deduplicated by label set, the newest version wins), the
 * current re-send round, at most one request in flight (with a timeout) and exponential back-off
 * after failures, so a dead Alertmanager costs at most maxQueue alerts of memory and never slows
 * the other URLs or detection.
 */
export class AlertmanagerTarget {
  readonly display: string;
  /** This URL's own counters: a dead peer shows in its own series, not hidden in a sum. */
  readonly counts: DeliveryCounts = { sent: 0, failed: 0, dropped: 0 };
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly opts: AlertmanagerTargetOptions;
  /** Identity → latest payload, oldest first; changes waiting to be pushed. */
  private queue = new Map<string, AmAlert>();
  /** Fingerprints of the active alerts still to re-send this round, and how far we got. */
  private resend: string[] = [];
  private resendPos = 0;
  private inFlight: Promise<void> | null = null;
  /** The pending flush (0 ms) or retry (back-off) timer: while set, nothing else starts a request. */
  private timer: TimerHandle | undefined;
  /** Consecutive failed requests. */
  private failures = 0;
  private lastWarnAt = 0;
  private warnsSuppressed = 0;
  private closed = false;

  /** Throws a RangeError for a URL that is not http(s). */
  constructor(url: string, opts: AlertmanagerTargetOptions) {
    const { endpoint, display, headers } = parseEndpoint(url);
    this.endpoint = endpoint;
    this.display = display;
    this.headers = headers;
    this.opts = opts;
  }

  get queued(): number {
    return this.queue.size;
  }

  enqueue(key: string, payload: AmAlert): void {
    // Replacing in place keeps the slot's age: the newest version goes out, nothing is added.
    if (!this.queue.has(key) && this.queue.size >= this.opts.maxQueue) {
      const oldest = this.queue.keys().next();
      if (!oldest.done) this.queue.delete(oldest.value);
      this.counts.dropped++;
    }
    this.queue.set(key, payload);
    this.kick();
  }

  /** Starts a re-send round of these active alerts. */
  resendAll(fingerprints: string[]): void {
    // An unfinished round (Alertmanager down) is replaced, never appended to: no growth.
    this.resend = fingerprints;
    this.resendPos = 0;
    this.kick();
  }

  /** Stops the timer; the request in flight finishes (bounded by timeoutMs) and the promise waits for it. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.opts.clearTimer(this.timer);
    this.timer = undefined;
    if (this.inFlight !== null) await this.inFlight;
  }

  /** Schedules a flush on the next turn of the event loop, so a burst of alerts goes in one POST. */
  private kick(): void {
    if (this.closed || this.inFlight !== null || this.timer !== undefined) return;
    if (this.queue.size === 0 && this.resendPos >= this.resend.length) return;
    this.timer = this.opts.setTimer(() => {
      this.timer = undefined;
      this.flush();
    }, 0);
  }

  private flush(): void {
    if (this.closed || this.inFlight !== null) return;
    const max = this.opts.maxBatch;
    const taken: [string, AmAlert][] = [];
    for (const entry of this.queue) {
      if (taken.length >= max) break;
      taken.push(entry);
    }
    for (const [key] of taken) this.queue.delete(key);
    const batch = taken.map(([, payload]) => payload);
    const inBatch = new Set(taken.map(([key]) => key));
    const resendFrom = this.resendPos;
    while (batch.length < max && this.resendPos < this.resend.length) {
      const entry = this.opts.activeAlert(this.resend[this.resendPos++]!);
      // Resolved since the round started, or a newer version is queued or already in this batch.
      if (entry === undefined || this.queue.has(entry.key) || inBatch.has(entry.key)) continue;
      inBatch.add(entry.key);
      batch.push(entry.payload);
    }
    if (batch.length === 0) return;

    this.inFlight = this.post(batch)
      .then((outcome) => {
        this.inFlight = null;
        this.settle(outcome, taken, batch.length, resendFrom);
      })
      .catch((err: unknown) => {
        // post() does not reject; this only guards against a bug turning into an unhandled rejection.
        this.inFlight = null;
        this.opts.log.warn(
          { url: this.display, err: errorText(err) },
          "alertmanager: push bookkeeping failed",
        );
      });
  }

  private settle(outcome: Outcome, taken: [string, AmAlert][], batchSize: number, resendFrom: number): void {
    const counts = this.counts;
    if (outcome.ok) {
      counts.sent += batchSize;
      if (this.failures > 0) {
        this.opts.log.info(
          { url: this.display, failures: this.failures },
          "alertmanager: push works again after failures",
        );
      }
      this.failures = 0;
      this.warnsSuppressed = 0;
      this.kick();
      return;
    }

    counts.failed++;
    this.failures++;
    if (!outcome.retry) {
      // Alertmanager said the payload itself is invalid: sending it again cannot help.
      counts.dropped += taken.length;
      this.warn(outcome, undefined);
      this.kick();
      return;
    }

    // Put the batch back in front of what arrived meanwhile (a newer version of the same alert wins),
    // then trim the oldest beyond maxQueue.
    const merged = new Map<string, AmAlert>();
    for (const [key, payload] of taken) if (!this.queue.has(key)) merged.set(key, payload);
    for (const [key, payload] of this.queue) merged.set(key, payload);
    for (const key of merged.keys()) {
      if (merged.size <= this.opts.maxQueue) break;
      merged.delete(key);
      counts.dropped++;
    }
    this.queue = merged;
    this.resendPos = Math.min(resendFrom, this.resendPos);

    const { retryMinMs, retryMaxMs } = this.opts;
    const delay = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(this.failures - 1, 30));
    this.warn(outcome, delay);
    if (this.closed) return;
    this.timer = this.opts.setTimer(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
  }

  private warn(outcome: Extract<Outcome, { ok: false }>, retryInMs: number | undefined): void {
    const now = this.opts.now();
    if (this.failures > 1 && now - this.lastWarnAt < WARN_EVERY_MS) {
      this.warnsSuppressed++;
      return;
    }
    this.lastWarnAt = now;
    this.opts.log.warn(
      {
        url: this.display,
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        error: outcome.error,
        failures: this.failures,
        ...(retryInMs !== undefined ? { retryInMs } : {}),
        queued: this.queue.size,
        dropped: this.counts.dropped,
        suppressedLogs: this.warnsSuppressed,
      },
      outcome.retry ? "alertmanager: push failed; will retry" : "alertmanager: push rejected; alerts dropped",
    );
    this.warnsSuppressed = 0;
  }

  private async post(batch: AmAlert[]): Promise<Outcome> {
    const { timeoutMs, setTimer, clearTimer } = this.opts;
    const controller = new AbortController();
    const timer = setTimer(() => controller.abort(), timeoutMs);
    try {
      const res = await this.opts.fetch(this.endpoint, {
        method: "POST",
        headers: this.headers,
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
      const error = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : errorText(err);
      return { ok: false, retry: true, error };
    } finally {
      clearTimer(timer);
    }
  }
}

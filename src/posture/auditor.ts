import type { Baseline } from "../baseline/baseline.js";
import type { NetmonEvent } from "../model/events.js";
import type { Logger } from "../util/logger.js";
import { type AuditReport, runAudit } from "./audit.js";
import type { PostureDockerClient } from "./probe.js";
import type { PostureFinding } from "./types.js";

/**
 * The inbound connections netmon saw accepted, as "containerId|port/proto": evidence that a
 * published port is used. Bounded: past `max` keys the oldest is forgotten.
 */
export class ListenHitTracker {
  private readonly hits = new Set<string>();

  constructor(
    /** When watching started (ms since the epoch). */
    readonly sinceMs = Date.now(),
    private readonly max = 100_000,
  ) {}

  onEvent(ev: NetmonEvent): void {
    if (ev.kind !== "connection" || ev.state !== "accepted" || ev.dst.container === null) return;
    const key = `${ev.dst.container.id}|${ev.dst.port}/${ev.proto}`;
    if (this.hits.has(key)) return;
    if (this.hits.size >= this.max) {
      const oldest = this.hits.values().next().value;
      if (oldest !== undefined) this.hits.delete(oldest);
    }
    this.hits.add(key);
  }

  get size(): number {
    return this.hits.size;
  }

  snapshot(): ReadonlySet<string> {
    return new Set(this.hits);
  }
}

export interface PostureAuditorOptions {
  docker: PostureDockerClient;
  log: Logger;
  /** How often the audit runs (ms); default 5 minutes. */
  intervalMs?: number;
  /** The daemon's live baseline (for the internal-network check). */
  baseline?: Baseline;
  /** baseline.learnForSeconds in ms, read at each audit (it changes on SIGHUP). */
  learnForMs?: () => number;
  /** A published port is judged once watched this long (ms; default 1 hour). */
  minObservedMs?: number;
}

const logFields = (f: PostureFinding) => ({
  check: f.check,
  severity: f.severity,
  container: {
    id: f.container.id.slice(0, 12), // as in alert lines
    name: f.container.name,
    image: f.container.image,
    service: f.container.service,
  },
  workload: f.workload,
  summary: f.summary,
  fix: f.fix,
});

/**
 * The audit on a schedule, for the daemon: keeps the current findings (for the
 * netmon_posture_findings gauge), logs each finding once when it appears ("posture finding") and
 * once when it goes away ("posture finding resolved"), and feeds the published-port check from
 * the connection events.
 */
export class PostureAuditor {
  readonly listenHits: ListenHitTracker;
  private current = new Map<string, PostureFinding>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** The last report (null before the first audit finished). */
  last: AuditReport | null = null;

  constructor(private readonly opts: PostureAuditorOptions) {
    this.listenHits = new ListenHitTracker();
  }

  /** Runs an audit now, then every intervalMs. */
  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs ?? 300_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Feed every NetmonEvent (cheap: one comparison for all but accepted connections). */
  onEvent(ev: NetmonEvent): void {
    this.listenHits.onEvent(ev);
  }

  findings(): PostureFinding[] {
    return [...this.current.values()];
  }

  /** One audit; skipped while the previous one still runs. Errors are logged, never thrown. */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.audit().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async audit(): Promise<void> {
    const { log } = this.opts;
    let report: AuditReport;
    try {
      report = await runAudit(this.opts.docker, {
        baseline: this.opts.baseline ?? null,
        learnForMs: this.opts.learnForMs?.() ?? 0,
        observedListenHits: this.listenHits.snapshot(),
        observedSinceMs: this.listenHits.sinceMs,
        minObservedMs: this.opts.minObservedMs,
      });
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, "posture audit failed");
      return;
    }
    if (this.stopped) return;
    const next = new Map(report.findings.map((f) => [f.key, f]));
    for (const [key, f] of next) {
      if (this.current.has(key)) continue;
      const fields = { posture: logFields(f) };
      if (f.severity === "info") log.info(fields, "posture finding");
      else log.warn(fields, "posture finding");
    }
    for (const [key, f] of this.current) {
      if (!next.has(key)) log.info({ posture: logFields(f) }, "posture finding resolved");
    }
    for (const e of report.errors) log.debug({ error: e }, "posture audit");
    this.current = next;
    this.last = report;
  }
}

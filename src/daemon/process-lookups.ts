import { Counter, type Registry } from "prom-client";
import type { Alert, AlertSink, AlertTransition } from "../alerts/alert.js";
import { LeakyBucket } from "../counting/leaky-bucket.js";
import {
  type ConnectionTuple,
  findConnectionSocket,
  findListeningSockets,
} from "../listeners/connection-socket.js";
import { errnoOf, isPermissionError, type ProcFs, realProcFs } from "../processes/proc-fs.js";
import type { ProcessUnknown } from "../processes/process-info.js";
import type { Attribution, ProcessResolver } from "../processes/process-resolver.js";

/** What a lookup can end in; `dropped` (queue full) and `failed` (an unexpected error) name no process. */
export type LookupOutcome = "found" | ProcessUnknown | "dropped" | "failed";
const OUTCOMES: readonly LookupOutcome[] = [
  "found",
  "exited",
  "not-found",
  "no-permission",
  "dropped",
  "failed",
];

export interface ProcessLookupsOptions {
  resolver: ProcessResolver;
  /** The pid of a running container (its /proc/<pid>/net holds the connection), else null: it exited. */
  pidOf(containerId: string): number | null;
  /** Gives an active alert its process: AlertManager.annotate, which writes the `alert updated` line. */
  annotate(fingerprint: string, details: Attribution): void;
  fs?: ProcFs;
  procRoot?: string;
  /** Lookups started per second at most (each reads two net tables and may walk the namespace's fds). */
  perSecond?: number;
  /** Alerts waiting at most; beyond, new ones are dropped and counted. */
  maxQueued?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Job {
  containerId: string;
  /** The connection of a connection alert, or the listening port of a listener seen on the wire. */
  tuple: ConnectionTuple | ListeningPort;
  /** When the connection was seen (the alert's lastSeen, ms). */
  seenAt: number;
}

interface ListeningPort {
  proto: "tcp" | "udp";
  listenPort: number;
}

/**
 * An unusual-listener alert from the wire (`answered …`: only a `dst`, no /proc scan has named the
 * process yet): its listening socket, to look up like a connection's.
 */
function listeningPortOf(alert: Alert): ListeningPort | null {
  const { src, dst } = alert;
  if (alert.detector !== "unusual-listener" || src !== undefined || dst === undefined || dst.port <= 0)
    return null;
  return { proto: dst.proto, listenPort: dst.port };
}

const DEFAULTS = { perSecond: 20, maxQueued: 256 };
/** Start times come in 1/100 s ticks from boot; packet time may trail the wall clock a little. */
const START_SLACK_MS = 1000;

function unrefSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The connection of an alert raised by one (a `src` and a `dst` with ports), else null. */
function tupleOf(alert: Alert): ConnectionTuple | null {
  const { src, dst } = alert;
  if (src === undefined || dst === undefined || src.port <= 0 || dst.port <= 0) return null;
  return { proto: dst.proto, src: { ip: src.ip, port: src.port }, dst: { ip: dst.ip, port: dst.port } };
}

/**
 * Names the process behind connection alerts, off the hot path: the alert is logged at once, this
 * sink queues its connection (one entry per alert, the latest connection wins), and a worker finds
 * the socket by its 4-tuple in the container's /proc/<pid>/net tables, then its holder, at most
 * `perSecond` lookups a second; the answer reaches the alert manager, which writes it in an
 * `alert updated` line (`details.process`, or null with `details.processUnknown`). An alert whose
 * details already name a process (the listener scan's, or this sink's own update) is not looked up.
 */
export class ProcessLookups implements AlertSink {
  /** Lookups ended here without asking the resolver, and the dropped ones (the resolver counts its own). */
  readonly outcomes: Record<LookupOutcome, number> = {
    found: 0,
    exited: 0,
    "not-found": 0,
    "no-permission": 0,
    dropped: 0,
    failed: 0,
  };
  private readonly queue = new Map<string, Job>();
  private readonly budget = new LeakyBucket();
  private readonly fs: ProcFs;
  private readonly procRoot: string;
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxQueued: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: ProcessLookupsOptions) {
    this.fs = opts.fs ?? realProcFs;
    this.procRoot = opts.procRoot ?? "/proc";
    const perSecond = opts.perSecond ?? DEFAULTS.perSecond;
    this.perMs = perSecond / 1000;
    this.burst = Math.max(1, perSecond);
    this.maxQueued = opts.maxQueued ?? DEFAULTS.maxQueued;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? unrefSleep;
  }

  onAlert(alert: Alert, transition: AlertTransition): void {
    if (transition === "resolved") {
      this.queue.delete(alert.fingerprint);
      return;
    }
    if (this.stopped || (alert.details !== undefined && "process" in alert.details)) return;
    const tuple = tupleOf(alert) ?? listeningPortOf(alert);
    if (tuple === null) return;
    if (!this.queue.has(alert.fingerprint) && this.queue.size >= this.maxQueued) {
      this.outcomes.dropped++;
      return;
    }
    this.queue.set(alert.fingerprint, { containerId: alert.container.id, tuple, seenAt: alert.lastSeen });
    this.kick();
  }

  /** Resolves when the queue is empty (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
  }

  /** One worker at a time; one queued between its last look at the queue and its end is not left behind. */
  private kick(): void {
    if (this.running !== null || this.stopped) return;
    this.running = this.work().finally(() => {
      this.running = null;
      if (this.queue.size > 0) this.kick();
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      const next = this.queue.entries().next();
      if (next.done === true || this.stopped) return;
      const now = this.now();
      const level = this.budget.leak(now, this.perMs);
      if (level + 1 > this.burst) {
        await this.sleep(Math.ceil((level + 1 - this.burst) / this.perMs));
        continue;
      }
      this.budget.level += 1;
      const [fingerprint, job] = next.value;
      this.queue.delete(fingerprint);
      const answer = await this.lookup(job).catch(() => null);
      if (answer === null) this.outcomes.failed++;
      else if (!this.stopped) this.opts.annotate(fingerprint, answer);
    }
  }

  private async lookup(job: Job): Promise<Attribution> {
    const pid = this.opts.pidOf(job.containerId);
    if (pid === null) return this.unknown("exited");
    if ("listenPort" in job.tuple) return this.listenerHolder(pid, job.tuple);
    const found = await findConnectionSocket(this.fs.readFile, this.procRoot, pid, job.tuple);
    switch (found.kind) {
      case "found": {
        const owner = (await this.opts.resolver.owners(pid, [found.inode])).get(found.inode);
        return owner ?? this.unknown("not-found");
      }
      case "bound": {
        // A process that started after the datagram cannot have sent it: the sender exited and
        // another bound its port since. Never name the wrong program.
        const owner = (await this.opts.resolver.owners(pid, [found.inode])).get(found.inode);
        const started = owner?.process?.startedAt ? Date.parse(owner.process.startedAt) : Number.NaN;
        if (owner?.process && !(started <= job.seenAt + START_SLACK_MS)) return this.unknown("exited");
        return owner ?? this.unknown("not-found");
      }
      case "gone":
        return this.unknown("exited");
      case "ambiguous":
        return this.unknown("not-found");
      case "unreadable":
        return this.unknown(await this.whyUnreadable(pid));
    }
  }

  /** The one process holding the port's listening sockets; two different holders are no answer. */
  private async listenerHolder(pid: number, port: ListeningPort): Promise<Attribution> {
    const found = await findListeningSockets(
      this.fs.readFile,
      this.procRoot,
      pid,
      port.proto,
      port.listenPort,
    );
    if (found.kind === "gone") return this.unknown("exited");
    if (found.kind === "unreadable") return this.unknown(await this.whyUnreadable(pid));
    const owners = [...(await this.opts.resolver.owners(pid, found.inodes)).values()];
    const named = owners.filter((o) => o.process !== null);
    const pids = new Set(named.map((o) => o.process?.pid));
    if (pids.size === 1) return named[0]!;
    return pids.size > 1 ? this.unknown("not-found") : (owners[0] ?? this.unknown("not-found"));
  }

  /** The tables of a live process are world-readable: unreadable means it exited, or netmon may not look. */
  private async whyUnreadable(pid: number): Promise<ProcessUnknown> {
    try {
      await this.fs.readlink(`${this.procRoot}/${pid}/ns/net`);
      return "not-found";
    } catch (err) {
      if (isPermissionError(err)) return "no-permission";
      return errnoOf(err) === "ENOENT" ? "exited" : "not-found";
    }
  }

  private unknown(why: ProcessUnknown): Attribution {
    this.outcomes[why]++;
    return { process: null, processUnknown: why };
  }
}

/**
 * `netmon_process_lookups_total{outcome}`: every process lookup (listener scans and connection
 * alerts), read at scrape time from the resolver's and the queue's cumulative counts.
 */
export function registerProcessLookupMetrics(
  registry: Registry,
  resolver: ProcessResolver,
  lookups: ProcessLookups | null,
): void {
  new Counter({
    name: "netmon_process_lookups_total",
    help: "Process lookups (who holds a listening socket or an alerted connection), by outcome: found, exited (socket or process gone), not-found (no visible holder), no-permission (CAP_SYS_PTRACE missing), dropped (queue full), failed.",
    labelNames: ["outcome"],
    registers: [registry],
    collect() {
      this.reset();
      for (const outcome of OUTCOMES) {
        const counted = resolver.outcomes as Partial<Record<LookupOutcome, number>>;
        const fromResolver = counted[outcome] ?? 0;
        this.inc({ outcome }, fromResolver + (lookups?.outcomes[outcome] ?? 0));
      }
    },
  });
}

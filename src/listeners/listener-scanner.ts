/**
 * Periodic listener discovery: reads each container's /proc/<pid>/net tables and turns the
 * difference with the previous scan into ListenerEvents.
 *
 * Behaviour, per container id:
 * - First readable scan: `opened` for every listening socket. Later scans: `opened` for new
 *   ones, `closed` for gone ones, nothing when unchanged.
 * - Missing tcp6/udp6 (IPv6 disabled in the namespace): treated as empty, not an error.
 * - Missing pid (tcp/udp ENOENT: the process exited and the inventory has not caught up yet):
 *   reported once, no events, the last known set is kept. If the container comes back with a new
 *   pid (restart), the diff is against that set, so a restart with the same listeners is silent.
 * - Other read failures: reported, no events, state kept (a partial read must not look like
 *   sockets closing).
 * - Incomplete view (more listeners than `maxSocketsPerContainer`, or malformed lines): reported;
 *   new sockets are `opened` up to the cap but nothing is `closed`, since absence proves nothing.
 * - Each problem is reported when it appears, not again on every scan while it persists.
 * - Containers absent from a scan's list are dropped silently (stopping is the inventory's
 *   business); `forget(id)` drops one explicitly (container destroyed).
 *
 * - With `owners` given, each `opened` event names the process holding its socket (`process`,
 *   or null with `processUnknown`), looked up before the scan returns; without it, neither is set.
 *
 * Note: /proc/<pid>/net shows the pid's network namespace, so containers sharing a namespace
 * (`network_mode: container:x`) report the same sockets, and `network_mode: host` containers
 * report the host's.
 */
import type { ContainerRef, ListenerEvent } from "../model/events.js";
import type { Attribution } from "../processes/process-resolver.js";
import { mapLimit } from "../util/map-limit.js";
import { PROC_READ_CONCURRENCY, readNetTables } from "./proc-net-files.js";
import {
  DEFAULT_MAX_SOCKETS,
  type ListeningSocket,
  type ProcNetFile,
  parseProcNet,
} from "./proc-net-parser.js";

export interface ListenerScannerOptions {
  /** Reads a whole file as text; rejects with a Node errno error (`code: "ENOENT"`, ...) on failure. */
  readFile: (path: string) => Promise<string>;
  procRoot?: string;
  /** Bound on listening sockets kept per container, over all four tables. */
  maxSocketsPerContainer?: number;
  /** Who holds each socket inode in the namespace of a pid (ProcessResolver.owners); absent: nobody is named. */
  owners?: SocketOwners;
}

export type SocketOwners = (
  pid: number,
  inodes: readonly string[],
) => Promise<ReadonlyMap<string, Attribution>>;

/** The `opened` events of one container, with their sockets' inodes, waiting for their process. */
interface OpenedBatch {
  containerId: string;
  pid: number;
  opened: { event: ListenerEvent; inode: string }[];
}

export interface ScanTarget {
  ref: ContainerRef;
  pid: number;
}

export interface ScanError {
  containerId: string;
  message: string;
}

export interface ScanResult {
  events: ListenerEvent[];
  errors: ScanError[];
}

interface ContainerState {
  sockets: Map<string, ListeningSocket>;
  /** Problems seen on the previous scan, so a persisting one is reported only once. */
  reported: Set<string>;
}

type ReadOutcome =
  | { kind: "failed"; problems: string[] }
  | { kind: "read"; sockets: ListeningSocket[]; complete: boolean; problems: string[] };

const FILES: readonly ProcNetFile[] = ["tcp", "tcp6", "udp", "udp6"];

export class ListenerScanner {
  private readonly readFile: (path: string) => Promise<string>;
  private readonly procRoot: string;
  private readonly maxSockets: number;
  private readonly owners: SocketOwners | undefined;
  private readonly state = new Map<string, ContainerState>();
  private tail: Promise<unknown> = Promise.resolve();
  // forget() calls are numbered so that a scan requested before one does not resurrect the state
  // when it commits; the record is only needed while scans are pending.
  private forgetSeq = 0;
  private readonly forgottenAt = new Map<string, number>();
  private pendingScans = 0;

  constructor(opts: ListenerScannerOptions) {
    this.readFile = opts.readFile;
    this.procRoot = (opts.procRoot ?? "/proc").replace(/\/+$/, "");
    this.maxSockets = opts.maxSocketsPerContainer ?? DEFAULT_MAX_SOCKETS;
    this.owners = opts.owners;
  }

  /** Drops a container's state (destroyed); its next scan, if any, reports everything as opened. */
  forget(containerId: string): void {
    this.state.delete(containerId);
    if (this.pendingScans > 0) this.forgottenAt.set(containerId, ++this.forgetSeq);
  }

  /** Containers with state (for status output and tests). */
  trackedContainers(): string[] {
    return [...this.state.keys()];
  }

  /** Scans run one after the other (each diff needs the previous one's result); never rejects. */
  scan(containers: readonly ScanTarget[], nowMs: number): Promise<ScanResult> {
    const requestedAt = this.forgetSeq;
    this.pendingScans++;
    const run = this.tail
      .then(() => this.runScan(containers, nowMs, requestedAt))
      .finally(() => {
        if (--this.pendingScans === 0) this.forgottenAt.clear();
      });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async runScan(
    containers: readonly ScanTarget[],
    nowMs: number,
    requestedAt: number,
  ): Promise<ScanResult> {
    // One entry per id (the first), so a duplicated container cannot diff against itself.
    const targets = new Map<string, ScanTarget>();
    for (const c of containers) if (!targets.has(c.ref.id)) targets.set(c.ref.id, c);
    for (const id of [...this.state.keys()]) if (!targets.has(id)) this.state.delete(id);

    const list = [...targets.values()].filter((t) => t.pid > 0);
    const outcomes = await mapLimit(list, PROC_READ_CONCURRENCY, (t) => this.readContainer(t.pid));

    const events: ListenerEvent[] = [];
    const errors: ScanError[] = [];
    const batches: OpenedBatch[] = [];
    list.forEach((target, i) => {
      const id = target.ref.id;
      if ((this.forgottenAt.get(id) ?? 0) > requestedAt) return; // destroyed meanwhile
      let st = this.state.get(id);
      if (st === undefined) {
        st = { sockets: new Map(), reported: new Set() };
        this.state.set(id, st);
      }
      const outcome = outcomes[i]!;
      for (const message of outcome.problems) {
        if (!st.reported.has(message)) errors.push({ containerId: id, message });
      }
      st.reported = new Set(outcome.problems);
      if (outcome.kind === "read") {
        const batch: OpenedBatch = { containerId: id, pid: target.pid, opened: [] };
        this.diff(st, target.ref, outcome.sockets, outcome.complete, nowMs, events, batch);
        if (batch.opened.length > 0) batches.push(batch);
      }
    });
    if (this.owners !== undefined) await attribute(this.owners, batches, errors);
    return { events, errors };
  }

  private diff(
    st: ContainerState,
    ref: ContainerRef,
    sockets: ListeningSocket[],
    complete: boolean,
    ts: number,
    events: ListenerEvent[],
    batch: OpenedBatch,
  ): void {
    const open = (s: ListeningSocket): void => {
      const event = toEvent(s, "opened", ref, ts);
      events.push(event);
      batch.opened.push({ event, inode: String(s.inode) });
    };
    const current = new Map<string, ListeningSocket>();
    for (const s of sockets) current.set(socketKey(s), s);
    if (complete) {
      for (const [key, s] of st.sockets) if (!current.has(key)) events.push(toEvent(s, "closed", ref, ts));
      for (const [key, s] of current) if (!st.sockets.has(key)) open(s);
      st.sockets = current;
      return;
    }
    // Incomplete view: only add, and keep the state within the cap.
    for (const [key, s] of current) {
      if (st.sockets.has(key) || st.sockets.size >= this.maxSockets) continue;
      st.sockets.set(key, s);
      open(s);
    }
  }

  private async readContainer(pid: number): Promise<ReadOutcome> {
    const read = await readNetTables(this.readFile, this.procRoot, pid, FILES);
    if (read.kind === "failed") return read;

    const sockets: ListeningSocket[] = [];
    const problems: string[] = [];
    let truncated = false;
    read.texts.forEach((text, i) => {
      const file = FILES[i]!;
      // The cap is for the container as a whole, so each table gets what the previous ones left.
      const res = parseProcNet(text, file, Math.max(0, this.maxSockets - sockets.length));
      sockets.push(...res.sockets);
      if (res.truncated) truncated = true;
      if (res.errors > 0) problems.push(`net/${file}: ${res.errors} malformed line(s) skipped`);
    });
    if (truncated) problems.push(`more than ${this.maxSockets} listening sockets; list truncated`);
    return { kind: "read", sockets, complete: problems.length === 0, problems };
  }
}

/** Names each opened socket's process: one lookup per container, since a lookup walks its namespace. */
async function attribute(owners: SocketOwners, batches: OpenedBatch[], errors: ScanError[]): Promise<void> {
  for (const batch of batches) {
    try {
      const found = await owners(
        batch.pid,
        batch.opened.map((o) => o.inode),
      );
      for (const { event, inode } of batch.opened) {
        const a = found.get(inode);
        if (a === undefined) continue;
        event.process = a.process;
        if (a.process === null) event.processUnknown = a.processUnknown;
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      errors.push({ containerId: batch.containerId, message: `process lookup failed: ${message}` });
    }
  }
}

function socketKey(s: ListeningSocket): string {
  return `${s.proto}/${s.family}/${s.address}/${s.port}`;
}

function toEvent(
  s: ListeningSocket,
  state: "opened" | "closed",
  ref: ContainerRef,
  ts: number,
): ListenerEvent {
  return {
    kind: "listener",
    ts,
    state,
    container: ref,
    proto: s.proto,
    family: s.family,
    address: s.address,
    port: s.port,
    dockerDns: s.dockerDns,
  };
}

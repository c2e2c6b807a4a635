/**
 * Finds the TCP connections a container had open before netmon watched it: its ESTABLISHED sockets
 * in /proc/<pid>/net/tcp{,6}, oriented initiator → responder, for the engine to seed the flow table
 * with (Engine.seedConnections). Each container is read once per process (pid): at daemon start,
 * when it starts or restarts, and again for all after `reset()` (Docker reconnected: what happened
 * meanwhile was not watched). Duplicates are the flow table's business: a connection it already
 * holds is not seeded twice.
 *
 * Initiator: the container's side, unless its local port is one the container listens on (TCP
 * LISTEN in the same reading), which makes the connection inbound: the remote side opened it.
 */
import type { ProcConnection } from "../flows/proc-connection.js";
import { wordsToIp } from "../net/ip-format.js";
import { mapLimit } from "../util/map-limit.js";
import type { ScanTarget } from "./listener-scanner.js";
import { type EstablishedSocket, parseEstablished } from "./proc-net-established.js";
import { PROC_READ_CONCURRENCY, type ReadTextFile, readNetTables } from "./proc-net-files.js";
import { parseProcNet } from "./proc-net-parser.js";

export interface ConnectionSeederOptions {
  readFile: ReadTextFile;
  procRoot?: string;
  /** Connections seeded per container, at most; the rest are counted as over the limit. */
  maxPerContainer: number;
  /**
   * Whether an address is a container whose own /proc netmon reads too. An inbound connection from
   * one is left to the client's side: only the client's socket proves it is still open (a server's
   * socket outlives a client that was cut off, as half-open).
   */
  readablePeer?: (ip: string) => boolean;
}

export interface ContainerConnections {
  target: ScanTarget;
  connections: ProcConnection[];
  /** Established sockets past maxPerContainer (not seeded). */
  overLimit: number;
  /** Inbound connections from a container read on its own side (readablePeer): not seeded from here. */
  peerSide: number;
  /** Why nothing could be read (the process is gone, a read failed), or null. */
  problem: string | null;
}

const FILES = ["tcp", "tcp6"] as const;

export class ConnectionSeeder {
  private readonly readFile: ReadTextFile;
  private readonly procRoot: string;
  private readonly max: number;
  private readonly readablePeer: (ip: string) => boolean;
  /** Container id → the pid whose connections were read. */
  private readonly read = new Map<string, number>();

  constructor(opts: ConnectionSeederOptions) {
    this.readFile = opts.readFile;
    this.procRoot = (opts.procRoot ?? "/proc").replace(/\/+$/, "");
    this.max = opts.maxPerContainer;
    this.readablePeer = opts.readablePeer ?? (() => false);
  }

  /** 0 turns seeding off. */
  get enabled(): boolean {
    return this.max > 0;
  }

  /**
   * The running containers not read yet (new, or restarted under another pid), marked as read;
   * containers no longer running are forgotten, so one that comes back is read again.
   */
  due(targets: readonly ScanTarget[]): ScanTarget[] {
    if (!this.enabled) return [];
    const running = new Set<string>();
    const out: ScanTarget[] = [];
    for (const t of targets) {
      if (t.pid <= 0 || running.has(t.ref.id)) continue;
      running.add(t.ref.id);
      if (this.read.get(t.ref.id) === t.pid) continue;
      this.read.set(t.ref.id, t.pid);
      out.push(t);
    }
    for (const id of [...this.read.keys()]) if (!running.has(id)) this.read.delete(id);
    return out;
  }

  /** The connections of every container `due` names, read a few at a time. */
  readDue(targets: readonly ScanTarget[]): Promise<ContainerConnections[]> {
    return mapLimit(this.due(targets), PROC_READ_CONCURRENCY, (t) => this.connectionsOf(t));
  }

  /** Everything is read again at the next `due` (after a Docker reconnect). */
  reset(): void {
    this.read.clear();
  }

  /** Never rejects: a failure comes back as `problem`. */
  async connectionsOf(target: ScanTarget): Promise<ContainerConnections> {
    const res = await readNetTables(this.readFile, this.procRoot, target.pid, FILES);
    if (res.kind === "failed") {
      // Read again next time: the process may have been replaced under the same pid record.
      this.read.delete(target.ref.id);
      return { target, connections: [], overLimit: 0, peerSide: 0, problem: res.problems.join("; ") };
    }
    const listening = new Set<number>();
    const sockets: EstablishedSocket[] = [];
    let overLimit = 0;
    res.texts.forEach((text, i) => {
      const file = FILES[i]!;
      for (const s of parseProcNet(text, file).sockets) listening.add(s.port);
      // The cap is for the container as a whole: tcp6 gets what tcp left.
      const est = parseEstablished(text, file, this.max - sockets.length);
      sockets.push(...est.sockets);
      overLimit += est.overLimit;
    });
    const connections: ProcConnection[] = [];
    let peerSide = 0;
    for (const s of sockets) {
      const inbound = listening.has(s.localPort);
      if (inbound && this.readablePeer(wordsToIp(s.remote, s.version))) peerSide++;
      else connections.push(orient(s, listening));
    }
    return { target, connections, overLimit, peerSide, problem: null };
  }
}

/** The local side opened the connection unless its port is one the container listens on. */
export function orient(s: EstablishedSocket, listeningPorts: ReadonlySet<number>): ProcConnection {
  if (listeningPorts.has(s.localPort)) {
    return { version: s.version, src: s.remote, srcPort: s.remotePort, dst: s.local, dstPort: s.localPort };
  }
  return { version: s.version, src: s.local, srcPort: s.localPort, dst: s.remote, dstPort: s.remotePort };
}

/**
 * Finds the socket of one connection in a container's /proc/<pid>/net tables by its 4-tuple, so the
 * process behind an alert can be named. Never guesses: only the connection's own socket counts (in
 * either orientation), or for UDP the one unconnected socket bound to the initiator's port (a
 * client using sendto); two such candidates are ambiguous, not a pick.
 */
import { ipToWords } from "../net/ip-format.js";
import { type ReadTextFile, readNetTables } from "./proc-net-files.js";
import {
  addressWords,
  forEachProcNetLine,
  isAllZero,
  type ProcNetFile,
  parseProcNet,
} from "./proc-net-parser.js";

export interface TupleEnd {
  ip: string;
  port: number;
}

export interface ConnectionTuple {
  proto: "tcp" | "udp";
  /** The initiator. */
  src: TupleEnd;
  dst: TupleEnd;
}

export type SocketSearch =
  | { kind: "found"; inode: string }
  /**
   * UDP only: the one unconnected socket bound to the initiator's port (sendto). Not proof: the
   * sender may have exited and another process bound the port since (the caller checks its start).
   */
  | { kind: "bound"; inode: string }
  /** No socket with this 4-tuple (closed), or only one without an inode (TIME_WAIT): it is gone. */
  | { kind: "gone" }
  /** Several unconnected UDP sockets bound to the initiator's port (SO_REUSEPORT): no pick. */
  | { kind: "ambiguous" }
  /** The tables could not be read (the process exited, or no permission): the caller finds out which. */
  | { kind: "unreadable" };

const TABLES: Record<ConnectionTuple["proto"], readonly ProcNetFile[]> = {
  tcp: ["tcp", "tcp6"],
  udp: ["udp", "udp6"],
};

/** A table address normalised as the wire has it: an IPv4-mapped one (::ffff:a.b.c.d) becomes IPv4. */
class TableAddress {
  readonly words = new Uint32Array(4);
  version: 4 | 6 = 4;

  read(hex: string, family: 4 | 6): void {
    addressWords(hex, family, this.words);
    const w = this.words;
    this.version = family;
    if (family === 6 && w[0] === 0 && w[1] === 0 && w[2] === 0xffff) {
      w[2] = 0;
      this.version = 4;
    }
  }

  is(version: number, words: Uint32Array): boolean {
    const w = this.words;
    return (
      this.version === version &&
      w[0] === words[0] &&
      w[1] === words[1] &&
      w[2] === words[2] &&
      w[3] === words[3]
    );
  }
}

interface End {
  version: number;
  words: Uint32Array;
  port: number;
}

function endOf(e: TupleEnd): End {
  const words = new Uint32Array(4);
  return { version: ipToWords(e.ip, words), words, port: e.port };
}

/** The inode of the connection's socket in the namespace of `pid`, or why there is none. */
export async function findConnectionSocket(
  readFile: ReadTextFile,
  procRoot: string,
  pid: number,
  tuple: ConnectionTuple,
): Promise<SocketSearch> {
  const files = TABLES[tuple.proto];
  const read = await readNetTables(readFile, procRoot, pid, files);
  if (read.kind === "failed") return { kind: "unreadable" };
  const src = endOf(tuple.src);
  const dst = endOf(tuple.dst);
  if (src.version === 0 || dst.version === 0) return { kind: "gone" };

  const local = new TableAddress();
  const remote = new TableAddress();
  const found = { exact: null as string | null, unconnected: [] as string[] };
  for (const [i, text] of read.texts.entries()) {
    const family = files[i] === "tcp6" || files[i] === "udp6" ? 6 : 4;
    forEachProcNetLine(text, family, (l) => {
      const lp = Number.parseInt(l.localPort, 16);
      const rp = Number.parseInt(l.remotePort, 16);
      local.read(l.localAddr, family);
      remote.read(l.remoteAddr, family);
      const forward = local.is(src.version, src.words) && lp === src.port;
      const own =
        (forward && remote.is(dst.version, dst.words) && rp === dst.port) ||
        (local.is(dst.version, dst.words) &&
          lp === dst.port &&
          remote.is(src.version, src.words) &&
          rp === src.port);
      if (own) {
        // inode 0: a socket in TIME_WAIT, which no process holds any more.
        if (l.inode !== "0") found.exact = l.inode;
        return found.exact === null;
      }
      const anyLocal = isAllZero(l.localAddr) && lp === src.port;
      if (tuple.proto === "udp" && (forward || anyLocal) && isAllZero(l.remoteAddr) && rp === 0) {
        if (l.inode !== "0") found.unconnected.push(l.inode);
      }
      return true;
    });
    if (found.exact !== null) return { kind: "found", inode: found.exact };
  }
  const [only, ...more] = found.unconnected;
  if (only === undefined) return { kind: "gone" };
  return more.length === 0 ? { kind: "bound", inode: only } : { kind: "ambiguous" };
}

/**
 * The inodes of the sockets listening on `port` in the namespace of `pid` (an IPv4 and an IPv6
 * socket may both listen on it), or why there are none. Docker's embedded DNS is never one.
 */
export async function findListeningSockets(
  readFile: ReadTextFile,
  procRoot: string,
  pid: number,
  proto: "tcp" | "udp",
  port: number,
): Promise<{ kind: "found"; inodes: string[] } | { kind: "gone" } | { kind: "unreadable" }> {
  const files = TABLES[proto];
  const read = await readNetTables(readFile, procRoot, pid, files);
  if (read.kind === "failed") return { kind: "unreadable" };
  const inodes = new Set<string>();
  for (const [i, text] of read.texts.entries()) {
    for (const s of parseProcNet(text, files[i]!).sockets) {
      if (s.port === port && !s.dockerDns && s.inode > 0) inodes.add(String(s.inode));
    }
  }
  return inodes.size === 0 ? { kind: "gone" } : { kind: "found", inodes: [...inodes] };
}

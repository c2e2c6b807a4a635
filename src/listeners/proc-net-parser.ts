/**
 * Parser for the Linux `/proc/<pid>/net/{tcp,tcp6,udp,udp6}` tables: finds the sockets that
 * accept traffic (TCP LISTEN, unconnected bound UDP). Pure and defensive: the input comes from
 * the kernel but is read while it changes, so bad lines are counted and skipped, never thrown.
 */
import { endianness } from "node:os";
import { listenersSchema } from "../config/schema.js";
import { wordsToIp } from "../net/ip-format.js";

export interface ListeningSocket {
  proto: "tcp" | "udp";
  family: 4 | 6;
  /** Canonical text form (as `normalizeIp`); IPv4-mapped IPv6 stays in IPv6 form (`::ffff:7f00:1`). */
  address: string;
  port: number;
  /** Socket inode (links the socket to a process via /proc/<pid>/fd); the first one seen when deduplicated. */
  inode: number;
  /** Bound to 127.0.0.11, where Docker's embedded DNS listens in every user-network container. */
  dockerDns: boolean;
}

export type ProcNetFile = "tcp" | "tcp6" | "udp" | "udp6";

export interface ProcNetParseResult {
  sockets: ListeningSocket[];
  /** Lines that did not look like a socket entry (skipped). */
  errors: number;
  /** More distinct listening sockets than `maxSockets` were present; the rest were not read. */
  truncated: boolean;
}

/** The cap when a caller gives none: the default of `listeners.maxPerContainer`. */
export const DEFAULT_MAX_SOCKETS = listenersSchema.parse(undefined).maxPerContainer;

// The kernel reuses the TCP state numbers for UDP: 07 (TCP_CLOSE) is an unconnected socket.
const TCP_LISTEN = 0x0a;
const UDP_UNCONNECTED = 0x07;

// Real lines are ~150 characters (tcp) to ~180 (tcp6); anything far longer is garbage and is not
// worth running a regular expression over.
const MAX_LINE_LENGTH = 1024;

// Each address word is printed with %08X from a raw 32-bit load, i.e. in host byte order: on a
// little-endian host the bytes of 127.0.0.1 come out as 0100007F. Ports are printed already
// converted to host order (0035 is 53), so they need no swap.
const LITTLE_ENDIAN = endianness() === "LE";

// sl, local addr:port, remote addr:port, state, tx:rx queue, tr:when, retrnsmt, uid, timeout, inode.
function lineRegex(hexDigits: number): RegExp {
  const addr = `([0-9A-Fa-f]{${hexDigits}}):([0-9A-Fa-f]{4})`;
  return new RegExp(
    `^\\s*\\d+:\\s+${addr}\\s+${addr}\\s+([0-9A-Fa-f]{2})\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\d+\\s+\\d+\\s+(\\d+)(?:\\s|$)`,
  );
}
const V4_LINE = lineRegex(8);
const V6_LINE = lineRegex(32);

const DOCKER_DNS_V4 = 0x7f00000b; // 127.0.0.11

function bswap32(w: number): number {
  return (((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)) >>> 0;
}

function hexWord(hex: string, offset: number): number {
  const w = Number.parseInt(hex.slice(offset, offset + 8), 16) >>> 0;
  return LITTLE_ENDIAN ? bswap32(w) : w;
}

/** Fills `out` with an address column's four words (IPv4: word 3 only, as DecodedPacket holds it). */
export function addressWords(hex: string, family: 4 | 6, out: Uint32Array): void {
  out.fill(0);
  if (family === 4) out[3] = hexWord(hex, 0);
  else for (let i = 0; i < 4; i++) out[i] = hexWord(hex, i * 8);
}

export function isAllZero(hex: string): boolean {
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48 /* "0" */) return false;
  return true;
}

/** One table line's columns, as hex text (addresses, ports, state) and the inode's digits. */
export interface ProcNetLine {
  localAddr: string;
  localPort: string;
  remoteAddr: string;
  remotePort: string;
  state: number;
  inode: string;
}

/**
 * Walks a table's socket lines, skipping blank lines and the header; returns how many lines did
 * not look like a socket entry. `visit` returns false to stop early (a cap reached).
 */
export function forEachProcNetLine(
  text: string,
  family: 4 | 6,
  visit: (line: ProcNetLine) => boolean,
): number {
  const re = family === 6 ? V6_LINE : V4_LINE;
  let errors = 0;
  // Walk lines with indexOf rather than split(): a busy host has tens of thousands of entries.
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;

    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("sl ")) continue; // blank or the column header
    const m = trimmed.length > MAX_LINE_LENGTH ? null : re.exec(line);
    if (m === null) {
      errors++;
      continue;
    }
    const [, localAddr, localPort, remoteAddr, remotePort, stateHex, inode] = m;
    const entry = {
      localAddr: localAddr!,
      localPort: localPort!,
      remoteAddr: remoteAddr!,
      remotePort: remotePort!,
      state: Number.parseInt(stateHex!, 16),
      inode: inode!,
    };
    if (!visit(entry)) break;
  }
  return errors;
}

export function parseProcNet(
  text: string,
  file: ProcNetFile,
  maxSockets: number = DEFAULT_MAX_SOCKETS,
): ProcNetParseResult {
  const proto = file === "tcp" || file === "tcp6" ? "tcp" : "udp";
  const family = file === "tcp6" || file === "udp6" ? 6 : 4;
  const cap = Number.isFinite(maxSockets) ? Math.max(0, Math.floor(maxSockets)) : DEFAULT_MAX_SOCKETS;

  const sockets: ListeningSocket[] = [];
  // proto and family are fixed per file, so address and port are enough to spot SO_REUSEPORT twins.
  const seen = new Set<string>();
  const words = new Uint32Array(4);
  let truncated = false;

  const errors = forEachProcNetLine(text, family, (l) => {
    if (proto === "tcp") {
      if (l.state !== TCP_LISTEN) return true;
    } else if (l.state !== UDP_UNCONNECTED || !isAllZero(l.remoteAddr) || !isAllZero(l.remotePort)) {
      return true;
    }
    const port = Number.parseInt(l.localPort, 16);
    if (port === 0) return true; // not bound to a port: nothing can reach it

    addressWords(l.localAddr, family, words);
    const address = wordsToIp(words, family);

    const key = `${address}|${port}`;
    if (seen.has(key)) return true;
    if (sockets.length >= cap) {
      truncated = true;
      return false;
    }
    seen.add(key);
    // An IPv4-mapped bind to ::ffff:127.0.0.11 is the same address as 127.0.0.11.
    const dockerDns =
      words[3] === DOCKER_DNS_V4 &&
      (family === 4 || (words[0] === 0 && words[1] === 0 && words[2] === 0xffff));
    sockets.push({ proto, family, address, port, inode: Number(l.inode), dockerDns });
    return true;
  });
  return { sockets, errors, truncated };
}

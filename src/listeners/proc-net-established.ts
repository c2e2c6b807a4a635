/**
 * The established TCP sockets of a /proc/<pid>/net/tcp{,6} table (state 01), for seeding the flow
 * table with the connections that were open before netmon saw them. Pure and defensive like
 * parseProcNet (same line walk): bad lines are counted, never thrown; the result is capped.
 */
import { addressWords, forEachProcNetLine } from "./proc-net-parser.js";

export interface EstablishedSocket {
  /** 4 or 6 as on the wire: an IPv4-mapped IPv6 socket is reported as IPv4. */
  version: 4 | 6;
  /** Four words, IPv4 in word 3. */
  local: Uint32Array;
  localPort: number;
  remote: Uint32Array;
  remotePort: number;
}

export interface EstablishedParseResult {
  sockets: EstablishedSocket[];
  /** Lines that did not look like a socket entry (skipped). */
  errors: number;
  /** Established sockets past `maxSockets` (counted, not returned). */
  overLimit: number;
}

const TCP_ESTABLISHED = 0x01;

/** ::ffff:a.b.c.d: an IPv4 peer of a dual-stack socket. */
function isV4Mapped(w: Uint32Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

/** 127.0.0.0/8 (IPv4 form) or ::1: traffic that never reaches a bridge. */
function isLoopback(w: Uint32Array, version: 4 | 6): boolean {
  if (version === 4) return w[3]! >>> 24 === 127;
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 1;
}

function isUnspecified(w: Uint32Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0;
}

/**
 * ESTABLISHED sockets whose remote side is not loopback (those never cross a bridge), at most
 * `maxSockets` of them (a non-finite or negative cap reads as 0).
 */
export function parseEstablished(
  text: string,
  file: "tcp" | "tcp6",
  maxSockets: number,
): EstablishedParseResult {
  const family = file === "tcp6" ? 6 : 4;
  const cap = Number.isFinite(maxSockets) ? Math.max(0, Math.floor(maxSockets)) : 0;
  const sockets: EstablishedSocket[] = [];
  let overLimit = 0;
  const errors = forEachProcNetLine(text, family, (l) => {
    if (l.state !== TCP_ESTABLISHED) return true;
    const local = new Uint32Array(4);
    const remote = new Uint32Array(4);
    addressWords(l.localAddr, family, local);
    addressWords(l.remoteAddr, family, remote);
    let version: 4 | 6 = family;
    if (family === 6 && isV4Mapped(local) && isV4Mapped(remote)) {
      version = 4;
      local[2] = 0;
      remote[2] = 0;
    }
    const localPort = Number.parseInt(l.localPort, 16);
    const remotePort = Number.parseInt(l.remotePort, 16);
    if (localPort === 0 || remotePort === 0 || isUnspecified(remote)) return true;
    if (isLoopback(remote, version) || isLoopback(local, version)) return true;
    if (sockets.length >= cap) {
      overLimit++;
      return true;
    }
    sockets.push({ version, local, localPort, remote, remotePort });
    return true;
  });
  return { sockets, errors, overLimit };
}

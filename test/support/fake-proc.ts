import { endianness } from "node:os";
import type { ProcFs } from "../../src/processes/proc-fs.js";

const errno = (code: string) => Object.assign(new Error(code), { code });

/** An in-memory /proc: files, links and directories by path; anything else is ENOENT, `denied` prefixes EACCES. */
export function fakeProc(entries: {
  files?: Record<string, string>;
  links?: Record<string, string>;
  dirs?: Record<string, string[]>;
  denied?: string[];
}): ProcFs & { reads: string[] } {
  const reads: string[] = [];
  const get = <T>(table: Record<string, T> | undefined, path: string): T => {
    reads.push(path);
    if (entries.denied?.some((d) => path.startsWith(d))) throw errno("EACCES");
    const v = table?.[path];
    if (v === undefined) throw errno("ENOENT");
    return v;
  };
  return {
    reads,
    readFile: async (p) => get(entries.files, p),
    readContainerFile: async (p, max) => get(entries.files, p).slice(0, max),
    readlink: async (p) => get(entries.links, p),
    readdir: async (p) => get(entries.dirs, p),
  };
}

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const LITTLE_ENDIAN = endianness() === "LE";

function bswap32(w: number): number {
  return (((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)) >>> 0;
}

/** How the kernel prints an address column: each 32-bit word from a raw load, i.e. in host byte order. */
function hexAddress(ip: string, family: 4 | 6): string {
  const bytes: number[] = [];
  if (ip.includes(".") && family === 6) bytes.push(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff); // ::ffff:a.b.c.d
  if (ip.includes(".")) bytes.push(...ip.split(".").map(Number));
  else {
    const [head = "", tail = ""] = ip.split("::");
    const h = head === "" ? [] : head.split(":");
    const t = tail === "" ? [] : tail.split(":");
    const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
    for (const g of groups) bytes.push(Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 0xff);
  }
  let hex = "";
  for (let i = 0; i < bytes.length; i += 4) {
    const w = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    hex += (LITTLE_ENDIAN ? bswap32(w) : w).toString(16).padStart(8, "0").toUpperCase();
  }
  return hex;
}

export interface ProcNetRow {
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  /** Two hex digits: 01 established, 06 TIME_WAIT, 07 unconnected UDP, 0A listen. */
  state: string;
  inode: string;
}

/** A /proc/<pid>/net/{tcp,udp}{,6} text with these rows (an IPv4 address in a family-6 table is IPv4-mapped). */
export function procNetTable(family: 4 | 6, rows: readonly ProcNetRow[]): string {
  const port = (p: number) => p.toString(16).padStart(4, "0").toUpperCase();
  const lines = rows.map(
    (r, i) =>
      `  ${i}: ${hexAddress(r.local, family)}:${port(r.localPort)} ${hexAddress(r.remote, family)}:${port(r.remotePort)} ${r.state} 00000000:00000000 00:00000000 00000000     0        0 ${r.inode} 1 0000000000000000 20 4 30 10 -1`,
  );
  return `${HEADER}\n${lines.join("\n")}\n`;
}

import type { Proto } from "../model/events.js";
import { type BaselineFile, type BaselineFileEntry, parseBaselineFile } from "./baseline-file.js";

export type { BaselineFile } from "./baseline-file.js";

/** When a learned entry was first and last seen (packet time, ms) and how many times. */
export interface EntryStats {
  firstSeen: number;
  lastSeen: number;
  count: number;
}

/** One workload's learned behaviour. Destinations are DNS names when the container resolved one, else IPs. */
interface WorkloadBaseline {
  /** Packet time the workload was first seen (ms): its learning period starts here. */
  firstSeen: number;
  /** "dest|port|proto" */
  egress: Map<string, EntryStats>;
  /** "port/proto" */
  listen: Map<string, EntryStats>;
  /** Entries refused because the workload reached maxEntries (a baseline must not grow without bound). */
  dropped: number;
}

export type EntryKind = "egress" | "listen";

/** One workload's learned entries by kind, keyed as stored ("dest|port|proto", "port/proto"): what export and import carry. */
export interface WorkloadSnapshot {
  firstSeen: number;
  egress: ReadonlyMap<string, Readonly<EntryStats>>;
  listen: ReadonlyMap<string, Readonly<EntryStats>>;
}

/** A learned entry as `baseline status` and the log show it. */
export interface BaselineEntry extends EntryStats {
  kind: EntryKind;
  /** "api.example.com:443/tcp" (egress) or "8080/tcp" (listen): what `baseline forget` takes. */
  entry: string;
}

const egressKey = (dest: string, port: number, proto: Proto): string => `${dest}|${port}|${proto}`;
const listenKey = (port: number, proto: Proto): string => `${port}/${proto}`;

/** "dest|443|tcp" → "dest:443/tcp" ("[2001:db8::1]:443/tcp" for an IPv6 address). */
function egressText(key: string): string {
  const [dest = "", port = "", proto = ""] = key.split("|");
  return `${dest.includes(":") ? `[${dest}]` : dest}:${port}/${proto}`;
}

const PORT_PROTO = /^(\d{1,5})\/(tcp|udp)$/;

/**
 * The entry `baseline forget` names, as status prints it: "PORT/PROTO" is a listening port,
 * "DEST:PORT/PROTO" an egress destination (an IPv6 address in brackets, or bare). Null when malformed.
 */
export function parseEntry(text: string): { kind: EntryKind; key: string } | null {
  const t = text.trim().toLowerCase();
  const listen = PORT_PROTO.exec(t);
  if (listen !== null) return { kind: "listen", key: `${Number(listen[1])}/${listen[2]}` };
  const colon = t.lastIndexOf(":");
  if (colon <= 0) return null;
  const pp = PORT_PROTO.exec(t.slice(colon + 1));
  let dest = t.slice(0, colon);
  if (dest.startsWith("[") && dest.endsWith("]")) dest = dest.slice(1, -1);
  if (pp === null || dest === "" || /[|\s]/.test(dest)) return null;
  return { kind: "egress", key: `${dest}|${Number(pp[1])}|${pp[2]}` };
}

/** An entry as `baseline status` prints it and `baseline forget` takes it. */
export const entryText = (kind: EntryKind, key: string): string =>
  kind === "egress" ? egressText(key) : key;

/**
 * The learned baseline: per workload, the egress destinations and listening ports seen while it
 * was learning, each with first/last seen and a count. In memory, synchronous (detectors read it on
 * the hot path); saved by the daemon.
 */
export class Baseline {
  private readonly workloads = new Map<string, WorkloadBaseline>();
  /** Changed since the last save. */
  dirty = false;

  constructor(private readonly maxEntries = 1000) {}

  private entry(workload: string, ts: number): WorkloadBaseline {
    let w = this.workloads.get(workload);
    if (w === undefined) {
      w = { firstSeen: ts, egress: new Map(), listen: new Map(), dropped: 0 };
      this.workloads.set(workload, w);
      this.dirty = true;
    }
    return w;
  }

  /** Packet time the workload was first seen, recording `ts` when it is new. */
  touch(workload: string, ts: number): number {
    return this.entry(workload, ts).firstSeen;
  }

  firstSeen(workload: string): number | undefined {
    return this.workloads.get(workload)?.firstSeen;
  }

  recordEgress(workload: string, dest: string, port: number, proto: Proto, ts: number): void {
    this.add(this.entry(workload, ts), "egress", egressKey(dest, port, proto), ts);
  }

  recordListen(workload: string, port: number, proto: Proto, ts: number): void {
    this.add(this.entry(workload, ts), "listen", listenKey(port, proto), ts);
  }

  private add(w: WorkloadBaseline, kind: EntryKind, key: string, ts: number): void {
    const map = w[kind];
    const known = map.get(key);
    if (known !== undefined) {
      known.count++;
      if (ts > known.lastSeen) known.lastSeen = ts;
      this.dirty = true;
      return;
    }
    if (w.egress.size + w.listen.size >= this.maxEntries) {
      w.dropped++;
      return;
    }
    map.set(key, { firstSeen: ts, lastSeen: ts, count: 1 });
    this.dirty = true;
  }

  /** True when the workload learned this destination, by IP or by one of the names it resolved. */
  hasEgress(workload: string, ip: string, names: readonly string[], port: number, proto: Proto): boolean {
    const w = this.workloads.get(workload);
    if (w === undefined) return false;
    if (w.egress.has(egressKey(ip, port, proto))) return true;
    for (const n of names) if (w.egress.has(egressKey(n, port, proto))) return true;
    return false;
  }

  hasListen(workload: string, port: number, proto: Proto): boolean {
    return this.workloads.get(workload)?.listen.has(listenKey(port, proto)) ?? false;
  }

  /** Forgets a workload (and its learning clock: it learns again from its next event). */
  reset(workload: string): boolean {
    const had = this.workloads.delete(workload);
    if (had) this.dirty = true;
    return had;
  }

  /** Forgets one learned entry of a workload (as parseEntry reads it); false when it was not learned. */
  forgetEntry(workload: string, kind: EntryKind, key: string): boolean {
    const had = this.workloads.get(workload)?.[kind].delete(key) ?? false;
    if (had) this.dirty = true;
    return had;
  }

  /** Forgets every workload; returns how many there were. */
  clear(): number {
    const n = this.workloads.size;
    this.workloads.clear();
    if (n > 0) this.dirty = true;
    return n;
  }

  names(): string[] {
    return [...this.workloads.keys()].sort();
  }

  describe(
    workload: string,
  ): { firstSeen: number; egress: string[]; listen: string[]; dropped: number } | null {
    const w = this.workloads.get(workload);
    if (w === undefined) return null;
    return {
      firstSeen: w.firstSeen,
      egress: [...w.egress.keys()].sort(),
      listen: [...w.listen.keys()].sort(),
      dropped: w.dropped,
    };
  }

  /** A workload's learned entries, oldest first (then by text), for status and the log. */
  entries(workload: string): BaselineEntry[] {
    const w = this.workloads.get(workload);
    if (w === undefined) return [];
    const out: BaselineEntry[] = [];
    for (const kind of ["egress", "listen"] as const) {
      for (const [key, s] of w[kind]) out.push({ kind, entry: entryText(kind, key), ...s });
    }
    return out.sort((a, b) => a.firstSeen - b.firstSeen || a.entry.localeCompare(b.entry));
  }

  /** A copy of one workload's entries, or null when it learned nothing. */
  snapshot(workload: string): WorkloadSnapshot | null {
    const w = this.workloads.get(workload);
    if (w === undefined) return null;
    const copy = (m: Map<string, EntryStats>) => new Map([...m].map(([k, s]) => [k, { ...s }]));
    return { firstSeen: w.firstSeen, egress: copy(w.egress), listen: copy(w.listen) };
  }

  /**
   * Sets a workload from an imported baseline: replaces what it learned, or merges into it. Merged,
   * an entry known on both sides keeps the earliest first sighting, the latest last one and the
   * higher count (not the sum: importing the same file twice changes nothing), and the workload's
   * learning clock starts at the earlier first sighting. Entries past maxEntries are dropped, as
   * learning drops them, and counted: the return value.
   */
  importWorkload(workload: string, from: WorkloadSnapshot, merge: boolean): number {
    const old = merge ? this.workloads.get(workload) : undefined;
    const w: WorkloadBaseline = old ?? {
      firstSeen: from.firstSeen,
      egress: new Map(),
      listen: new Map(),
      dropped: 0,
    };
    w.firstSeen = Math.min(w.firstSeen, from.firstSeen);
    let dropped = 0;
    for (const kind of ["egress", "listen"] as const) {
      for (const [key, s] of from[kind]) {
        const known = w[kind].get(key);
        if (known !== undefined) {
          known.firstSeen = Math.min(known.firstSeen, s.firstSeen);
          known.lastSeen = Math.max(known.lastSeen, s.lastSeen);
          known.count = Math.max(known.count, s.count);
        } else if (w.egress.size + w.listen.size >= this.maxEntries) dropped++;
        else w[kind].set(key, { firstSeen: s.firstSeen, lastSeen: s.lastSeen, count: s.count });
      }
    }
    w.dropped += dropped;
    this.workloads.set(workload, w);
    this.dirty = true;
    return dropped;
  }

  toJSON(): BaselineFile {
    const workloads: BaselineFile["workloads"] = {};
    const list = (m: Map<string, EntryStats>): BaselineFileEntry[] =>
      [...m.keys()].sort().map((entry) => ({ entry, ...m.get(entry)! }));
    for (const name of this.names()) {
      const w = this.workloads.get(name)!;
      workloads[name] = { firstSeen: w.firstSeen, egress: list(w.egress), listen: list(w.listen) };
    }
    return { version: 2, workloads };
  }

  /** Rebuilds a baseline from a saved file (version 1 or 2); throws an Error naming the first problem. */
  static fromJSON(raw: unknown, maxEntries = 1000): Baseline {
    const file = parseBaselineFile(raw);
    const b = new Baseline(maxEntries);
    const map = (list: BaselineFileEntry[]): Map<string, EntryStats> =>
      new Map(list.map((e) => [e.entry, { firstSeen: e.firstSeen, lastSeen: e.lastSeen, count: e.count }]));
    for (const [name, w] of Object.entries(file.workloads)) {
      b.workloads.set(name, {
        firstSeen: w.firstSeen,
        egress: map(w.egress),
        listen: map(w.listen),
        dropped: 0,
      });
    }
    return b;
  }
}

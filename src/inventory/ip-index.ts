import type { ContainerRef } from "../model/events.js";
import type { IpResolver } from "./types.js";

interface Tenure {
  ref: ContainerRef;
  from: number;
  /** When the container released the IP (die, disconnect), or null while it holds it. */
  to: number | null;
}

/** A stretch of time a container held its IPs: [fromMs, toMs], or on from fromMs when toMs is null. */
export interface TenureSpan {
  fromMs: number;
  toMs: number | null;
}

/** `to` cut back to `limit` (no limit: unchanged). */
function cutAt(to: number | null, limit: number | undefined): number | null {
  if (limit === undefined) return to;
  return to === null ? limit : Math.min(to, limit);
}

/** Order of tenures on one IP: by start, then by container id, so equal starts sort the same way every time. */
function startsAfter(t: Tenure, fromMs: number, id: string): boolean {
  return t.from > fromMs || (t.from === fromMs && t.ref.id > id);
}

export interface IpIndexOptions {
  /**
   * Packets may precede the start event that announces a container (its network is up before
   * Docker reports it started): a tenure counts from this many ms before its start time.
   */
  startSlackMs: number;
  /** Packets still in flight when a container dies are attributed to it for this long (ms). */
  endSlackMs: number;
  /** Ended tenures older than this (ms) are pruned. */
  retentionMs: number;
}

export const IP_INDEX_DEFAULTS: Readonly<IpIndexOptions> = {
  startSlackMs: 2_000,
  endSlackMs: 250,
  retentionMs: 3_600_000,
};

/**
 * IP → container, aware of time: Docker reuses addresses, so a packet belongs to whoever held the
 * IP when it was captured. Each IP keeps its tenures ordered by start; a lookup takes the tenure
 * that held the IP at that time, else one about to start, else one that just ended (each within slack).
 */
export class IpIndex implements IpResolver {
  private readonly byIp = new Map<string, Tenure[]>();
  private readonly opts: IpIndexOptions;

  constructor(opts: Partial<IpIndexOptions> = {}) {
    this.opts = { ...IP_INDEX_DEFAULTS, ...opts };
  }

  /** The container starts holding `ip` at `fromMs`. Re-adding an open tenure of the same container is a no-op. */
  add(ip: string, ref: ContainerRef, fromMs: number): void {
    const list = this.tenuresOf(ip);
    const open = list.find((t) => t.ref.id === ref.id && t.to === null);
    if (open !== undefined) {
      open.ref = ref; // a rename keeps the tenure, with the new name
      return;
    }
    const tenure: Tenure = { ref, from: fromMs, to: null };
    // Another container still holding this IP lost it (its end event was missed): close it now.
    for (const t of list) if (t.to === null && t.ref.id !== ref.id) t.to = fromMs;
    let i = list.length;
    while (i > 0 && list[i - 1]!.from > fromMs) i--;
    list.splice(i, 0, tenure);
  }

  /**
   * A whole tenure known up front (a replay inventory). Unlike add, the outcome does not depend on
   * the order tenures arrive in: on one IP the later start wins from its start (equal starts: the
   * greater container id), so an earlier tenure still holding the IP then is cut there, and this
   * one is cut where the next one starts.
   */
  addTenure(ip: string, ref: ContainerRef, span: TenureSpan): void {
    const list = this.tenuresOf(ip);
    let i = list.length;
    while (i > 0 && startsAfter(list[i - 1]!, span.fromMs, ref.id)) i--;
    for (let j = 0; j < i; j++) list[j]!.to = cutAt(list[j]!.to, span.fromMs);
    list.splice(i, 0, { ref, from: span.fromMs, to: cutAt(span.toMs, list[i]?.from) });
  }

  /** The container released `ip` at `atMs`. */
  end(ip: string, containerId: string, atMs: number): void {
    const list = this.byIp.get(ip);
    if (list === undefined) return;
    for (const t of list) if (t.ref.id === containerId && t.to === null) t.to = atMs;
  }

  /** Closes every open tenure of a container (die, destroy, lost during a Docker outage). */
  endContainer(containerId: string, atMs: number): void {
    for (const list of this.byIp.values()) {
      for (const t of list) if (t.ref.id === containerId && t.to === null) t.to = atMs;
    }
  }

  lookup(ip: string, tsMs: number): ContainerRef | null {
    const list = this.byIp.get(ip);
    if (list === undefined) return null;
    let i = list.length - 1;
    while (i >= 0 && list[i]!.from > tsMs) i--;
    const current = i >= 0 ? list[i]! : undefined;
    if (current !== undefined && (current.to === null || tsMs <= current.to)) return current.ref;
    // Between tenures: a container about to be announced beats one that just left.
    const next = list[i + 1];
    if (next !== undefined && next.from - this.opts.startSlackMs <= tsMs) return next.ref;
    if (current?.to != null && tsMs <= current.to + this.opts.endSlackMs) return current.ref;
    return null;
  }

  /** Drops tenures that ended before `nowMs - retentionMs`. */
  prune(nowMs: number): void {
    const limit = nowMs - this.opts.retentionMs;
    for (const [ip, list] of this.byIp) {
      const kept = list.filter((t) => t.to === null || t.to >= limit);
      if (kept.length === 0) this.byIp.delete(ip);
      else if (kept.length !== list.length) this.byIp.set(ip, kept);
    }
  }

  private tenuresOf(ip: string): Tenure[] {
    let list = this.byIp.get(ip);
    if (list === undefined) {
      list = [];
      this.byIp.set(ip, list);
    }
    return list;
  }

  get size(): number {
    return this.byIp.size;
  }
}

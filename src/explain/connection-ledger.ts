import type { ConnectionEvent, NetmonEvent, Proto } from "../model/events.js";
import type { ConnectionVerdict } from "../model/verdict.js";

/** One destination a container tried, as the engine judged its latest attempt. */
export interface LedgerEntry {
  containerId: string;
  ip: string;
  port: number;
  proto: Proto;
  /** The DNS names the attempt carried (those the container resolved for the IP then). */
  names: readonly string[];
  /** The destination container's name, when it is one. */
  dstContainer: string | null;
  firstSeen: number;
  lastSeen: number;
  attempts: number;
  verdict: ConnectionVerdict;
}

export interface ConnectionLedgerOptions {
  /** Destinations kept over all containers; the least recently tried is forgotten first. */
  maxEntries: number;
}

/**
 * The recent destinations of each container (ip, port, proto) with the names and the verdict of
 * their latest attempt: what `netmon explain` names as "resolved to it earlier" and what
 * /api/container/<id> lists with the rule that allowed each. An engine observer: one map update
 * per attempt (never per packet), bounded by maxEntries.
 */
export class ConnectionLedger {
  /** Map order = least recently tried first. */
  private readonly entries = new Map<string, LedgerEntry>();
  private readonly maxEntries: number;

  constructor(opts: Partial<ConnectionLedgerOptions> = {}) {
    this.maxEntries = opts.maxEntries ?? 5000;
  }

  get size(): number {
    return this.entries.size;
  }

  onEvent(ev: NetmonEvent): void {
    if (ev.kind !== "connection" || ev.state !== "attempt") return;
    const src = ev.src.container;
    if (src === null || ev.verdict === undefined) return;
    this.record(src.id, ev, ev.verdict);
  }

  private record(containerId: string, ev: ConnectionEvent, verdict: ConnectionVerdict): void {
    const key = `${containerId} ${ev.dst.ip} ${ev.dst.port} ${ev.proto}`;
    const known = this.entries.get(key);
    const names = ev.dst.names ?? [];
    if (known !== undefined) {
      this.entries.delete(key);
      known.attempts++;
      if (ev.ts >= known.lastSeen) {
        known.lastSeen = ev.ts;
        known.verdict = verdict;
        if (names.length > 0) known.names = names;
      }
      this.entries.set(key, known);
      return;
    }
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, {
      containerId,
      ip: ev.dst.ip,
      port: ev.dst.port,
      proto: ev.proto,
      names,
      dstContainer: ev.dst.container?.name ?? null,
      firstSeen: ev.ts,
      lastSeen: ev.ts,
      attempts: 1,
      verdict,
    });
  }

  /** A container's destinations, the most recently tried first. */
  of(containerId: string): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const e of this.entries.values()) if (e.containerId === containerId) out.push(e);
    return out.reverse();
  }
}

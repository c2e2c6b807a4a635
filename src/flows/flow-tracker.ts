import {
  type DecodedPacket,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from "../capture/packet.js";
import type { IpResolver } from "../inventory/types.js";
import type { ConnectionEvent, ConnectionState, ContainerRef, Direction } from "../model/events.js";
import { wordsToIp } from "../net/ip-format.js";
import { flowHash } from "./flow-hash.js";
import { FLOW_ACCEPTED, FLOW_ATTEMPT, FLOW_UNANSWERED, FlowRecord } from "./flow-record.js";

export interface FlowTrackerOptions {
  maxFlows: number;
  tcpUnansweredMs: number;
  tcpEstablishedIdleMs: number;
  udpIdleMs: number;
}

export interface FlowTrackerStats {
  active: number;
  created: number;
  /** Flows pushed out because the table was full. */
  evicted: number;
  /** Established TCP flows dropped after tcpEstablishedIdleMs without a control packet. */
  expired: number;
}

const TCP_CONTROL = TCP_SYN | TCP_FIN | TCP_RST;
/** Linux gives up a connect() after 6 SYN retries, 127 s after the first SYN (tcp_syn_retries). */
const SYN_RETRY_WINDOW_MS = 130_000;
const FREE_LIST_MAX = 4096;

function directionOf(src: ContainerRef | null, dst: ContainerRef | null): Direction {
  if (src !== null) return dst !== null ? "internal" : "outbound";
  return dst !== null ? "inbound" : "external";
}

/**
 * TCP connection state from control packets, and UDP pseudo-flows. Only flow creation and state
 * changes allocate (the event object); packets of known flows and data packets allocate nothing.
 * Every timeout runs on packet time (`advance`), so replay and live capture behave the same.
 */
export class FlowTracker {
  private readonly buckets = new Map<number, FlowRecord>();
  private oldest: FlowRecord | null = null;
  private newest: FlowRecord | null = null;
  private count = 0;
  private readonly free: FlowRecord[] = [];
  private nextSweep = 0;
  private readonly sweepEveryMs: number;
  private created = 0;
  private evicted = 0;
  private expired = 0;
  private lastIface = "";

  constructor(
    private readonly opts: FlowTrackerOptions,
    private readonly resolver: IpResolver,
    private readonly emit: (ev: ConnectionEvent) => void,
  ) {
    this.sweepEveryMs = Math.max(10, Math.min(1000, opts.tcpUnansweredMs / 4, opts.udpIdleMs / 4));
  }

  stats(): FlowTrackerStats {
    return { active: this.count, created: this.created, evicted: this.evicted, expired: this.expired };
  }

  get size(): number {
    return this.count;
  }

  onPacket(p: DecodedPacket, iface: string): void {
    const proto = p.proto;
    if (proto === PROTO_TCP) {
      const flags = p.tcpFlags;
      // Data packets of established connections carry nothing for us (live, the BPF filter drops them).
      if ((flags & TCP_CONTROL) === 0) return;
      if (p.ts >= this.nextSweep) this.advance(p.ts);
      this.lastIface = iface;
      this.onTcp(p, flags);
    } else if (proto === PROTO_UDP) {
      if (p.ts >= this.nextSweep) this.advance(p.ts);
      this.lastIface = iface;
      this.onUdp(p);
    }
  }

  private onTcp(p: DecodedPacket, flags: number): void {
    const hash = flowHash(p.src, p.srcPort, p.dst, p.dstPort, PROTO_TCP);
    const rec = this.find(hash, p);
    if (rec === null) {
      // Only a bare SYN opens a flow: a mid-stream FIN/RST of a connection we never saw is ignored.
      if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) this.create(hash, p);
      return;
    }
    const fromInitiator = this.isFromInitiator(rec, p);
    rec.lastTs = p.ts;
    rec.packets++;
    if (rec.state === FLOW_UNANSWERED) {
      // Already reported: a retransmitted SYN is the same connect(); a late answer still counts.
      if (flags & (TCP_RST | TCP_FIN)) this.remove(rec);
      else if (flags & TCP_SYN && flags & TCP_ACK && !fromInitiator) {
        rec.state = FLOW_ACCEPTED;
        this.emitEvent(rec, "accepted", p.ts, p.ts - rec.firstTs);
      }
      return;
    }
    if (flags & TCP_RST) {
      const rejected = rec.state === FLOW_ATTEMPT && !fromInitiator;
      this.finish(rec, rejected ? "rejected" : "closed", p.ts);
    } else if (flags & TCP_FIN) {
      this.finish(rec, "closed", p.ts);
    } else if (flags & TCP_SYN && flags & TCP_ACK && !fromInitiator && rec.state === FLOW_ATTEMPT) {
      rec.state = FLOW_ACCEPTED;
      this.emitEvent(rec, "accepted", p.ts, p.ts - rec.firstTs);
    }
  }

  private onUdp(p: DecodedPacket): void {
    const hash = flowHash(p.src, p.srcPort, p.dst, p.dstPort, PROTO_UDP);
    const rec = this.find(hash, p);
    if (rec === null) {
      this.create(hash, p);
      return;
    }
    rec.lastTs = p.ts;
    rec.packets++;
    if (rec.state === FLOW_ATTEMPT && !this.isFromInitiator(rec, p)) {
      rec.state = FLOW_ACCEPTED;
      this.emitEvent(rec, "accepted", p.ts, p.ts - rec.firstTs);
    }
  }

  private find(hash: number, p: DecodedPacket): FlowRecord | null {
    let rec = this.buckets.get(hash) ?? null;
    const s = p.src;
    const d = p.dst;
    while (rec !== null) {
      if (rec.proto === p.proto && rec.version === p.ipVersion) {
        if (
          rec.aPort === p.srcPort &&
          rec.bPort === p.dstPort &&
          rec.a3 === s[3] &&
          rec.b3 === d[3] &&
          rec.a0 === s[0] &&
          rec.a1 === s[1] &&
          rec.a2 === s[2] &&
          rec.b0 === d[0] &&
          rec.b1 === d[1] &&
          rec.b2 === d[2]
        ) {
          return rec;
        }
        if (
          rec.aPort === p.dstPort &&
          rec.bPort === p.srcPort &&
          rec.a3 === d[3] &&
          rec.b3 === s[3] &&
          rec.a0 === d[0] &&
          rec.a1 === d[1] &&
          rec.a2 === d[2] &&
          rec.b0 === s[0] &&
          rec.b1 === s[1] &&
          rec.b2 === s[2]
        ) {
          return rec;
        }
      }
      rec = rec.chain;
    }
    return null;
  }

  private isFromInitiator(rec: FlowRecord, p: DecodedPacket): boolean {
    return (
      rec.aPort === p.srcPort &&
      rec.a3 === p.src[3] &&
      rec.a0 === p.src[0] &&
      rec.a1 === p.src[1] &&
      rec.a2 === p.src[2]
    );
  }

  private create(hash: number, p: DecodedPacket): void {
    if (this.count >= this.opts.maxFlows && this.oldest !== null) {
      this.evicted++;
      this.remove(this.oldest);
    }
    const rec = this.free.pop() ?? new FlowRecord();
    rec.proto = p.proto;
    rec.version = p.ipVersion;
    rec.a0 = p.src[0]!;
    rec.a1 = p.src[1]!;
    rec.a2 = p.src[2]!;
    rec.a3 = p.src[3]!;
    rec.b0 = p.dst[0]!;
    rec.b1 = p.dst[1]!;
    rec.b2 = p.dst[2]!;
    rec.b3 = p.dst[3]!;
    rec.aPort = p.srcPort;
    rec.bPort = p.dstPort;
    rec.hash = hash;
    rec.state = FLOW_ATTEMPT;
    rec.firstTs = p.ts;
    rec.lastTs = p.ts;
    rec.packets = 1;
    rec.aIp = wordsToIp(p.src, p.ipVersion);
    rec.bIp = wordsToIp(p.dst, p.ipVersion);
    rec.aRef = this.resolver.lookup(rec.aIp, p.ts);
    rec.bRef = this.resolver.lookup(rec.bIp, p.ts);
    rec.direction = directionOf(rec.aRef, rec.bRef);
    rec.iface = this.lastIface;
    rec.chain = this.buckets.get(hash) ?? null;
    this.buckets.set(hash, rec);
    rec.older = this.newest;
    rec.newer = null;
    if (this.newest !== null) this.newest.newer = rec;
    else this.oldest = rec;
    this.newest = rec;
    this.count++;
    this.created++;
    this.emitEvent(rec, "attempt", p.ts, undefined);
  }

  private finish(rec: FlowRecord, state: ConnectionState, ts: number): void {
    this.emitEvent(rec, state, ts, ts - rec.firstTs);
    this.remove(rec);
  }

  private remove(rec: FlowRecord): void {
    // Unlink from the bucket chain.
    const head = this.buckets.get(rec.hash);
    if (head === rec) {
      if (rec.chain === null) this.buckets.delete(rec.hash);
      else this.buckets.set(rec.hash, rec.chain);
    } else {
      let prev = head ?? null;
      while (prev !== null && prev.chain !== rec) prev = prev.chain;
      if (prev !== null) prev.chain = rec.chain;
    }
    // Unlink from the age list.
    if (rec.older !== null) rec.older.newer = rec.newer;
    else this.oldest = rec.newer;
    if (rec.newer !== null) rec.newer.older = rec.older;
    else this.newest = rec.older;
    this.count--;
    rec.clear();
    if (this.free.length < FREE_LIST_MAX) this.free.push(rec);
  }

  /** Runs every timeout due by `nowMs` (packet time; the daemon also calls it on a clock tick). */
  advance(nowMs: number): void {
    this.nextSweep = nowMs + this.sweepEveryMs;
    const o = this.opts;
    let rec = this.oldest;
    while (rec !== null) {
      const next = rec.newer;
      if (rec.proto === PROTO_TCP) {
        if (rec.state === FLOW_ATTEMPT) {
          if (nowMs - rec.firstTs >= o.tcpUnansweredMs) {
            rec.state = FLOW_UNANSWERED;
            this.emitEvent(rec, "unanswered", rec.firstTs + o.tcpUnansweredMs, o.tcpUnansweredMs);
          }
        } else if (rec.state === FLOW_UNANSWERED) {
          if (nowMs - rec.firstTs >= Math.max(SYN_RETRY_WINDOW_MS, o.tcpUnansweredMs)) this.remove(rec);
        } else if (nowMs - rec.lastTs >= o.tcpEstablishedIdleMs) {
          this.expired++;
          this.remove(rec);
        }
      } else if (nowMs - rec.lastTs >= o.udpIdleMs) {
        const endTs = rec.lastTs + o.udpIdleMs;
        if (rec.state === FLOW_ATTEMPT) this.finish(rec, "unanswered", endTs);
        else {
          this.emitEvent(rec, "closed", endTs, rec.lastTs - rec.firstTs);
          this.remove(rec);
        }
      }
      rec = next;
    }
  }

  /** End of input (replay): report what is still pending as the timeouts would have. */
  flush(): void {
    // Twice: the first pass reports pending SYNs unanswered, the second drops their retry records.
    this.advance(Number.POSITIVE_INFINITY);
    this.advance(Number.POSITIVE_INFINITY);
  }

  private emitEvent(
    rec: FlowRecord,
    state: ConnectionState,
    ts: number,
    durationMs: number | undefined,
  ): void {
    const ev: ConnectionEvent = {
      kind: "connection",
      ts,
      proto: rec.proto === PROTO_TCP ? "tcp" : "udp",
      state,
      src: { ip: rec.aIp, port: rec.aPort, container: rec.aRef },
      dst: { ip: rec.bIp, port: rec.bPort, container: rec.bRef },
      direction: rec.direction,
      packets: rec.packets,
      iface: rec.iface,
    };
    if (durationMs !== undefined) ev.durationMs = durationMs;
    this.emit(ev);
  }
}

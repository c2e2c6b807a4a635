// A long file (about 620 lines): the TCP state machine (opening, mid-stream pickup, late answers,
// tuple reuse, the two-sided end and its timeouts) works on one flow table whose age list and free
// list it maintains itself, allocation-free; split apart, every part would need the table's internals.
// Elsewhere: initiator rule (initiator-rule.ts), listening ports (listening-ports.ts), timer wheel
// (flow-timers.ts), hash buckets (flow-buckets.ts), record times (flow-times.ts), record (flow-record.ts).
import {
  DecodedPacket,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from "../capture/packet.js";
import type { IpResolver } from "../inventory/types.js";
import type { ConnectionEvent, ConnectionState, ContainerRef } from "../model/events.js";
import { AddressText } from "./address-text.js";
import { FlowBuckets } from "./flow-buckets.js";
import { flowHash } from "./flow-hash.js";
import {
  CLOSER_INITIATOR,
  CLOSER_NONE,
  CLOSER_RESPONDER,
  FLOW_ACCEPTED,
  FLOW_ATTEMPT,
  FLOW_CLOSED,
  FLOW_UNANSWERED,
  FlowRecord,
  ORIGIN_MIDSTREAM,
  ORIGIN_PROC,
  ORIGIN_WIRE,
} from "./flow-record.js";
import { FlowTimers } from "./flow-timers.js";
import { FlowTimes } from "./flow-times.js";
import {
  EPHEMERAL_FROM,
  isUdpServerAnswer,
  SERVER_IS_DST,
  SERVER_IS_SRC,
  SERVER_UNKNOWN,
  serverSideByPorts,
} from "./initiator-rule.js";
import type { ListeningPorts } from "./listening-ports.js";
import type { ProcConnection } from "./proc-connection.js";

export interface FlowTrackerOptions {
  maxFlows: number;
  tcpUnansweredMs: number;
  tcpEstablishedIdleMs: number;
  udpIdleMs: number;
  /** Default DEFAULT_TCP_HALF_CLOSE_MS (the config schema's default). */
  tcpHalfCloseMs?: number;
}

export const DEFAULT_TCP_HALF_CLOSE_MS = 60_000;

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
/** How far after a /proc seed a SYN of the same tuple is still that connection's own opening. */
const SEED_RACE_MS = 10_000;
/** How long an ended TCP flow absorbs its late packets (retransmitted FINs, trailing RSTs). */
const CLOSED_LINGER_MS = 5_000;

/** Age order (FlowRecord.ageSeq): the order in which a sweep of the age list meets flows. */
function olderFirst(x: FlowRecord, y: FlowRecord): number {
  return x.ageSeq - y.ageSeq;
}

/**
 * TCP connection state from control packets, and UDP pseudo-flows. Only flow creation and state
 * changes allocate (the event object); packets of known flows and data packets allocate nothing.
 * Every timeout runs on packet time (`advance`), so replay and live capture behave the same.
 */
export class FlowTracker {
  private readonly buckets = new FlowBuckets();
  /** The records' times (FlowRecord keeps a slot here); replaced by a smaller one after a burst. */
  private times = new FlowTimes();
  private readonly addressText = new AddressText();
  private oldest: FlowRecord | null = null;
  private newest: FlowRecord | null = null;
  private count = 0;
  /** Of `count`, ended flows kept for their late packets (not active connections). */
  private lingering = 0;
  private readonly free: FlowRecord[] = [];
  /** Every flow's next timeout check; `advance` runs those due, in age order. */
  private readonly timers = new FlowTimers();
  /** The flows a sweep found due (reused). */
  private readonly dueNow: FlowRecord[] = [];
  /** ageSeq of the newest flow, and of the last one moved to the old end (toClosed). */
  private newestSeq = 0;
  private oldestSeq = 0;
  private nextSweep = 0;
  private readonly sweepEveryMs: number;
  private readonly halfCloseMs: number;
  private created = 0;
  private evicted = 0;
  private expired = 0;
  private lastIface = "";
  // The two ends of the packet that opens a flow, resolved once (resolveEnds) before the initiator
  // is decided and the record created: fields, not an object, so nothing more is allocated.
  private srcIp = "";
  private dstIp = "";
  private srcRef: ContainerRef | null = null;
  private dstRef: ContainerRef | null = null;
  /** The packet a seeded connection is made from (seed runs outside packet handling). */
  private readonly seedPkt = new DecodedPacket();

  constructor(
    private readonly opts: FlowTrackerOptions,
    private readonly resolver: IpResolver,
    private readonly emit: (ev: ConnectionEvent) => void,
    /** The ports containers listen on (initiator of unseen openings); none in replay. */
    private readonly listening: ListeningPorts | null = null,
  ) {
    this.halfCloseMs = opts.tcpHalfCloseMs ?? DEFAULT_TCP_HALF_CLOSE_MS;
    this.sweepEveryMs = Math.max(10, Math.min(1000, opts.tcpUnansweredMs / 4, opts.udpIdleMs / 4));
  }

  stats(): FlowTrackerStats {
    return {
      active: this.count - this.lingering,
      created: this.created,
      evicted: this.evicted,
      expired: this.expired,
    };
  }

  /** Connections being tracked (ended ones kept for their late packets are not counted). */
  get size(): number {
    return this.count - this.lingering;
  }

  onPacket(p: DecodedPacket, iface: string): void {
    const proto = p.proto;
    // A non-first fragment has no ports: it belongs to a flow its first fragment already opened.
    if (p.fragment) return;
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
      this.openTcp(hash, p, flags);
      return;
    }
    const fromInitiator = this.isFromInitiator(rec, p);
    const bareSyn = (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
    if (bareSyn && this.adoptsOpeningSyn(rec, p, fromInitiator)) return;
    if (bareSyn && this.isNewConnection(rec, p, fromInitiator)) {
      this.endForReuse(rec, p.ts);
      this.openTcp(hash, p, flags);
      return;
    }
    // The late packets of an ending already reported change nothing.
    if (rec.state === FLOW_CLOSED) return;
    rec.lastTs = p.ts;
    rec.packets++;
    this.onTcpOfFlow(rec, p, flags, fromInitiator);
    this.rearm(rec);
  }

  /** A control packet of a tracked TCP flow that has not ended. */
  private onTcpOfFlow(rec: FlowRecord, p: DecodedPacket, flags: number, fromInitiator: boolean): void {
    const synAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK) && !fromInitiator;
    if (rec.state === FLOW_UNANSWERED) {
      // Already reported: a retransmitted SYN is the same connect(); a late answer corrects the report.
      if (flags & TCP_RST) {
        if (!fromInitiator) this.emitEvent(rec, "rejected", p.ts, p.ts - rec.firstTs, true);
        this.toClosed(rec, p.ts);
      } else if (flags & TCP_FIN) {
        this.toClosed(rec, p.ts);
      } else if (synAck) {
        rec.state = FLOW_ACCEPTED;
        this.emitEvent(rec, "accepted", p.ts, p.ts - rec.firstTs, true);
      }
      return;
    }
    if (flags & TCP_RST) {
      if (rec.state === FLOW_ATTEMPT && !fromInitiator) {
        this.emitEvent(rec, "rejected", p.ts, p.ts - rec.firstTs, false);
        this.toClosed(rec, p.ts);
      } else {
        if (rec.closer === CLOSER_NONE) rec.closer = fromInitiator ? CLOSER_INITIATOR : CLOSER_RESPONDER;
        this.finish(rec, p.ts);
      }
    } else if (flags & TCP_FIN) {
      if (rec.state === FLOW_ATTEMPT) {
        // A FIN before any answer: nothing to wait for.
        rec.closer = fromInitiator ? CLOSER_INITIATOR : CLOSER_RESPONDER;
        this.finish(rec, p.ts);
        return;
      }
      this.noteFin(rec, fromInitiator);
      // The end is when both sides have closed; a half-close waits for the other side (advance).
      if (rec.finA && rec.finB) this.finish(rec, p.ts);
    } else if (synAck && rec.state === FLOW_ATTEMPT) {
      rec.state = FLOW_ACCEPTED;
      this.emitEvent(rec, "accepted", p.ts, p.ts - rec.firstTs, false);
    }
  }

  /**
   * The first packet of an unknown TCP flow. A bare SYN opens it as usual; any other control
   * packet means the connection began before netmon saw it: it is picked up mid-stream.
   */
  private openTcp(hash: number, p: DecodedPacket, flags: number): void {
    this.resolveEnds(p);
    if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
      const rec = this.create(hash, p, false, ORIGIN_WIRE);
      rec.isn = p.tcpSeq;
      rec.hasIsn = true;
      return;
    }
    if (flags & TCP_RST) {
      const rec = this.createMidstream(hash, p);
      rec.closer = this.isFromInitiator(rec, p) ? CLOSER_INITIATOR : CLOSER_RESPONDER;
      this.finish(rec, p.ts);
    } else if (flags & TCP_SYN) {
      // A SYN-ACK: its destination is the initiator.
      const rec = this.create(hash, p, true, ORIGIN_MIDSTREAM);
      rec.state = FLOW_ACCEPTED;
      this.emitEvent(rec, "accepted", p.ts, 0, false);
      this.rearm(rec);
    } else {
      const rec = this.createMidstream(hash, p);
      rec.state = FLOW_ACCEPTED;
      this.noteFin(rec, this.isFromInitiator(rec, p));
      this.rearm(rec);
    }
  }

  /**
   * A FIN- or RST-first flow: the server is the side on a port its container listens on, else the
   * side the port rule names; failing both, the sender is taken as initiator.
   */
  private createMidstream(hash: number, p: DecodedPacket): FlowRecord {
    let server = this.serverByListeners(p);
    if (server === SERVER_UNKNOWN) server = serverSideByPorts(p.srcPort, p.dstPort);
    return this.create(hash, p, server === SERVER_IS_SRC, ORIGIN_MIDSTREAM, server === SERVER_UNKNOWN);
  }

  /** Which end of the packet is on a port its container is known to listen on (only one may be). */
  private serverByListeners(p: DecodedPacket): number {
    const l = this.listening;
    if (l === null || l.size === 0) return SERVER_UNKNOWN;
    const src = this.srcRef !== null && l.listens(this.srcRef.id, p.proto, p.srcPort);
    const dst = this.dstRef !== null && l.listens(this.dstRef.id, p.proto, p.dstPort);
    if (src === dst) return SERVER_UNKNOWN;
    return src ? SERVER_IS_SRC : SERVER_IS_DST;
  }

  private noteFin(rec: FlowRecord, fromInitiator: boolean): void {
    if (rec.closer === CLOSER_NONE) rec.closer = fromInitiator ? CLOSER_INITIATOR : CLOSER_RESPONDER;
    if (fromInitiator) rec.finA = true;
    else rec.finB = true;
  }

  /**
   * A bare SYN on a known tuple is a new connection (port reuse) when the old one has ended or is
   * closing (no stack retransmits its SYN after a FIN), or when it carries another initial sequence
   * number than the one the flow began with. Otherwise it is the first SYN retransmitted (still
   * unanswered, or its SYN-ACK was lost on the way back).
   */
  private isNewConnection(rec: FlowRecord, p: DecodedPacket, fromInitiator: boolean): boolean {
    if (rec.state === FLOW_CLOSED || rec.finA || rec.finB) return true;
    if (rec.state === FLOW_ATTEMPT) return false;
    return !fromInitiator || !rec.hasIsn || rec.isn !== p.tcpSeq;
  }

  /**
   * The opening SYN of a connection already seeded from /proc: a container that connects as it starts
   * is read from /proc while its SYN still waits in the capture buffer. Same connection: it takes the
   * SYN's sequence number and start time, and nothing is reported again.
   */
  private adoptsOpeningSyn(rec: FlowRecord, p: DecodedPacket, fromInitiator: boolean): boolean {
    if (!rec.fromProc || rec.hasIsn || !fromInitiator || rec.state !== FLOW_ACCEPTED) return false;
    if (rec.finA || rec.finB || p.ts > rec.firstTs + SEED_RACE_MS) return false;
    rec.isn = p.tcpSeq;
    rec.hasIsn = true;
    if (p.ts < rec.firstTs) rec.firstTs = p.ts;
    rec.lastTs = Math.max(rec.lastTs, p.ts);
    rec.packets++;
    return true;
  }

  /** The old connection of a reused tuple: closed (if it was open) at its last packet, then dropped. */
  private endForReuse(rec: FlowRecord, ts: number): void {
    if (rec.state === FLOW_ACCEPTED) this.emitEvent(rec, "closed", ts, rec.lastTs - rec.firstTs, false);
    this.remove(rec);
  }

  /**
   * A connection found open in /proc (opened before netmon watched it): tracked like one picked up
   * mid-stream, reported as an attempt (judged) then accepted at `ts`, the engine's time. False when
   * the table already holds the tuple (seen on the wire, or seeded before): nothing is reported.
   */
  seed(c: ProcConnection, ts: number): boolean {
    const p = this.seedPkt;
    p.reset();
    p.ts = ts;
    p.ipVersion = c.version;
    p.proto = PROTO_TCP;
    p.src.set(c.src);
    p.dst.set(c.dst);
    p.srcPort = c.srcPort;
    p.dstPort = c.dstPort;
    const hash = flowHash(p.src, p.srcPort, p.dst, p.dstPort, PROTO_TCP);
    if (this.find(hash, p) !== null) return false;
    if (ts >= this.nextSweep) this.advance(ts);
    this.resolveEnds(p);
    const rec = this.create(hash, p, false, ORIGIN_PROC);
    rec.state = FLOW_ACCEPTED;
    this.emitEvent(rec, "accepted", ts, 0, false);
    this.rearm(rec);
    return true;
  }

  private onUdp(p: DecodedPacket): void {
    const hash = flowHash(p.src, p.srcPort, p.dst, p.dstPort, PROTO_UDP);
    const rec = this.find(hash, p);
    if (rec === null) {
      this.resolveEnds(p);
      // A datagram from a port the container listens on is an answer only towards an ephemeral port:
      // otherwise any datagram a container sends from its listening port would escape judgement.
      const byListeners = this.serverByListeners(p);
      const server =
        byListeners === SERVER_IS_SRC && p.dstPort < EPHEMERAL_FROM ? SERVER_UNKNOWN : byListeners;
      if (
        server === SERVER_IS_DST ||
        (server === SERVER_UNKNOWN && !isUdpServerAnswer(p.srcPort, p.dstPort))
      ) {
        this.create(hash, p, false, ORIGIN_WIRE);
        return;
      }
      // A service's answer whose request was not seen: the initiator is the other side.
      const answered = this.create(hash, p, true, ORIGIN_MIDSTREAM);
      answered.state = FLOW_ACCEPTED;
      this.emitEvent(answered, "accepted", p.ts, 0, false);
      return;
    }
    rec.lastTs = p.ts;
    rec.packets++;
    if (rec.state === FLOW_ATTEMPT && !this.isFromInitiator(rec, p)) {
      rec.state = FLOW_ACCEPTED;
      this.emitEvent(rec, "accepted", p.ts, p.ts - rec.firstTs, false);
    }
    this.rearm(rec);
  }

  private find(hash: number, p: DecodedPacket): FlowRecord | null {
    let rec = this.buckets.first(hash);
    const s = p.src;
    const d = p.dst;
    while (rec !== null) {
      if (rec.hash === hash && rec.proto === p.proto && rec.version === p.ipVersion) {
        if (rec.hasEnds(s, p.srcPort, d, p.dstPort) || rec.hasEnds(d, p.dstPort, s, p.srcPort)) return rec;
      }
      rec = rec.chain;
    }
    return null;
  }

  private isFromInitiator(rec: FlowRecord, p: DecodedPacket): boolean {
    return rec.isSideA(p.src, p.srcPort);
  }

  private resolveEnds(p: DecodedPacket): void {
    this.srcIp = this.addressText.of(p.src, p.ipVersion);
    this.dstIp = this.addressText.of(p.dst, p.ipVersion);
    this.srcRef = this.resolver.lookup(this.srcIp, p.ts);
    this.dstRef = this.resolver.lookup(this.dstIp, p.ts);
  }

  /**
   * A new flow from `p`, whose ends resolveEnds has just resolved; `swap`: the packet comes from the
   * responder, so its destination is side `a`. Reports its attempt.
   */
  private create(
    hash: number,
    p: DecodedPacket,
    swap: boolean,
    origin: number,
    initiatorUnknown = false,
  ): FlowRecord {
    if (this.count >= this.opts.maxFlows && this.oldest !== null) {
      // An ended flow kept for its late packets goes silently; a live one is counted.
      if (this.oldest.state !== FLOW_CLOSED) this.evicted++;
      this.remove(this.oldest);
    }
    const rec = this.free.pop() ?? new FlowRecord(this.times);
    rec.proto = p.proto;
    rec.version = p.ipVersion;
    if (swap) rec.setEnds(p.dst, p.dstPort, p.src, p.srcPort);
    else rec.setEnds(p.src, p.srcPort, p.dst, p.dstPort);
    rec.hash = hash;
    rec.state = FLOW_ATTEMPT;
    rec.firstTs = p.ts;
    rec.lastTs = p.ts;
    // A seeded connection has had no packet on the wire yet.
    rec.packets = origin === ORIGIN_PROC ? 0 : 1;
    rec.isn = 0;
    rec.hasIsn = false;
    rec.finA = false;
    rec.finB = false;
    rec.closer = CLOSER_NONE;
    rec.midstream = origin !== ORIGIN_WIRE;
    rec.fromProc = origin === ORIGIN_PROC;
    rec.initiatorUnknown = initiatorUnknown;
    rec.aIp = swap ? this.dstIp : this.srcIp;
    rec.bIp = swap ? this.srcIp : this.dstIp;
    rec.aRef = swap ? this.dstRef : this.srcRef;
    rec.bRef = swap ? this.srcRef : this.dstRef;
    this.srcRef = null;
    this.dstRef = null;
    rec.setDirection();
    // A seeded connection was read from /proc, not from an interface.
    rec.iface = origin === ORIGIN_PROC ? "proc" : this.lastIface;
    this.buckets.add(rec);
    rec.older = this.newest;
    rec.newer = null;
    if (this.newest !== null) this.newest.newer = rec;
    else this.oldest = rec;
    this.newest = rec;
    rec.ageSeq = ++this.newestSeq;
    this.timers.schedule(rec, this.dueOf(rec));
    this.count++;
    this.created++;
    this.emitEvent(rec, "attempt", p.ts, undefined, false);
    return rec;
  }

  /** A TCP connection's end: reported closed, then kept a moment for the late packets of the ending. */
  private finish(rec: FlowRecord, ts: number): void {
    this.emitEvent(rec, "closed", ts, ts - rec.firstTs, false);
    this.toClosed(rec, ts);
  }

  private toClosed(rec: FlowRecord, ts: number): void {
    if (rec.state === FLOW_CLOSED) return;
    this.lingering++;
    rec.state = FLOW_CLOSED;
    rec.lastTs = ts;
    // To the old end of the age list: a full table pushes out ended flows before live ones.
    if (rec !== this.oldest) {
      this.unlinkAge(rec);
      rec.older = null;
      rec.newer = this.oldest;
      if (this.oldest !== null) this.oldest.older = rec;
      else this.newest = rec;
      this.oldest = rec;
      rec.ageSeq = --this.oldestSeq;
    }
    this.rearm(rec);
  }

  private unlinkAge(rec: FlowRecord): void {
    if (rec.older !== null) rec.older.newer = rec.newer;
    else this.oldest = rec.newer;
    if (rec.newer !== null) rec.newer.older = rec.older;
    else this.newest = rec.older;
  }

  private remove(rec: FlowRecord): void {
    this.buckets.delete(rec);
    this.unlinkAge(rec);
    this.timers.cancel(rec);
    this.count--;
    if (rec.state === FLOW_CLOSED) this.lingering--;
    rec.clear();
    if (this.free.length < FREE_LIST_MAX) this.free.push(rec);
    else rec.release();
  }

  /**
   * Runs every timeout due by `nowMs` (packet time; the daemon also calls it on a clock tick): the
   * flows the timer wheel holds due, each checked exactly, in age order (oldest first). A flow acts
   * at most once per sweep: one whose next timeout is due at once (a half-close reported, then its
   * linger) waits for the next sweep.
   */
  advance(nowMs: number): void {
    this.nextSweep = nowMs + this.sweepEveryMs;
    const due = this.dueNow;
    this.timers.collect(nowMs, due);
    let n = 0;
    for (const rec of due) {
      if (this.timedOut(rec, nowMs)) due[n++] = rec;
      else this.timers.schedule(rec, this.dueOf(rec));
    }
    due.length = n;
    due.sort(olderFirst);
    for (const rec of due) {
      const gen = rec.timerGen;
      this.expire(rec);
      // Neither removed nor scheduled again on the way (toClosed): its next timeout.
      if (rec.timerGen === gen) this.timers.schedule(rec, this.dueOf(rec));
    }
    due.length = 0;
    const held = this.count + this.free.length;
    if (this.times.oversizedFor(held)) this.moveTimes(new FlowTimes(2 * held));
  }

  /** Every record the tracker holds (in the table, on the free list) to the slab `to`. */
  private moveTimes(to: FlowTimes): void {
    for (let rec = this.oldest; rec !== null; rec = rec.newer) rec.moveTo(to);
    for (const rec of this.free) rec.moveTo(to);
    this.times = to;
  }

  /** The earliest packet time at which one of `rec`'s timeouts may hold (see timedOut). */
  private dueOf(rec: FlowRecord): number {
    const o = this.opts;
    if (rec.proto !== PROTO_TCP) return rec.lastTs + o.udpIdleMs;
    if (rec.state === FLOW_ATTEMPT) return rec.firstTs + o.tcpUnansweredMs;
    if (rec.state === FLOW_UNANSWERED) return rec.firstTs + Math.max(SYN_RETRY_WINDOW_MS, o.tcpUnansweredMs);
    if (rec.state === FLOW_CLOSED) return rec.lastTs + CLOSED_LINGER_MS;
    if (rec.finA || rec.finB) return rec.lastTs + this.halfCloseMs;
    return rec.lastTs + o.tcpEstablishedIdleMs;
  }

  /** A packet or an end moved `rec`'s timeout earlier than its wheel entry (time going back, a FIN). */
  private rearm(rec: FlowRecord): void {
    const due = this.dueOf(rec);
    if (due < rec.timerDue) this.timers.schedule(rec, due);
  }

  /** Whether one of `rec`'s timeouts holds at `nowMs` (the conditions expire acts on). */
  private timedOut(rec: FlowRecord, nowMs: number): boolean {
    const o = this.opts;
    if (rec.proto !== PROTO_TCP) return nowMs - rec.lastTs >= o.udpIdleMs;
    if (rec.state === FLOW_ATTEMPT) return nowMs - rec.firstTs >= o.tcpUnansweredMs;
    if (rec.state === FLOW_UNANSWERED)
      return nowMs - rec.firstTs >= Math.max(SYN_RETRY_WINDOW_MS, o.tcpUnansweredMs);
    if (rec.state === FLOW_CLOSED) return nowMs - rec.lastTs >= CLOSED_LINGER_MS;
    if (rec.finA || rec.finB) return nowMs - rec.lastTs >= this.halfCloseMs;
    return nowMs - rec.lastTs >= o.tcpEstablishedIdleMs;
  }

  /** The timeout timedOut found: reported and/or dropped. */
  private expire(rec: FlowRecord): void {
    const o = this.opts;
    if (rec.proto === PROTO_TCP) {
      if (rec.state === FLOW_ATTEMPT) {
        rec.state = FLOW_UNANSWERED;
        this.emitEvent(rec, "unanswered", rec.firstTs + o.tcpUnansweredMs, o.tcpUnansweredMs, false);
      } else if (rec.state === FLOW_UNANSWERED || rec.state === FLOW_CLOSED) {
        this.remove(rec);
      } else if (rec.finA || rec.finB) {
        // Half-closed: the other side never closed (or its FIN was not seen).
        this.finish(rec, rec.lastTs + this.halfCloseMs);
      } else {
        this.expired++;
        this.remove(rec);
      }
      return;
    }
    const endTs = rec.lastTs + o.udpIdleMs;
    if (rec.state === FLOW_ATTEMPT) this.emitEvent(rec, "unanswered", endTs, endTs - rec.firstTs, false);
    else this.emitEvent(rec, "closed", endTs, rec.lastTs - rec.firstTs, false);
    this.remove(rec);
  }

  /** End of input (replay): report what is still pending as the timeouts would have. */
  flush(): void {
    // Twice: the first pass reports pending SYNs unanswered and half-closed flows closed, the second
    // drops their retry and linger records.
    this.advance(Number.POSITIVE_INFINITY);
    this.advance(Number.POSITIVE_INFINITY);
  }

  private emitEvent(
    rec: FlowRecord,
    state: ConnectionState,
    ts: number,
    durationMs: number | undefined,
    corrects: boolean,
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
    if (rec.midstream) ev.midstream = true;
    if (rec.fromProc) ev.source = "proc";
    if (rec.initiatorUnknown) ev.initiator = "unknown";
    if (state === "closed" && rec.closer !== CLOSER_NONE) {
      ev.closedBy = rec.closer === CLOSER_INITIATOR ? "initiator" : "responder";
    }
    if (corrects) ev.corrects = "unanswered";
    this.emit(ev);
  }
}

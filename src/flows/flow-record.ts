import type { ContainerRef, Direction } from "../model/events.js";
import { type FlowTimes, TIME_DUE, TIME_FIRST, TIME_LAST } from "./flow-times.js";

/** TCP: SYN seen, no answer yet. UDP: datagrams from the initiator only. */
export const FLOW_ATTEMPT = 0;
/** TCP: SYN-ACK seen. UDP: the responder answered. */
export const FLOW_ACCEPTED = 1;
/**
 * TCP: reported unanswered, kept while the client may still retransmit its SYN (Linux retries for
 * up to 127 s) so one connect() is one connection, not one per retry.
 */
export const FLOW_UNANSWERED = 2;
/**
 * TCP: ended (both FINs, a RST, the half-close timeout) and reported; kept briefly so the late
 * packets of the ending (a retransmitted FIN, a trailing RST) do not open a mid-stream flow.
 */
export const FLOW_CLOSED = 3;

/** Which side sent the first FIN or RST (`closedBy`). */
export const CLOSER_NONE = 0;
export const CLOSER_INITIATOR = 1;
export const CLOSER_RESPONDER = 2;

/** How a flow came to be tracked: its opening seen, picked up mid-stream, or seeded from /proc. */
export const ORIGIN_WIRE = 0;
export const ORIGIN_MIDSTREAM = 1;
export const ORIGIN_PROC = 2;

// FlowRecord.bits: the small fields packed in one small integer (one 8-byte field, not twelve).
const PROTO_MASK = 0xff;
const VERSION_SHIFT = 8;
const STATE_SHIFT = 12;
const CLOSER_SHIFT = 14;
const DIRECTION_SHIFT = 16;
const TWO_BITS = 3;
const HAS_ISN = 1 << 18;
const FIN_A = 1 << 19;
const FIN_B = 1 << 20;
const MIDSTREAM = 1 << 21;
const INITIATOR_UNKNOWN = 1 << 22;
const FROM_PROC = 1 << 23;
const DIRECTIONS: readonly Direction[] = ["external", "outbound", "inbound", "internal"];

/** The first three address words of both ends: only for the (IPv6) flows where one is not zero. */
class UpperWords {
  constructor(
    public a0: number,
    public a1: number,
    public a2: number,
    public b0: number,
    public b1: number,
    public b2: number,
  ) {}
}

/**
 * One tracked flow, reused through the tracker's free list. Sized for 100k flows: address words are
 * kept as signed 32-bit integers (small integers, not boxed numbers), IPv4 flows carry no upper
 * words, the flags and small enums share one integer, and the times live in the tracker's
 * FlowTimes; the accessors keep the plain field names. The text form of the addresses and the
 * container attribution are computed once, when the flow is created. Side `a` is always the initiator.
 */
export class FlowRecord {
  private bits = 0;
  /** Last address words, `| 0`; the others in `upper` (null: all zero). */
  private a3 = 0;
  private b3 = 0;
  private upper: UpperWords | null = null;
  aPort = 0;
  bPort = 0;
  hash = 0;
  packets = 0;
  /** TCP: the initiator's initial sequence number (`| 0`), when its SYN was seen (`hasIsn`). */
  private isnBits = 0;
  aIp = "";
  bIp = "";
  aRef: ContainerRef | null = null;
  bRef: ContainerRef | null = null;
  iface = "";
  /** Next record in the same hash bucket. */
  chain: FlowRecord | null = null;
  /** Neighbours in creation order (oldest first), for eviction and sweeps. */
  older: FlowRecord | null = null;
  newer: FlowRecord | null = null;
  /** Place in the age list (ascending = oldest first): timeouts due together run in this order. */
  ageSeq = 0;
  /** Which of its entries in the timer wheel is live (an older one left behind is skipped). Kept across reuse. */
  timerGen = 0;
  /** Its slot in `times`, held until the record is dropped (release) or moved (moveTo). */
  private slot: number;

  constructor(private times: FlowTimes) {
    this.slot = times.acquire();
    this.timerDue = Number.POSITIVE_INFINITY;
  }

  get proto(): number {
    return this.bits & PROTO_MASK;
  }
  set proto(v: number) {
    this.bits = (this.bits & ~PROTO_MASK) | (v & PROTO_MASK);
  }
  get version(): number {
    return (this.bits >> VERSION_SHIFT) & 0xf;
  }
  set version(v: number) {
    this.bits = (this.bits & ~(0xf << VERSION_SHIFT)) | ((v & 0xf) << VERSION_SHIFT);
  }
  get state(): number {
    return (this.bits >> STATE_SHIFT) & TWO_BITS;
  }
  set state(v: number) {
    this.bits = (this.bits & ~(TWO_BITS << STATE_SHIFT)) | ((v & TWO_BITS) << STATE_SHIFT);
  }
  get closer(): number {
    return (this.bits >> CLOSER_SHIFT) & TWO_BITS;
  }
  set closer(v: number) {
    this.bits = (this.bits & ~(TWO_BITS << CLOSER_SHIFT)) | ((v & TWO_BITS) << CLOSER_SHIFT);
  }
  get direction(): Direction {
    return DIRECTIONS[(this.bits >> DIRECTION_SHIFT) & TWO_BITS]!;
  }
  /** From the two ends' attribution (set aRef and bRef first). */
  setDirection(): void {
    const d = (this.aRef !== null ? 1 : 0) | (this.bRef !== null ? 2 : 0);
    this.bits = (this.bits & ~(TWO_BITS << DIRECTION_SHIFT)) | (d << DIRECTION_SHIFT);
  }
  get hasIsn(): boolean {
    return (this.bits & HAS_ISN) !== 0;
  }
  set hasIsn(v: boolean) {
    this.flag(HAS_ISN, v);
  }
  /** TCP: a FIN was seen from the initiator (a) / the responder (b). */
  get finA(): boolean {
    return (this.bits & FIN_A) !== 0;
  }
  set finA(v: boolean) {
    this.flag(FIN_A, v);
  }
  get finB(): boolean {
    return (this.bits & FIN_B) !== 0;
  }
  set finB(v: boolean) {
    this.flag(FIN_B, v);
  }
  /** Opened by a packet other than the opening one (netmon missed the start). */
  get midstream(): boolean {
    return (this.bits & MIDSTREAM) !== 0;
  }
  set midstream(v: boolean) {
    this.flag(MIDSTREAM, v);
  }
  /** Mid-stream with no way to tell the initiator: side `a` is then just the first sender. */
  get initiatorUnknown(): boolean {
    return (this.bits & INITIATOR_UNKNOWN) !== 0;
  }
  set initiatorUnknown(v: boolean) {
    this.flag(INITIATOR_UNKNOWN, v);
  }
  /** Seeded from the container's /proc/<pid>/net/tcp (open before netmon watched it); also midstream. */
  get fromProc(): boolean {
    return (this.bits & FROM_PROC) !== 0;
  }
  set fromProc(v: boolean) {
    this.flag(FROM_PROC, v);
  }
  get isn(): number {
    return this.isnBits >>> 0;
  }
  set isn(v: number) {
    this.isnBits = v | 0;
  }

  get firstTs(): number {
    return this.times.at[this.slot + TIME_FIRST]!;
  }
  set firstTs(v: number) {
    this.times.at[this.slot + TIME_FIRST] = v;
  }
  get lastTs(): number {
    return this.times.at[this.slot + TIME_LAST]!;
  }
  set lastTs(v: number) {
    this.times.at[this.slot + TIME_LAST] = v;
  }
  /** The time its timeout is next checked (flow-timers.ts); Infinity while none is set. */
  get timerDue(): number {
    return this.times.at[this.slot + TIME_DUE]!;
  }
  set timerDue(v: number) {
    this.times.at[this.slot + TIME_DUE] = v;
  }

  /** Side a is `a`:`aPort`, side b `b`:`bPort` (four-word addresses, as the decoder gives them). */
  setEnds(a: Uint32Array, aPort: number, b: Uint32Array, bPort: number): void {
    this.a3 = a[3]! | 0;
    this.b3 = b[3]! | 0;
    this.aPort = aPort;
    this.bPort = bPort;
    if ((a[0]! | a[1]! | a[2]! | b[0]! | b[1]! | b[2]!) === 0) this.upper = null;
    else this.upper = new UpperWords(a[0]! | 0, a[1]! | 0, a[2]! | 0, b[0]! | 0, b[1]! | 0, b[2]! | 0);
  }

  /** Whether side a is s:sPort and side b d:dPort (same protocol and version checked by the caller). */
  hasEnds(s: Uint32Array, sPort: number, d: Uint32Array, dPort: number): boolean {
    if (this.aPort !== sPort || this.bPort !== dPort || this.a3 !== (s[3]! | 0) || this.b3 !== (d[3]! | 0))
      return false;
    const u = this.upper;
    if (u === null) return (s[0]! | s[1]! | s[2]! | d[0]! | d[1]! | d[2]!) === 0;
    return (
      u.a0 === (s[0]! | 0) &&
      u.a1 === (s[1]! | 0) &&
      u.a2 === (s[2]! | 0) &&
      u.b0 === (d[0]! | 0) &&
      u.b1 === (d[1]! | 0) &&
      u.b2 === (d[2]! | 0)
    );
  }

  /** Whether side a (the initiator) is s:sPort. */
  isSideA(s: Uint32Array, sPort: number): boolean {
    if (this.aPort !== sPort || this.a3 !== (s[3]! | 0)) return false;
    const u = this.upper;
    if (u === null) return (s[0]! | s[1]! | s[2]!) === 0;
    return u.a0 === (s[0]! | 0) && u.a1 === (s[1]! | 0) && u.a2 === (s[2]! | 0);
  }

  clear(): void {
    this.aRef = null;
    this.bRef = null;
    this.chain = null;
    this.older = null;
    this.newer = null;
  }

  /** The record is dropped for good (not kept on a free list): its slot in the times goes back. */
  release(): void {
    this.times.release(this.slot);
  }

  /** Its times move to `to` (a smaller slab after a burst); the old slab is let go whole. */
  moveTo(to: FlowTimes): void {
    const from = this.times.at;
    const slot = to.acquire();
    to.at[slot + TIME_FIRST] = from[this.slot + TIME_FIRST]!;
    to.at[slot + TIME_LAST] = from[this.slot + TIME_LAST]!;
    to.at[slot + TIME_DUE] = from[this.slot + TIME_DUE]!;
    this.times = to;
    this.slot = slot;
  }

  private flag(mask: number, on: boolean): void {
    this.bits = on ? this.bits | mask : this.bits & ~mask;
  }
}

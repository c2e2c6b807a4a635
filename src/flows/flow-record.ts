import type { ContainerRef, Direction } from "../model/events.js";

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

/**
 * One tracked flow. Addresses are plain number fields (no typed arrays, no strings on the hot
 * path: a record costs little and is reused through a free list); the text form and the container
 * attribution are computed once, when the flow is created. Side `a` is always the initiator.
 */
export class FlowRecord {
  proto = 0;
  version = 0;
  a0 = 0;
  a1 = 0;
  a2 = 0;
  a3 = 0;
  b0 = 0;
  b1 = 0;
  b2 = 0;
  b3 = 0;
  aPort = 0;
  bPort = 0;
  hash = 0;
  state = FLOW_ATTEMPT;
  firstTs = 0;
  lastTs = 0;
  packets = 0;
  /** TCP: the initiator's initial sequence number, when its SYN was seen (`hasIsn`). */
  isn = 0;
  hasIsn = false;
  /** TCP: a FIN was seen from the initiator (a) / the responder (b). */
  finA = false;
  finB = false;
  closer = CLOSER_NONE;
  /** Opened by a packet other than the opening one (netmon missed the start). */
  midstream = false;
  /** Mid-stream with no way to tell the initiator: side `a` is then just the first sender. */
  initiatorUnknown = false;
  /** Seeded from the container's /proc/<pid>/net/tcp (open before netmon watched it); also midstream. */
  fromProc = false;
  aIp = "";
  bIp = "";
  aRef: ContainerRef | null = null;
  bRef: ContainerRef | null = null;
  direction: Direction = "external";
  iface = "";
  /** Next record in the same hash bucket. */
  chain: FlowRecord | null = null;
  /** Neighbours in creation order (oldest first), for eviction and sweeps. */
  older: FlowRecord | null = null;
  newer: FlowRecord | null = null;
  /** Place in the age list (ascending = oldest first): timeouts due together run in this order. */
  ageSeq = 0;
  /** The time its timeout is next checked (flow-timers.ts); Infinity while none is set. */
  timerDue = Number.POSITIVE_INFINITY;
  /** Which of its entries in the timer wheel is live (an older one left behind is skipped). Kept across reuse. */
  timerGen = 0;

  clear(): void {
    this.aRef = null;
    this.bRef = null;
    this.chain = null;
    this.older = null;
    this.newer = null;
  }
}

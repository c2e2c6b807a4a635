import type { RawPacketHandler } from "./source.js";

/** Record header: caplen (u32), wire length (u32), timestamp in ms (f64). */
const HEADER = 16;
/** A caplen that marks "the next record is at offset 0" (the rest of the slab is unused). */
const WRAP = 0xffffffff;

/**
 * Packets copied out of libpcap's ring and handed to the pipeline in time slices.
 *
 * npm `pcap`'s dispatch() reads the kernel ring in C++ until it is empty, calling back once per
 * packet: when netmon falls behind (JIT warm-up at the start of a load, CPUs taken by other work)
 * one drain ran the whole pipeline for seconds without yielding, and timers, /metrics and alert
 * lines waited (event-loop lag of 4 s measured at 6k connections/s). Copying a packet costs a
 * memcpy; the pipeline then runs from here for at most a slice at a time. One slab, no allocation
 * per packet; when the queue empties it starts again at offset 0, so only as much of the slab as
 * the deepest backlog needed is ever touched (resident).
 */
export class PacketQueue {
  private readonly slab: Buffer;
  private head = 0;
  private tail = 0;
  private count = 0;
  /** Packets refused because the slab was full (netmon was behind by more than its size). */
  dropped = 0;

  /**
   * `checkEvery`: packets between two reads of the clock in drain() (a power of two; a slice
   * overshoots its deadline by at most that many).
   */
  constructor(
    bytes: number,
    private readonly checkEvery = 64,
  ) {
    // Not zero-filled: pages become resident only when a backlog reaches them.
    this.slab = Buffer.allocUnsafeSlow(bytes);
  }

  get length(): number {
    return this.count;
  }

  /** Copies one packet in; false (and counted) when it does not fit. */
  push(buf: Buffer, start: number, caplen: number, wireLength: number, tsMs: number): boolean {
    const size = recordSize(caplen);
    if (size > this.slab.length) {
      this.dropped++;
      return false;
    }
    let at = this.tail;
    if (this.count > 0 && this.tail <= this.head) {
      // Wrapped: free space is [tail, head).
      if (at + size > this.head) return this.refuse();
    } else if (at + size > this.slab.length) {
      // Not enough room before the end: wrap, if the front has room.
      if (size > this.head || (this.count > 0 && size >= this.head)) return this.refuse();
      if (at + HEADER <= this.slab.length) this.slab.writeUInt32LE(WRAP, at);
      at = 0;
    }
    this.slab.writeUInt32LE(caplen, at);
    this.slab.writeUInt32LE(wireLength, at + 4);
    this.slab.writeDoubleLE(tsMs, at + 8);
    buf.copy(this.slab, at + HEADER, start, start + caplen);
    this.tail = at + size;
    this.count++;
    return true;
  }

  /**
   * Hands packets to `handler` in arrival order until the queue is empty or `deadlineMs`
   * (performance.now()) has passed; returns how many are left.
   */
  drain(handler: RawPacketHandler, linkType: number, deadlineMs: number, now: () => number): number {
    let done = 0;
    while (this.count > 0) {
      let at = this.head;
      if (at + HEADER > this.slab.length || this.slab.readUInt32LE(at) === WRAP) at = 0;
      const caplen = this.slab.readUInt32LE(at);
      const wireLength = this.slab.readUInt32LE(at + 4);
      const tsMs = this.slab.readDoubleLE(at + 8);
      this.head = at + recordSize(caplen);
      this.count--;
      if (this.count === 0) {
        this.head = 0;
        this.tail = 0;
      }
      handler(this.slab, at + HEADER, caplen, wireLength, tsMs, linkType);
      if (++done % this.checkEvery === 0 && now() >= deadlineMs) break;
    }
    return this.count;
  }

  /** Forgets every queued packet (the session closed). */
  clear(): void {
    this.head = 0;
    this.tail = 0;
    this.count = 0;
  }

  private refuse(): boolean {
    this.dropped++;
    return false;
  }
}

/** A record's bytes, rounded up to 8 so the timestamp stays aligned. */
function recordSize(caplen: number): number {
  return (HEADER + caplen + 7) & ~7;
}

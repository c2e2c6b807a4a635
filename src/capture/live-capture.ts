import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW } from "./packet.js";
import { PacketQueue } from "./packet-queue.js";
import { loadPcapBinding, type NativePcapSession } from "./pcap-binding.js";
import type { CaptureStats, RawPacketHandler } from "./source.js";

export interface LiveCaptureOptions {
  filter: string;
  bufferTimeoutMs: number;
  bufferSizeMb: number;
  snaplen: number;
}

/**
 * The names npm `pcap` gives pcap_datalink() (pcap_session.cc), mapped to the link types the
 * decoder reads. Its other names are 802.11 radiotap (not decoded) and "Unknown linktype N".
 */
const LINK_TYPES: Record<string, number> = {
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
};

/**
 * npm `pcap` stops a closed session's uv_poll handle but never uv_close()s it: if the native
 * session were garbage-collected, libuv would later walk freed memory (a segfault seen here at
 * exit). Closed sessions are therefore kept referenced for the life of the process; each is a
 * few hundred bytes once libpcap has released its buffers. Their poll handles may keep the event
 * loop alive, so `netmon run` exits explicitly once it has stopped.
 */
const closedSessions: NativePcapSession[] = [];

/** Turns libpcap's open errors into one line that says what to do. */
export function explainOpenError(iface: string, message: string): string {
  if (/permitted|permission/i.test(message)) {
    return `cannot capture on ${iface}: permission denied (netmon needs CAP_NET_RAW: run as root or grant the capability)`;
  }
  if (/no such device/i.test(message)) return `cannot capture on ${iface}: no such interface`;
  return `cannot capture on ${iface}: ${message}`;
}

/** The longest the pipeline runs from the queue before timers and I/O get a turn. */
const SLICE_MS = 10;

/** u_int counters from pcap_stats wrap at 2^32: accumulate deltas so totals only grow. */
class WrappingCounter {
  private last = 0;
  total = 0;
  update(raw: number): void {
    const value = raw >>> 0;
    this.total += (value - this.last + 4294967296) % 4294967296;
    this.last = value;
  }
}

/**
 * A live libpcap session on one interface. Packets are copied from the capture buffer into a
 * PacketQueue and handed to `onPacket` from there in slices of at most SLICE_MS (nothing is
 * allocated per packet). A read error (the interface went away) closes the session and is
 * reported once through `onError`.
 */
export class LiveCapture {
  private session: NativePcapSession | null = null;
  private readonly buf: Buffer;
  private readonly header = Buffer.alloc(16);
  private linkType = LINKTYPE_ETHERNET;
  private readonly received = new WrappingCounter();
  private readonly dropped = new WrappingCounter();
  private readonly ifDropped = new WrappingCounter();
  /** Exceptions thrown by the handler (counted, never allowed to kill the process). */
  handlerErrors = 0;
  private readonly queue: PacketQueue;
  private processing = false;
  private readonly safeHandler: RawPacketHandler;

  constructor(
    readonly iface: string,
    private readonly opts: LiveCaptureOptions,
    private readonly onPacket: RawPacketHandler,
    private readonly onError: (message: string) => void,
    private readonly onWarning: (message: string) => void = () => {},
  ) {
    this.buf = Buffer.alloc(opts.snaplen);
    // As deep as the kernel's own buffer: a backlog waits here instead of there.
    this.queue = new PacketQueue(opts.bufferSizeMb * 1024 * 1024);
    this.safeHandler = (buf, start, caplen, wire, tsMs, linkType) => {
      try {
        this.onPacket(buf, start, caplen, wire, tsMs, linkType);
      } catch {
        this.handlerErrors++;
      }
    };
  }

  /** Packets copied out of libpcap and not yet handed on. */
  get backlog(): number {
    return this.queue.length;
  }

  get isOpen(): boolean {
    return this.session !== null;
  }

  /** Opens the session; throws an Error with a one-line explanation when libpcap refuses. */
  open(): void {
    const { PcapSession } = loadPcapBinding();
    const session = new PcapSession();
    let linkName: string;
    try {
      linkName = session.open_live(
        this.iface,
        this.opts.filter,
        this.opts.bufferSizeMb * 1024 * 1024,
        this.opts.snaplen,
        "",
        () => this.deliver(),
        false,
        this.opts.bufferTimeoutMs,
        (msg: string) => this.onWarning(msg),
        true,
      );
    } catch (err) {
      throw new Error(explainOpenError(this.iface, err instanceof Error ? err.message : String(err)));
    }
    const link = LINK_TYPES[linkName];
    if (link === undefined) {
      closedSessions.push(session);
      session.close();
      session.dispatch(this.buf, this.header);
      throw new Error(`cannot capture on ${this.iface}: unsupported link type ${linkName}`);
    }
    this.linkType = link;
    session.read_callback = () => this.drain();
    session.start_polling();
    this.session = session;
    // Packets may already be waiting.
    setImmediate(() => this.drain());
  }

  close(): void {
    const s = this.session;
    if (s === null) return;
    this.sampleStats();
    this.session = null;
    this.queue.clear();
    closedSessions.push(s);
    // close() only sets libpcap's break flag; in non-blocking mode libpcap notices it at the next
    // packet, and only then releases the handle and stops polling. Until then the poll callback
    // must keep draining (an undrained readable fd would make libuv spin): packets are discarded.
    s.read_callback = () => {
      s.dispatch(this.buf, this.header);
    };
    s.close();
    s.dispatch(this.buf, this.header);
  }

  /** Cumulative counters; reading them also refreshes them from the kernel. */
  stats(): CaptureStats {
    this.sampleStats();
    return {
      iface: this.iface,
      received: this.received.total,
      // The kernel's drops and the queue's: packets netmon never judged, whichever buffer was full.
      dropped: this.dropped.total + this.queue.dropped,
      ifDropped: this.ifDropped.total,
    };
  }

  private sampleStats(): void {
    if (this.session === null) return;
    try {
      const s = this.session.stats();
      this.received.update(s.ps_recv);
      this.dropped.update(s.ps_drop);
      this.ifDropped.update(s.ps_ifdrop);
    } catch {
      // the handle is gone; the last totals stand
    }
  }

  private drain(): void {
    const s = this.session;
    if (s === null) return;
    const n = s.dispatch(this.buf, this.header);
    if (n === -1) {
      // The interface went away. libpcap keeps its socket until a packet that will never come:
      // that handle (and its ring) cannot be released through npm `pcap`, see closedSessions.
      this.close();
      this.onError(`capture on ${this.iface} stopped: read error (interface removed?)`);
    }
  }

  private deliver(): void {
    if (this.session === null) return;
    const h = this.header;
    const tsMs = h.readUInt32LE(0) * 1000 + h.readUInt32LE(4) / 1000;
    const caplen = Math.min(h.readUInt32LE(8), this.buf.length);
    this.queue.push(this.buf, 0, caplen, h.readUInt32LE(12), tsMs);
    if (!this.processing) {
      this.processing = true;
      setImmediate(() => this.processSlice());
    }
  }

  private processSlice(): void {
    const left = this.queue.drain(this.safeHandler, this.linkType, performance.now() + SLICE_MS, now);
    if (left > 0 && this.session !== null) setImmediate(() => this.processSlice());
    else this.processing = false;
  }
}

const now = (): number => performance.now();

/**
 * What every packet source (live libpcap session, pcap file) calls per packet. Plain
 * arguments, no per-packet object: `buf` is reused by the source and only valid during the call.
 */
export type RawPacketHandler = (
  buf: Buffer,
  start: number,
  caplen: number,
  wireLength: number,
  tsMs: number,
  linkType: number,
) => void;

/** Per-interface counters reported by libpcap (pcap_stats), kept for metrics. */
export interface CaptureStats {
  iface: string;
  received: number;
  /** Dropped by the kernel because the buffer was full. */
  dropped: number;
  /** Dropped by the interface or driver. */
  ifDropped: number;
}

export function addStats(a: CaptureStats, b: CaptureStats): CaptureStats {
  return {
    iface: a.iface,
    received: a.received + b.received,
    dropped: a.dropped + b.dropped,
    ifDropped: a.ifDropped + b.ifDropped,
  };
}

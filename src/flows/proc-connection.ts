/**
 * A TCP connection found open in a container's /proc/<pid>/net/tcp{,6} (the listener scan's
 * reading), oriented like a flow: `src` is the initiator. It seeds the flow table, so a connection
 * opened before netmon started is judged once, like one picked up mid-stream on the wire.
 */
export interface ProcConnection {
  /** 4 or 6, as on the wire: an IPv4-mapped socket of tcp6 carries IPv4 packets. */
  version: 4 | 6;
  /** Four words each, IPv4 in word 3 (as DecodedPacket holds addresses). */
  src: Uint32Array;
  srcPort: number;
  dst: Uint32Array;
  dstPort: number;
}

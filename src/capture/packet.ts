/**
 * One decoded packet. The decoder fills a single reused instance per source, so the hot
 * path allocates nothing; anything kept past the callback must be copied out.
 *
 * Addresses are held as four 32-bit words. IPv4 uses word 3 only (words 0..2 are zero),
 * so the same flow code serves both families.
 */
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export class DecodedPacket {
  /** Capture time in milliseconds since the epoch (fraction = sub-millisecond part). */
  ts = 0;
  /** 4 or 6; 0 when the packet carries neither (or was too broken to read). */
  ipVersion = 0;
  /** PROTO_TCP, PROTO_UDP or another IP protocol number. */
  proto = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16); 0 for UDP. */
  tcpFlags = 0;
  /** 802.1Q VLAN id of the outermost tag, or -1 when untagged. */
  vlan = -1;
  /** Offset and length of the transport payload inside `buf` (UDP payload, e.g. a DNS message). */
  payloadOffset = 0;
  payloadLength = 0;
  /** The buffer the offsets point into; only valid during the callback. */
  buf: Buffer = EMPTY;
  /** Original length on the wire (may exceed what was captured). */
  wireLength = 0;

  reset(): void {
    this.ipVersion = 0;
    this.proto = 0;
    this.src.fill(0);
    this.dst.fill(0);
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.vlan = -1;
    this.payloadOffset = 0;
    this.payloadLength = 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** libpcap link-layer header types we can read. */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;

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
  /** TCP sequence number (on a SYN: the initial one, which tells a new connection from a retry). */
  tcpSeq = 0;
  /** A non-first IP fragment: no transport header, so the ports are unset and no flow is touched. */
  fragment = false;
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
    // Word by word: TypedArray.fill is a builtin call, twice per packet.
    const src = this.src;
    const dst = this.dst;
    src[0] = 0;
    src[1] = 0;
    src[2] = 0;
    src[3] = 0;
    dst[0] = 0;
    dst[1] = 0;
    dst[2] = 0;
    dst[3] = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.fragment = false;
    this.vlan = -1;
    this.payloadOffset = 0;
    this.payloadLength = 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** libpcap link-layer header types we can read (https://www.tcpdump.org/linktypes.html). */
/** BSD loopback: 4-byte address family in the byte order of the capturing host. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** PPP (RFC 1661); the 0xff 0x03 address/control bytes of RFC 1662 may precede the protocol. */
export const LINKTYPE_PPP = 9;
/** DLT_RAW as some systems wrote it into files instead of 101: 12 on most, 14 on OpenBSD. */
export const LINKTYPE_RAW_DLT12 = 12;
export const LINKTYPE_RAW_DLT14 = 14;
/** PPP in HDLC-like framing (RFC 1662), or Cisco HDLC (address 0x0f / 0x8f, then an EtherType). */
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: like LINKTYPE_NULL, but the address family is in network byte order. */
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4 / raw IPv6 only (no version guessing between the two). */
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
/** Linux cooked capture v2 (`tcpdump -i any` with libpcap >= 1.10): 20-byte header. */
export const LINKTYPE_LINUX_SLL2 = 276;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;

/** Address families in LINKTYPE_NULL / LINKTYPE_LOOP headers; AF_INET6 differs between BSDs. */
export const BSD_AF_INET = 2;
export const BSD_AF_INET6_BSD = 24;
export const BSD_AF_INET6_FREEBSD = 28;
export const BSD_AF_INET6_DARWIN = 30;

/** PPP protocol numbers (RFC 1332, RFC 5072). */
export const PPP_IPV4 = 0x0021;
export const PPP_IPV6 = 0x0057;

/**
 * Linux ARPHRD_ types whose cooked (SLL / SLL2) protocol field is not an EtherType: a Frame Relay
 * or radiotap + 802.11 payload (the field is ignored), or a netlink message (the field is its family).
 */
export const ARPHRD_FRAD = 770;
export const ARPHRD_IEEE80211_RADIOTAP = 803;
export const ARPHRD_NETLINK = 824;

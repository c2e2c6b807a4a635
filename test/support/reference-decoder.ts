/**
 * The packet decoder as it was before it read fields by byte arithmetic (Buffer.readUInt16BE /
 * readUInt32BE / readUInt32LE, which check bounds on every call), with first fragments' payload
 * withheld. Kept only as the oracle of test/unit/hot-path-equivalence.test.ts: the decoder in
 * src/capture/decoder.ts must give the same fields for every input.
 */
import {
  ARPHRD_FRAD,
  ARPHRD_IEEE80211_RADIOTAP,
  ARPHRD_NETLINK,
  BSD_AF_INET,
  BSD_AF_INET6_BSD,
  BSD_AF_INET6_DARWIN,
  BSD_AF_INET6_FREEBSD,
  type DecodedPacket,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_PPP,
  LINKTYPE_PPP_HDLC,
  LINKTYPE_RAW,
  LINKTYPE_RAW_DLT12,
  LINKTYPE_RAW_DLT14,
  PPP_IPV4,
  PPP_IPV6,
  PROTO_TCP,
  PROTO_UDP,
} from "../../src/capture/packet.js";

/**
 * Allocation-free header decoder: reads the link layer (Ethernet / 802.1Q, Linux cooked v1 and v2,
 * raw IP, BSD null / loopback, PPP, Cisco HDLC), then IPv4 or IPv6 (walking a bounded
 * extension-header chain), then TCP or UDP ports and flags, by offset.
 *
 * Every length is checked against the captured bytes; a packet that lies about its lengths
 * is decoded only as far as it is consistent, never read out of bounds.
 * Returns true when an IP header was read (out.ipVersion is then 4 or 6).
 * src/capture/link-types.ts lists the link types handled here.
 */
export function referenceDecodePacket(
  buf: Buffer,
  start: number,
  caplen: number,
  linkType: number,
  out: DecodedPacket,
): boolean {
  out.reset();
  out.buf = buf;
  const end = Math.min(start + caplen, buf.length);
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (end < start + 14) return false;
      return decodeTagged(buf, buf.readUInt16BE(start + 12), start + 14, end, out);
    case LINKTYPE_LINUX_SLL:
      // packet type, ARPHRD type, address length, 8 address bytes, protocol.
      if (end < start + 16 || !cookedProtocolIsEtherType(buf.readUInt16BE(start + 2))) return false;
      return decodeTagged(buf, buf.readUInt16BE(start + 14), start + 16, end, out);
    case LINKTYPE_LINUX_SLL2:
      // protocol, reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes.
      if (end < start + 20 || !cookedProtocolIsEtherType(buf.readUInt16BE(start + 8))) return false;
      return decodeTagged(buf, buf.readUInt16BE(start), start + 20, end, out);
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_DLT12:
    case LINKTYPE_RAW_DLT14:
      if (end < start + 1) return false;
      return buf[start]! >> 4 === 4 ? decodeIpv4(buf, start, end, out) : decodeIpv6(buf, start, end, out);
    case LINKTYPE_IPV4:
      return decodeIpv4(buf, start, end, out);
    case LINKTYPE_IPV6:
      return decodeIpv6(buf, start, end, out);
    case LINKTYPE_NULL: {
      if (end < start + 4) return false;
      // Host byte order of the machine that wrote it: families are below 256, so whichever
      // order puts the value in the low byte is the right one.
      const le = buf.readUInt32LE(start);
      return decodeFamily(buf, le <= 0xff ? le : buf.readUInt32BE(start), start + 4, end, out);
    }
    case LINKTYPE_LOOP:
      if (end < start + 4) return false;
      return decodeFamily(buf, buf.readUInt32BE(start), start + 4, end, out);
    case LINKTYPE_PPP:
      return decodePpp(buf, start, end, out, false);
    case LINKTYPE_PPP_HDLC:
      return decodePppHdlc(buf, start, end, out);
    default:
      return false;
  }
}

/** In Linux cooked captures, the protocol field is an EtherType except for a few device types. */
function cookedProtocolIsEtherType(arphrd: number): boolean {
  return arphrd !== ARPHRD_NETLINK && arphrd !== ARPHRD_IEEE80211_RADIOTAP && arphrd !== ARPHRD_FRAD;
}

/** An EtherType at the end of a link header, with up to two VLAN tags (802.1Q, 802.1ad / QinQ) after it. */
function decodeTagged(buf: Buffer, etherType: number, off: number, end: number, out: DecodedPacket): boolean {
  let type = etherType;
  let p = off;
  for (let tags = 0; tags < 2 && (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ); tags++) {
    if (end < p + 4) return false;
    if (out.vlan < 0) out.vlan = buf.readUInt16BE(p) & 0x0fff;
    type = buf.readUInt16BE(p + 2);
    p += 4;
  }
  return decodeEtherType(buf, type, p, end, out);
}

function decodeEtherType(
  buf: Buffer,
  etherType: number,
  off: number,
  end: number,
  out: DecodedPacket,
): boolean {
  if (etherType === ETHERTYPE_IPV4) return decodeIpv4(buf, off, end, out);
  if (etherType === ETHERTYPE_IPV6) return decodeIpv6(buf, off, end, out);
  return false;
}

function decodeFamily(buf: Buffer, family: number, off: number, end: number, out: DecodedPacket): boolean {
  if (family === BSD_AF_INET) return decodeIpv4(buf, off, end, out);
  if (family === BSD_AF_INET6_BSD || family === BSD_AF_INET6_FREEBSD || family === BSD_AF_INET6_DARWIN) {
    return decodeIpv6(buf, off, end, out);
  }
  return false;
}

/**
 * PPP: the RFC 1662 address and control bytes (0xff 0x03), required when `framed`, optional
 * otherwise (address/control compression), then the protocol: one byte when compressed
 * (RFC 1661 6.5: it is odd), else two (the first is even).
 */
function decodePpp(buf: Buffer, start: number, end: number, out: DecodedPacket, framed: boolean): boolean {
  let off = start;
  if (end >= off + 2 && buf[off] === 0xff && buf[off + 1] === 0x03) off += 2;
  else if (framed) return false;
  if (end < off + 1) return false;
  let protocol = buf[off]!;
  if ((protocol & 1) === 0) {
    if (end < off + 2) return false;
    protocol = buf.readUInt16BE(off);
    off += 2;
  } else {
    off += 1;
  }
  if (protocol === PPP_IPV4) return decodeIpv4(buf, off, end, out);
  if (protocol === PPP_IPV6) return decodeIpv6(buf, off, end, out);
  return false;
}

/** LINKTYPE_PPP_HDLC: PPP in HDLC-like framing, or Cisco HDLC (address 0x0f / 0x8f, control 0, EtherType). */
function decodePppHdlc(buf: Buffer, start: number, end: number, out: DecodedPacket): boolean {
  if (end < start + 1) return false;
  const address = buf[start]!;
  if (address === 0xff) return decodePpp(buf, start, end, out, true);
  if (address !== 0x0f && address !== 0x8f) return false;
  if (end < start + 4 || buf[start + 1] !== 0) return false;
  return decodeEtherType(buf, buf.readUInt16BE(start + 2), start + 4, end, out);
}

function decodeIpv4(buf: Buffer, off: number, end: number, out: DecodedPacket): boolean {
  if (end < off + 20) return false;
  const vihl = buf[off]!;
  if (vihl >> 4 !== 4) return false;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20 || end < off + ihl) return false;
  const totalLength = buf.readUInt16BE(off + 2);
  // A total length that claims less than the header is a lie: stop at the IP layer.
  if (totalLength < ihl) return false;
  out.ipVersion = 4;
  out.proto = buf[off + 9]!;
  out.src[3] = buf.readUInt32BE(off + 12);
  out.dst[3] = buf.readUInt32BE(off + 16);
  const fragField = buf.readUInt16BE(off + 6);
  // Non-first fragments carry no transport header.
  if ((fragField & IPV4_FRAGMENT_OFFSET) !== 0) {
    out.fragment = true;
    return true;
  }
  const l4End = Math.min(end, off + totalLength);
  decodeTransport(buf, off + ihl, l4End, out);
  if ((fragField & IPV4_MORE_FRAGMENTS) !== 0) withholdPartialPayload(out);
  return true;
}

const IPV4_FRAGMENT_OFFSET = 0x1fff;
const IPV4_MORE_FRAGMENTS = 0x2000;
const IPV6_MORE_FRAGMENTS = 0x0001;

/**
 * A first fragment carries the ports but only the start of the payload: a DNS answer in it is cut
 * short, which its parser would count as malformed. No payload is given, so nothing parses half a
 * message (the flow is still tracked from the ports); the fragments are not reassembled.
 */
function withholdPartialPayload(out: DecodedPacket): void {
  out.payloadLength = 0;
}

const MAX_IPV6_EXT_HEADERS = 8;

function decodeIpv6(buf: Buffer, off: number, end: number, out: DecodedPacket): boolean {
  if (end < off + 40) return false;
  if (buf[off]! >> 4 !== 6) return false;
  const payloadLength = buf.readUInt16BE(off + 4);
  let next = buf[off + 6]!;
  for (let i = 0; i < 4; i++) {
    out.src[i] = buf.readUInt32BE(off + 8 + 4 * i);
    out.dst[i] = buf.readUInt32BE(off + 24 + 4 * i);
  }
  out.ipVersion = 6;
  // Jumbograms (payload length 0) are not on Docker bridges: take what was captured.
  const l4End = payloadLength === 0 ? end : Math.min(end, off + 40 + payloadLength);
  let p = off + 40;
  let firstOfFragments = false;
  for (let hops = 0; hops <= MAX_IPV6_EXT_HEADERS; hops++) {
    if (next === 0 || next === 43 || next === 60) {
      // Hop-by-hop, routing, destination options: length in 8-octet units, not counting the first 8.
      if (l4End < p + 2) break;
      next = buf[p]!;
      p += (buf[p + 1]! + 1) * 8;
      continue;
    }
    if (next === 44) {
      // Fragment header: only the first fragment carries the transport header.
      if (l4End < p + 8) break;
      const fragField = buf.readUInt16BE(p + 2);
      next = buf[p]!;
      p += 8;
      if (fragField >> 3 !== 0) {
        out.proto = next;
        out.fragment = true;
        return true;
      }
      // Offset 0 without "more fragments" is an atomic fragment (RFC 6946): the whole datagram.
      if ((fragField & IPV6_MORE_FRAGMENTS) !== 0) firstOfFragments = true;
      continue;
    }
    if (next === 51) {
      // Authentication header: length in 4-octet units, minus 2.
      if (l4End < p + 2) break;
      next = buf[p]!;
      p += (buf[p + 1]! + 2) * 4;
      continue;
    }
    out.proto = next;
    decodeTransport(buf, p, l4End, out);
    if (firstOfFragments) withholdPartialPayload(out);
    return true;
  }
  // Chain too long or truncated: the IP layer is known, the transport is not.
  out.proto = 0;
  return true;
}

function decodeTransport(buf: Buffer, off: number, end: number, out: DecodedPacket): void {
  const proto = out.proto;
  if (proto === PROTO_TCP) {
    if (end < off + 14) {
      out.proto = 0; // too short to hold ports and flags: treat as unknown
      return;
    }
    out.srcPort = buf.readUInt16BE(off);
    out.dstPort = buf.readUInt16BE(off + 2);
    out.tcpFlags = buf[off + 13]!;
    out.tcpSeq = buf.readUInt32BE(off + 4);
    const dataOff = (buf[off + 12]! >> 4) * 4;
    if (dataOff >= 20 && off + dataOff <= end) {
      out.payloadOffset = off + dataOff;
      out.payloadLength = end - off - dataOff;
    }
  } else if (proto === PROTO_UDP) {
    if (end < off + 8) {
      out.proto = 0;
      return;
    }
    out.srcPort = buf.readUInt16BE(off);
    out.dstPort = buf.readUInt16BE(off + 2);
    const udpLen = buf.readUInt16BE(off + 4);
    const avail = end - off;
    const declared = udpLen >= 8 ? udpLen : avail;
    out.payloadOffset = off + 8;
    out.payloadLength = Math.min(declared, avail) - 8;
  }
}

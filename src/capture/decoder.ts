import {
  type DecodedPacket,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  PROTO_TCP,
  PROTO_UDP,
} from "./packet.js";

/**
 * Allocation-free header decoder: reads Ethernet / 802.1Q / Linux SLL / raw IP, then IPv4 or
 * IPv6 (walking a bounded extension-header chain), then TCP or UDP ports and flags, by offset.
 *
 * Every length is checked against the captured bytes; a packet that lies about its lengths
 * is decoded only as far as it is consistent, never read out of bounds.
 * Returns true when an IP header was read (out.ipVersion is then 4 or 6).
 */
export function decodePacket(
  buf: Buffer,
  start: number,
  caplen: number,
  linkType: number,
  out: DecodedPacket,
): boolean {
  out.reset();
  out.buf = buf;
  const end = Math.min(start + caplen, buf.length);
  let off: number;
  let etherType: number;
  if (linkType === LINKTYPE_ETHERNET) {
    if (end < start + 14) return false;
    etherType = buf.readUInt16BE(start + 12);
    off = start + 14;
    // Up to two VLAN tags (802.1Q, 802.1ad / QinQ).
    for (let tags = 0; tags < 2 && (etherType === 0x8100 || etherType === 0x88a8); tags++) {
      if (end < off + 4) return false;
      if (out.vlan < 0) out.vlan = buf.readUInt16BE(off) & 0x0fff;
      etherType = buf.readUInt16BE(off + 2);
      off += 4;
    }
  } else if (linkType === LINKTYPE_LINUX_SLL) {
    if (end < start + 16) return false;
    etherType = buf.readUInt16BE(start + 14);
    off = start + 16;
  } else if (linkType === LINKTYPE_RAW) {
    if (end < start + 1) return false;
    const v = buf[start]! >> 4;
    etherType = v === 4 ? 0x0800 : v === 6 ? 0x86dd : 0;
    off = start;
  } else {
    return false;
  }
  if (etherType === 0x0800) return decodeIpv4(buf, off, end, out);
  if (etherType === 0x86dd) return decodeIpv6(buf, off, end, out);
  return false;
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
  // Non-first fragments carry no transport header.
  if ((buf.readUInt16BE(off + 6) & 0x1fff) !== 0) return true;
  const l4End = Math.min(end, off + totalLength);
  decodeTransport(buf, off + ihl, l4End, out);
  return true;
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
      const fragOffset = buf.readUInt16BE(p + 2) >> 3;
      next = buf[p]!;
      p += 8;
      if (fragOffset !== 0) {
        out.proto = next;
        return true;
      }
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

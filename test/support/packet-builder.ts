/**
 * Builds real wire bytes for tests and fixtures: Ethernet (with 802.1Q / 802.1ad tags), Linux SLL
 * v1 and v2, BSD null / loopback, PPP, Cisco HDLC (any of them around an IP packet: linkLayer),
 * IPv4 (with options and fragments), IPv6 (with an extension-header chain), TCP and UDP.
 *
 * Lengths are always right unless an override asks for a lie. Checksums:
 * - IPv4 header checksum: always computed (unless `headerChecksum` overrides it).
 * - TCP and UDP checksums: computed over the RFC 793 / RFC 8200 pseudo-header when the builder is
 *   given `pseudo: {src, dst}`, otherwise left 0. `tcpPacket` / `udpPacket` always compute them.
 *
 * The address parser here is deliberately independent of src/net/ip-format.ts, so the tests of
 * that module and of the decoder do not check the code against itself.
 */

import {
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
} from "../../src/capture/packet.js";

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;
/** BSD address families (AF_INET6 is 24 on NetBSD/OpenBSD, 28 on FreeBSD, 30 on macOS). */
const AF_INET = 2;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;
/** PPP protocol numbers for IPv4 and IPv6. */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const ARPHRD_ETHER = 1;

/** Parses dotted-quad IPv4 or any RFC 4291 IPv6 text (incl. "::" and an IPv4 tail) to 4 or 16 bytes. */
export function ipBytes(text: string): Buffer {
  if (!text.includes(":")) {
    const parts = text.split(".");
    if (parts.length !== 4) throw new Error(`bad IPv4 address ${text}`);
    return Buffer.from(
      parts.map((p) => {
        const n = Number(p);
        if (!/^\d{1,3}$/.test(p) || n > 255) throw new Error(`bad IPv4 address ${text}`);
        return n;
      }),
    );
  }
  let body = text;
  const groups: number[] = [];
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(":");
  if (body.slice(lastColon + 1).includes(".")) {
    const v4 = ipBytes(body.slice(lastColon + 1));
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    body = body.slice(0, lastColon + 1);
    if (body.endsWith(":") && !body.endsWith("::")) body = body.slice(0, -1);
  }
  const parseGroups = (s: string): number[] =>
    s === ""
      ? []
      : s.split(":").map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`bad IPv6 address ${text}`);
          return Number.parseInt(g, 16);
        });
  const halves = body.split("::");
  if (halves.length > 2) throw new Error(`bad IPv6 address ${text}`);
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? [...parseGroups(halves[1]!), ...tail] : [];
  if (halves.length === 1) head.push(...tail);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) throw new Error(`bad IPv6 address ${text}`);
  groups.push(...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(g, 2 * i);
  });
  return out;
}

/** 4 or 6, from the address text. */
export function ipFamily(text: string): 4 | 6 {
  return text.includes(":") ? 6 : 4;
}

/** "02:42:ac:11:00:02" (or with dashes) to 6 bytes. */
export function macBytes(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`bad MAC address ${text}`);
  }
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

/** RFC 1071 Internet checksum (ones' complement of the ones' complement sum) over the buffers, in order. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd: number | null = null;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const byte = part[i]!;
      if (odd === null) {
        odd = byte;
      } else {
        sum += (odd << 8) | byte;
        odd = null;
      }
    }
  }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoHeader(src: string, dst: string, proto: number, length: number): Buffer {
  const s = ipBytes(src);
  const d = ipBytes(dst);
  if (s.length !== d.length) throw new Error(`address families differ: ${src} / ${dst}`);
  if (s.length === 4) {
    const tail = Buffer.alloc(4);
    tail[1] = proto;
    tail.writeUInt16BE(length, 2);
    return Buffer.concat([s, d, tail]);
  }
  const tail = Buffer.alloc(8);
  tail.writeUInt32BE(length, 0);
  tail[7] = proto;
  return Buffer.concat([s, d, tail]);
}

export interface EthernetOptions {
  src?: string;
  dst?: string;
  /**
   * One tag (802.1Q) or several, outermost first. Each value is the 16-bit TCI: the VLAN id, with
   * PCP/DEI bits above bit 12 if wanted.
   */
  vlan?: number | number[];
  /**
   * TPIDs for the tags, outermost first. Default: a single tag is 0x8100; with two or more tags
   * the outermost is 0x88a8 (802.1ad) and the inner ones 0x8100.
   */
  tpids?: number[];
  etherType: number;
  payload: Buffer;
}

export function ethernet(o: EthernetOptions): Buffer {
  const tags = o.vlan === undefined ? [] : Array.isArray(o.vlan) ? o.vlan : [o.vlan];
  const head = Buffer.alloc(14 + 4 * tags.length);
  macBytes(o.dst ?? "02:42:ac:11:00:01").copy(head, 0);
  macBytes(o.src ?? "02:42:ac:11:00:02").copy(head, 6);
  let off = 12;
  tags.forEach((tci, i) => {
    const tpid = o.tpids?.[i] ?? (tags.length > 1 && i === 0 ? TPID_8021AD : TPID_8021Q);
    head.writeUInt16BE(tpid, off);
    head.writeUInt16BE(tci & 0xffff, off + 2);
    off += 4;
  });
  head.writeUInt16BE(o.etherType, off);
  return Buffer.concat([head, o.payload]);
}

export interface SllOptions {
  /** The protocol field: an EtherType for most device types. */
  etherType: number;
  payload: Buffer;
  /** 0 = to us, 4 = sent by us (default). */
  packetType?: number;
  /** Link-layer address (up to 8 bytes); default a MAC. */
  addr?: Buffer;
  /** Linux ARPHRD_ device type; default 1 (ARPHRD_ETHER). */
  arphrd?: number;
}

/** Linux "cooked" capture header (LINKTYPE_LINUX_SLL, 16 bytes) followed by the payload. */
export function linuxSll(o: SllOptions): Buffer {
  const head = Buffer.alloc(16);
  const addr = o.addr ?? macBytes("02:42:ac:11:00:02");
  head.writeUInt16BE(o.packetType ?? 4, 0);
  head.writeUInt16BE(o.arphrd ?? ARPHRD_ETHER, 2);
  head.writeUInt16BE(addr.length, 4);
  addr.copy(head, 6, 0, Math.min(8, addr.length));
  head.writeUInt16BE(o.etherType, 14);
  return Buffer.concat([head, o.payload]);
}

export interface Sll2Options extends SllOptions {
  /** Interface index of the capturing device (`tcpdump -i any` records it); default 2. */
  ifindex?: number;
}

/** Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2, 20 bytes) followed by the payload. */
export function linuxSll2(o: Sll2Options): Buffer {
  const head = Buffer.alloc(20);
  const addr = o.addr ?? macBytes("02:42:ac:11:00:02");
  head.writeUInt16BE(o.etherType, 0);
  // 2..3 reserved, must be zero
  head.writeUInt32BE((o.ifindex ?? 2) >>> 0, 4);
  head.writeUInt16BE(o.arphrd ?? ARPHRD_ETHER, 8);
  head[10] = o.packetType ?? 4;
  head[11] = Math.min(255, addr.length);
  addr.copy(head, 12, 0, Math.min(8, addr.length));
  return Buffer.concat([head, o.payload]);
}

export interface BsdLoopbackOptions {
  /** Address family: 2 for IPv4, 24 / 28 / 30 for IPv6. */
  family: number;
  payload: Buffer;
  /** LINKTYPE_NULL uses the capturing host's order (default "le", as on x86); LINKTYPE_LOOP uses "be". */
  byteOrder?: "le" | "be";
}

/** BSD loopback header (LINKTYPE_NULL / LINKTYPE_LOOP: a 4-byte address family) followed by the payload. */
export function bsdLoopback(o: BsdLoopbackOptions): Buffer {
  const head = Buffer.alloc(4);
  if (o.byteOrder === "be") head.writeUInt32BE(o.family >>> 0, 0);
  else head.writeUInt32LE(o.family >>> 0, 0);
  return Buffer.concat([head, o.payload]);
}

export interface PppOptions {
  /** PPP protocol: 0x0021 IPv4, 0x0057 IPv6, or another. */
  protocol: number;
  payload: Buffer;
  /** Write the RFC 1662 address and control bytes 0xff 0x03 first (default true). */
  addressControl?: boolean;
  /** Protocol-field compression: the protocol in one byte (it must be below 0x100). */
  compressProtocol?: boolean;
}

/** A PPP frame (LINKTYPE_PPP, or LINKTYPE_PPP_HDLC with the address/control bytes). */
export function ppp(o: PppOptions): Buffer {
  const ac = (o.addressControl ?? true) ? Buffer.from([0xff, 0x03]) : Buffer.alloc(0);
  let proto: Buffer;
  if (o.compressProtocol) {
    if (o.protocol > 0xff) throw new Error(`PPP protocol 0x${o.protocol.toString(16)} cannot be compressed`);
    proto = Buffer.from([o.protocol]);
  } else {
    proto = Buffer.alloc(2);
    proto.writeUInt16BE(o.protocol & 0xffff, 0);
  }
  return Buffer.concat([ac, proto, o.payload]);
}

/** A Cisco HDLC frame (in LINKTYPE_PPP_HDLC captures): address 0x0f (unicast) or 0x8f, control 0, EtherType. */
export function ciscoHdlc(o: { etherType: number; payload: Buffer; address?: number }): Buffer {
  const head = Buffer.alloc(4);
  head[0] = o.address ?? 0x0f;
  head.writeUInt16BE(o.etherType, 2);
  return Buffer.concat([head, o.payload]);
}

export interface LinkLayerOptions {
  /** Ethernet source MAC, and the sender address in Linux cooked headers. */
  srcMac?: string;
  dstMac?: string;
  /** IPv6 address family for LINKTYPE_NULL / LINKTYPE_LOOP; default 24. */
  inet6Family?: 24 | 28 | 30;
}

/** The IPv6 address families a BSD loopback header may carry. */
export const BSD_INET6_FAMILIES = [AF_INET6_BSD, AF_INET6_FREEBSD, AF_INET6_DARWIN] as const;

/**
 * An IP packet (IPv4 or IPv6, from its version nibble) in the link-layer header of `linkType`, as a
 * capture of that type holds it. LINKTYPE_IPV4 / LINKTYPE_IPV6 and the raw types add nothing.
 */
export function linkLayer(linkType: number, ip: Buffer, o: LinkLayerOptions = {}): Buffer {
  const v6 = ip.length > 0 && ip[0]! >> 4 === 6;
  const etherType = v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  const addr = o.srcMac === undefined ? undefined : macBytes(o.srcMac);
  const family = v6 ? (o.inet6Family ?? AF_INET6_BSD) : AF_INET;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return ethernet({ src: o.srcMac, dst: o.dstMac, etherType, payload: ip });
    case LINKTYPE_LINUX_SLL:
      return linuxSll({ etherType, payload: ip, addr });
    case LINKTYPE_LINUX_SLL2:
      return linuxSll2({ etherType, payload: ip, addr });
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_DLT12:
    case LINKTYPE_RAW_DLT14:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return ip;
    case LINKTYPE_NULL:
      return bsdLoopback({ family, payload: ip, byteOrder: "le" });
    case LINKTYPE_LOOP:
      return bsdLoopback({ family, payload: ip, byteOrder: "be" });
    case LINKTYPE_PPP:
    case LINKTYPE_PPP_HDLC:
      return ppp({ protocol: v6 ? PPP_IPV6 : PPP_IPV4, payload: ip });
    default:
      throw new Error(`linkLayer: no builder for link type ${linkType}`);
  }
}

/**
 * An untagged Ethernet frame re-written for `linkType`: the same IP packet, the source MAC kept as
 * the cooked header's sender address. Ethernet gives the frame itself back.
 */
export function relinkEthernet(frame: Buffer, linkType: number): Buffer {
  if (linkType === LINKTYPE_ETHERNET) return frame;
  if (frame.length < 14) throw new Error("relinkEthernet: shorter than an Ethernet header");
  const type = frame.readUInt16BE(12);
  if (type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6) {
    throw new Error(`relinkEthernet: EtherType 0x${type.toString(16)} is not untagged IP`);
  }
  const srcMac = [...frame.subarray(6, 12)].map((b) => b.toString(16).padStart(2, "0")).join(":");
  return linkLayer(linkType, frame.subarray(14), { srcMac });
}

export interface Ipv4Options {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  ttl?: number;
  id?: number;
  /** Fragment offset in 8-octet units, as on the wire (13 bits). */
  fragOffset?: number;
  moreFragments?: boolean;
  dontFragment?: boolean;
  /** IP options; padded with zeros (end of options) to a multiple of 4 bytes. IHL follows. */
  options?: Buffer;
  /** Overrides the total-length field (to build a lying packet). */
  totalLength?: number;
  /** Overrides the IHL nibble (in 32-bit words) without changing the bytes written. */
  ihl?: number;
}

export function ipv4(o: Ipv4Options): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const optLen = (opts.length + 3) & ~3;
  const hlen = 20 + optLen;
  if (hlen > 60) throw new Error("IPv4 options longer than 40 bytes");
  const h = Buffer.alloc(hlen);
  h[0] = 0x40 | ((o.ihl ?? hlen / 4) & 0x0f);
  h[1] = 0;
  h.writeUInt16BE((o.totalLength ?? hlen + o.payload.length) & 0xffff, 2);
  h.writeUInt16BE((o.id ?? 0x1234) & 0xffff, 4);
  const flags = (o.dontFragment ? 0x4000 : 0) | (o.moreFragments ? 0x2000 : 0);
  h.writeUInt16BE(flags | ((o.fragOffset ?? 0) & 0x1fff), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  const src = ipBytes(o.src);
  const dst = ipBytes(o.dst);
  if (src.length !== 4 || dst.length !== 4) throw new Error(`not IPv4: ${o.src} / ${o.dst}`);
  src.copy(h, 12);
  dst.copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(internetChecksum(h), 10);
  return Buffer.concat([h, o.payload]);
}

export interface Ipv6ExtHeader {
  /** Header type: 0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options, ... */
  type: number;
  /**
   * The header's bytes after its first two (next header, length). Padded with zeros to the size
   * the type requires: 8-octet multiples (min 8 in all) for 0/43/60 and other types, 4-octet
   * multiples for AH (51, min 12), exactly 8 in all for a fragment header (44).
   */
  bytes?: Buffer;
}

export interface Ipv6Options {
  src: string;
  dst: string;
  /** Protocol of the payload (after the last extension header). */
  nextHeader: number;
  payload: Buffer;
  /** Extension headers in wire order, first after the fixed header. */
  extHeaders?: Ipv6ExtHeader[];
  hopLimit?: number;
  flowLabel?: number;
  /** Overrides the payload-length field. */
  payloadLength?: number;
}

/** The body of a fragment extension header (offset in 8-octet units). */
export function fragmentExt(o: { offset: number; more: boolean; id?: number }): Ipv6ExtHeader {
  const bytes = Buffer.alloc(6);
  bytes.writeUInt16BE(((o.offset & 0x1fff) << 3) | (o.more ? 1 : 0), 0);
  bytes.writeUInt32BE((o.id ?? 0xabcdef) >>> 0, 2);
  return { type: 44, bytes };
}

function extHeaderBytes(h: Ipv6ExtHeader, next: number): Buffer {
  const body = h.bytes ?? Buffer.alloc(0);
  let total: number;
  let lenField: number;
  if (h.type === 44) {
    if (body.length > 6) throw new Error("fragment header body is 6 bytes");
    total = 8;
    lenField = 0;
  } else if (h.type === 51) {
    total = Math.max(12, (2 + body.length + 3) & ~3);
    lenField = total / 4 - 2;
  } else {
    total = Math.max(8, (2 + body.length + 7) & ~7);
    lenField = total / 8 - 1;
  }
  const out = Buffer.alloc(total);
  out[0] = next;
  out[1] = lenField;
  body.copy(out, 2);
  return out;
}

export function ipv6(o: Ipv6Options): Buffer {
  const exts = o.extHeaders ?? [];
  const extBufs = exts.map((h, i) => extHeaderBytes(h, exts[i + 1]?.type ?? o.nextHeader));
  const body = Buffer.concat([...extBufs, o.payload]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
  h.writeUInt16BE((o.payloadLength ?? body.length) & 0xffff, 4);
  h[6] = exts[0]?.type ?? o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  const src = ipBytes(o.src);
  const dst = ipBytes(o.dst);
  if (src.length !== 16 || dst.length !== 16) throw new Error(`not IPv6: ${o.src} / ${o.dst}`);
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, body]);
}

export interface TcpOptions {
  srcPort: number;
  dstPort: number;
  /** Flags byte: TCP_SYN | TCP_ACK etc. from src/capture/packet.ts. */
  flags: number;
  seq?: number;
  ack?: number;
  window?: number;
  payload?: Buffer;
  /** TCP options, padded with zeros to a multiple of 4 bytes; the data offset follows. */
  options?: Buffer;
  /** Overrides the data-offset nibble (in 32-bit words) without changing the bytes written. */
  dataOffset?: number;
  /** When given, the checksum is computed over this pseudo-header; otherwise it is 0. */
  pseudo?: { src: string; dst: string };
}

export function tcp(o: TcpOptions): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const hlen = 20 + ((opts.length + 3) & ~3);
  const payload = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(hlen);
  h.writeUInt16BE(o.srcPort, 0);
  h.writeUInt16BE(o.dstPort, 2);
  h.writeUInt32BE((o.seq ?? 1000) >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  h[12] = ((o.dataOffset ?? hlen / 4) & 0x0f) << 4;
  h[13] = o.flags & 0xff;
  h.writeUInt16BE(o.window ?? 64240, 14);
  opts.copy(h, 20);
  const seg = Buffer.concat([h, payload]);
  if (o.pseudo) {
    seg.writeUInt16BE(internetChecksum(pseudoHeader(o.pseudo.src, o.pseudo.dst, 6, seg.length), seg), 16);
  }
  return seg;
}

export interface UdpOptions {
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  /** Overrides the length field (to build a lying datagram). */
  length?: number;
  /** When given, the checksum is computed over this pseudo-header; otherwise it is 0 ("none"). */
  pseudo?: { src: string; dst: string };
}

export function udp(o: UdpOptions): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.srcPort, 0);
  h.writeUInt16BE(o.dstPort, 2);
  h.writeUInt16BE((o.length ?? 8 + o.payload.length) & 0xffff, 4);
  const seg = Buffer.concat([h, o.payload]);
  if (o.pseudo) {
    const sum = internetChecksum(pseudoHeader(o.pseudo.src, o.pseudo.dst, 17, seg.length), seg);
    seg.writeUInt16BE(sum === 0 ? 0xffff : sum, 6); // 0 means "no checksum" in UDP
  }
  return seg;
}

/** An IPv4 or IPv6 packet (picked from the address text) around a transport segment. */
export function ipPacket(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  return ipFamily(src) === 4
    ? ipv4({ src, dst, proto, payload })
    : ipv6({ src, dst, nextHeader: proto, payload });
}

export interface PacketOptions {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  vlan?: number | number[];
  srcMac?: string;
  dstMac?: string;
}

export interface TcpPacketOptions extends PacketOptions {
  flags: number;
  seq?: number;
  ack?: number;
  payload?: Buffer;
}

export interface UdpPacketOptions extends PacketOptions {
  payload: Buffer;
}

/** Ethernet frame carrying TCP over IPv4 or IPv6 (from the address text), with valid checksums. */
export function tcpPacket(o: TcpPacketOptions): Buffer {
  const seg = tcp({
    srcPort: o.srcPort,
    dstPort: o.dstPort,
    flags: o.flags,
    seq: o.seq,
    ack: o.ack,
    payload: o.payload,
    pseudo: { src: o.src, dst: o.dst },
  });
  return frame(o, ipPacket(o.src, o.dst, 6, seg));
}

/** Ethernet frame carrying UDP over IPv4 or IPv6 (from the address text), with valid checksums. */
export function udpPacket(o: UdpPacketOptions): Buffer {
  const seg = udp({
    srcPort: o.srcPort,
    dstPort: o.dstPort,
    payload: o.payload,
    pseudo: { src: o.src, dst: o.dst },
  });
  return frame(o, ipPacket(o.src, o.dst, 17, seg));
}

function frame(o: PacketOptions, ip: Buffer): Buffer {
  return ethernet({
    src: o.srcMac,
    dst: o.dstMac,
    vlan: o.vlan,
    etherType: ipFamily(o.src) === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6,
    payload: ip,
  });
}

export { AF_INET, ETHERTYPE_IPV4, ETHERTYPE_IPV6, PPP_IPV4, PPP_IPV6, TPID_8021AD, TPID_8021Q };

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../src/capture/decoder.js";
import { DECODABLE_LINK_TYPES } from "../../src/capture/link-types.js";
import {
  DecodedPacket,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from "../../src/capture/packet.js";
import { ipToWords, normalizeIp, wordsToIp } from "../../src/net/ip-format.js";
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethernet,
  fragmentExt,
  internetChecksum,
  ipv4,
  ipv6,
  linuxSll,
  tcp,
  tcpPacket,
  udp,
  udpPacket,
} from "../support/packet-builder.js";

interface Decoded {
  ok: boolean;
  ipVersion: number;
  proto: number;
  src: number[];
  dst: number[];
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  vlan: number;
  payloadOffset: number;
  payloadLength: number;
}

function snapshot(ok: boolean, out: DecodedPacket): Decoded {
  return {
    ok,
    ipVersion: out.ipVersion,
    proto: out.proto,
    src: [...out.src],
    dst: [...out.dst],
    srcPort: out.srcPort,
    dstPort: out.dstPort,
    tcpFlags: out.tcpFlags,
    vlan: out.vlan,
    payloadOffset: out.payloadOffset,
    payloadLength: out.payloadLength,
  };
}

function decode(buf: Buffer, linkType = LINKTYPE_ETHERNET, start = 0, caplen = buf.length - start): Decoded {
  const out = new DecodedPacket();
  const ok = decodePacket(buf, start, caplen, linkType, out);
  expect(out.buf).toBe(buf);
  return snapshot(ok, out);
}

const NOTHING: Omit<Decoded, "vlan"> = {
  ok: false,
  ipVersion: 0,
  proto: 0,
  src: [0, 0, 0, 0],
  dst: [0, 0, 0, 0],
  srcPort: 0,
  dstPort: 0,
  tcpFlags: 0,
  payloadOffset: 0,
  payloadLength: 0,
};

function v4(ip: string): number[] {
  const w = new Uint32Array(4);
  expect(ipToWords(ip, w)).toBe(4);
  return [...w];
}

function v6(ip: string): number[] {
  const w = new Uint32Array(4);
  expect(ipToWords(ip, w)).toBe(6);
  return [...w];
}

/** Ones'-complement sum over the packet plus pseudo-header is 0xffff, i.e. the checksum of it all is 0. */
function checksumOk(...parts: Buffer[]): boolean {
  return internetChecksum(...parts) === 0;
}

describe("packet-builder self-check", () => {
  it("IPv4 header checksum verifies and TCP/UDP checksums verify over the pseudo-header", () => {
    const f = tcpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 1,
      dstPort: 2,
      flags: TCP_SYN,
      payload: Buffer.from("abc"),
    });
    const ip = f.subarray(14);
    expect(checksumOk(ip.subarray(0, 20))).toBe(true);
    const pseudo = Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 23]);
    expect(checksumOk(pseudo, ip.subarray(20))).toBe(true);

    const u = udpPacket({
      src: "fd00::1",
      dst: "fd00::2",
      srcPort: 53,
      dstPort: 5353,
      payload: Buffer.from("x"),
    });
    const ip6 = u.subarray(14);
    const pseudo6 = Buffer.concat([ip6.subarray(8, 40), Buffer.from([0, 0, 0, 9, 0, 0, 0, 17])]);
    expect(checksumOk(pseudo6, ip6.subarray(40))).toBe(true);
    expect(ip6.readUInt16BE(40 + 6)).not.toBe(0);
  });

  it("writes the lengths and the IPv6 extension chain as on the wire", () => {
    const p = ipv6({
      src: "::1",
      dst: "::ffff:192.0.2.1",
      nextHeader: PROTO_UDP,
      payload: Buffer.alloc(8),
      extHeaders: [
        { type: 0 },
        { type: 60, bytes: Buffer.alloc(10) },
        fragmentExt({ offset: 3, more: true }),
      ],
    });
    expect(p.length).toBe(40 + 8 + 16 + 8 + 8);
    expect(p.readUInt16BE(4)).toBe(40);
    expect(p[6]).toBe(0);
    expect([p[40], p[41]]).toEqual([60, 0]);
    expect([p[48], p[49]]).toEqual([44, 1]);
    expect(p[64]).toBe(PROTO_UDP);
    expect(p.readUInt16BE(66)).toBe((3 << 3) | 1);
    expect([...p.subarray(24, 40)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
  });
});

describe("decodePacket: well-formed packets", () => {
  it("IPv4 TCP SYN: addresses, ports, flags; ts and wireLength untouched", () => {
    const f = tcpPacket({ src: "172.17.0.2", dst: "10.1.2.3", srcPort: 40000, dstPort: 443, flags: TCP_SYN });
    const out = new DecodedPacket();
    out.ts = 1700000000123.5;
    out.wireLength = 1514;
    expect(decodePacket(f, 0, f.length, LINKTYPE_ETHERNET, out)).toBe(true);
    expect(out.ts).toBe(1700000000123.5);
    expect(out.wireLength).toBe(1514);
    expect(snapshot(true, out)).toEqual({
      ok: true,
      ipVersion: 4,
      proto: PROTO_TCP,
      src: [0, 0, 0, 0xac110002],
      dst: [0, 0, 0, 0x0a010203],
      srcPort: 40000,
      dstPort: 443,
      tcpFlags: TCP_SYN,
      vlan: -1,
      payloadOffset: 54,
      payloadLength: 0,
    });
    expect(wordsToIp(out.src, 4)).toBe("172.17.0.2");
    expect(wordsToIp(out.dst, 4)).toBe("10.1.2.3");
  });

  it("keeps every TCP flag bit and the TCP payload position", () => {
    const flags = TCP_FIN | TCP_RST | TCP_PSH | TCP_ACK | 0x20 | 0x40 | 0x80;
    const payload = Buffer.from("GET / HTTP/1.1\r\n");
    const f = tcpPacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 80, flags, payload });
    const d = decode(f);
    expect(d.tcpFlags).toBe(0xfd);
    expect(d.payloadOffset).toBe(54);
    expect(d.payloadLength).toBe(payload.length);
    expect(f.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength).toString()).toBe(
      "GET / HTTP/1.1\r\n",
    );
  });

  it("TCP options move the payload (data offset 8 words)", () => {
    const seg = tcp({
      srcPort: 5,
      dstPort: 6,
      flags: TCP_SYN | TCP_ACK,
      options: Buffer.from([2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7]),
      payload: Buffer.from("zz"),
    });
    const f = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({ src: "1.2.3.4", dst: "5.6.7.8", proto: 6, payload: seg }),
    });
    const d = decode(f);
    expect(d.payloadOffset).toBe(14 + 20 + 32);
    expect(d.payloadLength).toBe(2);
    expect(d.tcpFlags).toBe(TCP_SYN | TCP_ACK);
  });

  it("IPv4 UDP: payload offset and length point at the datagram body", () => {
    const payload = Buffer.from("dns message bytes");
    const f = udpPacket({ src: "192.168.1.10", dst: "192.168.1.1", srcPort: 53000, dstPort: 53, payload });
    expect(decode(f)).toEqual({
      ok: true,
      ipVersion: 4,
      proto: PROTO_UDP,
      src: v4("192.168.1.10"),
      dst: v4("192.168.1.1"),
      srcPort: 53000,
      dstPort: 53,
      tcpFlags: 0,
      vlan: -1,
      payloadOffset: 42,
      payloadLength: payload.length,
    });
    expect(f.subarray(42, 42 + payload.length).equals(payload)).toBe(true);
  });

  it("IPv4 UDP padded to the Ethernet minimum: total length bounds the payload, not the frame", () => {
    const f = Buffer.concat([
      udpPacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2, payload: Buffer.from("ab") }),
      Buffer.alloc(14, 0xee),
    ]);
    expect(f.length).toBe(14 + 20 + 8 + 2 + 14);
    const d = decode(f);
    expect(d.payloadOffset).toBe(42);
    expect(d.payloadLength).toBe(2);
  });

  it("IPv4 with another protocol (ICMP) gives addresses and proto, no ports", () => {
    const f = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        proto: 1,
        payload: Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]),
      }),
    });
    expect(decode(f)).toMatchObject({
      ok: true,
      ipVersion: 4,
      proto: 1,
      srcPort: 0,
      dstPort: 0,
      payloadLength: 0,
    });
  });

  it("IPv6 TCP", () => {
    const f = tcpPacket({
      src: "2001:db8::1",
      dst: "fd00:1:2:3::abcd",
      srcPort: 51000,
      dstPort: 8080,
      flags: TCP_SYN | TCP_ACK,
      payload: Buffer.from("hi"),
    });
    const d = decode(f);
    expect(d).toEqual({
      ok: true,
      ipVersion: 6,
      proto: PROTO_TCP,
      src: [0x20010db8, 0, 0, 1],
      dst: [0xfd000001, 0x00020003, 0, 0xabcd],
      srcPort: 51000,
      dstPort: 8080,
      tcpFlags: TCP_SYN | TCP_ACK,
      vlan: -1,
      payloadOffset: 14 + 40 + 20,
      payloadLength: 2,
    });
    expect(wordsToIp(new Uint32Array(d.src), 6)).toBe("2001:db8::1");
    expect(wordsToIp(new Uint32Array(d.dst), 6)).toBe("fd00:1:2:3::abcd");
  });

  it("IPv6 with hop-by-hop + destination options (+ routing + AH) before UDP", () => {
    const payload = Buffer.from("payload!");
    const seg = udp({ srcPort: 546, dstPort: 547, payload });
    const exts = [
      { type: 0, bytes: Buffer.from([5, 2, 0, 0, 1, 0]) }, // router alert, 8 bytes
      { type: 60, bytes: Buffer.alloc(14, 1) }, // 16 bytes
      { type: 43, bytes: Buffer.alloc(22) }, // 24 bytes
      { type: 51, bytes: Buffer.alloc(14) }, // AH: 16 bytes, length field 2
    ];
    const f = ethernet({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6({
        src: "fe80::1",
        dst: "ff02::1:2",
        nextHeader: PROTO_UDP,
        payload: seg,
        extHeaders: exts,
      }),
    });
    const d = decode(f);
    const l4 = 14 + 40 + 8 + 16 + 24 + 16;
    expect(d).toMatchObject({ ok: true, ipVersion: 6, proto: PROTO_UDP, srcPort: 546, dstPort: 547 });
    expect(d.payloadOffset).toBe(l4 + 8);
    expect(d.payloadLength).toBe(payload.length);
  });

  it("IPv6 fragments: the first carries ports, a later one gives proto without ports", () => {
    const seg = udp({ srcPort: 4000, dstPort: 53, payload: Buffer.alloc(32, 7) });
    const first = ethernet({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6({
        src: "fd00::1",
        dst: "fd00::2",
        nextHeader: PROTO_UDP,
        payload: seg,
        extHeaders: [fragmentExt({ offset: 0, more: true })],
      }),
    });
    expect(decode(first)).toMatchObject({
      ok: true,
      ipVersion: 6,
      proto: PROTO_UDP,
      srcPort: 4000,
      dstPort: 53,
      // Only the start of the datagram: no payload is given, so no DNS answer is half-parsed.
      payloadLength: 0,
    });

    // A later fragment whose bytes would look like ports if they were read.
    const later = ethernet({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6({
        src: "fd00::1",
        dst: "fd00::2",
        nextHeader: PROTO_UDP,
        payload: Buffer.from([0x11, 0x11, 0x22, 0x22, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
        extHeaders: [{ type: 0 }, fragmentExt({ offset: 185, more: false })],
      }),
    });
    expect(decode(later)).toEqual({
      ...NOTHING,
      ok: true,
      ipVersion: 6,
      proto: PROTO_UDP,
      src: v6("fd00::1"),
      dst: v6("fd00::2"),
      vlan: -1,
    });
  });

  it("IPv6 extension chain: 8 headers are walked, a 9th makes the transport unknown", () => {
    const seg = tcp({ srcPort: 10, dstPort: 20, flags: TCP_SYN });
    const build = (n: number): Buffer =>
      ethernet({
        etherType: ETHERTYPE_IPV6,
        payload: ipv6({
          src: "fd00::1",
          dst: "fd00::2",
          nextHeader: PROTO_TCP,
          payload: seg,
          extHeaders: Array.from({ length: n }, (_, i) => ({ type: i % 2 === 0 ? 60 : 0 })),
        }),
      });
    expect(decode(build(8))).toMatchObject({
      ok: true,
      ipVersion: 6,
      proto: PROTO_TCP,
      srcPort: 10,
      dstPort: 20,
    });
    expect(decode(build(9))).toEqual({
      ...NOTHING,
      ok: true,
      ipVersion: 6,
      src: v6("fd00::1"),
      dst: v6("fd00::2"),
      vlan: -1,
    });
    expect(decode(build(40))).toMatchObject({ ok: true, ipVersion: 6, proto: 0, srcPort: 0 });
  });

  it("single 802.1Q tag: VLAN id (without PCP/DEI bits) and the inner packet", () => {
    const f = udpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 1,
      dstPort: 2,
      payload: Buffer.from("x"),
      vlan: (5 << 13) | (1 << 12) | 100,
    });
    expect(f.readUInt16BE(12)).toBe(0x8100);
    expect(decode(f)).toMatchObject({
      ok: true,
      vlan: 100,
      ipVersion: 4,
      proto: PROTO_UDP,
      srcPort: 1,
      dstPort: 2,
      payloadOffset: 46,
      payloadLength: 1,
    });
  });

  it("double tags (802.1ad QinQ and 802.1Q-in-802.1Q): the outer id is kept", () => {
    const qinq = tcpPacket({
      src: "fd00::a",
      dst: "fd00::b",
      srcPort: 3,
      dstPort: 4,
      flags: TCP_ACK,
      vlan: [200, 100],
    });
    expect(qinq.readUInt16BE(12)).toBe(0x88a8);
    expect(qinq.readUInt16BE(16)).toBe(0x8100);
    expect(decode(qinq)).toMatchObject({
      ok: true,
      vlan: 200,
      ipVersion: 6,
      srcPort: 3,
      dstPort: 4,
      tcpFlags: TCP_ACK,
      payloadOffset: 14 + 8 + 40 + 20,
    });

    const qq = ethernet({
      vlan: [4095, 1],
      tpids: [0x8100, 0x8100],
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({
        src: "1.1.1.1",
        dst: "2.2.2.2",
        proto: 17,
        payload: udp({ srcPort: 9, dstPort: 9, payload: Buffer.alloc(0) }),
      }),
    });
    expect(decode(qq)).toMatchObject({
      ok: true,
      vlan: 4095,
      proto: PROTO_UDP,
      srcPort: 9,
      payloadLength: 0,
    });
  });

  it("three VLAN tags are more than the decoder reads: not decoded, outer VLAN still reported", () => {
    const f = ethernet({
      vlan: [1, 2, 3],
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({ src: "1.1.1.1", dst: "2.2.2.2", proto: 17, payload: Buffer.alloc(8) }),
    });
    expect(decode(f)).toEqual({ ...NOTHING, vlan: 1 });
  });

  it("non-IP EtherTypes (ARP) are not decoded", () => {
    const f = ethernet({ etherType: 0x0806, payload: Buffer.alloc(28) });
    expect(decode(f)).toEqual({ ...NOTHING, vlan: -1 });
  });

  it("IPv4 with options (IHL 6 and 15)", () => {
    for (const optLen of [4, 40]) {
      const seg = udp({ srcPort: 7, dstPort: 8, payload: Buffer.from("opt") });
      const f = ethernet({
        etherType: ETHERTYPE_IPV4,
        payload: ipv4({
          src: "10.9.8.7",
          dst: "10.6.5.4",
          proto: 17,
          payload: seg,
          options: Buffer.alloc(optLen, 1),
        }),
      });
      expect(f[14]! & 0x0f).toBe(5 + optLen / 4);
      expect(decode(f)).toMatchObject({
        ok: true,
        ipVersion: 4,
        proto: PROTO_UDP,
        src: v4("10.9.8.7"),
        srcPort: 7,
        dstPort: 8,
        payloadOffset: 14 + 20 + optLen + 8,
        payloadLength: 3,
      });
    }
  });

  it("IPv4 with IHL < 5 or a wrong version nibble is not decoded", () => {
    const ip = ipv4({ src: "1.2.3.4", dst: "5.6.7.8", proto: 17, payload: Buffer.alloc(8), ihl: 4 });
    expect(decode(ethernet({ etherType: ETHERTYPE_IPV4, payload: ip }))).toEqual({ ...NOTHING, vlan: -1 });
    const bad = ipv4({ src: "1.2.3.4", dst: "5.6.7.8", proto: 17, payload: Buffer.alloc(8) });
    bad[0] = 0x65;
    expect(decode(ethernet({ etherType: ETHERTYPE_IPV4, payload: bad }))).toEqual({ ...NOTHING, vlan: -1 });
  });

  it("IPv4 IHL larger than what was captured is not decoded", () => {
    const ip = ipv4({ src: "1.2.3.4", dst: "5.6.7.8", proto: 17, payload: Buffer.alloc(0), ihl: 15 });
    expect(ip.length).toBe(20);
    expect(decode(ethernet({ etherType: ETHERTYPE_IPV4, payload: ip }))).toEqual({ ...NOTHING, vlan: -1 });
  });

  it("IPv4 fragments: first (MF, offset 0) has ports, a non-first one does not", () => {
    const seg = udp({ srcPort: 1111, dstPort: 2222, payload: Buffer.alloc(16) });
    const first = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17, payload: seg, moreFragments: true }),
    });
    expect(decode(first)).toMatchObject({ ok: true, proto: PROTO_UDP, srcPort: 1111, dstPort: 2222 });

    for (const fragOffset of [1, 185, 0x1fff]) {
      const later = ethernet({
        etherType: ETHERTYPE_IPV4,
        payload: ipv4({
          src: "10.0.0.1",
          dst: "10.0.0.2",
          proto: 17,
          payload: seg,
          fragOffset,
          dontFragment: false,
        }),
      });
      expect(decode(later)).toEqual({
        ...NOTHING,
        ok: true,
        ipVersion: 4,
        proto: PROTO_UDP,
        src: v4("10.0.0.1"),
        dst: v4("10.0.0.2"),
        vlan: -1,
      });
    }
    // DF set, offset 0: a whole datagram.
    const df = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17, payload: seg, dontFragment: true }),
    });
    expect(decode(df)).toMatchObject({ srcPort: 1111, dstPort: 2222 });
  });

  it("Linux SLL link type, IPv4 and IPv6", () => {
    const seg = tcp({ srcPort: 33000, dstPort: 22, flags: TCP_PSH | TCP_ACK, payload: Buffer.from("ssh") });
    const f4 = linuxSll({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({ src: "127.0.0.1", dst: "127.0.0.2", proto: 6, payload: seg }),
    });
    expect(decode(f4, LINKTYPE_LINUX_SLL)).toMatchObject({
      ok: true,
      ipVersion: 4,
      src: v4("127.0.0.1"),
      dst: v4("127.0.0.2"),
      srcPort: 33000,
      dstPort: 22,
      tcpFlags: TCP_PSH | TCP_ACK,
      vlan: -1,
      payloadOffset: 16 + 20 + 20,
      payloadLength: 3,
    });
    const f6 = linuxSll({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6({ src: "::1", dst: "::1", nextHeader: 6, payload: seg }),
    });
    expect(decode(f6, LINKTYPE_LINUX_SLL)).toMatchObject({
      ok: true,
      ipVersion: 6,
      src: [0, 0, 0, 1],
      srcPort: 33000,
    });
    // The same bytes read as Ethernet are something else entirely.
    expect(decode(f4, LINKTYPE_ETHERNET).ok).toBe(false);
  });

  it("raw IP link type: version nibble picks IPv4 or IPv6", () => {
    const seg = udp({ srcPort: 68, dstPort: 67, payload: Buffer.from("dhcp") });
    const p4 = ipv4({ src: "0.0.0.0", dst: "255.255.255.255", proto: 17, payload: seg });
    expect(decode(p4, LINKTYPE_RAW)).toMatchObject({
      ok: true,
      ipVersion: 4,
      dst: [0, 0, 0, 0xffffffff],
      srcPort: 68,
      dstPort: 67,
      payloadOffset: 28,
      payloadLength: 4,
    });
    const p6 = ipv6({ src: "fd00::1", dst: "fd00::2", nextHeader: 17, payload: seg });
    expect(decode(p6, LINKTYPE_RAW)).toMatchObject({
      ok: true,
      ipVersion: 6,
      srcPort: 68,
      payloadOffset: 48,
    });
    const p5 = Buffer.from(p4);
    p5[0] = 0x55;
    expect(decode(p5, LINKTYPE_RAW)).toEqual({ ...NOTHING, vlan: -1 });
    expect(decode(Buffer.alloc(0), LINKTYPE_RAW)).toEqual({ ...NOTHING, vlan: -1 });
  });

  it("link types the decoder does not read are not decoded (others: decoder-link-types.test.ts)", () => {
    const f = udpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 1,
      dstPort: 2,
      payload: Buffer.alloc(4),
    });
    for (const lt of [2, 104, 105, 127, 147, 0xffff]) expect(decode(f, lt)).toEqual({ ...NOTHING, vlan: -1 });
  });

  it("resets the reused instance between packets", () => {
    const out = new DecodedPacket();
    const a = tcpPacket({ src: "fd00::1", dst: "fd00::2", srcPort: 1, dstPort: 2, flags: TCP_SYN, vlan: 7 });
    const b = udpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 3,
      dstPort: 4,
      payload: Buffer.alloc(2),
    });
    expect(decodePacket(a, 0, a.length, LINKTYPE_ETHERNET, out)).toBe(true);
    expect(decodePacket(b, 0, b.length, LINKTYPE_ETHERNET, out)).toBe(true);
    expect(snapshot(true, out)).toEqual({
      ok: true,
      ipVersion: 4,
      proto: PROTO_UDP,
      src: v4("10.0.0.1"),
      dst: v4("10.0.0.2"),
      srcPort: 3,
      dstPort: 4,
      tcpFlags: 0,
      vlan: -1,
      payloadOffset: 42,
      payloadLength: 2,
    });
    expect(decodePacket(Buffer.alloc(3), 0, 3, LINKTYPE_ETHERNET, out)).toBe(false);
    expect(snapshot(false, out)).toEqual({ ...NOTHING, vlan: -1 });
  });
});

describe("decodePacket: lies, truncation, offsets, garbage", () => {
  const samples: { name: string; frame: Buffer; linkType: number }[] = [
    {
      name: "IPv4 TCP with payload",
      frame: tcpPacket({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        srcPort: 1234,
        dstPort: 80,
        flags: TCP_PSH | TCP_ACK,
        payload: Buffer.from("0123456789"),
      }),
      linkType: LINKTYPE_ETHERNET,
    },
    {
      name: "QinQ IPv4 UDP with options",
      frame: ethernet({
        vlan: [10, 20],
        etherType: ETHERTYPE_IPV4,
        payload: ipv4({
          src: "10.0.0.1",
          dst: "10.0.0.2",
          proto: 17,
          options: Buffer.alloc(8, 1),
          payload: udp({ srcPort: 5353, dstPort: 5353, payload: Buffer.from("mdns") }),
        }),
      }),
      linkType: LINKTYPE_ETHERNET,
    },
    {
      name: "IPv6 ext chain + TCP",
      frame: ethernet({
        etherType: ETHERTYPE_IPV6,
        payload: ipv6({
          src: "2001:db8::1",
          dst: "2001:db8::2",
          nextHeader: 6,
          extHeaders: [
            { type: 0 },
            { type: 60, bytes: Buffer.alloc(12) },
            // Atomic (offset 0, no more fragments): a first fragment's payload would be withheld.
            fragmentExt({ offset: 0, more: false }),
          ],
          payload: tcp({ srcPort: 443, dstPort: 50000, flags: TCP_ACK, payload: Buffer.from("tls") }),
        }),
      }),
      linkType: LINKTYPE_ETHERNET,
    },
    {
      name: "SLL IPv6 UDP",
      frame: linuxSll({
        etherType: ETHERTYPE_IPV6,
        payload: ipv6({
          src: "fd00::1",
          dst: "fd00::2",
          nextHeader: 17,
          payload: udp({ srcPort: 1, dstPort: 2, payload: Buffer.from("abcdef") }),
        }),
      }),
      linkType: LINKTYPE_LINUX_SLL,
    },
    {
      name: "raw IPv4 UDP",
      frame: ipv4({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        proto: 17,
        payload: udp({ srcPort: 1, dstPort: 2, payload: Buffer.from("abcdef") }),
      }),
      linkType: LINKTYPE_RAW,
    },
  ];

  for (const s of samples) {
    it(`truncated at every length: ${s.name}`, () => {
      const full = decode(s.frame, s.linkType);
      expect(full.ok).toBe(true);
      expect(full.payloadLength).toBeGreaterThan(0);
      let lastIpVersion = 0;
      for (let n = 0; n <= s.frame.length; n++) {
        // Exactly n bytes: any read past the end would throw a RangeError.
        const exact = Buffer.from(s.frame.subarray(0, n));
        const d = decode(exact, s.linkType);
        // caplen n inside a longer buffer of junk: nothing past caplen may change the result.
        const junk = Buffer.concat([s.frame.subarray(0, n), Buffer.alloc(100, 0xff)]);
        expect(decode(junk, s.linkType, 0, n)).toEqual(d);

        expect(d.ok).toBe(d.ipVersion !== 0);
        if (!d.ok) expect(d).toEqual({ ...NOTHING, vlan: d.vlan });
        else {
          expect(d.ipVersion).toBe(full.ipVersion);
          expect(d.src).toEqual(full.src);
          expect(d.dst).toEqual(full.dst);
        }
        // Once the IP header is readable it stays readable with more bytes.
        if (lastIpVersion !== 0) expect(d.ipVersion).toBe(lastIpVersion);
        lastIpVersion = d.ipVersion;
        if (d.proto === PROTO_TCP || d.proto === PROTO_UDP) {
          expect(d.proto).toBe(full.proto);
          expect([d.srcPort, d.dstPort, d.tcpFlags]).toEqual([full.srcPort, full.dstPort, full.tcpFlags]);
        } else {
          expect([d.srcPort, d.dstPort, d.tcpFlags]).toEqual([0, 0, 0]);
        }
        expect(d.payloadLength).toBeGreaterThanOrEqual(0);
        expect(d.payloadOffset + d.payloadLength).toBeLessThanOrEqual(n);
        if (d.payloadLength > 0) {
          expect(d.payloadOffset).toBe(full.payloadOffset);
          expect(d.payloadLength).toBe(Math.min(full.payloadLength, n - full.payloadOffset));
        }
      }
      expect(lastIpVersion).toBe(full.ipVersion);
    });
  }

  it("IPv4 TCP truncation thresholds: IP at 34 bytes, ports+flags at 48, payload from 54", () => {
    const f = samples[0]!.frame;
    const at = (n: number): Decoded => decode(Buffer.from(f.subarray(0, n)));
    expect(at(33).ok).toBe(false);
    expect(at(34)).toMatchObject({ ok: true, ipVersion: 4, proto: 0, srcPort: 0 });
    expect(at(47)).toMatchObject({ ok: true, proto: 0, srcPort: 0 });
    expect(at(48)).toMatchObject({
      proto: PROTO_TCP,
      srcPort: 1234,
      dstPort: 80,
      tcpFlags: TCP_PSH | TCP_ACK,
    });
    expect(at(48)).toMatchObject({ payloadOffset: 0, payloadLength: 0 });
    expect(at(54)).toMatchObject({ payloadOffset: 54, payloadLength: 0 });
    expect(at(60)).toMatchObject({ payloadOffset: 54, payloadLength: 6 });
  });

  it("decodes at a non-zero start inside a larger buffer; offsets are absolute", () => {
    for (const s of samples) {
      const full = decode(s.frame, s.linkType);
      const big = Buffer.concat([Buffer.alloc(777, 0xab), s.frame, Buffer.alloc(333, 0xcd)]);
      const d = decode(big, s.linkType, 777, s.frame.length);
      expect(d).toEqual({ ...full, payloadOffset: full.payloadOffset + 777 });
      // caplen running past the end of the buffer is clamped to the buffer.
      const tail = Buffer.concat([Buffer.alloc(5), s.frame]);
      expect(decode(tail, s.linkType, 5, 65535)).toEqual({ ...full, payloadOffset: full.payloadOffset + 5 });
    }
  });

  it("start at or past the end of the buffer, or a negative caplen, decodes nothing", () => {
    const f = samples[0]!.frame;
    expect(decode(f, LINKTYPE_ETHERNET, f.length, 100)).toEqual({ ...NOTHING, vlan: -1 });
    expect(decode(f, LINKTYPE_ETHERNET, f.length + 50, 100)).toEqual({ ...NOTHING, vlan: -1 });
    expect(decode(f, LINKTYPE_RAW, f.length + 50, 100)).toEqual({ ...NOTHING, vlan: -1 });
    expect(decode(f, LINKTYPE_ETHERNET, 0, -1)).toEqual({ ...NOTHING, vlan: -1 });
  });

  it("random buffers never throw and give consistent fields", () => {
    const out = new DecodedPacket();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 160 }),
        fc.constantFrom(...DECODABLE_LINK_TYPES),
        fc.nat(20),
        fc.integer({ min: -4, max: 200 }),
        (bytes, linkType, start, caplen) => {
          const buf = Buffer.from(bytes);
          const ok = decodePacket(buf, start, caplen, linkType, out);
          expect(ok).toBe(out.ipVersion === 4 || out.ipVersion === 6);
          if (!ok) expect(out.ipVersion).toBe(0);
          const end = Math.min(buf.length, start + caplen);
          expect(out.payloadLength).toBeGreaterThanOrEqual(0);
          if (out.payloadLength > 0) {
            expect(out.payloadOffset).toBeGreaterThanOrEqual(start);
            expect(out.payloadOffset + out.payloadLength).toBeLessThanOrEqual(end);
          }
          if (out.proto !== PROTO_TCP) expect(out.tcpFlags).toBe(0);
          if (out.proto !== PROTO_TCP && out.proto !== PROTO_UDP)
            expect([out.srcPort, out.dstPort]).toEqual([0, 0]);
        },
      ),
      { numRuns: 3000, seed: 42 },
    );
  });

  it("random corruptions of valid packets never throw or read past caplen", () => {
    fc.assert(
      fc.property(
        fc.nat(samples.length - 1),
        fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(200),
        (which, edits, cut) => {
          const s = samples[which]!;
          const bytes = Buffer.from(s.frame);
          for (const [pos, val] of edits) if (pos < bytes.length) bytes[pos] = val;
          const n = Math.min(cut, bytes.length);
          const exact = Buffer.from(bytes.subarray(0, n));
          const d = decode(exact, s.linkType);
          const padded = Buffer.concat([exact, Buffer.alloc(64, 0x5a)]);
          expect(decode(padded, s.linkType, 0, n)).toEqual(d);
          expect(d.payloadOffset + d.payloadLength).toBeLessThanOrEqual(n);
        },
      ),
      { numRuns: 3000, seed: 7 },
    );
  });

  it("IPv4 total length smaller than the header: IP layer rejected", () => {
    for (const totalLength of [0, 19]) {
      const ip = ipv4({
        src: "1.2.3.4",
        dst: "5.6.7.8",
        proto: 6,
        totalLength,
        payload: tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN }),
      });
      expect(decode(ethernet({ etherType: ETHERTYPE_IPV4, payload: ip }))).toEqual({ ...NOTHING, vlan: -1 });
    }
    // With options: 24-byte header, total length 22.
    const ip = ipv4({
      src: "1.2.3.4",
      dst: "5.6.7.8",
      proto: 17,
      totalLength: 22,
      options: Buffer.alloc(4),
      payload: Buffer.alloc(8),
    });
    expect(decode(ethernet({ etherType: ETHERTYPE_IPV4, payload: ip })).ok).toBe(false);
  });

  it("IPv4 total length shorter than the transport header: IP known, transport unknown", () => {
    const seg = tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN });
    const ip = ipv4({ src: "1.2.3.4", dst: "5.6.7.8", proto: 6, totalLength: 20 + 10, payload: seg });
    expect(decode(ethernet({ etherType: ETHERTYPE_IPV4, payload: ip }))).toMatchObject({
      ok: true,
      ipVersion: 4,
      proto: 0,
      srcPort: 0,
      dstPort: 0,
      tcpFlags: 0,
    });
  });

  it("IPv4 total length longer than captured: bounded by the capture", () => {
    const seg = udp({ srcPort: 1, dstPort: 2, payload: Buffer.alloc(10) });
    const ip = ipv4({ src: "1.2.3.4", dst: "5.6.7.8", proto: 17, totalLength: 1500, payload: seg });
    expect(decode(ethernet({ etherType: ETHERTYPE_IPV4, payload: ip }))).toMatchObject({
      srcPort: 1,
      payloadOffset: 42,
      payloadLength: 10,
    });
  });

  it("IPv6 payload length bounds the transport; larger than captured is clamped", () => {
    // 6 bytes of trailing junk after the datagram; UDP length 0 ("ignored") lets the IP length decide.
    const mk = (payloadLength: number, udpLength = 0): Buffer =>
      ethernet({
        etherType: ETHERTYPE_IPV6,
        payload: Buffer.concat([
          ipv6({
            src: "fd00::1",
            dst: "fd00::2",
            nextHeader: 17,
            payload: udp({ srcPort: 1, dstPort: 2, payload: Buffer.alloc(10), length: udpLength }),
            payloadLength,
          }),
          Buffer.alloc(6, 0x77),
        ]),
      });
    expect(decode(mk(18))).toMatchObject({ srcPort: 1, payloadOffset: 62, payloadLength: 10 });
    expect(decode(mk(12))).toMatchObject({ srcPort: 1, payloadLength: 4 });
    expect(decode(mk(4))).toMatchObject({ ok: true, ipVersion: 6, proto: 0, srcPort: 0 });
    expect(decode(mk(9000))).toMatchObject({ srcPort: 1, payloadLength: 16 });
    expect(decode(mk(9000, 18))).toMatchObject({ srcPort: 1, payloadLength: 10 });
    // Payload length 0 (jumbogram form): whatever was captured.
    expect(decode(mk(0))).toMatchObject({ srcPort: 1, payloadLength: 16 });
  });

  it("the UDP length is read from the length field, not the checksum", () => {
    const f = udpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 1,
      dstPort: 2,
      payload: Buffer.alloc(100, 1),
    });
    const d = decode(Buffer.concat([f, Buffer.alloc(40)]));
    expect(f.readUInt16BE(14 + 20 + 6)).not.toBe(0);
    expect(d.payloadLength).toBe(100);
    // Same with a checksum whose value is a plausible length smaller than the datagram.
    const g = Buffer.from(f);
    g.writeUInt16BE(20, 14 + 20 + 6);
    expect(decode(g).payloadLength).toBe(100);
  });

  it("a UDP length that lies: longer is clamped, shorter is believed, < 8 is ignored", () => {
    const body = Buffer.from("0123456789abcdefghij"); // 20 bytes
    const mk = (length: number): Buffer =>
      ethernet({
        etherType: ETHERTYPE_IPV4,
        payload: ipv4({
          src: "1.1.1.1",
          dst: "2.2.2.2",
          proto: 17,
          payload: udp({ srcPort: 53, dstPort: 53, payload: body, length }),
        }),
      });
    expect(decode(mk(28))).toMatchObject({ payloadOffset: 42, payloadLength: 20 });
    expect(decode(mk(65535))).toMatchObject({ payloadOffset: 42, payloadLength: 20 });
    expect(decode(mk(29))).toMatchObject({ payloadLength: 20 });
    expect(decode(mk(18))).toMatchObject({ payloadOffset: 42, payloadLength: 10 });
    expect(decode(mk(8))).toMatchObject({ payloadOffset: 42, payloadLength: 0 });
    for (const length of [0, 1, 7]) {
      expect(decode(mk(length))).toMatchObject({
        srcPort: 53,
        dstPort: 53,
        payloadOffset: 42,
        payloadLength: 20,
      });
    }
  });

  it("a TCP data offset that lies: ports and flags kept, no payload", () => {
    for (const dataOffset of [0, 4, 15]) {
      const seg = tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN, dataOffset, payload: Buffer.alloc(8) });
      const d = decode(
        ethernet({
          etherType: ETHERTYPE_IPV4,
          payload: ipv4({ src: "1.1.1.1", dst: "2.2.2.2", proto: 6, payload: seg }),
        }),
      );
      expect(d).toMatchObject({ ok: true, proto: PROTO_TCP, srcPort: 1, dstPort: 2, tcpFlags: TCP_SYN });
      expect([d.payloadOffset, d.payloadLength]).toEqual([0, 0]);
    }
  });
});

describe("ip-format", () => {
  it("wordsToIp IPv4 uses word 3 only", () => {
    expect(wordsToIp(new Uint32Array([0, 0, 0, 0xc0a80001]), 4)).toBe("192.168.0.1");
    expect(wordsToIp([0, 0, 0, 0xffffffff], 4)).toBe("255.255.255.255");
    expect(wordsToIp([0, 0, 0, 0], 4)).toBe("0.0.0.0");
    expect(wordsToIp([1, 2, 3, 0x0a000001], 4)).toBe("10.0.0.1");
    expect(wordsToIp([0, 0, 0, -1], 4)).toBe("255.255.255.255");
  });

  it("ipToWords IPv4", () => {
    const w = new Uint32Array([9, 9, 9, 9]);
    expect(ipToWords("172.17.0.2", w)).toBe(4);
    expect([...w]).toEqual([0, 0, 0, 0xac110002]);
  });

  it("RFC 5952 text for IPv6", () => {
    const cases: [string, string][] = [
      ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
      ["2001:DB8::A", "2001:db8::a"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // equal runs: the first is compressed
      ["2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"], // the longest run wins
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not compressed
      ["2001:db8::0:1", "2001:db8::1"],
      ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["::", "::"],
      ["0:0:0:0:0:0:0:1", "::1"],
      ["1:0:0:0:0:0:0:0", "1::"],
      ["fe80:0:0:0:0:0:0:1", "fe80::1"],
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["0:0:1:0:0:0:0:2", "0:0:1::2"],
      ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
      ["0001:0020:0300:4000:0:0:0:0", "1:20:300:4000::"],
      ["::ffff:192.0.2.1", "::ffff:c000:201"], // IPv4-mapped is printed in hex groups
      ["64:ff9b::10.0.0.1", "64:ff9b::a00:1"],
    ];
    for (const [input, expected] of cases) expect(normalizeIp(input), input).toBe(expected);
  });

  it("IPv4 normalisation", () => {
    expect(normalizeIp("10.0.0.1")).toBe("10.0.0.1");
    expect(normalizeIp("010.000.000.001")).toBe("10.0.0.1");
  });

  it("invalid addresses give 0 / null and zeroed words", () => {
    const invalid = [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "1.2.3.-1",
      "1.2.3.4 ",
      "a.b.c.d",
      "1..2.3",
      "1234.1.1.1",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "1::2::3",
      ":::",
      ":1::",
      "1:",
      "12345::",
      "g::1",
      "fe80::1%eth0",
      "::ffff:1.2.3",
      "::ffff:1.2.3.256",
      "[::1]",
    ];
    for (const ip of invalid) {
      const w = new Uint32Array([1, 2, 3, 4]);
      expect(ipToWords(ip, w), ip).toBe(0);
      expect([...w], ip).toEqual([0, 0, 0, 0]);
      expect(normalizeIp(ip), ip).toBeNull();
    }
  });

  it("round-trips: words → text → words, and normalizeIp is idempotent", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff)),
        fc.array(fc.nat(3), { maxLength: 4 }),
        (words, zeroed) => {
          const w = new Uint32Array(words);
          for (const i of zeroed) w[i] = 0; // make zero runs common
          const text = wordsToIp(w, 6);
          const back = new Uint32Array(4);
          expect(ipToWords(text, back)).toBe(6);
          expect([...back]).toEqual([...w]);
          expect(normalizeIp(text)).toBe(text);
          expect(normalizeIp(text.toUpperCase())).toBe(text);
          expect(text).not.toMatch(/(^|:)0[0-9a-f]/);
          expect(text).not.toMatch(/:::/);

          const t4 = wordsToIp(w, 4);
          expect(ipToWords(t4, back)).toBe(4);
          expect([...back]).toEqual([0, 0, 0, w[3]]);
          expect(normalizeIp(t4)).toBe(t4);
        },
      ),
      { numRuns: 2000, seed: 5952 },
    );
  });
});

describe("decodePacket: fragments and sequence numbers", () => {
  const raw = (frame: Buffer): DecodedPacket => {
    const out = new DecodedPacket();
    decodePacket(frame, 0, frame.length, LINKTYPE_ETHERNET, out);
    return out;
  };
  const seg = udp({ srcPort: 53, dstPort: 40000, payload: Buffer.alloc(16) });

  it("marks non-first IPv4 and IPv6 fragments, and only those", () => {
    const v4 = (fragOffset: number) =>
      raw(
        ethernet({
          etherType: ETHERTYPE_IPV4,
          payload: ipv4({
            src: "10.0.0.1",
            dst: "10.0.0.2",
            proto: 17,
            payload: seg,
            fragOffset,
            moreFragments: true,
          }),
        }),
      );
    const v6 = (offset: number) =>
      raw(
        ethernet({
          etherType: ETHERTYPE_IPV6,
          payload: ipv6({
            src: "fd00::1",
            dst: "fd00::2",
            nextHeader: PROTO_UDP,
            payload: seg,
            extHeaders: [fragmentExt({ offset, more: true })],
          }),
        }),
      );
    expect(v4(0)).toMatchObject({ fragment: false, srcPort: 53, dstPort: 40000 });
    expect(v4(185)).toMatchObject({ fragment: true, srcPort: 0, dstPort: 0 });
    expect(v6(0)).toMatchObject({ fragment: false, srcPort: 53, dstPort: 40000 });
    expect(v6(185)).toMatchObject({ fragment: true, srcPort: 0, dstPort: 0 });
    // The reused instance forgets the mark on the next packet.
    const out = new DecodedPacket();
    const later = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17, payload: seg, fragOffset: 9 }),
    });
    decodePacket(later, 0, later.length, LINKTYPE_ETHERNET, out);
    const whole = udpPacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2, payload: seg });
    decodePacket(whole, 0, whole.length, LINKTYPE_ETHERNET, out);
    expect(out.fragment).toBe(false);
  });

  it("reads the TCP sequence number (the initial one on a SYN)", () => {
    const syn = tcpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 1,
      dstPort: 2,
      flags: TCP_SYN,
      seq: 0xfedcba98,
    });
    expect(raw(syn).tcpSeq).toBe(0xfedcba98);
    const u = udpPacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2, payload: seg });
    expect(raw(u).tcpSeq).toBe(0);
  });
});

/**
 * decodePacket on the link layers of captures made elsewhere than on the bridge: Linux cooked v1
 * and v2 (`tcpdump -i any`), raw IP under all its numbers, BSD null / loopback, PPP and Cisco HDLC.
 * Each must give exactly what the bare IP packet gives as LINKTYPE_RAW, offsets moved by the header.
 */
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../src/capture/decoder.js";
import {
  DecodedPacket,
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
  TCP_SYN,
} from "../../src/capture/packet.js";
import {
  AF_INET,
  BSD_INET6_FAMILIES,
  bsdLoopback,
  ciscoHdlc,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ipv4,
  ipv6,
  linuxSll,
  linuxSll2,
  PPP_IPV4,
  PPP_IPV6,
  ppp,
  TPID_8021AD,
  TPID_8021Q,
  tcp,
  udp,
} from "../support/packet-builder.js";

/** The decoded fields as plain data (false / zeros when nothing was read). */
function decode(buf: Buffer, linkType: number, start = 0, caplen = buf.length - start) {
  const p = new DecodedPacket();
  const ok = decodePacket(buf, start, caplen, linkType, p);
  return {
    ok,
    ipVersion: p.ipVersion,
    proto: p.proto,
    src: [...p.src],
    dst: [...p.dst],
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    tcpFlags: p.tcpFlags,
    vlan: p.vlan,
    payloadOffset: p.payloadOffset,
    payloadLength: p.payloadLength,
  };
}

const NOTHING = decode(Buffer.alloc(0), LINKTYPE_RAW);

const V4 = ipv4({
  src: "172.30.0.2",
  dst: "203.0.113.50",
  proto: 17,
  payload: udp({ srcPort: 40000, dstPort: 53, payload: Buffer.from("query") }),
});
const V6 = ipv6({
  src: "fd00:30::2",
  dst: "2001:db8::1",
  nextHeader: 6,
  payload: tcp({ srcPort: 40001, dstPort: 443, flags: TCP_SYN, payload: Buffer.from("hello") }),
});

/** What the bare IP packet decodes to, with the payload offset moved past a `headerLen`-byte link header. */
function asRaw(ip: Buffer, headerLen: number) {
  const raw = decode(ip, LINKTYPE_RAW);
  expect(raw.ok).toBe(true);
  expect(raw.payloadLength).toBeGreaterThan(0);
  return { ...raw, payloadOffset: raw.payloadOffset + headerLen };
}

interface Sample {
  name: string;
  linkType: number;
  /** The frame around an IP packet; its header length is frame.length - ip.length. */
  wrap: (ip: Buffer) => Buffer;
  families: (4 | 6)[];
}

const BOTH: (4 | 6)[] = [4, 6];
const etherTypeOf = (ip: Buffer): number => (ip[0]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
const pppProtocolOf = (ip: Buffer): number => (ip[0]! >> 4 === 6 ? PPP_IPV6 : PPP_IPV4);

const SAMPLES: Sample[] = [
  {
    name: "LINUX_SLL",
    linkType: LINKTYPE_LINUX_SLL,
    wrap: (ip) => linuxSll({ etherType: etherTypeOf(ip), payload: ip }),
    families: BOTH,
  },
  {
    name: "LINUX_SLL, tun device (ARPHRD_NONE, no address)",
    linkType: LINKTYPE_LINUX_SLL,
    wrap: (ip) =>
      linuxSll({ etherType: etherTypeOf(ip), payload: ip, arphrd: 0xfffe, addr: Buffer.alloc(0) }),
    families: BOTH,
  },
  {
    name: "LINUX_SLL, GRE tunnel (ARPHRD_IPGRE: the field is a GRE protocol type, an EtherType)",
    linkType: LINKTYPE_LINUX_SLL,
    wrap: (ip) => linuxSll({ etherType: etherTypeOf(ip), payload: ip, arphrd: 778 }),
    families: BOTH,
  },
  {
    name: "LINUX_SLL2",
    linkType: LINKTYPE_LINUX_SLL2,
    wrap: (ip) => linuxSll2({ etherType: etherTypeOf(ip), payload: ip, ifindex: 7, packetType: 0 }),
    families: BOTH,
  },
  { name: "RAW (101)", linkType: LINKTYPE_RAW, wrap: (ip) => ip, families: BOTH },
  { name: "RAW (12)", linkType: LINKTYPE_RAW_DLT12, wrap: (ip) => ip, families: BOTH },
  { name: "RAW (14)", linkType: LINKTYPE_RAW_DLT14, wrap: (ip) => ip, families: BOTH },
  { name: "IPV4", linkType: LINKTYPE_IPV4, wrap: (ip) => ip, families: [4] },
  { name: "IPV6", linkType: LINKTYPE_IPV6, wrap: (ip) => ip, families: [6] },
  ...BSD_INET6_FAMILIES.flatMap((inet6): Sample[] =>
    (["le", "be"] as const).map((byteOrder) => ({
      name: `NULL, AF_INET6 = ${inet6}, written ${byteOrder === "le" ? "little" : "big"}-endian`,
      linkType: LINKTYPE_NULL,
      wrap: (ip) => bsdLoopback({ family: ip[0]! >> 4 === 6 ? inet6 : AF_INET, payload: ip, byteOrder }),
      families: BOTH,
    })),
  ),
  ...BSD_INET6_FAMILIES.map(
    (inet6): Sample => ({
      name: `LOOP, AF_INET6 = ${inet6}`,
      linkType: LINKTYPE_LOOP,
      wrap: (ip) =>
        bsdLoopback({ family: ip[0]! >> 4 === 6 ? inet6 : AF_INET, payload: ip, byteOrder: "be" }),
      families: BOTH,
    }),
  ),
  ...[true, false].flatMap((addressControl) =>
    [false, true].map(
      (compressProtocol): Sample => ({
        name: `PPP, ${addressControl ? "with" : "without"} 0xff 0x03, ${compressProtocol ? "1" : "2"}-byte protocol`,
        linkType: LINKTYPE_PPP,
        wrap: (ip) => ppp({ protocol: pppProtocolOf(ip), payload: ip, addressControl, compressProtocol }),
        families: BOTH,
      }),
    ),
  ),
  {
    name: "PPP_HDLC, PPP in HDLC-like framing",
    linkType: LINKTYPE_PPP_HDLC,
    wrap: (ip) => ppp({ protocol: pppProtocolOf(ip), payload: ip }),
    families: BOTH,
  },
  ...[0x0f, 0x8f].map(
    (address): Sample => ({
      name: `PPP_HDLC, Cisco HDLC (address 0x${address.toString(16)})`,
      linkType: LINKTYPE_PPP_HDLC,
      wrap: (ip) => ciscoHdlc({ address, etherType: etherTypeOf(ip), payload: ip }),
      families: BOTH,
    }),
  ),
];

describe("decodePacket: other link types read like raw IP", () => {
  for (const s of SAMPLES) {
    for (const family of s.families) {
      const ip = family === 4 ? V4 : V6;
      it(`${s.name}: IPv${family}, then cut at every length and moved inside a larger buffer`, () => {
        const frame = s.wrap(ip);
        const headerLen = frame.length - ip.length;
        const full = asRaw(ip, headerLen);
        expect(decode(frame, s.linkType)).toEqual(full);
        const ipHeaderLen = family === 4 ? 20 : 40;
        for (let n = 0; n < frame.length; n++) {
          // Exactly n bytes (a read past them throws), and n bytes of a longer buffer of junk.
          const exact = Buffer.from(frame.subarray(0, n));
          const d = decode(exact, s.linkType);
          expect(decode(Buffer.concat([exact, Buffer.alloc(64, 0xff)]), s.linkType, 0, n)).toEqual(d);
          if (n < headerLen + ipHeaderLen) expect(d).toEqual(NOTHING);
          else expect(d).toMatchObject({ ok: true, ipVersion: family, src: full.src, dst: full.dst });
        }
        const big = Buffer.concat([Buffer.alloc(333, 0xab), frame, Buffer.alloc(77, 0xcd)]);
        expect(decode(big, s.linkType, 333, frame.length)).toEqual({
          ...full,
          payloadOffset: full.payloadOffset + 333,
        });
      });
    }
  }

  it("a negative caplen or a start past the buffer reads nothing, whatever the link type", () => {
    for (const s of SAMPLES) {
      const frame = s.wrap(s.families[0] === 4 ? V4 : V6);
      expect(decode(frame, s.linkType, 0, -1)).toEqual(NOTHING);
      expect(decode(frame, s.linkType, frame.length + 8, 100)).toEqual(NOTHING);
    }
  });
});

describe("decodePacket: Linux cooked headers whose protocol is not an IP EtherType", () => {
  const cooked = [
    { name: "LINUX_SLL", linkType: LINKTYPE_LINUX_SLL, build: linuxSll, headerLen: 16 },
    { name: "LINUX_SLL2", linkType: LINKTYPE_LINUX_SLL2, build: linuxSll2, headerLen: 20 },
  ];

  for (const c of cooked) {
    it(`${c.name}: netlink, radiotap and Frame Relay devices are not read as IP even with protocol 0x0800`, () => {
      // ARPHRD_NETLINK (the field is a netlink family), IEEE80211_RADIOTAP and FRAD (field ignored).
      for (const arphrd of [824, 803, 770]) {
        expect(decode(c.build({ etherType: ETHERTYPE_IPV4, payload: V4, arphrd }), c.linkType)).toEqual(
          NOTHING,
        );
      }
    });

    it(`${c.name}: 802.2 LLC (4), Novell 802.3 (1), CAN (0x000c) and ARP are not IP`, () => {
      for (const etherType of [0x0004, 0x0001, 0x000c, 0x0806]) {
        expect(decode(c.build({ etherType, payload: V4 }), c.linkType)).toEqual(NOTHING);
      }
    });

    it(`${c.name}: VLAN tags after the header (802.1Q, QinQ) give the outer id and the inner packet`, () => {
      // A tag after the cooked header: TCI, then the EtherType of what follows.
      const tag = (tci: number, inner: number): Buffer => {
        const b = Buffer.alloc(4);
        b.writeUInt16BE(tci, 0);
        b.writeUInt16BE(inner, 2);
        return b;
      };
      const one = c.build({
        etherType: TPID_8021Q,
        payload: Buffer.concat([tag(0x2000 | 42, ETHERTYPE_IPV6), V6]),
      });
      expect(decode(one, c.linkType)).toEqual({ ...asRaw(V6, c.headerLen + 4), vlan: 42 });
      const two = c.build({
        etherType: TPID_8021AD,
        payload: Buffer.concat([tag(100, TPID_8021Q), tag(200, ETHERTYPE_IPV4), V4]),
      });
      expect(decode(two, c.linkType)).toEqual({ ...asRaw(V4, c.headerLen + 8), vlan: 100 });
      // The tag cut short: the VLAN id may be known, the packet is not.
      const cut = Buffer.from(one.subarray(0, c.headerLen + 3));
      expect(decode(cut, c.linkType)).toEqual(NOTHING);
    });
  }
});

describe("decodePacket: what the other link types reject", () => {
  it("IPV4 holds IPv4 only and IPV6 IPv6 only", () => {
    expect(decode(V6, LINKTYPE_IPV4)).toEqual(NOTHING);
    expect(decode(V4, LINKTYPE_IPV6)).toEqual(NOTHING);
    const other = Buffer.from(V4);
    other[0] = 0x55;
    for (const lt of [LINKTYPE_RAW, LINKTYPE_RAW_DLT12, LINKTYPE_RAW_DLT14, LINKTYPE_IPV4]) {
      expect(decode(other, lt)).toEqual(NOTHING);
    }
  });

  it("NULL / LOOP: other families (OSI 7, IPX 23, Linux AF_INET6 10, 0) and junk in the family word", () => {
    for (const family of [0, 7, 10, 23, 26]) {
      expect(decode(bsdLoopback({ family, payload: V4 }), LINKTYPE_NULL)).toEqual(NOTHING);
      expect(decode(bsdLoopback({ family, payload: V4, byteOrder: "be" }), LINKTYPE_LOOP)).toEqual(NOTHING);
    }
    // Non-zero bytes at both ends: neither byte order gives a family.
    expect(decode(bsdLoopback({ family: 0x02000002, payload: V4 }), LINKTYPE_NULL)).toEqual(NOTHING);
    expect(decode(bsdLoopback({ family: 0x0200, payload: V4 }), LINKTYPE_NULL)).toEqual(NOTHING);
    // LOOP is network byte order only: a little-endian family is not read.
    expect(decode(bsdLoopback({ family: AF_INET, payload: V4, byteOrder: "le" }), LINKTYPE_LOOP)).toEqual(
      NOTHING,
    );
    // The family must match the packet: AF_INET before an IPv6 header is not IPv4.
    expect(decode(bsdLoopback({ family: AF_INET, payload: V6 }), LINKTYPE_NULL)).toEqual(NOTHING);
  });

  it("PPP: control protocols (LCP, IPCP), IPX and a 0xff 0x03 with nothing after it are not IP", () => {
    for (const protocol of [0xc021, 0x8021, 0x002b, 0x8057]) {
      expect(decode(ppp({ protocol, payload: V4 }), LINKTYPE_PPP)).toEqual(NOTHING);
      expect(decode(ppp({ protocol, payload: V4 }), LINKTYPE_PPP_HDLC)).toEqual(NOTHING);
    }
    expect(decode(Buffer.from([0xff, 0x03]), LINKTYPE_PPP)).toEqual(NOTHING);
    expect(decode(Buffer.from([0xff, 0x03, 0x00]), LINKTYPE_PPP)).toEqual(NOTHING);
  });

  it("PPP_HDLC: the address/control bytes are required; Cisco HDLC needs control 0 and an IP EtherType", () => {
    expect(
      decode(ppp({ protocol: PPP_IPV4, payload: V4, addressControl: false }), LINKTYPE_PPP_HDLC),
    ).toEqual(NOTHING);
    const badControl = ppp({ protocol: PPP_IPV4, payload: V4 });
    badControl[1] = 0x13;
    expect(decode(badControl, LINKTYPE_PPP_HDLC)).toEqual(NOTHING);
    const cisco = ciscoHdlc({ etherType: ETHERTYPE_IPV4, payload: V4 });
    cisco[1] = 0x03;
    expect(decode(cisco, LINKTYPE_PPP_HDLC)).toEqual(NOTHING);
    expect(decode(ciscoHdlc({ etherType: 0x8035, payload: V4 }), LINKTYPE_PPP_HDLC)).toEqual(NOTHING);
    expect(
      decode(ciscoHdlc({ address: 0x0e, etherType: ETHERTYPE_IPV4, payload: V4 }), LINKTYPE_PPP_HDLC),
    ).toEqual(NOTHING);
  });
});

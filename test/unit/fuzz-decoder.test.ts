/**
 * Fuzzing the packet decoder (src/capture/decoder.ts): every byte of a packet on a Docker bridge
 * can be chosen by a container. Properties: decodePacket never throws, never reads outside
 * buf[start, start + caplen), walks IPv6 extension-header chains of any length and lie in
 * bounded steps, and what it reports stays inside the captured bytes. Run counts and seeds: see
 * test/support/mutate.ts (FUZZ_RUNS=100000 for a longer campaign).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../src/capture/decoder.js";
import { DECODABLE_LINK_TYPES } from "../../src/capture/link-types.js";
import {
  DecodedPacket,
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
  PROTO_TCP,
  PROTO_UDP,
} from "../../src/capture/packet.js";
import { embed, FUZZ_TIMEOUT_MS, fuzzParams, mutated } from "../support/mutate.js";
import {
  AF_INET,
  BSD_INET6_FAMILIES,
  bsdLoopback,
  ciscoHdlc,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethernet,
  type Ipv6ExtHeader,
  ipv4,
  ipv6,
  linuxSll,
  linuxSll2,
  PPP_IPV4,
  PPP_IPV6,
  ppp,
  TPID_8021Q,
  tcp,
  udp,
} from "../support/packet-builder.js";

const IPV6_EXT_TYPES = [0, 43, 44, 51, 60];

/** A decoded packet as plain data, offsets made relative to `start`. */
function snapshot(ok: boolean, p: DecodedPacket, start: number) {
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
    payloadOffset: p.payloadOffset === 0 ? 0 : p.payloadOffset - start,
    payloadLength: p.payloadLength,
  };
}

/** What must hold whatever the bytes were. */
function checkDecoded(buf: Buffer, start: number, caplen: number, ok: boolean, p: DecodedPacket): void {
  const end = Math.min(start + caplen, buf.length);
  expect(ok).toBe(p.ipVersion === 4 || p.ipVersion === 6);
  for (const v of [p.proto, p.tcpFlags]) expect(Number.isInteger(v) && v >= 0 && v <= 255).toBe(true);
  for (const v of [p.srcPort, p.dstPort]) expect(Number.isInteger(v) && v >= 0 && v <= 0xffff).toBe(true);
  expect(p.vlan >= -1 && p.vlan <= 0x0fff).toBe(true);
  expect(Number.isInteger(p.payloadOffset) && Number.isInteger(p.payloadLength)).toBe(true);
  expect(p.payloadLength).toBeGreaterThanOrEqual(0);
  // The payload lies inside the captured bytes: payloadOffset + payloadLength <= start + caplen.
  expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(end);
  if (p.payloadOffset !== 0 || p.payloadLength !== 0) expect(p.payloadOffset).toBeGreaterThanOrEqual(start);
  if (!ok || (p.proto !== PROTO_TCP && p.proto !== PROTO_UDP)) {
    expect([p.srcPort, p.dstPort, p.payloadLength]).toEqual([0, 0, 0]);
  }
  if (p.proto !== PROTO_TCP) expect(p.tcpFlags).toBe(0);
  if (p.ipVersion === 4)
    expect([p.src[0], p.src[1], p.src[2], p.dst[0], p.dst[1], p.dst[2]]).toEqual([0, 0, 0, 0, 0, 0]);
  if (!ok) expect([...p.src, ...p.dst].every((w) => w === 0)).toBe(true);
}

function decodeChecked(
  buf: Buffer,
  start: number,
  caplen: number,
  linkType: number,
  p: DecodedPacket,
): boolean {
  const ok = decodePacket(buf, start, caplen, linkType, p);
  checkDecoded(buf, start, caplen, ok, p);
  return ok;
}

// ---- generators of valid frames (the seeds the mutator starts from) ----

const v4Addr = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const v6Addr = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(":"));
const port = fc.nat(0xffff);
const smallBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));

interface Transport {
  proto: number;
  segment: Buffer;
  srcPort: number;
  dstPort: number;
  flags: number;
  payload: Buffer;
}

const transportArb: fc.Arbitrary<Transport> = fc.oneof(
  fc
    .record({
      srcPort: port,
      dstPort: port,
      flags: fc.nat(255),
      options: smallBytes(40),
      payload: smallBytes(64),
    })
    .map((t) => ({
      proto: PROTO_TCP,
      segment: tcp({
        srcPort: t.srcPort,
        dstPort: t.dstPort,
        flags: t.flags,
        options: t.options,
        payload: t.payload,
      }),
      srcPort: t.srcPort,
      dstPort: t.dstPort,
      flags: t.flags,
      payload: t.payload,
    })),
  fc.record({ srcPort: port, dstPort: port, payload: smallBytes(96) }).map((t) => ({
    proto: PROTO_UDP,
    segment: udp(t),
    srcPort: t.srcPort,
    dstPort: t.dstPort,
    flags: 0,
    payload: t.payload,
  })),
  fc.record({ proto: fc.constantFrom(1, 47, 50, 58, 132), payload: smallBytes(48) }).map((t) => ({
    proto: t.proto,
    segment: t.payload,
    srcPort: 0,
    dstPort: 0,
    flags: 0,
    payload: Buffer.alloc(0),
  })),
);

/** Well-formed extension headers (the builder pads each to its type's required size). */
const extHeaderArb: fc.Arbitrary<Ipv6ExtHeader> = fc.oneof(
  fc.record({ type: fc.constantFrom(0, 43, 60), bytes: smallBytes(30) }),
  fc.record({ type: fc.constant(51), bytes: smallBytes(22) }),
  // Fragment header with offset 0: the transport header follows.
  fc.record({ more: fc.boolean(), id: fc.nat() }).map((f) => {
    const bytes = Buffer.alloc(6);
    bytes.writeUInt16BE(f.more ? 1 : 0, 0);
    bytes.writeUInt32BE(f.id >>> 0, 2);
    return { type: 44, bytes };
  }),
);

interface Frame {
  bytes: Buffer;
  linkType: number;
  /** Extension headers between the IPv6 header and the transport (0 for IPv4). */
  extCount: number;
  /** A non-first IPv4 fragment: no transport header. */
  laterFragment: boolean;
  /** The first fragment of a bigger datagram: ports, but its partial payload is withheld. */
  firstFragment: boolean;
  t: Transport;
  version: 4 | 6;
}

const ipArb = fc.oneof(
  fc
    .record({
      src: v4Addr,
      dst: v4Addr,
      t: transportArb,
      options: smallBytes(40),
      fragOffset: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.nat(0x1fff) },
      ),
    })
    .map((o) => ({
      ip: ipv4({
        src: o.src,
        dst: o.dst,
        proto: o.t.proto,
        payload: o.t.segment,
        options: o.options,
        fragOffset: o.fragOffset,
      }),
      t: o.t,
      extCount: 0,
      laterFragment: o.fragOffset !== 0,
      firstFragment: false,
      version: 4 as const,
    })),
  fc
    .record({
      src: v6Addr,
      dst: v6Addr,
      t: transportArb,
      ext: fc.array(extHeaderArb, { maxLength: 10 }),
    })
    .map((o) => ({
      ip: ipv6({ src: o.src, dst: o.dst, nextHeader: o.t.proto, payload: o.t.segment, extHeaders: o.ext }),
      t: o.t,
      extCount: o.ext.length,
      laterFragment: false,
      firstFragment: o.ext.some((h) => h.type === 44 && (h.bytes![1]! & 1) === 1),
      version: 6 as const,
    })),
);

/** One way of carrying an IP packet on a link layer: the link type and the frame around the packet. */
interface LinkChoice {
  name: string;
  linkType: number;
  /** v6: the packet's version; vlan: a 16-bit TCI; inet6: an IPv6 address-family value; flags: spare choices. */
  wrap: (ip: Buffer, v6: boolean, vlan: number, inet6: number, flags: number) => Buffer;
  /** Only packets of this version fit (LINKTYPE_IPV4 / LINKTYPE_IPV6). */
  only?: 4 | 6;
}

const etherTypeOf = (v6: boolean): number => (v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
const vlanTag = (tci: number, inner: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(tci, 0);
  b.writeUInt16BE(inner, 2);
  return b;
};

const LINKS: LinkChoice[] = [
  {
    name: "eth",
    linkType: LINKTYPE_ETHERNET,
    wrap: (ip, v6) => ethernet({ etherType: etherTypeOf(v6), payload: ip }),
  },
  {
    name: "eth-vlan",
    linkType: LINKTYPE_ETHERNET,
    wrap: (ip, v6, vlan) => ethernet({ etherType: etherTypeOf(v6), payload: ip, vlan }),
  },
  {
    name: "eth-qinq",
    linkType: LINKTYPE_ETHERNET,
    wrap: (ip, v6, vlan) => ethernet({ etherType: etherTypeOf(v6), payload: ip, vlan: [vlan, vlan ^ 0x5a5] }),
  },
  {
    name: "sll",
    linkType: LINKTYPE_LINUX_SLL,
    wrap: (ip, v6) => linuxSll({ etherType: etherTypeOf(v6), payload: ip }),
  },
  {
    name: "sll-vlan",
    linkType: LINKTYPE_LINUX_SLL,
    wrap: (ip, v6, vlan) =>
      linuxSll({ etherType: TPID_8021Q, payload: Buffer.concat([vlanTag(vlan, etherTypeOf(v6)), ip]) }),
  },
  {
    name: "sll2",
    linkType: LINKTYPE_LINUX_SLL2,
    wrap: (ip, v6, vlan) => linuxSll2({ etherType: etherTypeOf(v6), payload: ip, ifindex: vlan }),
  },
  {
    name: "sll2-vlan",
    linkType: LINKTYPE_LINUX_SLL2,
    wrap: (ip, v6, vlan) =>
      linuxSll2({ etherType: TPID_8021Q, payload: Buffer.concat([vlanTag(vlan, etherTypeOf(v6)), ip]) }),
  },
  { name: "raw", linkType: LINKTYPE_RAW, wrap: (ip) => ip },
  { name: "raw-12", linkType: LINKTYPE_RAW_DLT12, wrap: (ip) => ip },
  { name: "raw-14", linkType: LINKTYPE_RAW_DLT14, wrap: (ip) => ip },
  { name: "ipv4", linkType: LINKTYPE_IPV4, wrap: (ip) => ip, only: 4 },
  { name: "ipv6", linkType: LINKTYPE_IPV6, wrap: (ip) => ip, only: 6 },
  {
    name: "null",
    linkType: LINKTYPE_NULL,
    wrap: (ip, v6, _vlan, inet6, flags) =>
      bsdLoopback({ family: v6 ? inet6 : AF_INET, payload: ip, byteOrder: flags & 1 ? "be" : "le" }),
  },
  {
    name: "loop",
    linkType: LINKTYPE_LOOP,
    wrap: (ip, v6, _vlan, inet6) =>
      bsdLoopback({ family: v6 ? inet6 : AF_INET, payload: ip, byteOrder: "be" }),
  },
  {
    name: "ppp",
    linkType: LINKTYPE_PPP,
    wrap: (ip, v6, _vlan, _inet6, flags) =>
      ppp({
        protocol: v6 ? PPP_IPV6 : PPP_IPV4,
        payload: ip,
        addressControl: (flags & 1) === 0,
        compressProtocol: (flags & 2) !== 0,
      }),
  },
  {
    name: "ppp-hdlc",
    linkType: LINKTYPE_PPP_HDLC,
    wrap: (ip, v6) => ppp({ protocol: v6 ? PPP_IPV6 : PPP_IPV4, payload: ip }),
  },
  {
    name: "cisco-hdlc",
    linkType: LINKTYPE_PPP_HDLC,
    wrap: (ip, v6, _vlan, _inet6, flags) =>
      ciscoHdlc({ etherType: etherTypeOf(v6), payload: ip, address: flags & 1 ? 0x8f : 0x0f }),
  },
];

const frameArb: fc.Arbitrary<Frame> = fc
  .record({
    ip: ipArb,
    link: fc.constantFrom(...LINKS),
    vlan: fc.nat(0xffff),
    inet6: fc.constantFrom(...BSD_INET6_FAMILIES),
    flags: fc.nat(3),
  })
  .filter(({ ip, link }) => link.only === undefined || link.only === ip.version)
  .map(({ ip, link, vlan, inet6, flags }) => ({
    bytes: link.wrap(ip.ip, ip.version === 6, vlan, inet6, flags),
    linkType: link.linkType,
    extCount: ip.extCount,
    laterFragment: ip.laterFragment,
    firstFragment: ip.firstFragment,
    t: ip.t,
    version: ip.version,
  }));

/** Every link type the decoder reads. */
const decodableArb = fc.constantFrom(...DECODABLE_LINK_TYPES);

const linkTypeArb = fc.oneof({ weight: 6, arbitrary: decodableArb }, { weight: 1, arbitrary: fc.nat(300) });

describe("fuzz: decodePacket", () => {
  it(
    "random bytes, any start, a caplen that may lie: never throws, results inside the capture",
    () => {
      const p = new DecodedPacket();
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 160 }),
          fc.nat(),
          fc.oneof(fc.nat(200), fc.nat(0x7fffffff)),
          linkTypeArb,
          (bytes, startSeed, caplen, linkType) => {
            const buf = Buffer.from(bytes);
            const start = startSeed % (buf.length + 1);
            decodeChecked(buf, start, caplen, linkType, p);
          },
        ),
        fuzzParams(0xdec0de01, 1500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "mutated valid frames (lengths that lie, truncation, flipped bits): never throws, results inside the capture",
    () => {
      const p = new DecodedPacket();
      fc.assert(
        fc.property(
          mutated(frameArb.map((f) => f.bytes)),
          decodableArb,
          fc.nat(),
          (buf, linkType, caplenSeed) => {
            decodeChecked(buf, 0, buf.length, linkType, p);
            // A snap length shorter than the frame: only the captured part may be read.
            decodeChecked(buf, 0, caplenSeed % (buf.length + 1), linkType, p);
          },
        ),
        fuzzParams(0xdec0de02, 1200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "never reads outside buf[start, start + caplen): garbage around the capture changes nothing",
    () => {
      const alone = new DecodedPacket();
      const inside = new DecodedPacket();
      fc.assert(
        fc.property(
          fc.oneof(
            frameArb.map((f) => f.bytes),
            mutated(frameArb.map((f) => f.bytes)),
          ),
          decodableArb,
          fc.nat(64),
          fc.nat(64),
          fc.nat(255),
          (region, linkType, before, after, fill) => {
            const a = decodeChecked(region, 0, region.length, linkType, alone);
            const big = embed(region, before, after, fill);
            const b = decodeChecked(big, before, region.length, linkType, inside);
            expect(snapshot(b, inside, before)).toEqual(snapshot(a, alone, 0));
          },
        ),
        fuzzParams(0xdec0de03, 800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "valid frames decode to what was built (ports, proto, payload bytes)",
    () => {
      const p = new DecodedPacket();
      fc.assert(
        fc.property(frameArb, (f) => {
          const ok = decodeChecked(f.bytes, 0, f.bytes.length, f.linkType, p);
          expect(ok).toBe(true);
          expect(p.ipVersion).toBe(f.version);
          if (f.laterFragment) {
            expect([p.proto, p.srcPort, p.dstPort]).toEqual([f.t.proto, 0, 0]);
            return;
          }
          if (f.extCount > 8) {
            // Longer chains than the decoder walks: the IP layer is known, the transport is not.
            expect(p.proto).toBe(0);
            return;
          }
          expect(p.proto).toBe(f.t.proto);
          expect([p.srcPort, p.dstPort, p.tcpFlags]).toEqual([f.t.srcPort, f.t.dstPort, f.t.flags]);
          if (f.firstFragment) expect(p.payloadLength).toBe(0);
          else if (f.t.proto === PROTO_TCP || f.t.proto === PROTO_UDP) {
            const got = p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength);
            expect(Buffer.compare(got, f.t.payload)).toBe(0);
          }
        }),
        fuzzParams(0xdec0de04, 600),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "raw IPv6 extension-header chains (any type, any length byte, lying payload length) end in bounded steps",
    () => {
      const p = new DecodedPacket();
      const rawExt = fc.record({
        type: fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...IPV6_EXT_TYPES) },
          { weight: 1, arbitrary: fc.nat(255) },
        ),
        len: fc.oneof(fc.constantFrom(0, 1, 0xff), fc.nat(255)),
        fragWord: fc.nat(0xffff),
      });
      fc.assert(
        fc.property(
          fc.array(rawExt, { maxLength: 24 }),
          fc.constantFrom(PROTO_TCP, PROTO_UDP, 59),
          fc.option(fc.nat(0xffff)),
          fc.nat(40),
          (chain, last, payloadLength, tail) => {
            const parts: Buffer[] = [];
            chain.forEach((h, i) => {
              // Each header is written at its minimum size: its length byte may claim far more.
              const b = Buffer.alloc(8);
              b[0] = chain[i + 1]?.type ?? last;
              b[1] = h.len;
              if (h.type === 44) b.writeUInt16BE(h.fragWord, 2);
              parts.push(b);
            });
            parts.push(Buffer.alloc(tail, 0x11));
            const body = Buffer.concat(parts);
            const head = Buffer.alloc(40);
            head[0] = 0x60;
            head.writeUInt16BE(payloadLength ?? body.length, 4);
            head[6] = chain[0]?.type ?? last;
            const frame = ethernet({ etherType: ETHERTYPE_IPV6, payload: Buffer.concat([head, body]) });
            expect(decodeChecked(frame, 0, frame.length, LINKTYPE_ETHERNET, p)).toBe(true);
            expect(p.ipVersion).toBe(6);
          },
        ),
        fuzzParams(0xdec0de05, 1000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("regressions: lying lengths decode only as far as they are consistent", () => {
    const p = new DecodedPacket();
    // IPv4 total length smaller than its header.
    const shortTotal = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        proto: PROTO_UDP,
        totalLength: 10,
        payload: Buffer.alloc(20),
      }),
    });
    expect(decodeChecked(shortTotal, 0, shortTotal.length, LINKTYPE_ETHERNET, p)).toBe(false);
    // UDP length field claiming 65535 bytes in a 20-byte datagram: payload clipped to the capture.
    const seg = udp({ srcPort: 53, dstPort: 4000, payload: Buffer.alloc(12, 7), length: 0xffff });
    const lying = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: PROTO_UDP, payload: seg }),
    });
    expect(decodeChecked(lying, 0, lying.length, LINKTYPE_ETHERNET, p)).toBe(true);
    expect(p.payloadLength).toBe(12);
    // IPv6 hop-by-hop header whose length byte says 2 KiB: no transport, no read past the capture.
    const hop = Buffer.alloc(8);
    hop[0] = PROTO_TCP;
    hop[1] = 0xff;
    const v6 = ethernet({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6({
        src: "fd00::1",
        dst: "fd00::2",
        nextHeader: 0,
        payload: Buffer.concat([hop, Buffer.alloc(20)]),
      }),
    });
    v6[14 + 6] = 0;
    expect(decodeChecked(v6, 0, v6.length, LINKTYPE_ETHERNET, p)).toBe(true);
    expect(p.proto).toBe(0);
    // Nine well-formed destination-options headers: one more than the decoder walks.
    const nine: Ipv6ExtHeader[] = Array.from({ length: 9 }, () => ({ type: 60 }));
    const long = ethernet({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6({
        src: "fd00::1",
        dst: "fd00::2",
        nextHeader: PROTO_TCP,
        extHeaders: nine,
        payload: tcp({ srcPort: 1, dstPort: 2, flags: 2 }),
      }),
    });
    expect(decodeChecked(long, 0, long.length, LINKTYPE_ETHERNET, p)).toBe(true);
    expect([p.proto, p.srcPort]).toEqual([0, 0]);
  });
});

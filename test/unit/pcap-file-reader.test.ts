import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePacket } from "../../src/capture/decoder.js";
import {
  DecodedPacket,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  TCP_SYN,
} from "../../src/capture/packet.js";
import { PcapFormatError, type PcapReadResult, readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { ETHERTYPE_IPV4, ipv4, linuxSll, tcpPacket, udp, udpPacket } from "../support/packet-builder.js";
import { type PcapRecord, PcapWriter } from "../support/pcap-writer.js";

interface Got {
  data: Buffer;
  caplen: number;
  wireLength: number;
  tsMs: number;
  linkType: number;
}

let dir = "";
let fileNo = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "netmon-pcap-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(bytes: Buffer): string {
  const p = join(dir, `f${fileNo++}.pcap`);
  writeFileSync(p, bytes);
  return p;
}

function readAll(path: string): { result: PcapReadResult; got: Got[] } {
  const got: Got[] = [];
  const result = readPcapFile(path, (buf, start, caplen, wireLength, tsMs, linkType) => {
    got.push({ data: Buffer.from(buf.subarray(start, start + caplen)), caplen, wireLength, tsMs, linkType });
  });
  return { result, got };
}

/** The error thrown by reading the file, checked for the shape every PcapFormatError has. */
function readError(path: string, handler?: () => void): PcapFormatError {
  let err: unknown;
  try {
    readPcapFile(path, handler ?? (() => {}));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PcapFormatError);
  const e = err as PcapFormatError;
  expect(e.name).toBe("PcapFormatError");
  expect(e.path).toBe(path);
  expect(e.message).toContain(path);
  expect(e.message).toContain(`at byte offset ${e.offset} (after ${e.packetsRead} packets)`);
  return e;
}

/** Timestamp in whole microseconds, as the reader's float milliseconds round to. */
const us = (tsMs: number): number => Math.round(tsMs * 1000);

const T0_NS = 1_700_000_000_123_456_789n;

/** Three distinct packets, one of them cut short by a snap length. */
function sampleRecords(): PcapRecord[] {
  const syn = tcpPacket({
    src: "172.17.0.2",
    dst: "172.17.0.3",
    srcPort: 40000,
    dstPort: 80,
    flags: TCP_SYN,
  });
  const dns = udpPacket({
    src: "fd00::1",
    dst: "fd00::53",
    srcPort: 5353,
    dstPort: 53,
    payload: Buffer.from("q"),
  });
  const big = udpPacket({
    src: "10.0.0.1",
    dst: "10.0.0.2",
    srcPort: 1,
    dstPort: 2,
    payload: Buffer.alloc(1400, 9),
  });
  return [
    { tsMs: 0, tsNs: T0_NS, data: syn },
    { tsMs: 0, tsNs: T0_NS + 1_000n, data: dns },
    { tsMs: 0, tsNs: T0_NS + 2_500_000_000n + 7_000n, data: big.subarray(0, 96), origLen: big.length },
  ];
}

const SIZES = sampleRecords().map((r) => r.data.length);
const SAMPLE_BYTES = SIZES.reduce((a, b) => a + b, 0);

function expectSamples(got: Got[], linkType = LINKTYPE_ETHERNET): void {
  const recs = sampleRecords();
  expect(got).toHaveLength(3);
  got.forEach((g, i) => {
    const r = recs[i]!;
    expect(g.data.equals(r.data)).toBe(true);
    expect(g.caplen).toBe(r.data.length);
    expect(g.wireLength).toBe(r.origLen ?? r.data.length);
    expect(g.linkType).toBe(linkType);
  });
  expect(got[2]!.wireLength).toBe(14 + 20 + 8 + 1400);
}

function usOf(ns: bigint): number {
  return Number((ns + 500n) / 1000n);
}

describe("PcapWriter + readPcapFile: classic pcap", () => {
  it("microseconds, little-endian: data, lengths, link type, exact µs timestamps", () => {
    const path = file(new PcapWriter(sampleRecords()).toPcap());
    const { result, got } = readAll(path);
    expect(result).toEqual({ packets: 3, bytes: SAMPLE_BYTES, format: "pcap" });
    expectSamples(got);
    // µs file: 123456789 ns is written as 123457 µs.
    expect(got.map((g) => us(g.tsMs))).toEqual([
      1_700_000_000_123_457, 1_700_000_000_123_458, 1_700_000_002_623_464,
    ]);
  });

  it("the file header is what libpcap writes", () => {
    const buf = new PcapWriter(sampleRecords()).toPcap({ linkType: LINKTYPE_RAW, snaplen: 96 });
    expect(buf.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect([buf.readUInt16LE(4), buf.readUInt16LE(6)]).toEqual([2, 4]);
    expect(buf.readUInt32LE(16)).toBe(96);
    expect(buf.readUInt32LE(20)).toBe(LINKTYPE_RAW);
    expect(buf.readUInt32LE(24)).toBe(1_700_000_000);
    expect(buf.readUInt32LE(28)).toBe(123_457);
    expect(buf.readUInt32BE(0)).toBe(0xd4c3b2a1);
    expect(new PcapWriter().toPcap({ nanos: true, bigEndian: true }).readUInt32BE(0)).toBe(0xa1b23c4d);
  });

  it("nanoseconds", () => {
    const path = file(new PcapWriter(sampleRecords()).toPcap({ nanos: true }));
    const { result, got } = readAll(path);
    expect(result.format).toBe("pcap");
    expectSamples(got);
    const expected = [T0_NS, T0_NS + 1_000n, T0_NS + 2_500_007_000n];
    got.forEach((g, i) => {
      expect(us(g.tsMs)).toBe(usOf(expected[i]!));
      // Sub-microsecond part survives to within the precision of a double at this magnitude.
      expect(Math.abs(g.tsMs - Number(expected[i]!) / 1e6)).toBeLessThan(0.0005);
    });
  });

  it("big-endian, µs and ns", () => {
    for (const nanos of [false, true]) {
      const path = file(new PcapWriter(sampleRecords()).toPcap({ bigEndian: true, nanos }));
      const { result, got } = readAll(path);
      expect(result).toEqual({ packets: 3, bytes: SAMPLE_BYTES, format: "pcap" });
      expectSamples(got);
      expect(us(got[0]!.tsMs)).toBe(1_700_000_000_123_457);
      expect(us(got[2]!.tsMs)).toBe(1_700_000_002_623_464);
    }
  });

  it("link types RAW and LINUX_SLL are passed through, and the FCS bits of the link field are masked", () => {
    const raw = ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      proto: 17,
      payload: udp({ srcPort: 1, dstPort: 2, payload: Buffer.alloc(3) }),
    });
    const sll = linuxSll({ etherType: ETHERTYPE_IPV4, payload: raw });
    expect(
      readAll(file(new PcapWriter().packet(1, raw).toPcap({ linkType: LINKTYPE_RAW }))).got[0]!.linkType,
    ).toBe(LINKTYPE_RAW);
    expect(
      readAll(file(new PcapWriter().packet(1, sll).toPcap({ linkType: LINKTYPE_LINUX_SLL }))).got[0]!
        .linkType,
    ).toBe(LINKTYPE_LINUX_SLL);
    const fcs = new PcapWriter().packet(1, raw).toPcap({ linkType: LINKTYPE_RAW });
    fcs.writeUInt32LE(0x1000_0000 | LINKTYPE_RAW, 20);
    expect(readAll(file(fcs)).got[0]!.linkType).toBe(LINKTYPE_RAW);
  });

  it("tsMs (without tsNs) is kept to the microsecond, including rounding edges", () => {
    const w = new PcapWriter();
    const times = [
      0, 0.001, 999.999, 1000, 1_700_000_000_000.001, 1_700_000_000_999.999, 1_699_999_999_999.9995,
    ];
    for (const t of times) w.packet(t, Buffer.alloc(20));
    const { got } = readAll(file(w.toPcap()));
    expect(got.map((g) => us(g.tsMs))).toEqual(times.map((t) => Math.round(t * 1000)));
  });

  it("an empty capture (header only) reads zero packets", () => {
    expect(readAll(file(new PcapWriter().toPcap())).result).toEqual({ packets: 0, bytes: 0, format: "pcap" });
  });

  it("the same packets decode the same from the file as from memory", () => {
    const recs = sampleRecords();
    const out = new DecodedPacket();
    const ports: number[] = [];
    readPcapFile(file(new PcapWriter(recs).toPcap()), (buf, start, caplen, _w, _t, linkType) => {
      expect(decodePacket(buf, start, caplen, linkType, out)).toBe(true);
      ports.push(out.srcPort, out.dstPort);
    });
    expect(ports).toEqual([40000, 80, 5353, 53, 1, 2]);
  });
});

describe("PcapWriter + readPcapFile: pcapng", () => {
  it("tsresol 6 (µs) and no if_tsresol option (default µs)", () => {
    for (const tsresol of [6, undefined]) {
      const path = file(new PcapWriter(sampleRecords()).toPcapng({ tsresol }));
      const { result, got } = readAll(path);
      expect(result).toEqual({ packets: 3, bytes: SAMPLE_BYTES, format: "pcapng" });
      expectSamples(got);
      expect(got.map((g) => us(g.tsMs))).toEqual([
        1_700_000_000_123_457, 1_700_000_000_123_458, 1_700_000_002_623_464,
      ]);
    }
  });

  it("tsresol 9 (ns)", () => {
    const { result, got } = readAll(file(new PcapWriter(sampleRecords()).toPcapng({ tsresol: 9 })));
    expect(result.packets).toBe(3);
    expectSamples(got);
    const expected = [T0_NS, T0_NS + 1_000n, T0_NS + 2_500_007_000n];
    expect(got.map((g) => us(g.tsMs))).toEqual(expected.map(usOf));
  });

  it("binary tsresol (2^-20 s) and millisecond tsresol 3", () => {
    const recs: PcapRecord[] = [{ tsMs: 1_700_000_000_250, data: Buffer.alloc(30) }];
    const bin = readAll(file(new PcapWriter(recs).toPcapng({ tsresol: 0x80 | 20 }))).got[0]!;
    expect(Math.abs(bin.tsMs - 1_700_000_000_250)).toBeLessThan(0.001);
    const ms = readAll(file(new PcapWriter(recs).toPcapng({ tsresol: 3 }))).got[0]!;
    expect(ms.tsMs).toBe(1_700_000_000_250);
  });

  it("big-endian section", () => {
    const { result, got } = readAll(
      file(new PcapWriter(sampleRecords()).toPcapng({ bigEndian: true, tsresol: 9 })),
    );
    expect(result).toEqual({ packets: 3, bytes: SAMPLE_BYTES, format: "pcapng" });
    expectSamples(got);
    expect(us(got[0]!.tsMs)).toBe(1_700_000_000_123_457);
  });

  it("three sections (LE, BE, LE again), several interfaces with their own link type and resolution", () => {
    const eth = tcpPacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2, flags: TCP_SYN });
    const raw = ipv4({
      src: "10.0.0.3",
      dst: "10.0.0.4",
      proto: 17,
      payload: udp({ srcPort: 3, dstPort: 4, payload: Buffer.alloc(0) }),
    });
    const sll = linuxSll({ etherType: ETHERTYPE_IPV4, payload: raw });
    const s1 = new PcapWriter()
      .add({ tsMs: 0, tsNs: T0_NS, data: eth, interfaceId: 0 })
      .add({ tsMs: 0, tsNs: T0_NS + 10_000n, data: raw, interfaceId: 1 })
      .add({ tsMs: 0, tsNs: T0_NS + 20_000n, data: eth, interfaceId: 0 })
      .toPcapng({ interfaces: [{ linkType: LINKTYPE_ETHERNET }, { linkType: LINKTYPE_RAW, tsresol: 9 }] });
    // Interface numbering restarts in the new section: id 0 is now SLL, id 1 Ethernet.
    const s2 = new PcapWriter()
      .add({ tsMs: 0, tsNs: T0_NS + 30_000n, data: sll, interfaceId: 0 })
      .add({ tsMs: 0, tsNs: T0_NS + 40_000n, data: eth, interfaceId: 1 })
      .toPcapng({
        bigEndian: true,
        interfaces: [{ linkType: LINKTYPE_LINUX_SLL, tsresol: 9 }, { linkType: LINKTYPE_ETHERNET }],
      });
    const { result, got } = readAll(file(Buffer.concat([s1, s2, s1])));
    const s1Bytes = 2 * eth.length + raw.length;
    expect(result).toEqual({ packets: 8, bytes: 2 * s1Bytes + sll.length + eth.length, format: "pcapng" });
    expect(got.map((g) => g.linkType)).toEqual([
      LINKTYPE_ETHERNET,
      LINKTYPE_RAW,
      LINKTYPE_ETHERNET,
      LINKTYPE_LINUX_SLL,
      LINKTYPE_ETHERNET,
      LINKTYPE_ETHERNET,
      LINKTYPE_RAW,
      LINKTYPE_ETHERNET,
    ]);
    expect(got.map((g) => us(g.tsMs) - us(got[0]!.tsMs))).toEqual([0, 10, 20, 30, 40, 0, 10, 20]);
    expect(
      got.map((g) =>
        g.data.equals(eth) ? "eth" : g.data.equals(raw) ? "raw" : g.data.equals(sll) ? "sll" : "?",
      ),
    ).toEqual(["eth", "raw", "eth", "sll", "eth", "eth", "raw", "eth"]);
    const out = new DecodedPacket();
    for (const g of got) expect(decodePacket(g.data, 0, g.caplen, g.linkType, out)).toBe(true);
  });

  it("unknown block types are skipped", () => {
    const ng = new PcapWriter(sampleRecords()).toPcapng();
    // A block of a type the reader does not know (0xbad), between the IDB and the first EPB.
    const custom = Buffer.alloc(20);
    custom.writeUInt32LE(0x0bad, 0);
    custom.writeUInt32LE(20, 4);
    custom.writeUInt32LE(20, 16);
    const shbIdb = 28 + 20;
    const spliced = Buffer.concat([ng.subarray(0, shbIdb), custom, ng.subarray(shbIdb)]);
    expectSamples(readAll(file(spliced)).got);
  });

  it("simple packet blocks use interface 0 and the original length", () => {
    const ng = new PcapWriter().toPcapng({ linkType: LINKTYPE_RAW });
    const pkt = ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      proto: 17,
      payload: udp({ srcPort: 1, dstPort: 2, payload: Buffer.alloc(1) }),
    });
    const spb = Buffer.alloc(16 + ((pkt.length + 3) & ~3));
    spb.writeUInt32LE(3, 0);
    spb.writeUInt32LE(spb.length, 4);
    spb.writeUInt32LE(pkt.length, 8);
    pkt.copy(spb, 12);
    spb.writeUInt32LE(spb.length, spb.length - 4);
    const { result, got } = readAll(file(Buffer.concat([ng, spb])));
    expect(result).toEqual({ packets: 1, bytes: pkt.length, format: "pcapng" });
    expect(got[0]!.data.equals(pkt)).toBe(true);
    expect(got[0]!.linkType).toBe(LINKTYPE_RAW);
  });
});

describe("readPcapFile: files larger than the 4 MiB read chunk", () => {
  /** A packet that carries its own index, so a mix-up or a torn record shows. */
  function indexed(i: number, size: number): Buffer {
    const b = Buffer.alloc(size, i & 0xff);
    b.writeUInt32BE(i, 0);
    b.writeUInt32BE((i ^ 0xdeadbeef) >>> 0, size - 4);
    return b;
  }

  function check(path: string, n: number, sizeOf: (i: number) => number, t0Ns: bigint, stepNs: bigint): void {
    let count = 0;
    let bytes = 0;
    const result = readPcapFile(path, (buf, start, caplen, wireLength, tsMs) => {
      const i = count++;
      if (
        caplen !== sizeOf(i) ||
        wireLength !== caplen ||
        buf.readUInt32BE(start) !== i ||
        buf.readUInt32BE(start + caplen - 4) !== (i ^ 0xdeadbeef) >>> 0 ||
        us(tsMs) !== usOf(t0Ns + BigInt(i) * stepNs)
      ) {
        throw new Error(`packet ${i} read wrong (caplen ${caplen}, ts ${tsMs})`);
      }
      bytes += caplen;
    });
    expect(count).toBe(n);
    expect(result.packets).toBe(n);
    expect(result.bytes).toBe(bytes);
  }

  it("classic pcap: 40 000 packets of 200 bytes (8.6 MB) with exact timestamps", () => {
    const w = new PcapWriter();
    const n = 40_000;
    for (let i = 0; i < n; i++)
      w.add({ tsMs: 0, tsNs: T0_NS + BigInt(i) * 1_001_000n, data: indexed(i, 200) });
    const buf = w.toPcap();
    expect(buf.length).toBeGreaterThan(2 * 4 * 1024 * 1024);
    check(file(buf), n, () => 200, T0_NS, 1_001_000n);
  });

  it("pcapng, ns resolution, odd sizes so records straddle the chunk edge at every alignment", () => {
    const w = new PcapWriter();
    const n = 30_000;
    const sizeOf = (i: number): number => 97 + ((i * 37) % 311);
    for (let i = 0; i < n; i++)
      w.add({ tsMs: 0, tsNs: T0_NS + BigInt(i) * 333_000n, data: indexed(i, sizeOf(i)) });
    const buf = w.toPcapng({ tsresol: 9 });
    expect(buf.length).toBeGreaterThan(2 * 4 * 1024 * 1024);
    check(file(buf), n, sizeOf, T0_NS, 333_000n);
  });

  it("records of 64 KiB and of the maximum 256 KiB snap length across the boundary", () => {
    const w = new PcapWriter();
    const sizes = [65_535, 65_535, 262_144, 100, 262_144, 262_144];
    const n = 80;
    for (let i = 0; i < n; i++)
      w.add({ tsMs: 0, tsNs: T0_NS + BigInt(i) * 1000n, data: indexed(i, sizes[i % sizes.length]!) });
    check(file(w.toPcap()), n, (i) => sizes[i % sizes.length]!, T0_NS, 1000n);
  });
});

describe("readPcapFile: errors name the offset and the packets read", () => {
  const three = (): Buffer => new PcapWriter(sampleRecords()).toPcap();
  /** Offsets of the records in `three()`: 24, 24+16+54, ... */
  const recOff = [24, 24 + 16 + SIZES[0]!, 24 + 16 + SIZES[0]! + 16 + SIZES[1]!];
  const endOff = recOff[2]! + 16 + 96;

  it("empty file", () => {
    const e = readError(file(Buffer.alloc(0)));
    expect([e.offset, e.packetsRead]).toEqual([0, 0]);
    expect(e.message).toMatch(/empty/);
  });

  it("bad magic", () => {
    const bytes = Buffer.from("GIF89a this is not a capture file at all.....");
    const e = readError(file(bytes));
    expect([e.offset, e.packetsRead]).toEqual([0, 0]);
    expect(e.message).toMatch(/not a pcap or pcapng file \(magic 0x38464947\)/);
  });

  it("a header shorter than 24 bytes", () => {
    const e = readError(file(three().subarray(0, 20)));
    expect([e.offset, e.packetsRead]).toEqual([0, 0]);
    expect(e.message).toMatch(/truncated pcap global header/);
  });

  it("truncated record header after three good packets", () => {
    const seen: number[] = [];
    const bytes = Buffer.concat([three(), Buffer.alloc(10)]);
    expect(bytes.length).toBe(endOff + 10);
    const e = readError(file(bytes), () => seen.push(1));
    expect([e.offset, e.packetsRead]).toEqual([endOff, 3]);
    expect(seen).toHaveLength(3);
    expect(e.message).toMatch(
      new RegExp(`truncated record header at byte offset ${endOff} \\(after 3 packets\\)$`),
    );
  });

  it("truncated packet data in the third record", () => {
    const e = readError(file(three().subarray(0, endOff - 1)));
    expect([e.offset, e.packetsRead]).toEqual([recOff[2], 2]);
    expect(e.message).toMatch(/truncated packet data \(needs 96 bytes\)/);
  });

  it("absurd incl_len in the second record, both byte orders", () => {
    for (const bigEndian of [false, true]) {
      const bytes = new PcapWriter(sampleRecords()).toPcap({ bigEndian });
      if (bigEndian) bytes.writeUInt32BE(0x7fff_ffff, recOff[1]! + 8);
      else bytes.writeUInt32LE(0x7fff_ffff, recOff[1]! + 8);
      const e = readError(file(bytes));
      expect([e.offset, e.packetsRead]).toEqual([recOff[1], 1]);
      expect(e.message).toMatch(/record claims 2147483647 captured bytes/);
    }
  });

  it("a truncated record deep in a multi-chunk file reports the absolute offset", () => {
    const w = new PcapWriter();
    for (let i = 0; i < 30_000; i++) w.packet(i, Buffer.alloc(200, 1));
    const full = w.toPcap();
    const cut = full.length - 100; // inside the last record's data
    const e = readError(file(full.subarray(0, cut)));
    expect([e.offset, e.packetsRead]).toEqual([full.length - 216, 29_999]);
  });

  describe("pcapng", () => {
    const ng = (): Buffer => new PcapWriter(sampleRecords()).toPcapng({ tsresol: 9 });
    // SHB 28 bytes, IDB 32 bytes (with if_tsresol), then EPBs of 32 + padded data.
    const pad = (n: number): number => (n + 3) & ~3;
    const epb = [60, 60 + 32 + pad(SIZES[0]!), 60 + 32 + pad(SIZES[0]!) + 32 + pad(SIZES[1]!)];
    const ngEnd = epb[2]! + 32 + 96;

    it("block offsets are where the test thinks", () => {
      const b = ng();
      expect(b.length).toBe(ngEnd);
      for (const o of epb) expect(b.readUInt32LE(o)).toBe(6);
    });

    it("bad block length: not a multiple of 4, under 12, over 1 MiB", () => {
      for (const len of [13, 8, 0, 2 * 1024 * 1024]) {
        const b = ng();
        b.writeUInt32LE(len, epb[1]! + 4);
        const e = readError(file(b));
        expect([e.offset, e.packetsRead]).toEqual([epb[1], 1]);
        expect(e.message).toContain(`bad pcapng block length ${len}`);
      }
    });

    it("trailer length does not match the header", () => {
      const b = ng();
      b.writeUInt32LE(999, epb[2]! + 32 + 96 - 4);
      const e = readError(file(b));
      expect([e.offset, e.packetsRead]).toEqual([epb[2], 2]);
      expect(e.message).toMatch(/trailer length does not match/);
    });

    it("truncated block and truncated block header", () => {
      const e1 = readError(file(ng().subarray(0, ngEnd - 4)));
      expect([e1.offset, e1.packetsRead]).toEqual([epb[2], 2]);
      expect(e1.message).toMatch(/truncated pcapng block/);
      const e2 = readError(file(Buffer.concat([ng(), Buffer.alloc(8)])));
      expect([e2.offset, e2.packetsRead]).toEqual([ngEnd, 3]);
      expect(e2.message).toMatch(/truncated block header/);
    });

    it("packet data longer than its block", () => {
      const b = ng();
      b.writeUInt32LE(500, epb[0]! + 20);
      const e = readError(file(b));
      expect([e.offset, e.packetsRead]).toEqual([epb[0], 0]);
      expect(e.message).toMatch(/packet data longer than its block/);
    });

    it("packet for an interface that was not declared (also across a new section)", () => {
      const b = ng();
      b.writeUInt32LE(1, epb[1]! + 8);
      const e = readError(file(b));
      expect([e.offset, e.packetsRead]).toEqual([epb[1], 1]);
      expect(e.message).toMatch(/undeclared interface 1/);

      // Second section has no IDB: its packets may not use the first section's interfaces.
      const shbOnly = ng().subarray(0, 28);
      const withSection = Buffer.concat([ng(), shbOnly, ng().subarray(epb[0]!, epb[1]!)]);
      const e2 = readError(file(withSection));
      expect([e2.offset, e2.packetsRead]).toEqual([ngEnd + 28, 3]);
    });

    it("bad byte-order magic in a section header", () => {
      const b = ng();
      b.writeUInt32LE(0x12345678, 8);
      const e = readError(file(b));
      expect([e.offset, e.packetsRead]).toEqual([0, 0]);
      expect(e.message).toMatch(/byte-order magic/);
    });
  });
});

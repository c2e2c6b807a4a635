/**
 * Fuzzing the pcap/pcapng file reader (src/capture/pcap-file-reader.ts): `netmon replay` reads
 * captures made anywhere, by anyone. Properties: readPcapFile throws nothing but PcapFormatError,
 * whose message names the byte offset and the packets read so far; it ends on every input (block
 * lengths of 0, lying trailers); it never hands out a packet outside its buffer or a negative
 * length; it rejects a record claiming gigabytes without allocating them; a file cut anywhere
 * gives the packets before the cut and an error at the start of the cut record. Run counts and
 * seeds: see test/support/mutate.ts (FUZZ_RUNS=100000 for a longer campaign).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW } from "../../src/capture/packet.js";
import { PcapFormatError, type PcapReadResult, readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { FUZZ_TIMEOUT_MS, fuzzParams, mutated } from "../support/mutate.js";
import { type PcapRecord, PcapWriter, recordNs } from "../support/pcap-writer.js";

/** The reader's own limits (classic record, pcapng block). */
const MAX_RECORD = 262_144 + 64;
const MAX_PCAPNG_BLOCK = 1024 * 1024;

let dir = "";
let path = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "netmon-fuzz-pcap-"));
  path = join(dir, "input.pcap");
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Call {
  data: Buffer;
  wireLength: number;
  tsMs: number;
  linkType: number;
}

interface Outcome {
  result: PcapReadResult | null;
  error: PcapFormatError | null;
  calls: Call[];
}

/** Writes the bytes, reads them back, and checks what must hold whatever the file held. */
function readChecked(bytes: Buffer): Outcome {
  writeFileSync(path, bytes);
  const calls: Call[] = [];
  let result: PcapReadResult | null = null;
  let error: PcapFormatError | null = null;
  try {
    result = readPcapFile(path, (buf, start, caplen, wireLength, tsMs, linkType) => {
      expect(Number.isInteger(start) && start >= 0).toBe(true);
      expect(Number.isInteger(caplen) && caplen >= 0).toBe(true);
      expect(start + caplen).toBeLessThanOrEqual(buf.length);
      expect(caplen).toBeLessThanOrEqual(Math.max(MAX_RECORD, MAX_PCAPNG_BLOCK));
      expect(Number.isInteger(wireLength) && wireLength >= 0 && wireLength <= 0xffffffff).toBe(true);
      expect(Number.isFinite(tsMs)).toBe(true);
      expect(Number.isInteger(linkType) && linkType >= 0).toBe(true);
      calls.push({ data: Buffer.from(buf.subarray(start, start + caplen)), wireLength, tsMs, linkType });
    });
  } catch (err) {
    // Anything but PcapFormatError (RangeError from a Buffer read, an assertion above) fails here.
    if (!(err instanceof PcapFormatError)) throw err;
    error = err;
  }
  if (error !== null) {
    expect(error.name).toBe("PcapFormatError");
    expect(error.path).toBe(path);
    expect(Number.isInteger(error.offset) && error.offset >= 0 && error.offset <= bytes.length).toBe(true);
    expect(error.packetsRead).toBe(calls.length);
    expect(error.message).toContain(`at byte offset ${error.offset} (after ${error.packetsRead} packets)`);
  } else {
    expect(result).not.toBeNull();
    expect(result!.packets).toBe(calls.length);
    expect(result!.bytes).toBe(calls.reduce((n, c) => n + c.data.length, 0));
  }
  return { result, error, calls };
}

// ---- generators of valid captures ----

const recordArb: fc.Arbitrary<PcapRecord> = fc
  .record({
    us: fc.nat(2_000_000_000_000),
    data: fc.uint8Array({ maxLength: 96 }),
    extra: fc.nat(1500),
  })
  .map((r) => ({ tsMs: r.us / 1000, data: Buffer.from(r.data), origLen: r.data.length + r.extra }));

const linkTypeArb = fc.constantFrom(LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL);

interface Capture {
  bytes: Buffer;
  records: PcapRecord[];
  /** File offsets where each record (classic) or block (pcapng) starts, plus the file length. */
  boundaries: number[];
  /** For each boundary but the last: how many packets are complete once it is reached. */
  packetsAt: number[];
  linkTypes: number[];
  unitMs: number[];
}

const classicArb: fc.Arbitrary<Capture> = fc
  .record({
    records: fc.array(recordArb, { maxLength: 6 }),
    nanos: fc.boolean(),
    bigEndian: fc.boolean(),
    linkType: linkTypeArb,
  })
  .map(({ records, nanos, bigEndian, linkType }) => {
    const bytes = new PcapWriter(records).toPcap({ nanos, bigEndian, linkType });
    const boundaries = [24];
    const packetsAt = [0];
    for (const r of records) {
      boundaries.push(boundaries[boundaries.length - 1]! + 16 + r.data.length);
      packetsAt.push(packetsAt.length);
    }
    return {
      bytes,
      records,
      boundaries,
      packetsAt,
      linkTypes: records.map(() => linkType),
      unitMs: records.map(() => (nanos ? 1e-6 : 1e-3)),
    };
  });

const tsresolArb = fc.constantFrom(undefined, 3, 6, 9, 0x80 | 20);

function unitOf(tsresol: number | undefined): number {
  if (tsresol === undefined) return 1e-3;
  return (tsresol & 0x80 ? 2 ** -(tsresol & 0x7f) : 10 ** -tsresol) * 1000;
}

const pcapngArb: fc.Arbitrary<Capture> = fc
  .record({
    interfaces: fc.array(fc.record({ linkType: linkTypeArb, tsresol: tsresolArb }), {
      minLength: 1,
      maxLength: 3,
    }),
    records: fc.array(fc.tuple(recordArb, fc.nat(2)), { maxLength: 6 }),
    bigEndian: fc.boolean(),
  })
  .map(({ interfaces, records, bigEndian }) => {
    const recs = records.map(([r, i]) => ({ ...r, interfaceId: i % interfaces.length }));
    const bytes = new PcapWriter(recs).toPcapng({ interfaces, bigEndian });
    // SHB (28 bytes), IDBs (20, or 32 with if_tsresol), EPBs (32 + padded data).
    const sizes = [28, ...interfaces.map((i) => (i.tsresol === undefined ? 20 : 32))];
    const boundaries = [0];
    const packetsAt = [0];
    for (const s of sizes) {
      boundaries.push(boundaries[boundaries.length - 1]! + s);
      packetsAt.push(0);
    }
    for (const r of recs) {
      boundaries.push(boundaries[boundaries.length - 1]! + 32 + ((r.data.length + 3) & ~3));
      packetsAt.push(packetsAt[packetsAt.length - 1]! + 1);
    }
    // The first boundary is the file start, not a place where reading can stop cleanly.
    return {
      bytes,
      records: recs,
      boundaries,
      packetsAt,
      linkTypes: recs.map((r) => interfaces[r.interfaceId]!.linkType),
      unitMs: recs.map((r) => unitOf(interfaces[r.interfaceId]!.tsresol)),
    };
  });

/** A pcapng block with a type, body and lengths that may all lie (little-endian section). */
const rawBlockArb = fc
  .record({
    type: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(1, 2, 3, 5, 6, 0x0a0d0d0a, 0x80000001) },
      { weight: 1, arbitrary: fc.nat(0xffffffff) },
    ),
    body: fc.oneof(
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }) },
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 48 }) },
    ),
    totalLie: fc.option(
      fc.oneof(
        fc.constantFrom(0, 4, 8, 11, 12, 13, 16, 20, 24, 28, 32, 0x100000, 0x100004, 0xffffffff),
        fc.nat(200),
      ),
      { freq: 3 },
    ),
    trailerLie: fc.option(fc.nat(0xffffffff), { freq: 4 }),
    bom: fc.constantFrom(0x1a2b3c4d, 0x4d3c2b1a, 0x12345678),
  })
  .map((b) => {
    const body = Buffer.from(b.body);
    if (b.type === 0x0a0d0d0a && body.length >= 4) body.writeUInt32LE(b.bom, 0);
    const padded = (body.length + 3) & ~3;
    const honest = 12 + padded;
    const out = Buffer.alloc(honest);
    out.writeUInt32LE(b.type >>> 0, 0);
    out.writeUInt32LE((b.totalLie ?? honest) >>> 0, 4);
    body.copy(out, 8);
    out.writeUInt32LE((b.trailerLie ?? honest) >>> 0, honest - 4);
    return out;
  });

/** An honest but minimal block of a known type: too short for its type's fixed fields. */
const shortBlockArb = fc
  .record({ type: fc.constantFrom(1, 3, 6), total: fc.constantFrom(12, 16, 20, 24, 28, 32) })
  .map(({ type, total }) => {
    const out = Buffer.alloc(total);
    out.writeUInt32LE(type, 0);
    out.writeUInt32LE(total, 4);
    out.writeUInt32LE(total, total - 4);
    return out;
  });

const hostilePcapngArb = fc
  .tuple(fc.array(fc.oneof(rawBlockArb, shortBlockArb), { maxLength: 8 }), fc.boolean())
  .map(([blocks, withIface]) => {
    const head = new PcapWriter().toPcapng(withIface ? {} : { interfaces: [] });
    return Buffer.concat([head, ...blocks]);
  });

/** Expected outcome of reading the first `k` bytes of a valid capture. */
function expectTruncated(cap: Capture, k: number, out: Outcome): void {
  const bounds = cap.boundaries;
  const last = bounds[bounds.length - 1]!;
  // Index of the last boundary at or before k.
  let j = 0;
  while (j + 1 < bounds.length && bounds[j + 1]! <= k) j++;
  const packets = cap.packetsAt[j]!;
  const cleanStop = k === last || (k === bounds[j] && k >= bounds[0]! && (bounds[0] !== 0 || j > 0));
  if (k < 4 || (bounds[0] === 24 && k < 24)) {
    expect(out.error?.offset).toBe(0);
    expect(out.error?.packetsRead).toBe(0);
  } else if (cleanStop) {
    expect(out.error).toBeNull();
    expect(out.result?.packets).toBe(packets);
  } else {
    expect(out.error?.offset).toBe(bounds[j]);
    expect(out.error?.packetsRead).toBe(packets);
  }
  expect(out.calls.length).toBe(packets);
}

describe("fuzz: readPcapFile", () => {
  it(
    "valid captures (pcap µs/ns, pcapng, both byte orders) read back exactly",
    () => {
      fc.assert(
        fc.property(fc.oneof(classicArb, pcapngArb), (cap) => {
          const out = readChecked(cap.bytes);
          expect(out.error).toBeNull();
          expect(out.calls.map((c) => c.data)).toEqual(cap.records.map((r) => r.data));
          expect(out.calls.map((c) => c.linkType)).toEqual(cap.linkTypes);
          out.calls.forEach((c, i) => {
            const want = Number(recordNs(cap.records[i]!)) / 1e6;
            expect(Math.abs(c.tsMs - want)).toBeLessThanOrEqual(Math.max(cap.unitMs[i]!, 0.002));
          });
        }),
        fuzzParams(0x9ca901, 200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "a capture cut at any byte: the packets before the cut, then an error at the cut record's offset",
    () => {
      fc.assert(
        fc.property(fc.oneof(classicArb, pcapngArb), fc.nat(), (cap, cut) => {
          const k = cut % (cap.bytes.length + 1);
          expectTruncated(cap, k, readChecked(cap.bytes.subarray(0, k)));
        }),
        fuzzParams(0x9ca902, 300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "mutated captures (lying caplen, block lengths, trailers, magic): only PcapFormatError, packets inside the buffer",
    () => {
      fc.assert(
        fc.property(mutated(fc.oneof(classicArb, pcapngArb).map((c) => c.bytes)), (bytes) => {
          readChecked(bytes);
        }),
        fuzzParams(0x9ca903, 500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "hostile pcapng block sequences (length 0, lengths that are not multiples of 4, lying trailers) end",
    () => {
      fc.assert(
        fc.property(hostilePcapngArb, (bytes) => {
          readChecked(bytes);
        }),
        fuzzParams(0x9ca904, 500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "random bytes, with and without a valid magic: only PcapFormatError",
    () => {
      const magics = [
        Buffer.from([0xd4, 0xc3, 0xb2, 0xa1]),
        Buffer.from([0xa1, 0xb2, 0x3c, 0x4d]),
        Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]),
        Buffer.alloc(0),
      ];
      fc.assert(
        fc.property(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 200 }), (magic, rest) => {
          readChecked(Buffer.concat([magic, rest]));
        }),
        fuzzParams(0x9ca905, 300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("regressions: records that claim gigabytes are rejected without allocating them", () => {
    const one = new PcapWriter().packet(1_700_000_000_000, Buffer.alloc(60, 1)).toPcap();
    for (const claim of [0xffffffff, 0x80000000, MAX_RECORD + 1]) {
      const bytes = Buffer.from(one);
      bytes.writeUInt32LE(claim, 24 + 8);
      const before = process.memoryUsage().arrayBuffers;
      const out = readChecked(bytes);
      expect(out.error?.offset).toBe(24);
      expect(out.error?.packetsRead).toBe(0);
      expect(out.error?.message).toContain(`record claims ${claim} captured bytes`);
      // The reader's own 4 MiB chunk is all it may hold, whatever the record claims.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    }
    // pcapng: an enhanced packet block whose caplen says 4 GiB inside a 36-byte block.
    const ng = new PcapWriter().packet(1_700_000_000_000, Buffer.alloc(4, 1)).toPcapng();
    ng.writeUInt32LE(0xffffffff, 28 + 20 + 20);
    const epb = readChecked(ng);
    expect(epb.error?.message).toContain("packet data longer than its block");
    expect(epb.error?.offset).toBe(48);
  });

  it("regressions: pcapng block length 0 and short blocks are rejected, never looped on", () => {
    const head = new PcapWriter().toPcapng();
    for (const total of [0, 4, 8, 13, 0xffffffff, MAX_PCAPNG_BLOCK + 4]) {
      const block = Buffer.alloc(16);
      block.writeUInt32LE(6, 0);
      block.writeUInt32LE(total >>> 0, 4);
      const out = readChecked(Buffer.concat([head, block]));
      expect(out.error?.message).toContain(`bad pcapng block length ${total >>> 0}`);
      expect(out.error?.offset).toBe(head.length);
    }
    // A simple packet block of 12 bytes has no room for its original-length field: it used to be
    // read as a packet of -4 bytes.
    const spb = Buffer.alloc(12);
    spb.writeUInt32LE(3, 0);
    spb.writeUInt32LE(12, 4);
    spb.writeUInt32LE(12, 8);
    const out = readChecked(Buffer.concat([head, spb]));
    expect(out.calls).toEqual([]);
    expect(out.error?.offset).toBe(head.length);
    expect(out.error?.message).toContain("short simple packet block");
    // A well-formed 16-byte simple packet block (no data) is a packet of 0 bytes.
    const spb16 = Buffer.alloc(16);
    spb16.writeUInt32LE(3, 0);
    spb16.writeUInt32LE(16, 4);
    spb16.writeUInt32LE(60, 8);
    spb16.writeUInt32LE(16, 12);
    const ok = readChecked(Buffer.concat([head, spb16]));
    expect(ok.error).toBeNull();
    expect(ok.calls.map((c) => [c.data.length, c.wireLength])).toEqual([[0, 60]]);
  });
});

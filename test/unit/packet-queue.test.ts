import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PacketQueue } from "../../src/capture/packet-queue.js";
import type { RawPacketHandler } from "../../src/capture/source.js";

interface Seen {
  bytes: string;
  wire: number;
  ts: number;
  link: number;
}

/** A packet whose bytes say which one it is: its number repeated, `len` bytes long. */
function packet(n: number, len: number): Buffer {
  return Buffer.alloc(len, n & 0xff);
}

const collect =
  (into: Seen[]): RawPacketHandler =>
  (buf, start, caplen, wire, ts, link) => {
    into.push({ bytes: buf.subarray(start, start + caplen).toString("hex"), wire, ts, link });
  };

const never = (): number => 0;

describe("PacketQueue", () => {
  it("hands packets on in arrival order with their lengths, times and link type", () => {
    const q = new PacketQueue(1024);
    q.push(Buffer.from("xxabcdef", "latin1"), 2, 4, 60, 1000.5);
    q.push(packet(7, 3), 0, 3, 3, 1001);
    const seen: Seen[] = [];
    expect(q.drain(collect(seen), 1, Number.POSITIVE_INFINITY, never)).toBe(0);
    expect(seen).toEqual([
      { bytes: Buffer.from("abcd").toString("hex"), wire: 60, ts: 1000.5, link: 1 },
      { bytes: "070707", wire: 3, ts: 1001, link: 1 },
    ]);
    expect(q.length).toBe(0);
  });

  it("refuses and counts what does not fit, and takes packets again once drained", () => {
    const q = new PacketQueue(256);
    let accepted = 0;
    for (let i = 0; i < 10; i++) if (q.push(packet(i, 40), 0, 40, 40, i)) accepted++;
    expect(accepted).toBe(4); // 56-byte records in 256 bytes
    expect(q.dropped).toBe(6);
    expect(q.push(packet(0, 300), 0, 300, 300, 0)).toBe(false); // larger than the whole slab
    const seen: Seen[] = [];
    q.drain(collect(seen), 1, Number.POSITIVE_INFINITY, never);
    expect(seen.map((s) => s.ts)).toEqual([0, 1, 2, 3]);
    expect(q.push(packet(9, 40), 0, 40, 40, 9)).toBe(true);
  });

  it("wraps to the front of the slab when the end is full and the front is free", () => {
    const q = new PacketQueue(256, 1);
    for (let i = 0; i < 4; i++) expect(q.push(packet(i, 40), 0, 40, 40, i)).toBe(true); // 224 bytes
    const seen: Seen[] = [];
    q.drain(collect(seen), 1, 0, () => 1); // one packet
    q.drain(collect(seen), 1, 0, () => 1); // and another: the front's first 112 bytes are free
    expect(q.push(packet(4, 40), 0, 40, 40, 4)).toBe(true); // does not fit after 224: wraps to 0
    expect(q.push(packet(5, 40), 0, 40, 40, 5)).toBe(true); // fills the front up to packet 2
    expect(q.push(packet(6, 40), 0, 40, 40, 6)).toBe(false); // would overwrite packet 2
    q.drain(collect(seen), 1, Number.POSITIVE_INFINITY, never);
    expect(seen.map((s) => s.ts)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen[4]?.bytes).toBe(packet(4, 40).toString("hex"));
    expect(seen[5]?.bytes).toBe(packet(5, 40).toString("hex"));
  });

  it("stops a drain at its deadline and resumes where it stopped", () => {
    const q = new PacketQueue(1 << 16);
    for (let i = 0; i < 200; i++) q.push(packet(i, 10), 0, 10, 10, i);
    const seen: Seen[] = [];
    let clock = 0;
    // The clock is read every 64 packets; past the deadline at the first read.
    const left = q.drain(collect(seen), 1, 1, () => ++clock);
    expect(seen).toHaveLength(64);
    expect(left).toBe(136);
    q.drain(collect(seen), 1, Number.POSITIVE_INFINITY, never);
    expect(seen.map((s) => s.ts)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("never loses, reorders or corrupts an accepted packet, through any interleaving of pushes and drains", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 2048 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 300 }), fc.constant(-1)),
          { maxLength: 300 },
        ),
        (slab, every, ops) => {
          // A clock check every 1–4 packets: partial drains leave packets behind, so the writer wraps.
          const q = new PacketQueue(slab, every);
          const accepted: Seen[] = [];
          const seen: Seen[] = [];
          let n = 0;
          let refused = 0;
          for (const op of ops) {
            if (op === -1) {
              // Every other drain stops at its first clock check.
              let reads = 0;
              q.drain(collect(seen), 113, n % 2 === 0 ? Number.POSITIVE_INFINITY : 1, () => ++reads);
              continue;
            }
            n++;
            const p = packet(n, op);
            if (q.push(p, 0, op, op + 14, n)) {
              accepted.push({ bytes: p.toString("hex"), wire: op + 14, ts: n, link: 113 });
            } else refused++;
          }
          q.drain(collect(seen), 113, Number.POSITIVE_INFINITY, never);
          expect(seen).toEqual(accepted);
          expect(q.dropped).toBe(refused);
          expect(q.length).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

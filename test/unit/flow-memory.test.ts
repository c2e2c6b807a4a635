/**
 * The compact flow record (src/flows/flow-record.ts) and the structures that keep a 100k-flow table
 * small: packed fields read back as written, address words compared as the decoder gives them (IPv4
 * and IPv6, words past 2^31), the bucket array growing and shrinking around a burst, the times slab
 * handing slots back and moving to a smaller one after a burst without changing what is reported.
 */
import { describe, expect, it } from "vitest";
import { PROTO_TCP, PROTO_UDP } from "../../src/capture/packet.js";
import { AddressText } from "../../src/flows/address-text.js";
import { FlowBuckets } from "../../src/flows/flow-buckets.js";
import { CLOSER_RESPONDER, FLOW_CLOSED, FLOW_UNANSWERED, FlowRecord } from "../../src/flows/flow-record.js";
import { FlowTimes } from "../../src/flows/flow-times.js";
import { ipToWords } from "../../src/net/ip-format.js";
import { flowHarness, flowRef } from "../support/flow-harness.js";

const words = (ip: string): Uint32Array => {
  const w = new Uint32Array(4);
  expect(ipToWords(ip, w)).not.toBe(0);
  return w;
};

describe("FlowRecord", () => {
  it("reads back every packed field as written, each independently", () => {
    const rec = new FlowRecord(new FlowTimes());
    rec.proto = PROTO_UDP;
    rec.version = 6;
    rec.state = FLOW_UNANSWERED;
    rec.closer = CLOSER_RESPONDER;
    rec.finB = true;
    rec.fromProc = true;
    rec.isn = 0xfedcba98;
    rec.hasIsn = true;
    expect([rec.proto, rec.version, rec.state, rec.closer]).toEqual([
      PROTO_UDP,
      6,
      FLOW_UNANSWERED,
      CLOSER_RESPONDER,
    ]);
    expect([rec.finA, rec.finB, rec.midstream, rec.initiatorUnknown, rec.fromProc, rec.hasIsn]).toEqual([
      false,
      true,
      false,
      false,
      true,
      true,
    ]);
    expect(rec.isn).toBe(0xfedcba98);
    rec.state = FLOW_CLOSED;
    rec.finB = false;
    rec.proto = PROTO_TCP;
    expect([rec.proto, rec.version, rec.state, rec.closer, rec.finB, rec.fromProc]).toEqual([
      PROTO_TCP,
      6,
      FLOW_CLOSED,
      CLOSER_RESPONDER,
      false,
      true,
    ]);
  });

  it("derives the direction from the two ends' attribution", () => {
    const rec = new FlowRecord(new FlowTimes());
    const ref = flowRef("web");
    const cases = [
      [ref, ref, "internal"],
      [ref, null, "outbound"],
      [null, ref, "inbound"],
      [null, null, "external"],
    ] as const;
    for (const [a, b, direction] of cases) {
      rec.aRef = a;
      rec.bRef = b;
      rec.setDirection();
      expect(rec.direction).toBe(direction);
    }
  });

  it("keeps its times apart from every other record's, past a slab growth", () => {
    const times = new FlowTimes();
    const recs = Array.from({ length: 1000 }, () => new FlowRecord(times));
    recs.forEach((r, i) => {
      r.firstTs = 1_767_225_600_000.125 + i;
      r.lastTs = r.firstTs + 0.5;
    });
    recs.forEach((r, i) => {
      expect([r.firstTs, r.lastTs, r.timerDue]).toEqual([
        1_767_225_600_000.125 + i,
        1_767_225_600_000.625 + i,
        Number.POSITIVE_INFINITY,
      ]);
    });
  });

  it("matches its ends in either order, IPv4 and IPv6, words past 2^31 included", () => {
    for (const [a, b, other] of [
      ["198.51.100.7", "203.0.113.250", "198.51.100.8"],
      ["2001:db8::1", "fe80::ffff:ffff:ffff:fffe", "2001:db8::2"],
      ["::1", "::2", "::3"],
    ]) {
      const rec = new FlowRecord(new FlowTimes());
      rec.setEnds(words(a!), 40_000, words(b!), 443);
      expect(rec.hasEnds(words(a!), 40_000, words(b!), 443)).toBe(true);
      expect(rec.hasEnds(words(b!), 443, words(a!), 40_000)).toBe(false);
      expect(rec.hasEnds(words(other!), 40_000, words(b!), 443)).toBe(false);
      expect(rec.hasEnds(words(a!), 40_001, words(b!), 443)).toBe(false);
      expect(rec.isSideA(words(a!), 40_000)).toBe(true);
      expect(rec.isSideA(words(b!), 443)).toBe(false);
      expect(rec.isSideA(words(other!), 40_000)).toBe(false);
    }
  });

  it("tells an IPv4 address from the IPv6 one with the same last word", () => {
    const rec = new FlowRecord(new FlowTimes());
    rec.setEnds(words("10.0.0.1"), 1, words("10.0.0.2"), 2);
    expect(rec.hasEnds(words("::ffff:10.0.0.1"), 1, words("10.0.0.2"), 2)).toBe(false);
    expect(rec.isSideA(words("::ffff:10.0.0.1"), 1)).toBe(false);
  });
});

describe("FlowTimes", () => {
  it("hands a released slot out again, and tells when a burst has left it oversized", () => {
    const times = new FlowTimes();
    const slots = Array.from({ length: 2000 }, () => times.acquire());
    expect(new Set(slots).size).toBe(2000);
    times.release(slots[5]!);
    expect(times.acquire()).toBe(slots[5]);
    expect(times.oversizedFor(2000)).toBe(false);
    expect(times.oversizedFor(100)).toBe(true);
    expect(new FlowTimes().oversizedFor(0)).toBe(false);
  });
});

describe("FlowBuckets", () => {
  it("finds every record through growth and shrinking, and none once deleted", () => {
    const buckets = new FlowBuckets();
    const times = new FlowTimes();
    const recs = Array.from({ length: 5000 }, (_, i) => {
      const r = new FlowRecord(times);
      r.hash = Math.imul(i, 0x9e3779b1);
      buckets.add(r);
      return r;
    });
    const holds = (r: FlowRecord): boolean => {
      for (let x = buckets.first(r.hash); x !== null; x = x.chain) if (x === r) return true;
      return false;
    };
    expect(recs.every(holds)).toBe(true);
    for (const r of recs.slice(0, 4990)) buckets.delete(r);
    expect(recs.slice(0, 4990).some(holds)).toBe(false);
    expect(recs.slice(4990).every(holds)).toBe(true);
  });
});

describe("AddressText", () => {
  it("gives the same string for the same address, and the text wordsToIp gives", () => {
    const text = new AddressText();
    const first = text.of(words("203.0.113.250"), 4);
    expect(first).toBe("203.0.113.250");
    expect(text.of(words("203.0.113.250"), 4)).toBe(first);
    expect(text.of(words("2001:db8::1"), 6)).toBe("2001:db8::1");
  });
});

describe("flow tracker after a burst", () => {
  it("reports the flows left as before when their times move to a smaller slab", () => {
    const h = flowHarness([["172.18.0.2", flowRef("app")]], { maxFlows: 30_000, udpIdleMs: 2000 });
    const slab = (): number => (h.tracker as unknown as { times: FlowTimes }).times.at.length;
    const T0 = 1_767_225_600_000.25;
    // A burst of 20000 flows that go quiet (more than the free list keeps), and 3 that keep sending.
    for (let i = 0; i < 20_000; i++) h.udp("172.18.0.2", 30_000, "198.51.100.9", 1024 + i, T0 + i * 0.01);
    const afterBurst = slab();
    for (let t = 0; t <= 6000; t += 500) {
      h.udp("172.18.0.2", 40_000, "198.51.100.10", 53, T0 + t);
      h.udp("198.51.100.10", 53, "172.18.0.2", 40_000, T0 + t + 0.5);
      h.udp("172.18.0.2", 40_001, "203.0.113.5", 8125, T0 + t);
      h.udp("2001:db8::5", 40_002, "2001:db8::6", 9000, T0 + t);
    }
    expect(slab()).toBeLessThan(afterBurst / 2);
    h.tracker.flush();
    const left = h.events.filter((e) => e.state !== "attempt" && e.src.port >= 40_000);
    expect(left.map((e) => [e.state, e.dst.ip, e.ts - T0, e.durationMs])).toEqual([
      ["accepted", "198.51.100.10", 0.5, 0.5],
      ["closed", "198.51.100.10", 8000.5, 6000.5],
      ["unanswered", "203.0.113.5", 8000, 8000],
      ["unanswered", "2001:db8::6", 8000, 8000],
    ]);
    const quiet = h.events.filter((e) => e.state === "unanswered" && e.src.port === 30_000);
    expect(quiet).toHaveLength(20_000);
    expect(quiet.every((e, i) => e.dst.port === 1024 + i && e.durationMs === 2000)).toBe(true);
  });
});

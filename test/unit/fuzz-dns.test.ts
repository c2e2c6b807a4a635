/**
 * Fuzzing the DNS answer parser (src/flows/dns-parser.ts): any container can send a "DNS answer"
 * from port 53. Properties: parseDnsMessage never throws (nor hits its internal catch-all), never
 * reads outside buf[offset, offset + length), ends on compression-pointer loops, rejects counts the
 * message cannot hold before allocating for them, and what it returns is well-formed. Run counts
 * and seeds: see test/support/mutate.ts (FUZZ_RUNS=100000 for a longer campaign).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DnsParseResult, MAX_ANSWERS, parseDnsMessage } from "../../src/flows/dns-parser.js";
import { normalizeIp } from "../../src/net/ip-format.js";
import {
  buildDns,
  C_CH,
  C_IN,
  DnsWriter,
  header,
  type MessageSpec,
  type RecordSpec,
  T_A,
  T_AAAA,
} from "../support/dns-builder.js";
import { embed, FUZZ_TIMEOUT_MS, fuzzParams, mutated } from "../support/mutate.js";

const IPV4_TEXT = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function checkResult(res: DnsParseResult, ancount: number | null): void {
  if (!res.ok) {
    expect(typeof res.error).toBe("string");
    expect(res.error.length).toBeGreaterThan(0);
    // The catch-all in parseDnsMessage means a read was not bounds-checked: never acceptable.
    expect(res.error).not.toMatch(/^internal error/);
    return;
  }
  const m = res.message;
  expect(m.id >= 0 && m.id <= 0xffff).toBe(true);
  expect(m.opcode >= 0 && m.opcode <= 15 && m.rcode >= 0 && m.rcode <= 15).toBe(true);
  expect(m.questions.length).toBeLessThanOrEqual(16);
  expect(m.answers.length).toBeLessThanOrEqual(MAX_ANSWERS);
  if (ancount !== null) expect(m.answers.length).toBeLessThanOrEqual(ancount);
  for (const q of m.questions) {
    expect(q.name.length).toBeLessThanOrEqual(253);
    expect(q.name).toBe(q.name.replace(/[A-Z]/g, (c) => c.toLowerCase()));
    expect(q.type >= 0 && q.type <= 0xffff).toBe(true);
  }
  for (const a of m.answers) {
    expect(a.name.length).toBeLessThanOrEqual(253);
    expect(Number.isInteger(a.ttl) && a.ttl >= 0 && a.ttl <= 0x7fffffff).toBe(true);
    if (a.type === "A") {
      const parts = IPV4_TEXT.exec(a.data);
      expect(parts).not.toBeNull();
      expect(parts!.slice(1).every((x) => Number(x) <= 255)).toBe(true);
    } else if (a.type === "AAAA") {
      expect(normalizeIp(a.data)).toBe(a.data);
      expect(a.data).toContain(":");
    } else {
      expect(a.type).toBe("CNAME");
      expect(a.data.length).toBeLessThanOrEqual(253);
    }
  }
}

function parseChecked(buf: Buffer, offset = 0, length = buf.length): DnsParseResult {
  const res = parseDnsMessage(buf, offset, length);
  const ancount = length >= 12 && offset + 8 <= buf.length ? buf.readUInt16BE(offset + 6) : null;
  checkResult(res, ancount);
  return res;
}

// ---- generators of valid messages ----

const labelArb = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{40,63}$/) },
);
const nameArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 8, arbitrary: fc.array(labelArb, { minLength: 1, maxLength: 5 }).map((l) => l.join(".")) },
  // Near the 255-byte wire limit.
  { weight: 1, arbitrary: fc.array(labelArb, { minLength: 4, maxLength: 8 }).map((l) => l.join(".")) },
);
const suffixNames = fc.constantFrom("example.com", "Example.COM", "svc.cluster.local", "a.b.c.d.e.f");
const sharedNameArb = fc.oneof(
  nameArb,
  fc.tuple(labelArb, suffixNames).map(([l, s]) => `${l}.${s}`),
);

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const v6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(":"));
const ttl = fc.oneof(fc.nat(86400), fc.constantFrom(0, 0x7fffffff, 0x80000000, 0xffffffff));
const cls = fc.oneof(
  { weight: 6, arbitrary: fc.constant(C_IN) },
  { weight: 1, arbitrary: fc.constantFrom(C_CH, 0x8001) },
);

const recordArb: fc.Arbitrary<RecordSpec> = fc.oneof(
  fc.record({ name: sharedNameArb, ttl, cls, type: fc.constant("A" as const), ip: v4 }),
  fc.record({ name: sharedNameArb, ttl, cls, type: fc.constant("AAAA" as const), ip: v6 }),
  fc.record({ name: sharedNameArb, ttl, cls, type: fc.constant("CNAME" as const), target: sharedNameArb }),
  fc.record({
    name: sharedNameArb,
    ttl,
    type: fc.constant("MX" as const),
    preference: fc.nat(0xffff),
    exchange: sharedNameArb,
  }),
  fc.record({
    name: sharedNameArb,
    ttl,
    type: fc.constant("TXT" as const),
    texts: fc.array(fc.stringMatching(/^[ -~]{0,40}$/), { maxLength: 3 }),
  }),
  fc.record({
    name: sharedNameArb,
    ttl,
    type: fc.constantFrom(2, 6, 12, 33, 65, 255),
    rdata: fc.array(fc.nat(255), { maxLength: 24 }),
  }),
);

const messageArb: fc.Arbitrary<MessageSpec> = fc.record({
  id: fc.nat(0xffff),
  response: fc.boolean(),
  opcode: fc.nat(15),
  rcode: fc.nat(15),
  truncated: fc.boolean(),
  questions: fc.array(fc.record({ name: sharedNameArb, type: fc.constantFrom(T_A, T_AAAA, 5, 255) }), {
    maxLength: 3,
  }),
  answers: fc.array(recordArb, { maxLength: 8 }),
  authority: fc.array(recordArb, { maxLength: 2 }),
  compress: fc.boolean(),
});

/** Messages whose bytes are valid; building can fail only for names over 255 bytes. */
const validBytesArb: fc.Arbitrary<Buffer> = messageArb.map((spec) => buildDns(spec));

/** What a correct parser returns for a message the builder wrote (no name longer than 255 bytes). */
function expected(spec: MessageSpec) {
  const low = (s: string) => s.toLowerCase();
  const answers: { name: string; type: string; data: string; ttl: number }[] = [];
  for (const rr of spec.answers ?? []) {
    if (((rr.cls ?? C_IN) & 0x7fff) !== C_IN) continue;
    const t = (rr.ttl ?? 300) > 0x7fffffff ? 0 : (rr.ttl ?? 300);
    if (rr.type === "A" || rr.type === "AAAA")
      answers.push({ name: low(rr.name), type: rr.type, data: normalizeIp(rr.ip)!, ttl: t });
    else if (rr.type === "CNAME")
      answers.push({ name: low(rr.name), type: "CNAME", data: low(rr.target), ttl: t });
  }
  return {
    id: spec.id ?? 0x1234,
    isResponse: spec.response ?? true,
    opcode: spec.opcode ?? 0,
    rcode: spec.rcode ?? 0,
    truncated: spec.truncated ?? false,
    questions: (spec.questions ?? []).map((q) => ({ name: low(q.name), type: q.type ?? T_A })),
    answers,
  };
}

function wireLength(name: string): number {
  return name === "" ? 1 : Buffer.byteLength(name, "latin1") + 2;
}

function allNames(spec: MessageSpec): string[] {
  const names: string[] = [];
  for (const q of spec.questions ?? []) names.push(q.name);
  for (const rr of [...(spec.answers ?? []), ...(spec.authority ?? [])]) {
    names.push(rr.name);
    if (rr.type === "CNAME") names.push(rr.target);
    if (rr.type === "MX") names.push(rr.exchange);
  }
  return names;
}

/** A header with plausible counts followed by bytes drawn mostly from name-syntax values. */
const nameSoupArb = fc
  .tuple(
    fc.nat(3),
    fc.nat(6),
    fc.array(
      fc.oneof(
        {
          weight: 4,
          arbitrary: fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x3f, 0x40, 0x80, 0xc0, 0xc0, 0x0c, 0x61),
        },
        { weight: 1, arbitrary: fc.nat(255) },
      ),
      { maxLength: 160 },
    ),
  )
  .map(([qd, an, body]) => {
    const w = new DnsWriter();
    header(w, { qd, an, flags: 0x8180 });
    w.u8(...body);
    return w.toBuffer();
  });

describe("fuzz: parseDnsMessage", () => {
  it(
    "random bytes with any offset and length: never throws, only error results or well-formed messages",
    () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.oneof(fc.nat(400), fc.integer({ min: -5, max: -1 }), fc.constantFrom(Number.NaN, 1.5, 2 ** 53)),
          fc.oneof(fc.nat(400), fc.integer({ min: -5, max: -1 }), fc.constantFrom(Number.NaN, 0.5, 2 ** 60)),
          (bytes, offset, length) => {
            const buf = Buffer.from(bytes);
            const res = parseDnsMessage(buf, offset, length);
            const inRange =
              Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
            if (!inRange || offset + length > buf.length) expect(res.ok).toBe(false);
            checkResult(res, null);
          },
        ),
        fuzzParams(0xd45001, 1500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "pointer and label soup (loops, forward and self pointers, reserved label types): ends, never throws",
    () => {
      fc.assert(
        fc.property(nameSoupArb, (buf) => {
          parseChecked(buf);
        }),
        fuzzParams(0xd45002, 2000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "mutated valid messages (lying counts and rdlengths, truncation): never throws, results well-formed",
    () => {
      fc.assert(
        fc.property(mutated(validBytesArb), (buf) => {
          parseChecked(buf);
        }),
        fuzzParams(0xd45003, 1500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "never reads outside buf[offset, offset + length): garbage around the message changes nothing",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(validBytesArb, mutated(validBytesArb), nameSoupArb),
          fc.nat(48),
          fc.nat(48),
          fc.constantFrom(0x00, 0xc0, 0x3f, 0xff),
          (msg, before, after, fill) => {
            const alone = parseChecked(msg);
            const big = embed(msg, before, after, fill);
            expect(parseChecked(big, before, msg.length)).toEqual(alone);
          },
        ),
        fuzzParams(0xd45004, 800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "valid messages (with and without compression) parse to what was built",
    () => {
      fc.assert(
        fc.property(messageArb, (spec) => {
          fc.pre(allNames(spec).every((n) => wireLength(n) <= 255));
          const res = parseChecked(buildDns(spec));
          expect(res).toEqual({ ok: true, message: expected(spec) });
        }),
        fuzzParams(0xd45005, 500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("regressions: loops and impossible counts are rejected without work or allocation", () => {
    const selfPointer = Buffer.concat([
      buildDns({ questions: [], counts: { qd: 1 } }),
      Buffer.from([0xc0, 0x0c, 0, 1, 0, 1]),
    ]);
    expect(parseChecked(selfPointer)).toEqual({
      ok: false,
      error: "question 0: compression pointer not pointing backwards",
    });
    // Label "a" then a pointer back to it: every backward jump lands before the same pointer.
    const w = new DnsWriter();
    header(w, { qd: 1 });
    w.u8(1, 0x61, 0xc0, 0x0c, 0, 1, 0, 1);
    const loop = parseChecked(w.toBuffer());
    expect(loop.ok).toBe(false);
    expect(!loop.ok && loop.error).toMatch(/loop|longer than 255/);
    // A chain of pointers, each to the one before it, hidden in a skipped RDATA: capped at 64 jumps.
    const pointerChain = (n: number): Buffer => {
      const m = new DnsWriter();
      header(m, { an: 2, flags: 0x8180 });
      m.u8(0)
        .u16(99)
        .u16(C_IN)
        .u32(0)
        .u16(2 * n);
      for (let i = 0; i < n; i++) m.u16(0xc000 | (i === 0 ? 12 : 23 + 2 * (i - 1)));
      m.u16(0xc000 | (23 + 2 * (n - 1)))
        .u16(T_A)
        .u16(C_IN)
        .u32(60)
        .u16(4)
        .u8(192, 0, 2, 1);
      return m.toBuffer();
    };
    expect(parseChecked(pointerChain(63))).toMatchObject({
      ok: true,
      message: { answers: [{ name: "", data: "192.0.2.1" }] },
    });
    expect(parseChecked(pointerChain(64))).toEqual({
      ok: false,
      error: "answer 1: compression pointer loop (too many jumps)",
    });
    expect(parseChecked(pointerChain(5000)).ok).toBe(false);
    // ancount 65535 in a 20-byte message: rejected before any record is read.
    const lie = new DnsWriter();
    header(lie, { an: 0xffff, flags: 0x8180 });
    lie.u8(0, 0, 1, 0, 1, 0, 0, 0);
    expect(lie.length).toBe(20);
    expect(parseChecked(lie.toBuffer())).toEqual({ ok: false, error: "record counts exceed message length" });
    // Forward pointer, out-of-range pointer, reserved label types.
    for (const [bytes, err] of [
      [[0xc0, 0x10, 0, 1, 0, 1], "compression pointer not pointing backwards"],
      [[0xff, 0xff, 0, 1, 0, 1], "compression pointer out of range"],
      [[0x40, 0x00, 0, 1, 0, 1], "label length > 63 (label type 01)"],
      [[0x80, 0x00, 0, 1, 0, 1], "reserved label type 10"],
    ] as const) {
      const m = new DnsWriter();
      header(m, { qd: 1 });
      m.u8(...bytes);
      expect(parseChecked(m.toBuffer())).toEqual({ ok: false, error: `question 0: ${err}` });
    }
  });
});

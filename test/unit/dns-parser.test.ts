import { describe, expect, it } from "vitest";
import { type DnsMessage, type DnsParseResult, parseDnsMessage } from "../../src/flows/dns-parser.js";
import {
  buildDns,
  C_CH,
  DnsWriter,
  flags,
  header,
  T_A,
  T_AAAA,
  T_CNAME,
  T_MX,
  T_NS,
  T_TXT,
} from "../support/dns-builder.js";

function parse(buf: Buffer): DnsParseResult {
  return parseDnsMessage(buf, 0, buf.length);
}

function ok(buf: Buffer): DnsMessage {
  const r = parse(buf);
  if (!r.ok) throw new Error(`expected ok, got: ${r.error}`);
  return r.message;
}

function err(buf: Buffer, offset = 0, length = buf.length): string {
  const r = parseDnsMessage(buf, offset, length);
  if (r.ok) throw new Error("expected a parse error");
  return r.error;
}

/** Header with one question whose name bytes are given raw (then type A, class IN). */
function rawQuestion(nameBytes: number[], extra: number[] = []): Buffer {
  const w = header(new DnsWriter(), { qd: 1 });
  w.u8(...nameBytes)
    .u16(T_A)
    .u16(1)
    .u8(...extra);
  return w.toBuffer();
}

function label(n: number, ch = "a"): number[] {
  return [n, ...Buffer.from(ch.repeat(n), "latin1")];
}

const chainResponse = {
  id: 0xbeef,
  questions: [{ name: "www.example.com" }],
  answers: [
    { name: "www.example.com", type: "CNAME", target: "cdn.example.net", ttl: 120 },
    { name: "cdn.example.net", type: "CNAME", target: "edge.cdn.example.net", ttl: 60 },
    { name: "edge.cdn.example.net", type: "A", ip: "192.0.2.7", ttl: 30 },
    { name: "edge.cdn.example.net", type: "A", ip: "192.0.2.8", ttl: 30 },
  ],
} as const;

describe("parseDnsMessage: well-formed messages", () => {
  it("parses header fields, the question and an A answer, lower-casing names", () => {
    const msg = ok(
      buildDns({
        id: 0x4242,
        questions: [{ name: "WWW.Example.COM", type: T_A }],
        answers: [{ name: "WWW.Example.COM", type: "A", ip: "192.0.2.7", ttl: 3600 }],
      }),
    );
    expect(msg).toEqual({
      id: 0x4242,
      isResponse: true,
      opcode: 0,
      rcode: 0,
      truncated: false,
      questions: [{ name: "www.example.com", type: 1 }],
      answers: [{ name: "www.example.com", type: "A", data: "192.0.2.7", ttl: 3600 }],
    });
  });

  it("formats AAAA answers in RFC 5952 form", () => {
    const msg = ok(
      buildDns({
        questions: [{ name: "v6.example", type: T_AAAA }],
        answers: [
          { name: "v6.example", type: "AAAA", ip: "2001:0DB8:0000:0000:0000:0000:0000:0001", ttl: 5 },
          { name: "v6.example", type: "AAAA", ip: "2001:db8:0:0:1:0:0:1", ttl: 5 },
          { name: "v6.example", type: "AAAA", ip: "::ffff:192.0.2.1", ttl: 5 },
        ],
      }),
    );
    expect(msg.answers.map((a) => a.data)).toEqual(["2001:db8::1", "2001:db8::1:0:0:1", "::ffff:c000:201"]);
    expect(msg.answers.every((a) => a.type === "AAAA" && a.name === "v6.example")).toBe(true);
  });

  it("follows compression pointers in owner names and CNAME targets", () => {
    const compressed = buildDns({ ...chainResponse, compress: true });
    const plain = buildDns({ ...chainResponse, compress: false });
    expect(compressed.length).toBeLessThan(plain.length - 40);
    for (const buf of [compressed, plain]) {
      const msg = ok(buf);
      expect(msg.id).toBe(0xbeef);
      expect(msg.questions).toEqual([{ name: "www.example.com", type: 1 }]);
      expect(msg.answers).toEqual([
        { name: "www.example.com", type: "CNAME", data: "cdn.example.net", ttl: 120 },
        { name: "cdn.example.net", type: "CNAME", data: "edge.cdn.example.net", ttl: 60 },
        { name: "edge.cdn.example.net", type: "A", data: "192.0.2.7", ttl: 30 },
        { name: "edge.cdn.example.net", type: "A", data: "192.0.2.8", ttl: 30 },
      ]);
    }
  });

  it("parses a query (not a response)", () => {
    const msg = ok(buildDns({ id: 7, response: false, questions: [{ name: "example.org", type: T_AAAA }] }));
    expect(msg).toEqual({
      id: 7,
      isResponse: false,
      opcode: 0,
      rcode: 0,
      truncated: false,
      questions: [{ name: "example.org", type: 28 }],
      answers: [],
    });
  });

  it("parses NXDOMAIN with an SOA in the authority section", () => {
    const msg = ok(
      buildDns({
        rcode: 3,
        questions: [{ name: "nope.example" }],
        authority: [{ name: "example", type: 6, rdata: [1, 2, 3, 4, 5, 6, 7, 8] }],
      }),
    );
    expect(msg.isResponse).toBe(true);
    expect(msg.rcode).toBe(3);
    expect(msg.answers).toEqual([]);
  });

  it("reports the TC flag and the opcode", () => {
    const msg = ok(buildDns({ truncated: true, opcode: 5, questions: [{ name: "a.b" }] }));
    expect(msg.truncated).toBe(true);
    expect(msg.opcode).toBe(5);
  });

  it("skips MX, TXT, NS and unknown types by their RDLENGTH, and non-IN classes", () => {
    const msg = ok(
      buildDns({
        compress: true,
        questions: [{ name: "mail.example" }],
        answers: [
          { name: "mail.example", type: "MX", preference: 10, exchange: "mx1.mail.example" },
          { name: "mail.example", type: "TXT", texts: ["v=spf1 -all", "x".repeat(200)] },
          { name: "mail.example", type: T_NS, rdata: [0] },
          { name: "mail.example", type: 65280, rdata: [0xc0, 0x0c, 0xff, 0x00] },
          { name: "mail.example", type: "A", ip: "198.51.100.1", cls: C_CH },
          { name: "mail.example", type: "A", ip: "198.51.100.2", ttl: 9 },
        ],
      }),
    );
    expect(msg.answers).toEqual([{ name: "mail.example", type: "A", data: "198.51.100.2", ttl: 9 }]);
  });

  it("accepts the mDNS cache-flush class bit and treats TTLs with the top bit as 0", () => {
    const msg = ok(
      buildDns({
        questions: [{ name: "x.example" }],
        answers: [
          { name: "x.example", type: "A", ip: "10.0.0.1", cls: 0x8001, ttl: 0x80000000 },
          { name: "x.example", type: "A", ip: "10.0.0.2", ttl: 0x7fffffff },
        ],
      }),
    );
    expect(msg.answers.map((a) => [a.data, a.ttl])).toEqual([
      ["10.0.0.1", 0],
      ["10.0.0.2", 0x7fffffff],
    ]);
  });

  it("parses the root name and keeps latin1 bytes (ASCII-only lower-casing)", () => {
    const msg = ok(buildDns({ questions: [{ name: "", type: T_NS }, { name: "ÄB.Ex" }] }));
    expect(msg.questions).toEqual([
      { name: "", type: 2 },
      { name: "Äb.ex", type: 1 },
    ]);
  });

  it("parses a message at an offset inside a larger buffer", () => {
    const msg = buildDns({ ...chainResponse, compress: true });
    const big = Buffer.concat([Buffer.alloc(42, 0xc0), msg, Buffer.alloc(17, 0xc0)]);
    const r = parseDnsMessage(big, 42, msg.length);
    expect(r).toEqual(parse(msg));
    expect(r.ok).toBe(true);
  });

  it("accepts a name of exactly 255 wire bytes", () => {
    const name = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
    const msg = ok(buildDns({ questions: [{ name }] }));
    expect(msg.questions[0]!.name).toBe(name);
    expect(msg.questions[0]!.name.length).toBe(253);
  });

  it("processes at most 256 answers", () => {
    const answers = Array.from({ length: 300 }, (_, i) => ({
      name: "many.example",
      type: "A" as const,
      ip: `10.0.${i >> 8}.${i & 255}`,
    }));
    const msg = ok(buildDns({ compress: true, questions: [{ name: "many.example" }], answers }));
    expect(msg.answers).toHaveLength(256);
    expect(msg.answers[255]!.data).toBe("10.0.0.255");
  });
});

describe("parseDnsMessage: hostile input", () => {
  it("rejects every truncation of a message, reading nothing past `length`", () => {
    const full = buildDns({ ...chainResponse, compress: true });
    expect(parse(full).ok).toBe(true);
    for (let n = 0; n < full.length; n++) {
      // The full message stays in the buffer: a parser reading past `length` would succeed.
      const r = parseDnsMessage(full, 0, n);
      expect(r.ok, `length ${n}`).toBe(false);
    }
    expect(err(full, 0, 11)).toBe("truncated header");
    expect(err(full, 0, full.length - 1)).toBe("answer 3: truncated rdata");
  });

  it("rejects bad offset/length arguments without throwing", () => {
    const buf = buildDns({ questions: [{ name: "a.example" }] });
    expect(err(buf, -1, 12)).toBe("bad offset/length");
    expect(err(buf, 0, -5)).toBe("bad offset/length");
    expect(err(buf, Number.NaN, 12)).toBe("bad offset/length");
    expect(err(buf, 1.5, 12)).toBe("bad offset/length");
    expect(err(buf, 1, buf.length)).toBe("range exceeds buffer");
    expect(err(buf, buf.length + 10, 0)).toBe("range exceeds buffer");
  });

  it("rejects a compression loop", () => {
    // At 12: label "a", then a pointer back to 12 (backwards, yet a loop).
    expect(err(rawQuestion([1, 0x61, 0xc0, 12]))).toBe(
      "question 0: compression pointer loop (too many jumps)",
    );
  });

  it("rejects a pointer to itself and a forward pointer", () => {
    expect(err(rawQuestion([0xc0, 12]))).toBe("question 0: compression pointer not pointing backwards");
    // Pointer at 12 to a perfectly good name at 18 (after the question's type and class).
    const fwd = rawQuestion([0xc0, 18], [1, 0x61, 0]);
    expect(err(fwd)).toBe("question 0: compression pointer not pointing backwards");
  });

  it("rejects a pointer outside the message, even when the buffer continues", () => {
    const msg = rawQuestion([0xc0, 40]);
    expect(err(msg)).toBe("question 0: compression pointer out of range");
    // Bytes at 40 exist in the buffer but not in the message range.
    const padded = Buffer.concat([msg, Buffer.alloc(40)]);
    // Over the whole buffer the same pointer is merely forward; limited to the message it is out of range.
    expect(err(padded)).toBe("question 0: compression pointer not pointing backwards");
    expect(err(padded, 0, msg.length)).toBe("question 0: compression pointer out of range");
    expect(err(rawQuestion([0xff, 0xff]))).toBe("question 0: compression pointer out of range");
  });

  it("rejects a label of length 64 and the reserved label type 10", () => {
    expect(err(rawQuestion([...label(64), 0]))).toBe("question 0: label length > 63 (label type 01)");
    expect(err(rawQuestion([0x80, 0x61, 0]))).toBe("question 0: reserved label type 10");
    expect(ok(rawQuestion([...label(63), 0])).questions[0]!.name).toBe("a".repeat(63));
  });

  it("rejects names longer than 255 bytes, also when built from pointers", () => {
    const long = [...label(63), ...label(63), ...label(63), ...label(63), 0];
    expect(err(rawQuestion(long))).toBe("question 0: name longer than 255 bytes");
    // Question 0 is a 192-byte name; question 1 adds 64 bytes in front of a pointer to it.
    const w = header(new DnsWriter(), { qd: 2 });
    w.u8(...label(63), ...label(63), ...label(63), 0)
      .u16(T_A)
      .u16(1);
    w.u8(...label(63))
      .u16(0xc000 | 12)
      .u16(T_A)
      .u16(1);
    expect(err(w.toBuffer())).toBe("question 1: name longer than 255 bytes");
  });

  it("rejects a truncated name", () => {
    expect(err(rawQuestion([5, 0x61, 0x62]))).toBe("question 0: truncated name");
    expect(err(rawQuestion([0xc0]))).toBe("question 0: truncated name");
  });

  it("rejects counts that cannot fit in the message", () => {
    const tiny = header(new DnsWriter(), { an: 65535, qd: 65535 }).u8(0, 0, 1, 0, 1).toBuffer();
    expect(err(tiny)).toBe("record counts exceed message length");
    const arOnly = header(new DnsWriter(), { ar: 2 })
      .u8(...new Array<number>(21).fill(0))
      .toBuffer();
    expect(err(arOnly)).toBe("record counts exceed message length");
  });

  it("rejects A and AAAA records with the wrong RDLENGTH", () => {
    const badA = buildDns({
      questions: [{ name: "a.example" }],
      answers: [{ name: "a.example", type: T_A, rdata: [1, 2, 3, 4, 5] }],
    });
    expect(err(badA)).toBe("answer 0: A rdlength 5 != 4");
    const badAaaa = buildDns({
      questions: [{ name: "a.example" }],
      answers: [{ name: "a.example", type: T_AAAA, rdata: [1, 2, 3, 4] }],
    });
    expect(err(badAaaa)).toBe("answer 0: AAAA rdlength 4 != 16");
  });

  it("rejects CNAME targets that overrun or do not fill their RDATA", () => {
    // RDATA of 3 bytes holding the start of a 5-byte name: reading must stop at RDATA end.
    const overrun = buildDns({
      questions: [{ name: "a.example" }],
      answers: [{ name: "a.example", type: T_CNAME, rdata: [3, 0x61, 0x62] }],
      authority: [{ name: "z", type: T_TXT, rdata: [0x63, 0] }],
    });
    expect(err(overrun)).toBe("answer 0: CNAME target: truncated name");
    const slack = buildDns({
      questions: [{ name: "a.example" }],
      answers: [{ name: "a.example", type: T_CNAME, rdata: [1, 0x62, 0, 0xff] }],
    });
    expect(err(slack)).toBe("answer 0: CNAME rdlength does not match target name");
  });

  it("rejects an RDLENGTH running past the end", () => {
    const w = header(new DnsWriter(), { an: 1 });
    w.u8(0).u16(T_MX).u16(1).u32(60).u16(500).u8(0, 0);
    expect(err(w.toBuffer())).toBe("answer 0: truncated rdata");
  });

  it("never throws and never depends on bytes outside the range (mutation fuzz)", () => {
    const seeds = [
      buildDns({ ...chainResponse, compress: true }),
      buildDns({
        compress: true,
        questions: [{ name: "mail.example" }],
        answers: [
          { name: "mail.example", type: "MX", preference: 10, exchange: "mx.mail.example" },
          { name: "mx.mail.example", type: "AAAA", ip: "2001:db8::5" },
        ],
      }),
    ];
    // Small deterministic PRNG (xorshift32) so failures reproduce.
    let s = 0x9e3779b9;
    const rnd = (n: number): number => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) % n;
    };
    let parsed = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const msg = Buffer.from(seeds[iter % seeds.length]!);
      for (let k = 1 + rnd(4); k > 0; k--) msg[rnd(msg.length)] = rnd(4) === 0 ? 0xc0 | rnd(64) : rnd(256);
      const len = rnd(3) === 0 ? rnd(msg.length + 1) : msg.length;
      const exact = parseDnsMessage(msg.subarray(0, len), 0, len);
      const pad = rnd(256);
      const embedded = Buffer.concat([Buffer.alloc(pad, pad), msg.subarray(0, len), Buffer.alloc(64, 0xc0)]);
      expect(parseDnsMessage(embedded, pad, len)).toEqual(exact);
      if (exact.ok) parsed++;
      else expect(exact.error).not.toMatch(/internal/);
    }
    // Both outcomes are exercised.
    expect(parsed).toBeGreaterThan(100);
    expect(parsed).toBeLessThan(4000);
  });

  it("handles a header-only query", () => {
    const w = header(new DnsWriter(), { flags: flags({ response: false }) });
    expect(ok(w.toBuffer())).toEqual({
      id: 0x1234,
      isResponse: false,
      opcode: 0,
      rcode: 0,
      truncated: false,
      questions: [],
      answers: [],
    });
  });
});

import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/config/load.js";
import { DnsCache } from "../../src/flows/dns-cache.js";
import { type DnsMessage, type DnsRecord, parseDnsMessage } from "../../src/flows/dns-parser.js";
import { buildDns } from "../support/dns-builder.js";

const OPTS = { maxEntries: 100, minTtlMs: 5_000, maxTtlMs: 3_600_000 };

function response(qname: string, answers: DnsRecord[], extra: Partial<DnsMessage> = {}): DnsMessage {
  return {
    id: 1,
    isResponse: true,
    opcode: 0,
    rcode: 0,
    truncated: false,
    questions: [{ name: qname, type: 1 }],
    answers,
    ...extra,
  };
}

function a(name: string, ip: string, ttl = 60): DnsRecord {
  return { name, type: ip.includes(":") ? "AAAA" : "A", data: ip, ttl };
}

function cname(name: string, target: string, ttl = 60): DnsRecord {
  return { name, type: "CNAME", data: target, ttl };
}

const T0 = 1_700_000_000_000;

describe("DnsCache", () => {
  it("maps an A answer to the question name, per scope and ip", () => {
    const c = new DnsCache(OPTS);
    c.record("ctr1", response("example.com", [a("example.com", "192.0.2.1")]), T0);
    expect(c.namesFor("ctr1", "192.0.2.1", T0)).toEqual(["example.com"]);
    expect(c.namesFor("ctr1", "192.0.2.2", T0)).toEqual([]);
    expect(c.namesFor("ctr2", "192.0.2.1", T0)).toEqual([]);
    expect(c.size).toBe(1);
  });

  it("keeps scopes separate", () => {
    const c = new DnsCache(OPTS);
    c.record("ctr1", response("one.example", [a("one.example", "192.0.2.1")]), T0);
    c.record("10.0.0.9", response("two.example", [a("two.example", "192.0.2.1")]), T0);
    expect(c.namesFor("ctr1", "192.0.2.1", T0)).toEqual(["one.example"]);
    expect(c.namesFor("10.0.0.9", "192.0.2.1", T0)).toEqual(["two.example"]);
    expect(c.size).toBe(2);
  });

  it("gives every name along the CNAME chain, sorted", () => {
    const c = new DnsCache(OPTS);
    const msg = response("www.example.com", [
      cname("www.example.com", "cdn.example.net"),
      a("cdn.example.net", "192.0.2.7"),
      a("cdn.example.net", "2001:db8::7"),
    ]);
    c.record("ctr", msg, T0);
    expect(c.namesFor("ctr", "192.0.2.7", T0)).toEqual(["cdn.example.net", "www.example.com"]);
    expect(c.namesFor("ctr", "2001:db8::7", T0)).toEqual(["cdn.example.net", "www.example.com"]);
  });

  it("gives an address only the chain names up to its owner", () => {
    const c = new DnsCache(OPTS);
    const msg = response("a.example", [
      cname("a.example", "b.example"),
      cname("b.example", "c.example"),
      a("b.example", "192.0.2.2"), // illegal next to a CNAME, but must not pick up c.example
      a("c.example", "192.0.2.3"),
    ]);
    c.record("s", msg, T0);
    expect(c.namesFor("s", "192.0.2.2", T0)).toEqual(["a.example", "b.example"]);
    expect(c.namesFor("s", "192.0.2.3", T0)).toEqual(["a.example", "b.example", "c.example"]);
  });

  it("ignores addresses not reachable from the question", () => {
    const c = new DnsCache(OPTS);
    c.record("s", response("asked.example", [a("bank.example", "192.0.2.66")]), T0);
    expect(c.namesFor("s", "192.0.2.66", T0)).toEqual([]);
    expect(c.size).toBe(0);
  });

  it("expires by packet time (TTL in seconds)", () => {
    const c = new DnsCache(OPTS);
    c.record("s", response("t.example", [a("t.example", "192.0.2.1", 60)]), T0);
    expect(c.namesFor("s", "192.0.2.1", T0 + 59_999)).toEqual(["t.example"]);
    expect(c.namesFor("s", "192.0.2.1", T0 + 60_000)).toEqual([]);
    // Dropped lazily by the lookup.
    expect(c.size).toBe(0);
  });

  it("clamps TTLs to [minTtlMs, maxTtlMs]", () => {
    const c = new DnsCache(OPTS);
    c.record("s", response("zero.example", [a("zero.example", "192.0.2.1", 0)]), T0);
    c.record("s", response("long.example", [a("long.example", "192.0.2.2", 7 * 86_400)]), T0);
    expect(c.namesFor("s", "192.0.2.1", T0 + 4_999)).toEqual(["zero.example"]);
    expect(c.namesFor("s", "192.0.2.1", T0 + 5_000)).toEqual([]);
    expect(c.namesFor("s", "192.0.2.2", T0 + 3_599_999)).toEqual(["long.example"]);
    expect(c.namesFor("s", "192.0.2.2", T0 + 3_600_000)).toEqual([]);
  });

  it("merges names for the same scope+ip and extends, never shortens, a name's expiry", () => {
    const c = new DnsCache(OPTS);
    c.record("s", response("x.example", [a("x.example", "192.0.2.1", 10)]), T0);
    c.record("s", response("y.example", [a("y.example", "192.0.2.1", 100)]), T0 + 1_000);
    expect(c.size).toBe(1);
    expect(c.namesFor("s", "192.0.2.1", T0 + 9_000)).toEqual(["x.example", "y.example"]);
    // x.example refreshed with a longer TTL.
    c.record("s", response("x.example", [a("x.example", "192.0.2.1", 300)]), T0 + 9_000);
    expect(c.namesFor("s", "192.0.2.1", T0 + 200_000)).toEqual(["x.example"]);
    // A later, shorter TTL does not cut x.example short (it stays until T0 + 309 s).
    c.record("s", response("x.example", [a("x.example", "192.0.2.1", 10)]), T0 + 200_000);
    expect(c.namesFor("s", "192.0.2.1", T0 + 300_000)).toEqual(["x.example"]);
    expect(c.namesFor("s", "192.0.2.1", T0 + 309_000)).toEqual([]);
  });

  it("ignores error responses, queries and non-QUERY opcodes", () => {
    const c = new DnsCache(OPTS);
    const answers = [a("e.example", "192.0.2.1")];
    c.record("s", response("e.example", answers, { rcode: 3 }), T0);
    c.record("s", response("e.example", answers, { rcode: 2 }), T0);
    c.record("s", response("e.example", answers, { isResponse: false }), T0);
    c.record("s", response("e.example", answers, { opcode: 5 }), T0);
    expect(c.size).toBe(0);
    expect(c.namesFor("s", "192.0.2.1", T0)).toEqual([]);
  });

  it("bounds CNAME loops and over-long chains", () => {
    const c = new DnsCache(OPTS);
    const loop = response("a.example", [
      cname("a.example", "b.example"),
      cname("b.example", "a.example"),
      a("b.example", "192.0.2.1"),
    ]);
    c.record("s", loop, T0);
    expect(c.namesFor("s", "192.0.2.1", T0)).toEqual(["a.example", "b.example"]);

    // 40 CNAMEs: the walk stops after 16 names, so the address at the end is not attached.
    const chain: DnsRecord[] = [];
    for (let i = 0; i < 40; i++) chain.push(cname(`n${i}.example`, `n${i + 1}.example`));
    chain.push(a("n40.example", "192.0.2.40"), a("n15.example", "192.0.2.15"));
    c.record("s", response("n0.example", chain), T0);
    expect(c.namesFor("s", "192.0.2.40", T0)).toEqual([]);
    expect(c.namesFor("s", "192.0.2.15", T0)).toHaveLength(16);
  });

  it("evicts the least recently refreshed entries when full and counts them", () => {
    const c = new DnsCache({ ...OPTS, maxEntries: 2 });
    const rec = (ip: string, now: number) => c.record("s", response("h.example", [a("h.example", ip)]), now);
    rec("192.0.2.1", T0);
    rec("192.0.2.2", T0);
    rec("192.0.2.1", T0 + 1); // refresh: 192.0.2.2 is now the oldest
    rec("192.0.2.3", T0 + 2);
    expect(c.size).toBe(2);
    expect(c.evictions).toBe(1);
    expect(c.namesFor("s", "192.0.2.2", T0 + 2)).toEqual([]);
    expect(c.namesFor("s", "192.0.2.1", T0 + 2)).toEqual(["h.example"]);
    expect(c.namesFor("s", "192.0.2.3", T0 + 2)).toEqual(["h.example"]);
    rec("192.0.2.4", T0 + 3);
    expect(c.evictions).toBe(2);
    expect(c.size).toBe(2);
  });

  it("does not count expired entries dropped to make room as evictions", () => {
    const c = new DnsCache({ ...OPTS, maxEntries: 1 });
    c.record("s", response("h.example", [a("h.example", "192.0.2.1", 10)]), T0);
    c.record("s", response("h.example", [a("h.example", "192.0.2.2", 10)]), T0 + 20_000);
    expect(c.size).toBe(1);
    expect(c.evictions).toBe(0);
  });

  it("sweep drops expired names and entries", () => {
    const c = new DnsCache(OPTS);
    c.record("s", response("short.example", [a("short.example", "192.0.2.1", 10)]), T0);
    c.record("s", response("long.example", [a("long.example", "192.0.2.1", 100)]), T0);
    c.record("s", response("other.example", [a("other.example", "192.0.2.2", 10)]), T0);
    expect(c.sweep(T0 + 9_999)).toBe(0);
    expect(c.size).toBe(2);
    expect(c.sweep(T0 + 10_000)).toBe(1);
    expect(c.size).toBe(1);
    expect(c.namesFor("s", "192.0.2.1", T0 + 10_000)).toEqual(["long.example"]);
    expect(c.sweep(T0 + 100_000)).toBe(1);
    expect(c.size).toBe(0);
  });

  it("caps the names kept per address", () => {
    const c = new DnsCache({ ...OPTS, maxNamesPerIp: 3 });
    for (let i = 0; i < 5; i++) {
      c.record("s", response(`w${i}.example`, [a(`w${i}.example`, "192.0.2.9")]), T0 + i);
    }
    expect(c.namesFor("s", "192.0.2.9", T0 + 10)).toEqual(["w2.example", "w3.example", "w4.example"]);
  });

  // The cache takes its bounds from the `dns:` section, whose schema rejects what the cache cannot use.
  it("invalid options are rejected by the config schema", () => {
    const errorsOf = (dns: object): string[] => {
      const r = validateConfig({ dns });
      return r.ok ? [] : r.errors;
    };
    expect(errorsOf({ maxEntries: 0 })).toEqual([expect.stringMatching(/^dns\.maxEntries: /)]);
    expect(errorsOf({ minTtlSeconds: 10, maxTtlSeconds: 5 })).toEqual([
      "dns.maxTtlSeconds: must be at least minTtlSeconds",
    ]);
    expect(errorsOf({ minTtlSeconds: Number.NaN })).toEqual([expect.stringMatching(/^dns\.minTtlSeconds: /)]);
    expect(errorsOf({ maxTtlSeconds: Number.POSITIVE_INFINITY })).toEqual([
      expect.stringMatching(/^dns\.maxTtlSeconds: /),
    ]);
    expect(errorsOf({ minTtlSeconds: 5, maxTtlSeconds: 5 })).toEqual([]);
  });

  it("works end to end with parsed wire messages", () => {
    const wire = buildDns({
      compress: true,
      questions: [{ name: "WWW.Example.com" }],
      answers: [
        { name: "www.example.com", type: "CNAME", target: "CDN.example.net", ttl: 300 },
        { name: "cdn.example.net", type: "AAAA", ip: "2001:db8:0:0::7", ttl: 20 },
      ],
    });
    const r = parseDnsMessage(wire, 0, wire.length);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = new DnsCache(OPTS);
    c.record("ctr", r.message, T0);
    expect(c.namesFor("ctr", "2001:db8::7", T0 + 19_999)).toEqual(["cdn.example.net", "www.example.com"]);
    expect(c.namesFor("ctr", "2001:db8::7", T0 + 20_000)).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/config/load.js";
import { DnsCache, type DnsCacheOptions } from "../../src/flows/dns-cache.js";
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

describe("DnsCache: names outlive their answer while they are used", () => {
  const HOUR = 3_600_000;
  const RETAIN = { ...OPTS, retainMs: 6 * HOUR, openHoldMs: HOUR };
  const IP = "192.0.2.1";
  /** api.example answered at T0 with a 10 s TTL: kept 10 s by the answer alone. */
  function answered(opts: DnsCacheOptions = RETAIN): DnsCache {
    const c = new DnsCache(opts);
    c.record("s", response("api.example", [a("api.example", IP, 10)]), T0);
    return c;
  }

  it("keeps a retained name retainMs after its last use, not after the answer", () => {
    const c = answered();
    c.flowStarted("s", IP, T0 + 1_000);
    c.retain("s", IP, ["api.example"], T0 + 1_000);
    c.flowEnded("s", IP, T0 + 2_000);
    expect(c.namesFor("s", IP, T0 + 2_000 + 6 * HOUR - 1)).toEqual(["api.example"]);
    expect(c.namesFor("s", IP, T0 + 2_000 + 6 * HOUR)).toEqual([]);
  });

  it("extends a retained name on every later use of the address", () => {
    const c = answered();
    c.retain("s", IP, ["api.example"], T0 + 1_000);
    // A use every 4 h for a day: each one is within 6 h of the one before.
    for (let t = T0 + 4 * HOUR; t <= T0 + 24 * HOUR; t += 4 * HOUR) {
      expect(c.namesFor("s", IP, t)).toEqual(["api.example"]);
      c.flowStarted("s", IP, t);
      c.flowEnded("s", IP, t + 500);
    }
    const lastUse = T0 + 24 * HOUR + 500;
    expect(c.namesFor("s", IP, lastUse + 6 * HOUR - 1)).toEqual(["api.example"]);
    expect(c.namesFor("s", IP, lastUse + 6 * HOUR)).toEqual([]);
  });

  it("does not retain a name nobody vouched for, nor other scopes' names", () => {
    const c = answered();
    c.record("other", response("api.example", [a("api.example", IP, 10)]), T0);
    c.record("s", response("cdn.example", [a("cdn.example", IP, 10)]), T0);
    c.flowStarted("s", IP, T0 + 1_000);
    c.retain("s", IP, ["api.example", "unknown.example"], T0 + 1_000);
    c.flowEnded("s", IP, T0 + 2_000);
    expect(c.namesFor("s", IP, T0 + 60_000)).toEqual(["api.example"]);
    expect(c.namesFor("other", IP, T0 + 60_000)).toEqual([]);
  });

  it("retains the name on the other addresses of the same answer, not of other answers", () => {
    const c = new DnsCache(RETAIN);
    c.record("s", response("api.example", [a("api.example", IP, 10), a("api.example", "192.0.2.2", 10)]), T0);
    c.record("s", response("api.example", [a("api.example", "192.0.2.3", 10)]), T0 + 1);
    c.retain("s", IP, ["api.example"], T0 + 1_000);
    // The client fails over to the second address of its cached answer hours later.
    expect(c.namesFor("s", "192.0.2.2", T0 + 3 * HOUR)).toEqual(["api.example"]);
    expect(c.namesFor("s", "192.0.2.3", T0 + 3 * HOUR)).toEqual([]);
    // A fresh answer carrying a retained address keeps the name retained, for its new addresses too.
    c.record(
      "s",
      response("api.example", [a("api.example", IP, 10), a("api.example", "192.0.2.4", 10)]),
      T0 + 4 * HOUR,
    );
    expect(c.namesFor("s", "192.0.2.4", T0 + 4 * HOUR + 60_000)).toEqual(["api.example"]);
  });

  it("retains nothing with retainMs 0, and cannot revive an expired name", () => {
    const c = answered({ ...OPTS });
    c.retain("s", IP, ["api.example"], T0 + 1_000);
    expect(c.namesFor("s", IP, T0 + 10_000)).toEqual([]);
    const r = answered();
    expect(r.namesFor("s", IP, T0 + 10_000)).toEqual([]);
    r.retain("s", IP, ["api.example"], T0 + 10_000);
    expect(r.namesFor("s", IP, T0 + 10_001)).toEqual([]);
  });

  it("keeps every name while a connection to the address is open, and lets it expire after", () => {
    const c = answered();
    c.flowStarted("s", IP, T0 + 5_000);
    c.flowActive("s", IP, T0 + 5_001);
    expect(c.sweep(T0 + 30 * 60_000)).toBe(0);
    expect(c.namesFor("s", IP, T0 + 30 * 60_000)).toEqual(["api.example"]);
    c.flowEnded("s", IP, T0 + 40 * 60_000);
    expect(c.namesFor("s", IP, T0 + 40 * 60_000 + 1)).toEqual([]);
  });

  it("holds the names until the last of several open connections ends", () => {
    const c = answered();
    c.flowStarted("s", IP, T0 + 1_000);
    c.flowStarted("s", IP, T0 + 2_000);
    c.flowEnded("s", IP, T0 + 60_000);
    expect(c.namesFor("s", IP, T0 + 120_000)).toEqual(["api.example"]);
    c.flowEnded("s", IP, T0 + 180_000);
    // An end without its start (the answer came after the connection began) changes nothing.
    c.flowEnded("s", IP, T0 + 180_001);
    expect(c.namesFor("s", IP, T0 + 180_002)).toEqual([]);
  });

  it("lets an open connection hold the names openHoldMs at most (the tracker forgets it silently)", () => {
    const c = answered();
    c.flowStarted("s", IP, T0 + 1_000);
    expect(c.namesFor("s", IP, T0 + 1_000 + HOUR - 1)).toEqual(["api.example"]);
    expect(c.namesFor("s", IP, T0 + 1_000 + HOUR)).toEqual([]);
    expect(c.size).toBe(0);
  });

  it("starts a retained name's retention when the hold of a forgotten connection ends", () => {
    const c = answered();
    c.flowStarted("s", IP, T0 + 1_000);
    c.retain("s", IP, ["api.example"], T0 + 1_000);
    const holdEnd = T0 + 1_000 + HOUR;
    expect(c.namesFor("s", IP, holdEnd + 6 * HOUR - 1)).toEqual(["api.example"]);
    expect(c.namesFor("s", IP, holdEnd + 6 * HOUR)).toEqual([]);
  });

  it("keeps an answer that was re-recorded retained, and its longer expiry", () => {
    const c = answered();
    c.retain("s", IP, ["api.example"], T0 + 1_000);
    c.record("s", response("api.example", [a("api.example", IP, 10)]), T0 + HOUR);
    c.flowStarted("s", IP, T0 + 5 * HOUR);
    c.flowEnded("s", IP, T0 + 5 * HOUR);
    expect(c.namesFor("s", IP, T0 + 10 * HOUR)).toEqual(["api.example"]);
  });

  it("evicts the least recently used entry first, and counts held or retained entries as evictions", () => {
    const c = new DnsCache({ ...RETAIN, maxEntries: 2 });
    const rec = (ip: string, now: number) =>
      c.record("s", response("h.example", [a("h.example", ip, 10)]), now);
    rec("192.0.2.1", T0);
    rec("192.0.2.2", T0 + 1);
    c.retain("s", "192.0.2.1", ["h.example"], T0 + 2);
    c.flowStarted("s", "192.0.2.1", T0 + 3); // used: .2 is now the least recently used
    rec("192.0.2.3", T0 + 60_000); // .2 expired: dropped, not an eviction
    expect(c.evictions).toBe(0);
    rec("192.0.2.4", T0 + 60_001); // .1 (held open, retained) is the oldest now
    expect(c.evictions).toBe(1);
    expect(c.namesFor("s", "192.0.2.1", T0 + 60_001)).toEqual([]);
    expect(c.namesFor("s", "192.0.2.3", T0 + 60_001)).toEqual(["h.example"]);
  });

  // `netmon explain` reports when an answer was seen and why a name is still given; asking must
  // never change what the engine sees next.
  it("inspect: seen time, TTL and what keeps each name, without changing the cache", () => {
    const c = answered();
    c.record("s", response("cdn.example", [a("cdn.example", IP, 0)]), T0 + 2_000);
    expect(c.inspect("s", IP, T0 + 3_000)).toEqual([
      {
        name: "api.example",
        seenAt: T0,
        ttlSeconds: 10,
        answerExpiresAt: T0 + 10_000,
        expiresAt: T0 + 10_000,
        retained: false,
        heldOpen: false,
        live: true,
      },
      // TTL 0 is kept dns.minTtl (5 s here): the answer's own expiry says so.
      expect.objectContaining({
        name: "cdn.example",
        ttlSeconds: 0,
        answerExpiresAt: T0 + 7_000,
        live: true,
      }),
    ]);
    // Expired and not swept: still listed, not live; inspect drops nothing.
    expect(c.inspect("s", IP, T0 + 60_000).map((n) => [n.name, n.live])).toEqual([
      ["api.example", false],
      ["cdn.example", false],
    ]);
    expect(c.size).toBe(1);
    expect(c.inspect("s", "192.0.2.99", T0)).toEqual([]);
    expect(c.inspect("other", IP, T0)).toEqual([]);
  });

  it("inspect: an open connection holds the names; a retained name is kept past its answer", () => {
    const c = answered();
    c.flowStarted("s", IP, T0 + 1_000);
    c.retain("s", IP, ["api.example"], T0 + 1_000);
    const held = c.inspect("s", IP, T0 + 30 * 60_000);
    expect(held).toEqual([
      expect.objectContaining({ answerExpiresAt: T0 + 10_000, retained: true, heldOpen: true, live: true }),
    ]);
    // The hold of a forgotten connection ran out: retention counts from its end, as namesFor does.
    const holdEnd = T0 + 1_000 + HOUR;
    const after = c.inspect("s", IP, holdEnd + 1);
    expect(after).toEqual([
      expect.objectContaining({ expiresAt: holdEnd + 6 * HOUR, heldOpen: false, live: true }),
    ]);
    expect(c.namesFor("s", IP, holdEnd + 6 * HOUR - 1)).toEqual(["api.example"]);
    expect(c.namesFor("s", IP, holdEnd + 6 * HOUR)).toEqual([]);
  });

  it("inspect: a later answer gives the seen time and TTL; a longer earlier one keeps its expiry", () => {
    const c = new DnsCache(RETAIN);
    c.record("s", response("api.example", [a("api.example", IP, 300)]), T0);
    c.record("s", response("api.example", [a("api.example", IP, 60)]), T0 + 10_000);
    expect(c.inspect("s", IP, T0 + 20_000)).toEqual([
      expect.objectContaining({
        seenAt: T0 + 10_000,
        ttlSeconds: 60,
        answerExpiresAt: T0 + 70_000,
        expiresAt: T0 + 300_000,
      }),
    ]);
  });

  it("dns.retainSeconds must be a non-negative whole number of seconds", () => {
    const errorsOf = (dns: object): string[] => {
      const r = validateConfig({ dns });
      return r.ok ? [] : r.errors;
    };
    expect(errorsOf({ retainSeconds: -1 })).toEqual([expect.stringMatching(/^dns\.retainSeconds: /)]);
    expect(errorsOf({ retainSeconds: 1.5 })).toEqual([expect.stringMatching(/^dns\.retainSeconds: /)]);
    expect(errorsOf({ retainSeconds: 0 })).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import {
  type EgressDestination,
  type EgressRule,
  normalizeHostName,
  parseEgressList,
  parseEgressRule,
  ruleMatches,
} from "../../src/rules/egress-rule.js";

function rule(text: string): EgressRule {
  const r = parseEgressRule(text);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(text)} to parse: ${r.error}`);
  return r.rule;
}

/** A rule reduced to plain data for comparison. */
function shape(r: EgressRule): Record<string, unknown> {
  const target = r.kind === "cidr" ? r.cidr.text : r.kind === "host" ? r.host : r.suffix;
  return { kind: r.kind, target, ports: r.ports, proto: r.proto };
}

describe("parseEgressRule accepts", () => {
  it.each([
    // [input, kind, target, ports, proto]
    ["192.0.2.0/24", "cidr", "192.0.2.0/24", null, null], // network, any port, both protos
    ["192.0.2.7", "cidr", "192.0.2.7/32", null, null], // single address
    ["192.0.2.7:443", "cidr", "192.0.2.7/32", { from: 443, to: 443 }, null], // with a port
    ["10.0.0.0/8:8000-8100/tcp", "cidr", "10.0.0.0/8", { from: 8000, to: 8100 }, "tcp"], // range + proto
    ["0.0.0.0/0:53/udp", "cidr", "0.0.0.0/0", { from: 53, to: 53 }, "udp"], // /0 is a valid rule
    ["fd00::/8", "cidr", "fd00::/8", null, null], // bare IPv6 without a port
    ["2001:db8::1", "cidr", "2001:db8::1/128", null, null], // bare IPv6 address
    ["[fd00::/8]:443/tcp", "cidr", "fd00::/8", { from: 443, to: 443 }, "tcp"], // bracketed with port
    ["[2001:db8::1]:53", "cidr", "2001:db8::1/128", { from: 53, to: 53 }, null], // bracketed address
    ["[fd00::/8]", "cidr", "fd00::/8", null, null], // brackets without a port
    ["[192.0.2.1]:80", "cidr", "192.0.2.1/32", { from: 80, to: 80 }, null], // brackets around IPv4
    ["api.example.com", "host", "api.example.com", null, null], // host, any port
    ["API.Example.COM.:443/TCP", "host", "api.example.com", { from: 443, to: 443 }, "tcp"], // case, dot
    ["db", "host", "db", null, null], // single-label (Docker service) name
    ["my_svc-1.internal:5432", "host", "my_svc-1.internal", { from: 5432, to: 5432 }, null], // _ and -
    ["*.example.com", "wildcard", ".example.com", null, null], // wildcard
    ["*.example.com:443/tcp", "wildcard", ".example.com", { from: 443, to: 443 }, "tcp"], // wildcard+port
    ["  *.Example.com.  ", "wildcard", ".example.com", null, null], // trimmed, lower-cased, dot stripped
    ["1.2.3.4.nip.io:80", "host", "1.2.3.4.nip.io", { from: 80, to: 80 }, null], // digits then letters
    ["x:1-65535", "host", "x", { from: 1, to: 65535 }, null], // full range
  ])("%j", (input, kind, target, ports, proto) => {
    const r = rule(input);
    expect(shape(r)).toEqual({ kind, target, ports, proto });
    expect(r.text).toBe(input.trim());
  });

  it("accepts a 253-character name of 63-character labels", () => {
    const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    expect(name.length).toBe(253);
    expect(rule(name).kind).toBe("host");
  });
});

describe("parseEgressRule rejects", () => {
  it.each([
    // [input, the words the error must contain]
    ["", "empty"], // nothing
    ["   ", "empty"], // only spaces
    ["192.0.2.0/33", "bad CIDR"], // IPv4 prefix over 32
    ["256.1.1.1:80", "bad CIDR"], // bad octet
    ["192.0.2:80", "bad CIDR"], // three octets
    ["1.2.3.4/8x", "bad CIDR"], // junk prefix
    ["fd00::/129", "bad CIDR"], // IPv6 prefix over 128
    ["fd00::zz", "bad CIDR"], // bad hex
    ["[fd00::/8", 'missing "]"'], // unclosed bracket
    ["[fd00::/8]443", "unexpected"], // missing colon after bracket
    ["[fd00::/129]:443", "bad CIDR"], // bad network inside brackets
    ["[example.com]:443", "bad CIDR"], // brackets are for addresses
    ["192.0.2.1:0", "bad port"], // port 0
    ["192.0.2.1:65536", "bad port"], // port over 65535
    ["192.0.2.1:", "bad port"], // empty port
    ["192.0.2.1:http", "bad port"], // named port
    ["192.0.2.1:-5", "bad port"], // negative
    ["host:8100-8000", "reversed"], // reversed range
    ["host:80-", "bad port"], // half range
    ["host:1-65536", "bad port"], // range end out of bounds
    ["host:443/icmp", "bad proto"], // icmp is not a proto here
    ["host:443/", "bad proto"], // empty proto
    ["[fd00::1]:443/sctp", "bad proto"], // bracketed, bad proto
    ["*.", "bad host name"], // wildcard with nothing after
    ["*", "bad host name"], // star alone
    ["*.*.example.com", "bad host name"], // two stars
    ["a.*.example.com", "bad host name"], // star not first
    ["*example.com", "bad host name"], // star without dot
    ["exa mple.com", "bad host name"], // space
    ["example..com", "bad host name"], // empty label
    [".example.com", "bad host name"], // leading dot
    ["example.com..", "bad host name"], // two trailing dots
    ["ex!ample.com", "bad host name"], // bad character
    [`${"a".repeat(64)}.com`, "bad host name"], // label over 63
    ["example.com/tcp", "a proto needs a port"], // proto without port
    [":443", "missing address"], // port without destination
    ["example.com:443:tcp", "bad CIDR"], // two colons read as IPv6
    ["fd00::1:443/tcp", "bad CIDR"], // unbracketed IPv6 with port/proto
  ])("%j (%s)", (input, words) => {
    const r = parseEgressRule(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(words);
  });

  it("rejects a name over 253 characters", () => {
    const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`;
    expect(parseEgressRule(name)).toMatchObject({ ok: false });
  });

  it("names the rule in the error", () => {
    const r = parseEgressRule("db:99999");
    expect(r).toEqual({ ok: false, error: expect.stringContaining('egress rule "db:99999"') });
  });
});

describe("normalizeHostName", () => {
  it.each([
    ["Example.COM", "example.com"], // lower-cased
    ["example.com.", "example.com"], // one trailing dot stripped
    ["", null], // empty
    [".", null], // root only
    ["a..b", null], // empty label
  ])("%j → %j", (input, expected) => {
    expect(normalizeHostName(input)).toBe(expected);
  });
});

describe("ruleMatches", () => {
  const dst = (ip: string, port: number, proto: "tcp" | "udp", ...names: string[]): EgressDestination => ({
    ip,
    port,
    proto,
    names,
  });

  it.each([
    // [rule, destination, matches]
    ["192.0.2.0/24", dst("192.0.2.9", 80, "tcp"), true], // in network, any port
    ["192.0.2.0/24", dst("192.0.3.9", 80, "tcp"), false], // outside network
    ["192.0.2.0/24:443", dst("192.0.2.9", 443, "udp"), true], // no proto = both
    ["192.0.2.0/24:443", dst("192.0.2.9", 444, "tcp"), false], // wrong port
    ["192.0.2.0/24:443/tcp", dst("192.0.2.9", 443, "udp"), false], // wrong proto
    ["10.0.0.0/8:8000-8100", dst("10.1.1.1", 8000, "tcp"), true], // range start
    ["10.0.0.0/8:8000-8100", dst("10.1.1.1", 8100, "tcp"), true], // range end
    ["10.0.0.0/8:8000-8100", dst("10.1.1.1", 8101, "tcp"), false], // past range
    ["10.0.0.0/8:8000-8100", dst("10.1.1.1", 7999, "tcp"), false], // before range
    ["192.0.2.0/24", dst("::ffff:192.0.2.9", 80, "tcp"), true], // IPv4-mapped destination
    ["0.0.0.0/0", dst("2001:db8::1", 80, "tcp"), false], // IPv4 /0 never matches IPv6
    ["::/0", dst("192.0.2.1", 80, "tcp"), false], // IPv6 /0 never matches IPv4
    ["[fd00::/8]:443/tcp", dst("fd12::1", 443, "tcp"), true], // bracket rule
    ["[fd00::/8]:443/tcp", dst("fd12::1", 80, "tcp"), false], // bracket rule, wrong port
    ["fd00::/8", dst("fd12::1", 5353, "udp"), true], // bare IPv6, any port
    ["192.0.2.7", dst("192.0.2.7", 1, "udp", "evil.example"), true], // cidr ignores names
    ["api.example.com:443", dst("192.0.2.7", 443, "tcp", "api.example.com"), true], // name matches
    ["api.example.com:443", dst("192.0.2.7", 443, "tcp", "cdn.net", "api.example.com"), true], // any name
    ["api.example.com:443", dst("192.0.2.7", 443, "tcp"), false], // no names: never
    ["api.example.com:443", dst("192.0.2.7", 443, "tcp", "www.example.com"), false], // other name
    ["api.example.com:443", dst("192.0.2.7", 443, "tcp", "x.api.example.com"), false], // subdomain
    ["api.example.com", dst("api.example.com", 443, "tcp"), false], // the IP text is not a name
    ["*.example.com", dst("192.0.2.7", 443, "tcp", "a.example.com"), true], // one label
    ["*.example.com", dst("192.0.2.7", 443, "tcp", "a.b.example.com"), true], // deeper labels
    ["*.example.com", dst("192.0.2.7", 443, "tcp", "example.com"), false], // apex not included
    ["*.example.com", dst("192.0.2.7", 443, "tcp", "badexample.com"), false], // suffix not on a dot
    ["*.example.com", dst("192.0.2.7", 443, "tcp", "example.com.evil.net"), false], // prefix trick
    ["*.example.com", dst("192.0.2.7", 443, "tcp"), false], // no names
    ["*.example.com:443/tcp", dst("192.0.2.7", 443, "udp", "a.example.com"), false], // proto check
  ])("%s vs %o → %s", (text, d, expected) => {
    expect(ruleMatches(rule(text), d)).toBe(expected);
  });
});

describe("parseEgressList", () => {
  it("splits, trims and skips empty items", () => {
    const { rules, errors } = parseEgressList(" 10.0.0.0/8:443 ,, *.example.com ,[fd00::/8]:53/udp, ");
    expect(errors).toEqual([]);
    expect(rules.map((r) => r.text)).toEqual(["10.0.0.0/8:443", "*.example.com", "[fd00::/8]:53/udp"]);
  });

  it("keeps good rules and reports each bad one", () => {
    const { rules, errors } = parseEgressList("db:5432, db:0, *., host:1/icmp");
    expect(rules.map((r) => r.text)).toEqual(["db:5432"]);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toContain("bad port");
    expect(errors[1]).toContain("bad host name");
    expect(errors[2]).toContain("bad proto");
  });

  it("empty value gives nothing and no error", () => {
    expect(parseEgressList("")).toEqual({ rules: [], errors: [] });
    expect(parseEgressList(" , ,")).toEqual({ rules: [], errors: [] });
  });

  it("accepts 256 items and rejects 257", () => {
    const items = (n: number): string =>
      Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(",");
    expect(parseEgressList(items(256))).toMatchObject({ errors: [] });
    expect(parseEgressList(items(256)).rules).toHaveLength(256);
    const over = parseEgressList(items(257));
    expect(over.rules).toEqual([]);
    expect(over.errors).toEqual([expect.stringContaining("257 items")]);
  });

  it("rejects a value over 4096 characters", () => {
    const long = `${"a".repeat(4000)}.com,${"b".repeat(100)}`;
    const r = parseEgressList(long);
    expect(r.rules).toEqual([]);
    expect(r.errors).toEqual([expect.stringContaining("too long")]);
    // Exactly 4096 is still read (the items themselves may be bad).
    expect(parseEgressList("x".repeat(4096)).errors[0]).not.toContain("too long");
  });
});

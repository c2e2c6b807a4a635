import { describe, expect, it } from "vitest";
import { Cidr, CidrSet, parseCidr } from "../../src/net/cidr.js";
import { ipToWords } from "../../src/net/ip-format.js";

describe("parseCidr", () => {
  it.each([
    // [input, canonical text, version, prefix]
    ["192.0.2.0/24", "192.0.2.0/24", 4, 24], // plain IPv4 network
    ["192.0.2.7", "192.0.2.7/32", 4, 32], // bare address is a /32
    ["10.1.2.3/8", "10.0.0.0/8", 4, 8], // host bits are masked off
    ["0.0.0.0/0", "0.0.0.0/0", 4, 0], // /0 is every IPv4 address
    ["255.255.255.255/32", "255.255.255.255/32", 4, 32], // top of the range
    [" 192.0.2.0/24 ", "192.0.2.0/24", 4, 24], // surrounding spaces ignored
    ["fd00::/8", "fd00::/8", 6, 8], // IPv6 network
    ["2001:db8::1", "2001:db8::1/128", 6, 128], // bare IPv6 address is a /128
    ["2001:DB8::/32", "2001:db8::/32", 6, 32], // upper-case hex, canonical lower-case
    ["2001:db8:ffff::1/33", "2001:db8:8000::/33", 6, 33], // masking across a group
    ["::/0", "::/0", 6, 0], // every IPv6 address
    ["::ffff:192.0.2.1", "::ffff:c000:201/128", 6, 128], // mapped form stays IPv6
  ] as const)("%s → %s", (input, text, version, prefix) => {
    const c = parseCidr(input);
    expect(c).not.toBeNull();
    expect(c!.text).toBe(text);
    expect(c!.version).toBe(version);
    expect(c!.prefix).toBe(prefix);
  });

  it.each([
    ["", "empty"],
    ["192.0.2.0/33", "IPv4 prefix too long"],
    ["fd00::/129", "IPv6 prefix too long"],
    ["256.0.0.1", "octet over 255"],
    ["192.0.2", "three octets"],
    ["192.0.2.1.5", "five octets"],
    ["010.0.0.1", "leading zero octet (octal in some tools)"],
    ["192.0.2.0/", "empty prefix"],
    ["192.0.2.0/024", "prefix with leading zero"],
    ["192.0.2.0/-1", "negative prefix"],
    ["192.0.2.0/+8", "signed prefix"],
    ["192.0.2.0/8/8", "two slashes"],
    ["192.0.2.0 /24", "space before the slash"],
    ["fd00:::1", "three colons"],
    ["1::2::3", "two double colons"],
    ["fe80::1%eth0", "zone index"],
    ["example.com", "host name"],
    ["/24", "prefix alone"],
  ])("rejects %j (%s)", (input) => {
    expect(parseCidr(input)).toBeNull();
  });
});

describe("Cidr.contains", () => {
  it.each([
    // [cidr, ip, contained]
    ["192.0.2.0/24", "192.0.2.0", true], // network address
    ["192.0.2.0/24", "192.0.2.255", true], // broadcast address
    ["192.0.2.0/24", "192.0.3.0", false], // next network
    ["192.0.2.0/24", "192.0.1.255", false], // previous network
    ["192.0.2.7", "192.0.2.7", true], // /32 exact
    ["192.0.2.7", "192.0.2.8", false], // /32 neighbour
    ["0.0.0.0/0", "203.0.113.9", true], // /0 matches every IPv4
    ["0.0.0.0/0", "2001:db8::1", false], // ...but no IPv6
    ["::/0", "2001:db8::1", true], // ::/0 matches every IPv6
    ["::/0", "203.0.113.9", false], // ...but no IPv4
    ["::/96", "1.2.3.4", false], // IPv4-compatible prefix does not pull IPv4 in
    ["128.0.0.0/1", "128.0.0.1", true], // top bit set (unsigned compare)
    ["128.0.0.0/1", "127.255.255.255", false], // top bit clear
    ["fd00::/8", "fd12:3456::1", true], // ULA range
    ["fd00::/8", "fe80::1", false], // link-local is outside
    ["fd00::/8", "253.0.0.1", false], // IPv4 never matches IPv6, even with the same top byte
    ["2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true], // last address
    ["2001:db8::/32", "2001:db9::", false], // next /32
    ["2001:db8::1", "2001:0db8:0:0:0:0:0:1", true], // any text form of the same address
    ["192.0.2.0/24", "::ffff:192.0.2.9", true], // IPv4-mapped IPv6 matches the IPv4 network
    ["192.0.2.0/24", "::ffff:c000:209", true], // ...in hex form too
    ["192.0.2.0/24", "::ffff:198.51.100.1", false], // mapped, but another network
    ["192.0.2.0/24", "::192.0.2.9", false], // IPv4-compatible (not mapped) is plain IPv6
    ["192.0.2.0/24", "64:ff9b::192.0.2.9", false], // NAT64 prefix is not mapped
    ["::ffff:0:0/96", "::ffff:192.0.2.9", true], // mapped address is still IPv6
    ["::ffff:0:0/96", "192.0.2.9", false], // but IPv4 text never matches an IPv6 network
    ["192.0.2.0/24", "not-an-ip", false], // invalid text matches nothing
    ["192.0.2.0/24", "", false], // empty text matches nothing
  ])("%s contains %s: %s", (cidr, ip, expected) => {
    expect(parseCidr(cidr)!.contains(ip)).toBe(expected);
  });

  it("containsWords works on the decoder's four-word form", () => {
    const words = new Uint32Array(4);
    const c = parseCidr("10.0.0.0/8")!;
    expect(c.containsWords(words, ipToWords("10.9.8.7", words) as 4)).toBe(true);
    expect(c.containsWords(words, ipToWords("11.0.0.1", words) as 4)).toBe(false);
  });

  it("constructor rejects an out-of-range prefix", () => {
    expect(() => new Cidr(4, [0, 0, 0, 0], 33)).toThrow(RangeError);
    expect(() => new Cidr(6, [0, 0, 0, 0], -1)).toThrow(RangeError);
  });

  it("networkWords is a copy", () => {
    const c = parseCidr("192.0.2.0/24")!;
    c.networkWords()[3] = 0;
    expect(c.contains("192.0.2.1")).toBe(true);
  });
});

function setOf(...texts: string[]): CidrSet {
  return new CidrSet(texts.map((t) => parseCidr(t)!));
}

describe("CidrSet", () => {
  const set = setOf(
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.3",
    "192.0.2.0/24",
    "fd00::/8",
    "fd00:1::/32",
    "2001:db8::1",
    "::ffff:0:0/96",
    "::ffff:198.51.100.0/120",
  );

  it.each([
    // [ip, most specific match or null]
    ["10.1.2.3", "10.1.2.3/32"], // exact address beats its networks
    ["10.1.2.4", "10.1.0.0/16"], // /16 beats /8
    ["10.2.0.1", "10.0.0.0/8"], // only the /8
    ["11.0.0.1", null], // outside everything
    ["192.0.2.200", "192.0.2.0/24"], // another IPv4 network
    ["fd00:1::5", "fd00:1::/32"], // IPv6 longest prefix
    ["fd99::5", "fd00::/8"], // IPv6 shorter prefix
    ["2001:db8::1", "2001:db8::1/128"], // exact /128
    ["2001:db8::2", null], // neighbour of the /128
    ["::ffff:10.1.2.3", "10.1.2.3/32"], // mapped: IPv4 /32 (= /128) beats ::ffff:0:0/96
    ["::ffff:203.0.113.1", "::ffff:0:0/96"], // mapped, no IPv4 network: the IPv6 one
    ["::ffff:198.51.100.7", "::ffff:c633:6400/120"], // IPv6 /120 vs no IPv4: IPv6
    ["253.0.0.1", null], // IPv4 never hits fd00::/8
    ["bogus", null], // invalid text
  ])("match(%s) → %s", (ip, expected) => {
    expect(set.match(ip)?.text ?? null).toBe(expected);
    expect(set.has(ip)).toBe(expected !== null);
  });

  it("IPv4 /0 and IPv6 /0 stay in their family", () => {
    const v4all = setOf("0.0.0.0/0");
    expect(v4all.has("1.2.3.4")).toBe(true);
    expect(v4all.has("2001:db8::1")).toBe(false);
    expect(v4all.has("::ffff:1.2.3.4")).toBe(true); // mapped is IPv4
    const v6all = setOf("::/0");
    expect(v6all.has("2001:db8::1")).toBe(true);
    expect(v6all.has("1.2.3.4")).toBe(false);
  });

  it("counts distinct networks and iterates them", () => {
    const s = setOf("10.0.0.0/8", "10.9.9.9/8", "fd00::/8", "fd00::1/8", "10.0.0.1", "2001:db8::ffff:1");
    expect(s.size).toBe(4); // 10.9.9.9/8 is 10.0.0.0/8 once masked, fd00::1/8 is fd00::/8
    expect(s.add(parseCidr("10.0.0.1")!)).toBe(false);
    expect([...s].map((c) => c.text)).toEqual([
      "10.0.0.1/32",
      "10.0.0.0/8",
      "2001:db8::ffff:1/128",
      "fd00::/8",
    ]);
  });

  it("empty set matches nothing", () => {
    const s = new CidrSet();
    expect(s.size).toBe(0);
    expect(s.has("10.0.0.1")).toBe(false);
    expect(s.has("::1")).toBe(false);
  });

  it("matchWords agrees with match", () => {
    const w = new Uint32Array(4);
    for (const ip of ["10.1.2.3", "10.1.9.9", "fd00:1::1", "::ffff:10.1.2.3", "8.8.8.8"]) {
      const v = ipToWords(ip, w);
      expect(v).not.toBe(0);
      expect(set.matchWords(w, v as 4 | 6)?.text).toBe(set.match(ip)?.text);
    }
  });

  it("agrees with a linear scan on many random prefixes", () => {
    // A deterministic LCG so a failure is reproducible.
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const cidrs: Cidr[] = [];
    for (let i = 0; i < 500; i++) {
      const a = rnd();
      cidrs.push(new Cidr(4, [0, 0, 0, a], 8 + (rnd() % 25)));
      cidrs.push(new Cidr(6, [0x20010db8, rnd(), rnd(), rnd()], 32 + (rnd() % 97)));
    }
    const s = new CidrSet(cidrs);
    const w = new Uint32Array(4);
    for (let i = 0; i < 2000; i++) {
      // Half the probes start from a held network so hits are common.
      const base = cidrs[rnd() % cidrs.length]!;
      const nw = base.networkWords();
      const v6 = base.version === 6;
      w.set(i % 2 === 0 ? nw : [v6 ? 0x20010db8 : 0, v6 ? rnd() : 0, v6 ? rnd() : 0, rnd()]);
      w[3] = (w[3]! ^ (rnd() & 0xff)) >>> 0;
      const linear = cidrs.filter((c) => c.containsWords(w, base.version));
      const best = linear.reduce<Cidr | null>((b, c) => (b === null || c.prefix > b.prefix ? c : b), null);
      expect(s.matchWords(w, base.version)?.text ?? null).toBe(best?.text ?? null);
      expect(s.hasWords(w, base.version)).toBe(linear.length > 0);
    }
  });
});

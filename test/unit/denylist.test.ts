import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadDenylist, MAX_DENYLIST_ENTRIES, parseDenylist } from "../../src/detection/denylist.js";

const SRC = "/etc/netmon/deny.txt";

describe("parseDenylist", () => {
  it("reads addresses and networks, skipping comments and blank lines", () => {
    const text = [
      "# feed: example", // whole-line comment
      "", // blank
      "192.0.2.7", // single IPv4
      "198.51.100.0/24   # trailing comment", // network with trailing comment
      "   ", // spaces only
      "2001:db8::/32", // IPv6 network
      "  203.0.113.9  ", // spaces around
      "1.10.16.0/20 ; SBL256894", // Spamhaus DROP style comment
      "#192.0.2.99", // commented-out entry
    ].join("\n");
    const r = parseDenylist(text, SRC);
    expect(r.errors).toEqual([]);
    expect(r.entries).toBe(5);
    expect(r.set.size).toBe(5);
    expect(r.set.has("192.0.2.7")).toBe(true);
    expect(r.set.has("198.51.100.200")).toBe(true);
    expect(r.set.has("2001:db8:1::1")).toBe(true);
    expect(r.set.has("203.0.113.9")).toBe(true);
    expect(r.set.has("1.10.31.255")).toBe(true);
    expect(r.set.has("192.0.2.99")).toBe(false);
    expect(r.set.has("192.0.2.8")).toBe(false);
  });

  it("handles CRLF line endings and a BOM", () => {
    const r = parseDenylist("\uFEFF192.0.2.1\r\n# c\r\n198.51.100.0/24 # x\r\n\r\n", SRC);
    expect(r.errors).toEqual([]);
    expect(r.entries).toBe(2);
    expect(r.set.has("192.0.2.1")).toBe(true);
    expect(r.set.has("198.51.100.1")).toBe(true);
  });

  it.each([
    ["300.1.1.1", '/etc/netmon/deny.txt:2: bad entry "300.1.1.1"'], // bad octet
    ["192.0.2.0/33", '/etc/netmon/deny.txt:2: bad entry "192.0.2.0/33"'], // prefix too long
    ["1.2.3.4 5.6.7.8", '/etc/netmon/deny.txt:2: bad entry "1.2.3.4 5.6.7.8"'], // two on a line
    ["evil.example.com", '/etc/netmon/deny.txt:2: bad entry "evil.example.com"'], // names are not IPs
    ["0.0.0.0/0", '/etc/netmon/deny.txt:2: bad entry "0.0.0.0/0" (a /0 would match every address)'], // /0
    ["::/0", '/etc/netmon/deny.txt:2: bad entry "::/0" (a /0 would match every address)'], // IPv6 /0
  ])("reports %j with file and line", (entry, message) => {
    const r = parseDenylist(`10.0.0.1\r\n${entry}  # note\n10.0.0.2\n`, SRC);
    expect(r.errors).toEqual([message]);
    expect(r.entries).toBe(2);
    expect(r.set.has("10.0.0.2")).toBe(true);
  });

  it("counts repeated entries as lines, once in the set", () => {
    const r = parseDenylist("10.0.0.1\n10.0.0.1\n10.0.0.1/32\n", SRC);
    expect(r.entries).toBe(3);
    expect(r.set.size).toBe(1);
  });

  it("an IPv4 entry never matches IPv6, except the IPv4-mapped form", () => {
    const r = parseDenylist("0.0.0.1\n", SRC);
    expect(r.set.has("::1")).toBe(false);
    expect(r.set.has("::ffff:0.0.0.1")).toBe(true);
  });

  it("caps the number of error lines", () => {
    const text = Array.from({ length: 250 }, () => "junk").join("\n");
    const r = parseDenylist(text, SRC);
    expect(r.errors).toHaveLength(101);
    expect(r.errors[100]).toBe(`${SRC}: 150 more bad entries not shown`);
  });

  it("looks up correctly in a 100k-entry list", () => {
    // 100k /32s across 10.0.0.0/8, plus networks of a few prefix lengths and IPv6 entries.
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    for (let i = 0; i < 1000; i++) lines.push(`172.${16 + (i % 16)}.${i >> 4}.0/24 # net ${i}`);
    for (let i = 0; i < 1000; i++) lines.push(`2001:db8:${i.toString(16)}::/48`);
    lines.push("203.0.113.0/28");
    const r = parseDenylist(lines.join("\n"), SRC);
    expect(r.errors).toEqual([]);
    expect(r.entries).toBe(102_001);
    expect(r.set.size).toBe(102_001);
    for (let i = 0; i < 100_000; i += 7) {
      expect(r.set.has(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)).toBe(true);
    }
    expect(r.set.has("10.1.134.159")).toBe(true); // i = 99999, the last /32
    expect(r.set.has("10.1.134.160")).toBe(false); // one past the last /32
    expect(r.set.has("10.2.0.0")).toBe(false); // outside the generated range
    expect(r.set.match("172.20.3.77")?.text).toBe("172.20.3.0/24");
    expect(r.set.has("172.20.100.1")).toBe(false); // /24 never generated
    expect(r.set.match("2001:db8:3e7:ffff::1")?.text).toBe("2001:db8:3e7::/48"); // 0x3e7 = 999
    expect(r.set.has("2001:db8:3e8::1")).toBe(false); // 1000 not generated
    expect(r.set.has("203.0.113.15")).toBe(true);
    expect(r.set.has("203.0.113.16")).toBe(false);
  });

  it(`stops after ${MAX_DENYLIST_ENTRIES} entries`, () => {
    const lines: string[] = [];
    for (let i = 0; i < MAX_DENYLIST_ENTRIES + 5; i++) {
      lines.push(`${(i >>> 24) + 1}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    }
    const r = parseDenylist(lines.join("\n"), SRC);
    expect(r.entries).toBe(MAX_DENYLIST_ENTRIES);
    expect(r.errors).toEqual([
      `${SRC}:${MAX_DENYLIST_ENTRIES + 1}: more than ${MAX_DENYLIST_ENTRIES} entries; the rest is ignored`,
    ]);
    expect(r.set.has("1.15.66.63")).toBe(true); // i = 999999, the last one kept
    expect(r.set.has("1.15.66.64")).toBe(false); // i = 1000000, ignored
  });
});

describe("loadDenylist", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmon-deny-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a file and names it in errors", () => {
    const path = join(dir, "deny.txt");
    writeFileSync(path, "192.0.2.1\nnope\n");
    const r = loadDenylist(path);
    expect(r.entries).toBe(1);
    expect(r.errors).toEqual([`${path}:2: bad entry "nope"`]);
  });

  it("throws an Error naming a missing path", () => {
    const path = join(dir, "missing.txt");
    expect(() => loadDenylist(path)).toThrow(`${path}: cannot read the denylist file (ENOENT)`);
  });

  it("throws on a directory", () => {
    expect(() => loadDenylist(dir)).toThrow(/cannot read the denylist file \(EISDIR\)/);
  });
});

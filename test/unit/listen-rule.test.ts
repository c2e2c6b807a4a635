import { describe, expect, it } from "vitest";
import {
  type ListenRule,
  listenMatches,
  parseListenList,
  parseListenRule,
  parsePortRange,
} from "../../src/rules/listen-rule.js";

function rule(text: string): ListenRule {
  const r = parseListenRule(text);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(text)} to parse: ${r.error}`);
  return r.rule;
}

describe("parseListenRule", () => {
  it.each([
    // [input, from, to, proto]
    ["80", 80, 80, null], // single port, both protos
    ["443/tcp", 443, 443, "tcp"], // with proto
    ["53/udp", 53, 53, "udp"], // udp
    ["53/UDP", 53, 53, "udp"], // proto case-insensitive
    ["8000-8010/tcp", 8000, 8010, "tcp"], // range
    ["9000-9000", 9000, 9000, null], // one-port range
    ["1", 1, 1, null], // lowest port
    ["65535/udp", 65535, 65535, "udp"], // highest port
    [" 22 ", 22, 22, null], // spaces trimmed
  ] as const)("%j", (input, from, to, proto) => {
    const r = rule(input);
    expect(r).toEqual({ ports: { from, to }, proto, text: input.trim() });
  });

  it.each([
    ["", "empty"], // nothing
    ["0", "bad port"], // port 0
    ["65536", "bad port"], // over 65535
    ["99999999", "bad port"], // too many digits
    ["-1", "bad port"], // negative
    ["8010-8000", "reversed"], // reversed range
    ["8000-", "bad port"], // half range
    ["-8000", "bad port"], // half range
    ["http", "bad port"], // named port
    ["80/icmp", "bad proto"], // icmp
    ["80/", "bad proto"], // empty proto
    ["80/tcp/udp", "bad proto"], // two protos
    ["/tcp", "bad port"], // proto alone
    ["80 /tcp", "bad port"], // space inside
    ["1.5", "bad port"], // decimal
  ])("rejects %j (%s)", (input, words) => {
    const r = parseListenRule(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(words);
  });
});

describe("parsePortRange", () => {
  it("returns a message naming the bound that failed", () => {
    expect(parsePortRange("70000")).toContain("70000 is outside 1-65535");
    expect(parsePortRange("5-3")).toContain("reversed (5 > 3)");
    expect(parsePortRange("5-7")).toEqual({ from: 5, to: 7 });
  });
});

describe("listenMatches", () => {
  it.each([
    // [rule, port, proto, matches]
    ["80", 80, "tcp", true], // no proto = tcp
    ["80", 80, "udp", true], // no proto = udp
    ["80/tcp", 80, "udp", false], // proto mismatch
    ["80/tcp", 81, "tcp", false], // port mismatch
    ["8000-8010/tcp", 8000, "tcp", true], // range start
    ["8000-8010/tcp", 8010, "tcp", true], // range end
    ["8000-8010/tcp", 8011, "tcp", false], // past range
    ["8000-8010/tcp", 7999, "tcp", false], // before range
  ] as const)("%s vs %d/%s → %s", (text, port, proto, expected) => {
    expect(listenMatches(rule(text), port, proto)).toBe(expected);
  });
});

describe("parseListenList", () => {
  it("splits, trims, skips empty items, keeps good rules next to bad ones", () => {
    const { rules, errors } = parseListenList(" 80, ,443/tcp,0, 53/icmp ,8000-8010/udp,");
    expect(rules.map((r) => r.text)).toEqual(["80", "443/tcp", "8000-8010/udp"]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('"0"');
    expect(errors[1]).toContain("bad proto");
  });

  it("empty value gives nothing", () => {
    expect(parseListenList("")).toEqual({ rules: [], errors: [] });
  });

  it("rejects more than 256 items and more than 4096 characters", () => {
    const many = Array.from({ length: 257 }, (_, i) => String(i + 1)).join(",");
    expect(parseListenList(many)).toEqual({ rules: [], errors: [expect.stringContaining("257 items")] });
    expect(parseListenList(`80,${" ".repeat(5000)}`).errors).toEqual([expect.stringContaining("too long")]);
  });
});

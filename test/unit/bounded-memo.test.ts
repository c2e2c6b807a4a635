import { describe, expect, it } from "vitest";
import { fingerprintOf } from "../../src/alerts/fingerprint.js";
import { BoundedMemo } from "../../src/util/bounded-memo.js";

describe("BoundedMemo", () => {
  it("computes a key once while it stays cached", () => {
    const memo = new BoundedMemo<number>(10);
    let calls = 0;
    const compute = (): number => ++calls;
    expect(memo.get("a", compute)).toBe(1);
    expect(memo.get("a", compute)).toBe(1);
    expect(memo.get("b", compute)).toBe(2);
    expect(calls).toBe(2);
  });

  it("never holds more than its bound, and recomputes what it dropped", () => {
    const memo = new BoundedMemo<string>(3);
    for (let i = 0; i < 100; i++) memo.get(`k${i}`, () => `v${i}`);
    expect(memo.size).toBeLessThanOrEqual(3);
    expect(memo.get("k0", () => "again")).toBe("again");
  });
});

describe("fingerprintOf through its cache", () => {
  it("gives the same id cached or not, and tells apart triples that concatenate alike", () => {
    const first = fingerprintOf("d", "w", "k");
    for (let i = 0; i < 20_000; i++) fingerprintOf("d", "w", `other-${i}`); // past the cache's bound
    expect(fingerprintOf("d", "w", "k")).toBe(first);
    expect(fingerprintOf("a|b", "c", "k")).not.toBe(fingerprintOf("a", "b|c", "k"));
    expect(first).toMatch(/^[0-9a-f]{16}$/);
  });
});

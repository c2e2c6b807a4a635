import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseIpv4 } from "../../src/net/ip-format.js";

/** The straightforward definition the fast parser must agree with. */
function reference(ip: string): number | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value >>> 0;
}

describe("parseIpv4", () => {
  // Edge cases where a hand-written loop usually goes wrong.
  it.each([
    ["192.0.2.7", 0xc0000207],
    ["0.0.0.0", 0],
    ["255.255.255.255", 0xffffffff],
    ["010.0.0.1", 0x0a000001],
    ["1.2.3", null],
    ["1.2.3.4.", null],
    [".1.2.3", null],
    ["1..2.3", null],
    ["256.0.0.1", null],
    ["1.2.3.1000", null],
    ["1.2.3.4 ", null],
    ["", null],
  ])("%j → %s", (ip, want) => {
    expect(parseIpv4(ip)).toBe(want);
  });

  // On any string of digits and dots (and a little noise) it agrees with the reference.
  it("agrees with the reference definition", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9.a ]{0,20}$/), (s) => {
        expect(parseIpv4(s)).toBe(reference(s));
      }),
      { seed: 424242, numRuns: 3000 },
    );
  });
});

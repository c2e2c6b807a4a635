import { describe, expect, it } from "vitest";
import { formatDuration } from "../../src/util/duration.js";

describe("formatDuration", () => {
  it("rounds under a second to whole ms", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(46.4951171875)).toBe("46 ms");
    expect(formatDuration(999.4)).toBe("999 ms");
  });

  it("gives tenths of a second under a minute, without a trailing .0", () => {
    expect(formatDuration(999.6)).toBe("1 s");
    expect(formatDuration(2_500)).toBe("2.5 s");
    expect(formatDuration(20_000)).toBe("20 s");
    expect(formatDuration(59_940)).toBe("59.9 s");
  });

  it("gives minutes and whole seconds under an hour, rounding before choosing the unit", () => {
    expect(formatDuration(59_960)).toBe("1 min");
    expect(formatDuration(250_000)).toBe("4 min 10 s");
    expect(formatDuration(300_000)).toBe("5 min");
    expect(formatDuration(3_599_400)).toBe("59 min 59 s");
  });

  it("gives hours and whole minutes beyond", () => {
    expect(formatDuration(3_600_000)).toBe("1 h");
    expect(formatDuration(10_800_000)).toBe("3 h");
    expect(formatDuration(7_500_000)).toBe("2 h 5 min");
  });

  it("names a value that is no duration as it is", () => {
    expect(formatDuration(Number.NaN)).toBe("NaN ms");
    expect(formatDuration(-5)).toBe("-5 ms");
  });
});

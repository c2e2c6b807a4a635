import { describe, expect, it } from "vitest";
import {
  type CaptureSpan,
  lifetimesOutsideCapture,
  outsideCaptureWarning,
} from "../../src/inventory/capture-coverage.js";
import { type ContainerLifetime, staticInventoryOf } from "../../src/inventory/static-inventory.js";
import type { ContainerRef } from "../../src/model/events.js";
import { Scenario, SCENARIO_T0 as T0 } from "../support/scenario.js";

function ref(name: string): ContainerRef {
  return { id: "a".repeat(64), name, image: "busybox", service: null, project: null };
}

function lifetime(name: string, fromMs: number | null, toMs: number | null = null): ContainerLifetime {
  return {
    ref: ref(name),
    span: fromMs === null ? null : { fromMs: T0 + fromMs, toMs: toMs === null ? null : T0 + toMs },
  };
}

// The capture ran from T0 to T0 + 60 s.
const CAPTURE: CaptureSpan = { firstMs: T0, lastMs: T0 + 60_000 };
const SLACK = { startSlackMs: 2_000, endSlackMs: 250 };

const names = (ls: ContainerLifetime[]): string[] => ls.map((l) => l.ref.name);

describe("lifetimesOutsideCapture", () => {
  it("keeps only containers whose [start - slack, finish + slack or on] misses the capture", () => {
    const lifetimes = [
      lifetime("running-before", -600_000),
      lifetime("running-during", 30_000),
      lifetime("started-just-after", 62_000), // within start slack of the last packet
      lifetime("started-after", 62_001),
      lifetime("ended-before", -600_000, -251),
      lifetime("ended-just-before", -600_000, -250), // within end slack of the first packet
      lifetime("spans-it", -10_000, 70_000),
      lifetime("inside-it", 10_000, 20_000),
      lifetime("never-started", null),
    ];
    expect(names(lifetimesOutsideCapture(lifetimes, CAPTURE, SLACK))).toEqual([
      "started-after",
      "ended-before",
      "never-started",
    ]);
  });

  it("defaults to the slack attribution uses", () => {
    const lifetimes = [lifetime("a", 62_000), lifetime("b", 62_001), lifetime("c", -5_000, -251)];
    expect(names(lifetimesOutsideCapture(lifetimes, CAPTURE))).toEqual(["b", "c"]);
  });

  it("with no slack, a one-packet capture is covered only by a lifetime containing that instant", () => {
    const instant = { firstMs: T0, lastMs: T0 };
    const lifetimes = [lifetime("on-it", 0, 0), lifetime("after", 1), lifetime("before", -10, -1)];
    expect(names(lifetimesOutsideCapture(lifetimes, instant, { startSlackMs: 0, endSlackMs: 0 }))).toEqual([
      "after",
      "before",
    ]);
  });

  it("works on what loadStaticInventory returns: containers inspected after the capture", () => {
    const s = new Scenario()
      .container({ name: "web", ip: "172.30.0.2", startedAt: -60_000 })
      .container({ name: "late", ip: "172.30.0.3", startedAt: 3_600_000 });
    const { lifetimes } = staticInventoryOf(s.inventory(), "inv.json");
    expect(names(lifetimesOutsideCapture(lifetimes, CAPTURE))).toEqual(["late"]);
  });
});

describe("outsideCaptureWarning", () => {
  it("is null when every container overlaps the capture", () => {
    expect(outsideCaptureWarning([], CAPTURE)).toBeNull();
  });

  it("names each container with its start, finish or never started, on one line", () => {
    const line = outsideCaptureWarning(
      [lifetime("late", 3_600_000), lifetime("gone", -7_200_000, -3_600_000), lifetime("idle", null)],
      CAPTURE,
    );
    expect(line).toBe(
      "inventory: 3 containers did not run during the capture (2026-01-01T00:00:00.000Z to " +
        "2026-01-01T00:01:00.000Z), so no packet is attributed to them: " +
        "late (started 2026-01-01T01:00:00.000Z), gone (finished 2025-12-31T23:00:00.000Z), idle (never started) " +
        "(was the inventory taken from containers started after the capture?)",
    );
    expect(line).not.toContain("\n");
  });

  it("says 1 container for one, and counts the names past ten", () => {
    expect(outsideCaptureWarning([lifetime("late", 3_600_000)], CAPTURE)).toMatch(
      /^inventory: 1 container did /,
    );
    const many = Array.from({ length: 13 }, (_, i) => lifetime(`c${i}`, 3_600_000));
    const line = outsideCaptureWarning(many, CAPTURE)!;
    expect(line).toContain("13 containers");
    expect(line).toContain("c9 (started");
    expect(line).not.toContain("c10 (");
    expect(line).toContain("and 3 more");
  });
});

import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { containerModes, containersTable } from "../../src/commands/containers.js";
import type { ContainerRef } from "../../src/model/events.js";
import { containerInfo } from "../support/fixtures.js";
import { configFromYaml } from "../support/policy.js";

// Noon local time, so "until" stays on the same day whatever the time zone.
const NOW = new Date(2024, 4, 6, 12, 0, 0).getTime();
const hm = (ms: number) => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
};

const ref = (name: string): ContainerRef => ({
  id: name.padEnd(64, "0"),
  name,
  image: `${name}:1`,
  service: name,
  project: "shop",
});

describe("netmon containers: effective mode and where it comes from", () => {
  const config = configFromYaml(
    ["mode: monitor", "policy:", "  workloads:", '    - match: { name: "batch" }', "      mode: off"].join(
      "\n",
    ),
  );
  const containers = [
    containerInfo(ref("web"), { labels: { "netmon.egress": "db:5432/tcp" } }),
    containerInfo(ref("fresh")),
    containerInfo(ref("old")),
    containerInfo(ref("guard"), { labels: { "netmon.mode": "enforce" } }),
    containerInfo(ref("batch")),
  ];
  const baseline = new Baseline();
  baseline.touch("shop/fresh", NOW - 60_000);
  baseline.touch("shop/old", NOW - 3_600_000);
  const modes = containerModes(config, containers, baseline, NOW);
  const text = (name: string) => modes.get(ref(name).id)?.text;

  it("says a declared container is judged at once, and by which declaration", () => {
    // A netmon.egress label is a declaration: no learning period.
    expect(text("web")).toBe("monitor (declared: label netmon.egress)");
    expect(modes.get(ref("web").id)).toMatchObject({
      workload: "shop/web",
      mode: "monitor",
      learningUntil: null,
    });
  });

  it("shows an undeclared container learning, until when, and why", () => {
    // First seen a minute ago, learning 10 minutes.
    const until = NOW - 60_000 + 600_000;
    expect(text("fresh")).toBe(`learning until ${hm(until)} (no netmon labels)`);
    expect(modes.get(ref("fresh").id)).toMatchObject({ mode: "learn", learningUntil: until });
    expect(text("old")).toBe(`monitor (learned until ${hm(NOW - 3_600_000 + 600_000)}; no netmon labels)`);
  });

  it("names a mode label or a policy.workloads rule", () => {
    // The label and the rule set the mode itself.
    expect(text("guard")).toBe("enforce (label netmon.mode)");
    expect(text("batch")).toBe("off (policy.workloads[0])");
  });

  it("prints the workload and the mode in the table", () => {
    // One row per container, sorted by name.
    const table = containersTable(containers, modes).split("\n");
    expect(table[0]).toMatch(/WORKLOAD\s+MODE$/);
    expect(table.find((l) => l.startsWith("web "))).toMatch(
      /shop\/web\s+monitor \(declared: label netmon\.egress\)$/,
    );
  });
});

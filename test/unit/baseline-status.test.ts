import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { baselineStatusRows, formatBaselineStatus } from "../../src/commands/baseline.js";
import { containerInfo, containerRef as ref } from "../support/fixtures.js";
import { configFromYaml } from "../support/policy.js";

const T0 = 1_700_000_000_000;
const SEC = 1_000;

const WEB = ref("shop-web-1", { project: "shop", service: "web" });
const API = ref("shop-api-1", { project: "shop", service: "api" });

describe("baseline status", () => {
  const config = configFromYaml("baseline:\n  learnForSeconds: 600\n");
  const containers = [
    containerInfo(WEB, { startedAt: T0 }),
    containerInfo(API, { labels: { "netmon.egress": "db:5432/tcp" }, startedAt: T0 }),
  ];

  function learned(): Baseline {
    const b = new Baseline();
    b.recordEgress("shop/web", "api.example.com", 443, "tcp", T0);
    b.recordListen("shop/web", 8080, "tcp", T0 + 1);
    b.touch("shop/api", T0);
    b.touch("old/worker", T0 - 3600 * SEC);
    return b;
  }

  it("per workload: mode, why, learning time left, entries", () => {
    // What an operator needs to know whether (and why) a workload is judged yet.
    const rows = baselineStatusRows(config, containers, learned(), T0 + 60 * SEC);
    expect(rows).toEqual([
      expect.objectContaining({ workload: "old/worker", mode: "-", why: "no running container", entries: 0 }),
      expect.objectContaining({
        workload: "shop/api",
        containers: ["shop-api-1"],
        mode: "monitor",
        why: "label netmon.egress (declared: judged at once)",
        learningLeftSeconds: null,
      }),
      expect.objectContaining({
        workload: "shop/web",
        mode: "learn",
        learningSince: new Date(T0).toISOString(),
        learningUntil: new Date(T0 + 600 * SEC).toISOString(),
        learningLeftSeconds: 540,
        entries: 2,
        sample: ["api.example.com:443/tcp", "8080/tcp"],
      }),
    ]);
    const text = formatBaselineStatus(rows, 1, false);
    expect(text).toMatch(/shop\/web\s+shop-web-1\s+learn\s+learning: declares no netmon/);
    expect(text).toContain("9m00s left");
    expect(text).toContain("1 baseline request(s) queued");
  });

  it("after the learning period the why says so; without Docker the modes are unknown", () => {
    // The same workload, later; and the command still answers when Docker is down.
    const later = baselineStatusRows(config, containers, learned(), T0 + 601 * SEC);
    expect(later.find((r) => r.workload === "shop/web")).toMatchObject({
      mode: "monitor",
      why: "global mode after learning",
      learningLeftSeconds: null,
    });
    const noDocker = baselineStatusRows(config, null, learned(), T0);
    expect(noDocker.map((r) => [r.workload, r.mode, r.why])).toEqual([
      ["old/worker", "-", "Docker unreachable: mode unknown"],
      ["shop/api", "-", "Docker unreachable: mode unknown"],
      ["shop/web", "-", "Docker unreachable: mode unknown"],
    ]);
    expect(JSON.parse(formatBaselineStatus(noDocker, 0, true))).toMatchObject({ pendingRequests: 0 });
  });
});

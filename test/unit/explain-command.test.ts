import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { alertsCommand } from "../../src/commands/alerts.js";
import { explainCommand } from "../../src/commands/explain.js";
import { configFromYaml } from "../support/policy.js";

const INVENTORY = "test/fixtures/basic.inventory.json";
const config = configFromYaml("mode: monitor\nbaseline: { learnForSeconds: 0 }\n");
const offline = { url: "http://127.0.0.1:1", replayInventory: INVENTORY };

describe("netmon explain (offline) and alerts", () => {
  it("explains against a replay inventory and a baseline file, as text and JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-explain-"));
    const baseline = join(dir, "baseline.json");
    writeFileSync(
      baseline,
      JSON.stringify({
        version: 2,
        workloads: {
          "shop/web": {
            firstSeen: 1,
            egress: [{ entry: "shop-db-1|5432|tcp", firstSeen: 1, lastSeen: 2, count: 3 }],
            listen: [],
          },
        },
      }),
    );
    const text = await explainCommand(config, "shop-web-1", "shop-db-1:5432", { ...offline, baseline });
    expect(text).toContain("workload:    shop/web");
    expect(text).toContain("verdict:     allowed by baseline");
    const json = JSON.parse(
      await explainCommand(config, "shop-web-1", "shop-db-1:80", { ...offline, baseline, json: true }),
    );
    expect(json.verdict).toMatchObject({ allowed: false, allowedBy: null });
    expect(json.evidence[0]).toMatchObject({ text: "shop-db-1:5432/tcp", why: "same host, other port" });
  });

  it("bad input exits 2 with what is wrong; an unreachable daemon is one clear line", async () => {
    await expect(explainCommand(config, "shop-web-1", undefined, offline)).rejects.toMatchObject({
      exitCode: 2,
      message: "give a DESTINATION[:PORT[/PROTO]] or --listen PORT[/PROTO], not both, not neither",
    });
    await expect(explainCommand(config, "ghost", "10.0.0.1:80", offline)).rejects.toMatchObject({
      exitCode: 2,
    });
    await expect(
      explainCommand(config, "shop-web-1", "10.0.0.1:80", { ...offline, baseline: "/nonexistent.json" }),
    ).rejects.toMatchObject({ exitCode: 2, message: "/nonexistent.json: no such baseline file" });
    await expect(
      explainCommand(config, "web", "10.0.0.1:80", { url: "http://127.0.0.1:1" }),
    ).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining("cannot reach the netmon daemon at http://127.0.0.1:1"),
    });
    await expect(alertsCommand({ url: "http://127.0.0.1:1", json: false })).rejects.toMatchObject({
      message: expect.stringContaining("cannot reach the netmon daemon"),
    });
  });
});

import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  createInternalNetwork,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();

describe.runIf(ready)("daemon lifecycle with real signals", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmon-life-"));
  const stateDir = join(dir, "state");
  const base = `stateDir: ${stateDir}\nlisteners:\n  schedule: "*/1 * * * * *"\n`;

  beforeAll(() => {
    cleanupDocker();
    const net = createInternalNetwork(uniqueName("net"), 66);
    runContainer(uniqueName("svc"), net.name, "httpd -f -p 8080 -h /www", ["--init"]);
  });

  afterAll(() => cleanupDocker());

  it("SIGHUP applies a valid config, rejects a bad one and keeps the old; SIGTERM drains and exits 0", async () => {
    const netmon = new NetmonProcess(base, []);
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "start");
    const cfg = netmon.configPath;

    // A bad config: rejected with the key path, the daemon goes on.
    writeFileSync(cfg, `${base}flows:\n  maxFlows: -5\n`);
    netmon.signal("SIGHUP");
    const rejected = await netmon.waitFor(
      (l) => l.msg.startsWith("reload rejected"),
      10_000,
      "the rejection",
    );
    expect(JSON.stringify(rejected.errors)).toContain("flows.maxFlows");
    expect(netmon.lines.some((l) => l.msg === "stopped")).toBe(false);

    // A good one: detector options apply now, a new HTTP port waits for a restart.
    writeFileSync(
      cfg,
      `${base}http:\n  port: ${netmon.httpPort + 1}\ndetectors:\n  unexpected-outbound:\n    severity: critical\n`,
    );
    netmon.signal("SIGHUP");
    const reloaded = await netmon.waitFor((l) => l.msg.startsWith("reloaded"), 10_000, "the reload");
    expect(reloaded.applied).toEqual(["detectors"]);
    expect(reloaded.needRestart).toEqual(["http"]);
    // The old HTTP port still serves (it needs a restart to move).
    expect((await fetch(`http://127.0.0.1:${netmon.httpPort}/healthz`)).status).toBe(200);

    const started = Date.now();
    netmon.signal("SIGTERM");
    const code = await netmon.waitExit();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(netmon.lines.at(-1)?.msg).toBe("stopped");
    // The baseline was flushed on the way out (the listener scan touched the running container).
    expect(existsSync(join(stateDir, "baseline.json"))).toBe(true);
  });

  it("a second SIGTERM exits at once", async () => {
    const netmon = new NetmonProcess(base, []);
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "start");
    const started = Date.now();
    netmon.signal("SIGTERM");
    netmon.signal("SIGTERM");
    const code = await netmon.waitExit();
    expect([0, 1]).toContain(code);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

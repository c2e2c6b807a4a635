import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Gauge } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { hostOf } from "../../src/config/fleet-schema.js";
import { parseConfigText } from "../../src/config/load.js";
import { type MetricSources, NetmonMetrics } from "../../src/daemon/metrics.js";
import { createLogger } from "../../src/util/logger.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The JSON lines a real createLogger logger writes, through a file. */
function linesOf(
  write: (log: ReturnType<typeof createLogger>) => void,
  host?: string,
): Record<string, unknown>[] {
  const dir = mkdtempSync(join(tmpdir(), "netmon-logger-"));
  dirs.push(dir);
  const path = join(dir, "log");
  const fd = openSync(path, "w");
  const log = createLogger("info", { fd, sync: true, ...(host === undefined ? {} : { host }) });
  write(log);
  closeSync(fd);
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const NO_SOURCES: MetricSources = {
  captureStats: () => [{ iface: "br-1", received: 1, dropped: 0, ifDropped: 0 }],
  flowsActive: () => 0,
  containersMonitored: () => 0,
  dockerConnected: () => true,
  activeAlerts: () => [],
  detectorCounters: () => ({}),
  suppressed: () => ({}),
  alertmanagerStats: () => null,
  blocksActive: () => 0,
  modeChanges: () => 0,
};

describe("the host setting", () => {
  it("defaults to the machine's hostname, and a configured name wins", () => {
    const dflt = parseConfigText("", "x.yaml");
    const set = parseConfigText("host: web-07.eu\n", "x.yaml");
    expect(dflt.ok && hostOf(dflt.config)).toBe(hostname());
    expect(set.ok && hostOf(set.config)).toBe("web-07.eu");
  });

  it("is a top-level field of every log line, right after app", () => {
    const lines = linesOf((log) => {
      log.info({ alert: { detector: "d" } }, "alert");
      log.info({ event: { proto: "tcp" } }, "connection");
      log.child({ iface: "br-1" }).warn("capture started");
    }, "web-07.eu");
    expect(lines.map((l) => l.host)).toEqual(["web-07.eu", "web-07.eu", "web-07.eu"]);
    expect(Object.keys(lines[0]!).slice(0, 4)).toEqual(["level", "time", "app", "host"]);
    // The alert object itself stays as the contract has it: the host is the line's, not the alert's.
    expect(lines[0]!.alert).toEqual({ detector: "d" });
  });

  it("is absent from the lines of a logger given none (tests, one-shot commands)", () => {
    const [line] = linesOf((log) => log.info("x"));
    expect(line).not.toHaveProperty("host");
    expect(line).toMatchObject({ app: "netmon", msg: "x" });
  });
});

describe("metrics.hostLabel", () => {
  it("puts host on every series, including those registered later", async () => {
    const metrics = new NetmonMetrics(NO_SOURCES, "1.2.3", { host: "web-07.eu" });
    new Gauge({ name: "netmon_test_late", help: "h", registers: [metrics.registry] }).set(1);
    const samples = (await metrics.registry.metrics())
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(samples.length).toBeGreaterThan(10);
    for (const s of samples) expect(s).toMatch(/[{,]host="web-07\.eu"[,}]/);
    expect(samples).toContain('netmon_test_late{host="web-07.eu"} 1');
  });

  it("adds no label when off (the default)", async () => {
    const metrics = new NetmonMetrics(NO_SOURCES, "1.2.3");
    expect(await metrics.registry.metrics()).not.toMatch(/host="/);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { defaultConfig, loadConfig, parseConfigText, validateConfig } from "../../src/config/load.js";

const REPO_CONFIG = fileURLToPath(new URL("../../config/netmon.yaml", import.meta.url));
const SRC = "/etc/netmon/netmon.yaml";

function errorsOf(text: string): string[] {
  const r = parseConfigText(text, SRC);
  if (r.ok) throw new Error(`expected errors for ${JSON.stringify(text)}`);
  return r.errors;
}

describe("defaults", () => {
  it("are complete and have the documented values", () => {
    expect(defaultConfig()).toEqual({
      mode: "monitor",
      stateDir: "/var/lib/netmon",
      host: null,
      capture: {
        interfaces: "auto",
        bufferTimeoutMs: 10,
        bufferSizeMb: 16,
        snaplen: 4352,
        seedEstablished: { maxPerContainer: 1024 },
      },
      flows: {
        maxFlows: 200_000,
        tcpUnansweredMs: 5_000,
        tcpEstablishedIdleMs: 3_600_000,
        udpIdleMs: 30_000,
        tcpHalfCloseMs: 60_000,
      },
      dns: { maxEntries: 100_000, minTtlSeconds: 60, maxTtlSeconds: 86_400, retainSeconds: 21_600 },
      listeners: { schedule: "*/15 * * * * *", maxPerContainer: 4096 },
      processes: { enabled: "auto" },
      docker: { socketPath: "/var/run/docker.sock", reconnectMinMs: 500, reconnectMaxMs: 30_000 },
      log: { level: "info", events: false, eventsFile: { path: null, maxBytes: 52_428_800, maxFiles: 5 } },
      http: { enabled: true, listen: "127.0.0.1", port: 9797 },
      metrics: { hostLabel: false },
      policy: { egress: [], dnsResolvers: [], denylistFile: null, workloads: [] },
      baseline: { learnForSeconds: 600, maxEntriesPerWorkload: 1000, saveIntervalSeconds: 60 },
      alerts: {
        suppressSeconds: 600,
        resolveAfterSeconds: 900,
        maxActive: 10_000,
        logLinesPerSecond: 50,
        logLineBurst: 500,
        fanOutAfter: 3,
        runbookBaseUrl: "https://github.com/netmon/netmon/blob/main/README.md",
        externalUrl: null,
      },
      alertmanager: { urls: [], resendIntervalSeconds: 60, timeoutSeconds: 5, maxQueue: 1000 },
      blocking: {
        mode: "off",
        rules: [
          { detector: "unexpected-outbound", severities: ["critical"], scope: "destination" },
          { detector: "connection-burst", shapes: ["port-scan", "host-scan"], scope: "container" },
          { detector: "connection-burst", shapes: ["brute-force"], scope: "destination" },
        ],
        durationSeconds: 3600,
        maxDurationSeconds: 86_400,
        neverBlock: [],
        maxBlocksPerMinute: 10,
        maxActiveBlocks: 1000,
        onShutdown: "keep",
        reconcileSeconds: 30,
      },
      detectors: {
        "unexpected-outbound": { udp: true, internal: true, severity: "warning" },
        "connection-burst": {
          shortMs: 1000,
          includeUdp: false,
          burstCapacity: 50,
          burstLeakPerSecond: 5,
          scanWindowMs: 300_000,
          scanCounts: "unallowed-or-failed",
          portScanThreshold: 15,
          hostScanThreshold: 25,
          bruteForceThreshold: 30,
          bruteForceFloor: 50,
          bruteForceWindowMs: 20_000,
          bruteForceRateMultiple: 5,
          bruteForceWarmupMs: 120_000,
          slowScanWindowMs: 3_600_000,
          slowPortScanThreshold: 30,
          slowHostScanThreshold: 50,
          maxTrackedContainers: 10_000,
          maxTargetsPerContainer: 4096,
        },
        "unusual-listener": { severity: "warning", loopbackSeverity: "info", wireEvidence: true },
        beaconing: {
          threshold: 0.85,
          minConnections: 6,
          minSpanMs: 300_000,
          mergeMs: 2_000,
          reportAllowed: false,
          maxConnections: 64,
          maxPairs: 20_000,
        },
        "dns-abuse": {
          windowMs: 600_000,
          tunnelNames: 100,
          dgaDomains: 25,
          ignoreDomains: [],
          maxDomains: 10_000,
          maxContainers: 2_000,
        },
      },
    });
  });

  it("no file gives the defaults", () => {
    expect(loadConfig(undefined)).toEqual({ ok: true, config: defaultConfig() });
  });

  it.each([
    ["empty text", ""],
    ["only comments", "# nothing here\n\n# at all\n"],
    ["an explicit null document", "~\n"],
    ["an empty mapping", "{}\n"],
  ])("%s gives the defaults", (_label, text) => {
    expect(parseConfigText(text, SRC)).toEqual({ ok: true, config: defaultConfig() });
  });

  it("an empty section gives that section's defaults", () => {
    const r = parseConfigText("flows: {}\nlog:\n  level: debug\n", SRC);
    expect(r.ok && r.config.flows).toEqual(defaultConfig().flows);
    expect(r.ok && r.config.log).toEqual({ ...defaultConfig().log, level: "debug" });
  });

  it("config/netmon.yaml in the repo is exactly the defaults (it documents them)", () => {
    const r = loadConfig(REPO_CONFIG);
    expect(r).toEqual({ ok: true, config: defaultConfig() });
  });

  it("config/netmon.yaml spells out every key (none is left to an undocumented default)", () => {
    const leaves = (o: object, prefix = ""): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        v !== null && typeof v === "object" && !Array.isArray(v)
          ? leaves(v, `${prefix}${k}.`)
          : [`${prefix}${k}`],
      );
    const raw: unknown = parseYaml(readFileSync(REPO_CONFIG, "utf8"));
    expect(typeof raw).toBe("object");
    expect(leaves(raw as object).sort()).toEqual(leaves(defaultConfig()).sort());
  });

  it("a partial file overrides only what it sets", () => {
    const r = parseConfigText(
      "mode: enforce\ncapture:\n  interfaces: [docker0, br-0123456789ab]\nflows:\n  maxFlows: 1000\n",
      SRC,
    );
    expect(r).toEqual({
      ok: true,
      config: {
        ...defaultConfig(),
        mode: "enforce",
        capture: { ...defaultConfig().capture, interfaces: ["docker0", "br-0123456789ab"] },
        flows: { ...defaultConfig().flows, maxFlows: 1000 },
      },
    });
  });

  it("processes.enabled takes auto, true or false", () => {
    for (const enabled of ["auto", true, false] as const) {
      const r = parseConfigText(`processes:\n  enabled: ${enabled}\n`, SRC);
      expect(r.ok && r.config.processes).toEqual({ enabled });
    }
  });
});

describe("invalid configurations", () => {
  it.each([
    ["flows.maxFlows below its minimum", "flows:\n  maxFlows: 5\n", "flows.maxFlows: "],
    ["flows.maxFlows as text", "flows:\n  maxFlows: lots\n", "flows.maxFlows: "],
    ["flows.maxFlows fractional", "flows:\n  maxFlows: 1000.5\n", "flows.maxFlows: "],
    ["flows.tcpUnansweredMs negative", "flows:\n  tcpUnansweredMs: -1\n", "flows.tcpUnansweredMs: "],
    ["capture.interfaces as a bare string", "capture:\n  interfaces: eth0\n", "capture.interfaces: "],
    ["capture.interfaces with an empty name", 'capture:\n  interfaces: [""]\n', "capture.interfaces"],
    [
      "capture.interfaces name too long",
      "capture:\n  interfaces: [averyverylongifname]\n",
      "capture.interfaces",
    ],
    [
      "capture.bufferTimeoutMs above 1000",
      "capture:\n  bufferTimeoutMs: 5000\n",
      "capture.bufferTimeoutMs: ",
    ],
    [
      "listeners.schedule not cron",
      'listeners:\n  schedule: "every minute"\n',
      "listeners.schedule: not a valid cron expression",
    ],
    [
      "listeners.schedule with a bad field",
      'listeners:\n  schedule: "*/15 * * * * * * *"\n',
      "listeners.schedule: not a valid cron expression",
    ],
    ["listeners.schedule as a number", "listeners:\n  schedule: 15\n", "listeners.schedule: "],
    [
      "processes.enabled neither auto nor a boolean",
      "processes:\n  enabled: yes-please\n",
      "processes.enabled: ",
    ],
    ["an unknown top-level key", "modee: learn\n", "modee: unknown key"],
    [
      "a resolver that is not an IP",
      "policy:\n  dnsResolvers: [dns.example]\n",
      "policy.dnsResolvers.0: must be an IPv4 or IPv6 address",
    ],
    ["a bad egress rule", "policy:\n  egress: ['10.0.0.0/33']\n", "policy.egress.0: "],
    ["an unknown detector", "detectors:\n  port-knocking: {}\n", "detectors.port-knocking: unknown key"],
    [
      "an unknown detector option",
      "detectors:\n  connection-burst:\n    shortMS: 5\n",
      "detectors.connection-burst.shortMS: unknown key",
    ],
    ["an unknown nested key", "flows:\n  maxFlow: 1000\n", "flows.maxFlow: unknown key"],
    ["an unknown mode", "mode: watch\n", "mode: "],
    ["mode as a list", "mode: [monitor]\n", "mode: "],
    ["log.events as text", "log:\n  events: sometimes\n", "log.events: "],
    ["log.level unknown", "log:\n  level: loud\n", "log.level: "],
    ["log.eventsFile.maxFiles 1", "log:\n  eventsFile:\n    maxFiles: 1\n", "log.eventsFile.maxFiles: "],
    ["log.eventsFile.path empty", 'log:\n  eventsFile:\n    path: ""\n', "log.eventsFile.path: "],
    ["stateDir empty", 'stateDir: ""\n', "stateDir: "],
    ["host empty", 'host: ""\n', "host: "],
    ["host with a space", 'host: "web 01"\n', "host: no spaces or control characters"],
    ["metrics.hostLabel as text", "metrics:\n  hostLabel: sometimes\n", "metrics.hostLabel: "],
    ["a section that is a scalar", "flows: 5\n", "flows: "],
    ["docker.socketPath as a number", "docker:\n  socketPath: 5\n", "docker.socketPath: "],
    ["dns.maxEntries too small", "dns:\n  maxEntries: 1\n", "dns.maxEntries: "],
    [
      "dns.minTtlSeconds above maxTtlSeconds",
      "dns:\n  minTtlSeconds: 600\n  maxTtlSeconds: 60\n",
      "dns.maxTtlSeconds: must be at least minTtlSeconds",
    ],
  ])("%s", (_label, text, expected) => {
    const errors = errorsOf(text);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((e) => e.startsWith(`${SRC}: ${expected}`))).toBe(true);
  });

  it("reports every problem, not just the first", () => {
    const errors = errorsOf("modee: x\nflows:\n  maxFlow: 3\n  maxFlows: 3\n");
    expect(errors).toHaveLength(3);
    expect(errors).toContain(`${SRC}: modee: unknown key`);
    expect(errors).toContain(`${SRC}: flows.maxFlow: unknown key`);
    expect(errors.filter((e) => e.startsWith(`${SRC}: flows.maxFlows: `))).toHaveLength(1);
  });

  it("a YAML syntax error names the file, line and column", () => {
    const errors = errorsOf("mode: monitor\nflows:\n  maxFlows: [1, 2\n");
    expect(errors[0]).toMatch(/^\/etc\/netmon\/netmon\.yaml:4:1: /);
    expect(errors[0]).not.toContain("\n");
  });

  it("a YAML error on a specific line reports that line", () => {
    const errors = errorsOf("mode: monitor\nstateDir: /x\nlog: level: info\n");
    expect(errors[0]).toMatch(/^\/etc\/netmon\/netmon\.yaml:3:\d+: /);
  });

  it("duplicate keys are an error naming the line of the duplicate", () => {
    const errors = errorsOf("mode: learn\nstateDir: /x\nmode: monitor\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\/etc\/netmon\/netmon\.yaml:3:1: Map keys must be unique/);
  });

  it("duplicate nested keys are an error too", () => {
    const errors = errorsOf("flows:\n  maxFlows: 1000\n  maxFlows: 2000\n");
    expect(errors[0]).toMatch(/^\/etc\/netmon\/netmon\.yaml:3:\d+: Map keys must be unique/);
  });

  it.each([
    ["a list", "- mode: monitor\n- mode: learn\n"],
    ["a string", "monitor\n"],
    ["a number", "42\n"],
  ])("a top-level %s is not a mapping", (_label, text) => {
    expect(errorsOf(text)).toEqual([`${SRC}: the configuration must be a YAML mapping`]);
  });

  it("validateConfig names the top level for a non-object", () => {
    const r = validateConfig([1, 2]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]).toMatch(/^\(top level\): /);
  });
});

describe("loadConfig", () => {
  it("an unreadable file gives one error naming the path and the reason", () => {
    const path = "/nonexistent-netmon-dir/netmon.yaml";
    expect(loadConfig(path)).toEqual({
      ok: false,
      errors: [`${path}: cannot read the configuration file (ENOENT)`],
    });
  });

  it("a directory is not a configuration file", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-config-"));
    try {
      expect(loadConfig(dir)).toEqual({
        ok: false,
        errors: [`${dir}: cannot read the configuration file (EISDIR)`],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a file and prefixes validation errors with its path", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-config-"));
    try {
      const good = join(dir, "good.yaml");
      writeFileSync(good, "mode: learn\n");
      const r = loadConfig(good);
      expect(r.ok && r.config.mode).toBe("learn");
      const bad = join(dir, "bad.yaml");
      writeFileSync(bad, "flows:\n  udpIdleMs: 5\n");
      const e = loadConfig(bad);
      expect(e.ok).toBe(false);
      expect(!e.ok && e.errors).toEqual([expect.stringMatching(new RegExp(`^${bad}: flows\\.udpIdleMs: `))]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

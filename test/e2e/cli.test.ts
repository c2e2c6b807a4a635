import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFixtures } from "../fixtures/make-fixtures.js";
import {
  CLI,
  cleanupDocker,
  createInternalNetwork,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";

const dir = mkdtempSync(join(tmpdir(), "netmon-cli-"));

function netmon(args: string[], opts: { prefix?: string[] } = {}) {
  const prefix = opts.prefix ?? [];
  const cmd = prefix.length > 0 ? prefix[0]! : process.execPath;
  const argv = prefix.length > 0 ? [...prefix.slice(1), process.execPath, CLI, ...args] : [CLI, ...args];
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneClearLine(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe("netmon CLI (no Docker needed)", () => {
  it("replay prints the fixture's events as JSON lines and a summary", () => {
    const fx = makeFixtures(dir);
    const r = netmon(["replay", fx.pcap, "--inventory", fx.inventory, "--log-events"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = lines.filter((l) => l.msg === "connection") as {
      event: { state: string; src: { container: { name: string } | null } };
    }[];
    expect(events).toHaveLength(22);
    expect(events.filter((e) => e.event.src.container?.name === "worker-b")).toHaveLength(3);
    // The fixture's one DNS answer to a container is an event too (dns-abuse reads it).
    expect(lines.filter((l) => l.msg === "dns")).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ msg: "replay finished", summary: { packets: 25, events: 23 } });
  });

  it("replay of a truncated capture names the offset and the packets read", () => {
    const fx = makeFixtures(dir);
    const cut = join(dir, "cut.pcap");
    writeFileSync(cut, readFileSync(fx.pcap).subarray(0, 300));
    const r = netmon(["replay", cut]);
    expect(r.code).toBe(1);
    expectOneClearLine(r.stderr, /cut\.pcap: truncated .* at byte offset \d+ \(after \d+ packets\)/);
  });

  it("replay of a missing file and of a bad inventory give one clear line", () => {
    const missing = netmon(["replay", join(dir, "nope.pcap")]);
    expect(missing.code).toBe(1);
    expectOneClearLine(missing.stderr, /^netmon: .*nope\.pcap: cannot read the capture file \(ENOENT\)\n$/);
    const badInv = join(dir, "inv.json");
    writeFileSync(badInv, "{not json");
    const fx = makeFixtures(dir);
    const r = netmon(["replay", fx.pcap, "--inventory", badInv]);
    expect(r.code).toBe(2);
    expectOneClearLine(r.stderr, /inv\.json: not valid JSON/);
  });

  it("check-config accepts the shipped config and rejects a bad one with every key path", () => {
    const ok = netmon(["check-config", new URL("../../config/netmon.yaml", import.meta.url).pathname]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/netmon\.yaml: ok/);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "modee: monitor\nflows:\n  maxFlows: -1\nlisteners:\n  schedule: every minute\n");
    const r = netmon(["check-config", bad]);
    expect(r.code).toBe(2);
    expectOneClearLine(r.stderr, /invalid configuration/);
    expect(r.stderr).toMatch(/modee: unknown key/);
    expect(r.stderr).toMatch(/flows\.maxFlows: /);
    expect(r.stderr).toMatch(/listeners\.schedule: not a valid cron expression/);
  });

  it.each([
    ["flows:\n  maxFlows: many\n", "flows.maxFlows"],
    ["capture:\n  interfaces: [this-name-is-far-too-long]\n", "capture.interfaces.0"],
    ["detectors:\n  port-knock: {}\n", "detectors.port-knock: unknown key"],
    ["detectors:\n  unusual-listener:\n    severity: loud\n", "detectors.unusual-listener.severity"],
    ["blocking:\n  mode: maybe\n", "blocking.mode"],
    ["blocking:\n  neverBlock: [10.0.0.0/40]\n", "blocking.neverBlock.0"],
    [
      "blocking:\n  rules: [{ detector: conection-burst, scope: container }]\n",
      "blocking.rules.0.detector: unknown detector",
    ],
    [
      "blocking:\n  rules: [{ detector: connection-burst, shapes: [portscan], scope: container }]\n",
      "blocking.rules.0.shapes.0",
    ],
    ["policy:\n  workloads:\n    - match: {}\n", "policy.workloads.0.match"],
    ["alertmanager:\n  urls: [ftp://am]\n", "alertmanager.urls.0"],
    ["mode: [learn\n", "bad.yaml:2:1"],
  ])("check-config rejects %j with exit 2 naming %s", (text, path) => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, text);
    const r = netmon(["check-config", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("unknown flags and commands exit non-zero with one line, no stack trace", () => {
    const flag = netmon(["run", "--bogus"]);
    expect(flag.code).toBe(2);
    expectOneClearLine(flag.stderr, /unknown option '--bogus'/);
    const cmd = netmon(["frobnicate"]);
    expect(cmd.code).toBe(2);
    expectOneClearLine(cmd.stderr, /unknown command 'frobnicate'/);
  });

  it("baseline show and reset work on the state directory", () => {
    const state = join(dir, "state");
    mkdirSync(state, { recursive: true });
    writeFileSync(
      join(state, "baseline.json"),
      JSON.stringify({
        version: 1,
        workloads: {
          "shop/web": {
            firstSeen: Date.UTC(2026, 0, 1),
            egress: ["api.example.com|443|tcp"],
            listen: ["8080/tcp"],
          },
        },
      }),
    );
    const cfg = join(dir, "state.yaml");
    writeFileSync(cfg, `stateDir: ${state}\n`);
    const show = netmon(["baseline", "show", "--config", cfg]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(
      "shop/web (first seen 2026-01-01T00:00:00.000Z, learning until 2026-01-01T00:10:00.000Z)",
    );
    expect(show.stdout).toContain("egress: api.example.com 443 tcp");
    expect(show.stdout).toContain("listen: 8080/tcp");
    const missing = netmon(["baseline", "show", "nope", "--config", cfg]);
    expect(missing.code).toBe(1);
    expectOneClearLine(missing.stderr, /no baseline for workload "nope"/);
    expect(netmon(["baseline", "reset", "shop/web", "--config", cfg]).stdout).toBe(
      "baseline of shop/web reset\n",
    );
    expect(netmon(["baseline", "show", "--config", cfg]).stdout).toMatch(/^no baseline yet/);
  });

  it("baseline export and import: a round trip between two state directories, a hostile file refused", () => {
    const from = join(dir, "share-from");
    const to = join(dir, "share-to");
    mkdirSync(from, { recursive: true });
    const entry = (e: string) => ({
      entry: e,
      firstSeen: Date.UTC(2026, 0, 1),
      lastSeen: Date.UTC(2026, 0, 2),
      count: 3,
    });
    writeFileSync(
      join(from, "baseline.json"),
      JSON.stringify({
        version: 2,
        workloads: {
          "shop/web": {
            firstSeen: Date.UTC(2026, 0, 1),
            egress: [entry("api.example.com|443|tcp")],
            listen: [entry("8080/tcp")],
          },
        },
      }),
    );
    const cfgFrom = join(dir, "share-from.yaml");
    const cfgTo = join(dir, "share-to.yaml");
    writeFileSync(cfgFrom, `stateDir: ${from}\n`);
    writeFileSync(cfgTo, `stateDir: ${to}\n`);

    const exported = netmon(["baseline", "export", "shop/web", "--config", cfgFrom]);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ format: "netmon-baseline", version: 1 });
    const file = join(dir, "shared.json");
    writeFileSync(file, exported.stdout);

    const imported = netmon(["baseline", "import", file, "--config", cfgTo]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toBe("baseline import: 1 workload(s) replaced (shop/web)\n");
    expect(imported.stderr).toMatch(/queued for the running daemon/);
    expect(netmon(["baseline", "import", file, "--merge", "--config", cfgTo]).stdout).toMatch(
      /1 workload\(s\) merged/,
    );
    expect(
      netmon(["baseline", "export", "--config", cfgTo]).stdout.replace(/"exportedAt": "[^"]+"/, ""),
    ).toBe(exported.stdout.replace(/"exportedAt": "[^"]+"/, ""));

    const hostile = join(dir, "hostile.json");
    writeFileSync(hostile, exported.stdout.replace('"workload": "shop/web"', '"workload": "__proto__"'));
    const refused = netmon(["baseline", "import", hostile, "--config", cfgTo]);
    expect(refused.code).toBe(2);
    expectOneClearLine(
      refused.stderr,
      /hostile\.json: workloads\.0 \("__proto__"\)\.workload: not a workload identity.*; nothing imported/,
    );
    writeFileSync(hostile, exported.stdout.replace('"version": 1', '"version": 9'));
    const newer = netmon(["baseline", "import", hostile, "--config", cfgTo]);
    expect(newer.code).toBe(2);
    expectOneClearLine(newer.stderr, /version: version 9 is not read by this netmon/);
    const missing = netmon(["baseline", "export", "nope", "--config", cfgTo]);
    expect(missing.code).toBe(1);
    expectOneClearLine(missing.stderr, /no baseline for workload "nope"/);
  }, 120_000); // eight CLI runs, each a fresh Node process

  it("run with an unreachable Docker socket fails with one clear line", () => {
    const cfg = join(dir, "nosock.yaml");
    writeFileSync(cfg, `docker:\n  socketPath: ${join(dir, "missing.sock")}\n`);
    const r = netmon(["run", "--config", cfg]);
    expect(r.code).toBe(1);
    // Without root the capability check comes first; either way one clear line.
    expectOneClearLine(
      r.stderr,
      /^netmon: (cannot reach Docker: .*missing\.sock does not exist|netmon needs CAP_NET_RAW)/,
    );
  });
});

const ready = e2eReady();

describe.runIf(ready)("netmon CLI against the real dockerd", () => {
  const name = uniqueName("listed");

  beforeAll(() => {
    cleanupDocker();
    const net = createInternalNetwork(uniqueName("net"), 62);
    runContainer(name, net.name, "sleep 300", [
      "--init",
      "--ip",
      "198.18.62.5",
      "--label",
      "com.docker.compose.service=api",
    ]);
  });

  afterAll(() => cleanupDocker());

  it("containers lists real containers with their IP, bridge and pid", () => {
    const r = netmon(["containers"]);
    expect(r.code).toBe(0);
    const row = r.stdout.split("\n").find((l) => l.startsWith(name));
    expect(row).toBeDefined();
    // Then its workload and effective mode: it declares nothing, so it learns first (or has learned).
    expect(row).toMatch(
      /netmon-test\/busybox\s+api\s+198\.18\.62\.5\s+br-[0-9a-f]{12}\s+[1-9]\d*\s+netmon-test\/busybox\s+(learning .*\(no netmon labels\)|monitor \(learned until .*; no netmon labels\))$/,
    );
    const json = JSON.parse(netmon(["containers", "--json"]).stdout) as {
      ref: { name: string };
      pid: number;
      netmon?: { workload: string; mode: string; modeSource: string };
    }[];
    const listed = json.find((c) => c.ref.name === name);
    expect(listed?.pid).toBeGreaterThan(0);
    expect(listed?.netmon).toMatchObject({ workload: "netmon-test/busybox", modeSource: "no netmon labels" });
  });

  it("run without CAP_NET_RAW fails with one clear line", () => {
    const r = netmon(["run"], {
      prefix: ["setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw"],
    });
    expect(r.code).toBe(1);
    expectOneClearLine(r.stderr, /^netmon: netmon needs CAP_NET_RAW to capture packets/);
  });
});

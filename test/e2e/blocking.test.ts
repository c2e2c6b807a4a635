import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  cleanupDocker,
  createInternalNetwork,
  docker,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { dockerUserJumps, firewallSnapshot, ipsetEntries } from "./support/firewall-state.js";
import { type LogLine, NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();
const NET = 65;
const BAD_IP = `198.18.${NET}.20`;
const BLOCK_SECONDS = 6;

interface AlertLine extends LogLine {
  alert: {
    detector: string;
    severity: string;
    action: string;
    container: { name: string };
    dst?: { port: number };
  };
}
const isAlert = (l: LogLine): l is AlertLine => l.msg === "alert";

function service(name: string, mode: string): string[] {
  return [
    "--init",
    "--label",
    "com.docker.compose.project=blocking",
    "--label",
    `com.docker.compose.service=${name}`,
    "--label",
    `netmon.mode=${mode}`,
  ];
}

function exec(container: string, script: string): { code: number | null; out: string } {
  const r = spawnSync("/usr/bin/docker", ["exec", container, "sh", "-c", script], {
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function config(stateDir: string, denylist: string, mode: string): string {
  return [
    `stateDir: ${stateDir}`,
    "baseline:\n  learnForSeconds: 0",
    `policy:\n  denylistFile: ${denylist}`,
    `blocking:\n  mode: ${mode}\n  durationSeconds: ${BLOCK_SECONDS}`,
  ].join("\n");
}

describe.runIf(ready)("auto-block on real containers and the real kernel tables", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmon-block-"));
  const denylist = join(dir, "denylist.txt");
  const stateDir = join(dir, "state");
  const offender = uniqueName("offender");
  const bystander = uniqueName("bystander");
  let before = "";
  let netmon: NetmonProcess;

  beforeAll(async () => {
    cleanupDocker();
    writeFileSync(denylist, `# test denylist\n${BAD_IP}\n`);
    const network = createInternalNetwork(uniqueName("net"), NET).name;
    // The "bad" destination: a web server and a line echo server, on the internal network.
    runContainer(uniqueName("bad"), network, "httpd -p 8080 -h /www; nc -ll -p 9000 -e cat", [
      "--init",
      "--ip",
      BAD_IP,
      "--expose",
      "8080",
      "--expose",
      "9000",
    ]);
    before = firewallSnapshot();
    netmon = new NetmonProcess(config(stateDir, denylist, "enforce"), []);
    netmon.start();
    await netmon.waitFor((l) => l.msg === "blocking ready", 30_000, "blocking to be ready");
    // Started once netmon captures, so its SYN is seen however long netmon took to start (on a busy
    // machine that can be longer than the offender's sleep). The offender holds a connection open to
    // the bad host (a line every 0.3 s); when it is cut, it says so.
    runContainer(
      offender,
      network,
      `sleep 2; (while true; do echo x; sleep 0.3; done) | nc ${BAD_IP} 9000 >/dev/null; echo CUT; sleep 600`,
      service("offender", "enforce"),
    );
    runContainer(bystander, network, "sleep 600", service("bystander", "monitor"));
  });

  afterAll(async () => {
    await netmon?.stop();
    spawnSync(process.execPath, [CLI, "blocks", "flush"], { encoding: "utf8" });
    cleanupDocker();
  });

  it("blocks a denylisted destination within 1 s of the alert and cuts the open connection", async () => {
    const alert = (await netmon.waitFor(
      (l) => isAlert(l) && l.alert.container.name === offender && l.alert.severity === "critical",
      20_000,
      "the critical alert",
    )) as AlertLine;
    expect(alert.alert.action).toBe("blocked");
    const entry = await until("the ipset entry", 1000, () =>
      ipsetEntries("netmon-dst4").find((e) => e.includes(`,tcp:9000,${BAD_IP}`)),
    );
    expect(Date.now() - alert.receivedAt).toBeLessThan(1000);
    expect(entry).toMatch(/timeout \d+/);
    await until("the open connection to be cut", 10_000, () => docker("logs", offender).includes("CUT"));
  });

  it("the next attempt fails; another container's traffic to the same destination works", () => {
    expect(exec(offender, `echo hi | nc -w 2 ${BAD_IP} 9000`).code).not.toBe(0);
    const other = exec(bystander, `echo hi | nc -w 2 ${BAD_IP} 9000`);
    expect(other.out).toContain("hi");
  });

  it("the block expires after its duration and the connection works again", async () => {
    await until(
      "the block to expire",
      (BLOCK_SECONDS + 5) * 1000,
      () => ipsetEntries("netmon-dst4").length === 0,
    );
    expect(exec(offender, `echo again | nc -w 2 ${BAD_IP} 9000`).out).toContain("again");
  });

  it("SIGKILL leaves the kernel timeout to expire a block; a restart reconciles without duplicates", async () => {
    // A new destination port: a new alert, a new block.
    // (busybox wget's -T crashes: the first request passes before the block anyway.)
    exec(offender, `wget -q -O /dev/null http://${BAD_IP}:8080/`);
    await until("a block on port 8080", 10_000, () =>
      ipsetEntries("netmon-dst4").some((e) => e.includes("tcp:8080")),
    );
    netmon.kill();
    await netmon.stop();
    expect(ipsetEntries("netmon-dst4").some((e) => e.includes("tcp:8080"))).toBe(true);
    netmon = new NetmonProcess(config(stateDir, denylist, "enforce"), []);
    netmon.start();
    await netmon.waitFor((l) => l.msg === "blocking ready", 30_000, "blocking to be ready again");
    expect(dockerUserJumps()).toBe(1);
    const listed = spawnSync(process.execPath, [CLI, "blocks", "list", "--config", netmon.configPath], {
      encoding: "utf8",
    });
    expect(listed.stdout).toMatch(new RegExp(`${offender}\\s+.*-> ${BAD_IP.replace(/\./g, "\\.")}:8080/tcp`));
    await until(
      "the kernel to expire it",
      (BLOCK_SECONDS + 5) * 1000,
      () => ipsetEntries("netmon-dst4").length === 0,
    );
  });

  it("blocks flush restores the exact rule set from before netmon started", async () => {
    await netmon.stop();
    const r = spawnSync(process.execPath, [CLI, "blocks", "flush", "--config", netmon.configPath], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(firewallSnapshot()).toBe(before);
  });
});

describe.runIf(ready)("auto-block in dry-run", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmon-dryrun-"));
  const denylist = join(dir, "denylist.txt");
  const offender = uniqueName("dry-offender");
  let netmon: NetmonProcess;

  afterAll(async () => {
    await netmon?.stop();
    cleanupDocker();
  });

  it("changes nothing in the kernel, and says what it would have run", async () => {
    cleanupDocker();
    writeFileSync(denylist, `${BAD_IP}\n`);
    const network = createInternalNetwork(uniqueName("net"), NET).name;
    runContainer(uniqueName("bad"), network, "nc -ll -p 9000 -e cat", [
      "--init",
      "--ip",
      BAD_IP,
      "--expose",
      "9000",
    ]);
    runContainer(offender, network, "sleep 600", service("dry", "enforce"));
    const before = firewallSnapshot();
    netmon = new NetmonProcess(config(join(dir, "state"), denylist, "dry-run"), []);
    netmon.start();
    await netmon.waitFor((l) => l.msg === "blocking ready", 30_000, "blocking to be ready");
    exec(offender, `echo hi | nc -w 2 ${BAD_IP} 9000`);
    const alert = (await netmon.waitFor(
      (l) => isAlert(l) && l.alert.container.name === offender,
      20_000,
      "the alert",
    )) as AlertLine;
    expect(alert.alert.action).toBe("dry-run-block");
    const would = netmon.lines.find(
      (l) => l.msg === "dry-run: would run" && String(l.command).startsWith("ipset add netmon-dst4"),
    );
    expect(String(would?.command)).toMatch(
      new RegExp(`,tcp:9000,${BAD_IP.replace(/\./g, "\\.")} timeout ${BLOCK_SECONDS}`),
    );
    expect(firewallSnapshot()).toBe(before);
    expect(exec(offender, `echo still | nc -w 2 ${BAD_IP} 9000`).out).toContain("still");
  });
});

import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  createInternalNetwork,
  DOCKER,
  docker,
  E2E_LABEL,
  e2eReady,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "./support/docker.js";
import { NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();
// CHURN_CONTAINERS overrides the count (500 by default, as the issue asks).
const CHURN = Number(process.env.CHURN_CONTAINERS ?? 500);
const PARALLEL = 8;

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(DOCKER, args, { stdio: "ignore" });
    p.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`docker ${args.join(" ")} exited ${code}`)),
    );
  });
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** The sum of every series of a metric (e.g. nodejs_active_handles, one series per handle type). */
async function metricSum(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "gm"))].map((m) =>
    Number(m[1]),
  );
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0);
}

describe.runIf(ready)("Docker churn under a running netmon", () => {
  let netmon: NetmonProcess;
  let network = "";

  beforeAll(async () => {
    cleanupDocker();
    network = createInternalNetwork(uniqueName("net"), 68).name;
    runContainer(uniqueName("anchor"), network, "sleep 600", ["--init"]);
    netmon = new NetmonProcess('listeners:\n  schedule: "*/1 * * * * *"\n', []);
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "start");
  });

  afterAll(async () => {
    await netmon?.stop();
    cleanupDocker();
  });

  it(`${CHURN} containers started and removed leave no sessions, handles or series behind`, async () => {
    await new Promise((r) => setTimeout(r, 2000));
    const handlesBefore = await metricSum(netmon.httpPort, "nodejs_active_handles");
    const monitoredBefore = await metric(netmon.httpPort, "netmon_containers_monitored");
    let next = 0;
    const worker = async () => {
      while (next < CHURN) {
        const name = uniqueName(`churn${next++}`);
        await run([
          "run",
          "-d",
          "--label",
          E2E_LABEL,
          "--name",
          name,
          "--network",
          network,
          TEST_IMAGE,
          "sleep",
          "30",
        ]);
        await run(["rm", "-f", name]);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    // Let the event stream and the scans settle.
    const deadline = Date.now() + 30_000;
    while (
      (await metric(netmon.httpPort, "netmon_containers_monitored")) !== monitoredBefore &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await metric(netmon.httpPort, "netmon_containers_monitored")).toBe(monitoredBefore);
    const handlesAfter = await metricSum(netmon.httpPort, "nodejs_active_handles");
    expect(handlesAfter).toBeLessThanOrEqual(handlesBefore + 3);
    const text = await (await fetch(`http://127.0.0.1:${netmon.httpPort}/metrics`)).text();
    expect(text).not.toMatch(/netmon_alerts_active\{[^}]*container="netmon-e2e-churn/);
    // Still one capture on the network's bridge, none leaked.
    const interfaces = [...text.matchAll(/^netmon_packets_captured_total\{interface="([^"]+)"\}/gm)].map(
      (m) => m[1],
    );
    expect(new Set(interfaces).size).toBe(interfaces.length);
    expect(netmon.lines.filter((l) => l.msg === "capture started").length).toBe(1);
  }, 900_000);

  it("a bridge network created and removed while capturing: capture follows, netmon stays up", async () => {
    const net = createInternalNetwork(uniqueName("net"), 69);
    const bridge = `br-${net.id.slice(0, 12)}`;
    const c = runContainer(uniqueName("transient"), net.name, "sleep 60", ["--init"]);
    await netmon.waitFor(
      (l) => l.msg === "capture started" && l.iface === bridge,
      20_000,
      `capture on ${bridge}`,
    );
    docker("rm", "-f", c);
    docker("network", "rm", net.name);
    await netmon.waitFor(
      (l) => l.msg === "capture stopped" && l.iface === bridge,
      20_000,
      `capture on ${bridge} to stop`,
    );
    expect((await fetch(`http://127.0.0.1:${netmon.httpPort}/healthz`)).status).toBe(200);
  }, 60_000);
});

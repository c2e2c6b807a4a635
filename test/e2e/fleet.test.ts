import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  composeService,
  createInternalNetwork,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { type LogLine, NetmonProcess } from "./support/netmon-process.js";
import {
  freePort,
  PROMETHEUS,
  type ServiceProcess,
  startPrometheus,
  waitForHttp,
} from "./support/prom-stack.js";

/**
 * A fleet of two: two netmon daemons with different `host` settings, each capturing the bridge of
 * its own --internal test network (as two Docker hosts would each see only their own containers),
 * scraped by ONE real Prometheus that evaluates the shipped rules. An incident on each host's
 * container must raise one Prometheus alert per host, told apart by `instance` and `host`.
 */

const dockerReady = e2eReady();

function prometheusReady(): boolean {
  if (existsSync(PROMETHEUS)) return true;
  if (process.env.CI === "true") throw new Error(`missing in CI: ${PROMETHEUS} (apt-get install prometheus)`);
  console.warn(`skipping: ${PROMETHEUS} not installed`);
  return false;
}
const toolReady = prometheusReady();

interface FleetHost {
  /** The `host` setting of its netmon. */
  host: string;
  /** Third octet of its network's 198.18.x.0/24. */
  net: number;
  project: string;
  client: string;
  /** Its --internal test network (created in beforeAll). */
  network?: string;
  netmon?: NetmonProcess;
  port?: number;
}

interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

async function firingAlerts(promPort: number): Promise<PromAlert[]> {
  const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/alerts`);
  const body = (await res.json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts.filter((a) => a.state === "firing");
}

describe.runIf(dockerReady && toolReady)("two netmon hosts, one Prometheus", () => {
  const fleet: FleetHost[] = [
    { host: "fleet-host-a", net: 86, project: "fleet-a", client: uniqueName("client-a") },
    { host: "fleet-host-b", net: 87, project: "fleet-b", client: uniqueName("client-b") },
  ];
  let prometheus: ServiceProcess | undefined;
  let promPort = 0;

  beforeAll(async () => {
    cleanupDocker();
    for (const h of fleet) {
      const net = createInternalNetwork(uniqueName("fleet-net"), h.net);
      h.network = net.name;
      const target = `198.18.${h.net}.20`;
      runContainer(
        uniqueName("target"),
        net.name,
        "httpd -f -p 8080 -h /www",
        composeService(h.project, "target", ["--ip", target]),
      );
      h.port = await freePort();
      h.netmon = new NetmonProcess(
        [
          `host: ${h.host}`,
          "metrics:\n  hostLabel: true",
          `stateDir: /tmp/netmon-e2e-fleet-${h.host}-${process.pid}`,
          `capture:\n  interfaces: [br-${net.id.slice(0, 12)}]`,
          "baseline:\n  learnForSeconds: 0",
          `http:\n  port: ${h.port}`,
        ].join("\n"),
      );
      h.netmon.start();
    }
    for (const h of fleet)
      await h.netmon!.waitFor((l) => l.msg === "netmon started", 30_000, `${h.host} to start`);
    promPort = await freePort();
    prometheus = startPrometheus(
      promPort,
      fleet.map((h) => `127.0.0.1:${h.port}`),
    );
    await waitForHttp(`http://127.0.0.1:${promPort}/-/ready`, 30_000);
    // Each host's client reaches its own network's target, which nothing allows: one incident a host.
    for (const h of fleet) {
      runContainer(
        h.client,
        h.network!,
        `sleep 1; for i in $(seq 30); do wget -q -O /dev/null http://198.18.${h.net}.20:8080/; sleep 1; done; sleep 300`,
        composeService(h.project, "client"),
      );
    }
  });

  afterAll(async () => {
    for (const h of fleet) await h.netmon?.stop();
    await prometheus?.stop();
    cleanupDocker();
  });

  const isOurs = (a: PromAlert): boolean =>
    a.labels.alertname === "NetmonUnexpectedOutbound" && fleet.some((h) => a.labels.container === h.client);

  it("the rules raise one alert per host, told apart by instance and host", async () => {
    const deadline = Date.now() + 90_000;
    let ours: PromAlert[] = [];
    for (;;) {
      const alerts = await firingAlerts(promPort);
      ours = alerts.filter(isOurs);
      if (ours.length >= fleet.length || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Give a late duplicate (the other host seeing the same incident) time to show up, then look again.
    await new Promise((r) => setTimeout(r, 3_000));
    ours = (await firingAlerts(promPort)).filter(isOurs);
    const seen = ours
      .map((a) => ({ instance: a.labels.instance, host: a.labels.host, container: a.labels.container }))
      .sort((x, y) => (x.host ?? "").localeCompare(y.host ?? ""));
    expect(seen).toEqual(
      fleet.map((h) => ({ instance: `127.0.0.1:${h.port}`, host: h.host, container: h.client })),
    );
  }, 150_000);

  it("each daemon names its host on every line, and its alert lines carry the flow's communityId", async () => {
    for (const h of fleet) {
      const netmon = h.netmon!;
      const alert = await netmon.waitFor(
        (l: LogLine) =>
          l.msg === "alert" && (l.alert as { container: { name: string } }).container.name === h.client,
        30_000,
        `${h.host}'s alert line`,
      );
      expect(alert.host).toBe(h.host);
      expect((alert.alert as { communityId?: string }).communityId).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
      // The start-up line, the event lines and the alert lines: all of them name the host.
      expect(netmon.lines.find((l) => l.msg === "netmon started")?.host).toBe(h.host);
      const events = netmon.lines.filter((l) => l.msg === "connection");
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((l) => l.host === h.host)).toBe(true);
      // The other host's client never appears in this daemon's alerts: it captures its own bridge only.
      const other = fleet.find((o) => o !== h)!;
      expect(
        netmon.lines.some(
          (l) =>
            l.msg === "alert" && (l.alert as { container: { name: string } }).container.name === other.client,
        ),
      ).toBe(false);
    }
  });
});

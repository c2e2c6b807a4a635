/**
 * Issue 14 against real containers, with the shipped configuration (only stateDir and the HTTP port
 * differ, for the test's own directory and port): a labelled workload is judged from its first packet,
 * and one port scan is at most two incidents of at most three lines each.
 */
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

const ready = e2eReady();
const NET = 95;
const DB_IP = `198.18.${NET}.10`;
const OTHER_IP = `198.18.${NET}.20`;

interface AlertLine extends LogLine {
  alert: { detector: string; fingerprint: string; container: { name: string }; details?: { shape?: string } };
}

const ALERT_MESSAGES = new Set(["alert", "alert updated", "alert resolved"]);
const isAlertLine = (l: LogLine): l is AlertLine => ALERT_MESSAGES.has(l.msg) && "alert" in l;

const service = (name: string, extra: string[] = []): string[] => composeService("incidents", name, extra);

describe.runIf(ready)("incidents with the shipped configuration", () => {
  let netmon: NetmonProcess;
  let network = "";

  beforeAll(async () => {
    cleanupDocker();
    network = createInternalNetwork(uniqueName("net"), NET).name;
    runContainer(
      uniqueName("db"),
      network,
      "httpd -f -p 8080 -h /www",
      service("db", ["--ip", DB_IP, "--expose", "8080"]),
    );
    runContainer(
      uniqueName("other"),
      network,
      "httpd -f -p 8080 -h /www",
      service("other", ["--ip", OTHER_IP, "--expose", "8080"]),
    );
    // The shipped defaults: learning for workloads that declare nothing, all detectors as shipped.
    netmon = new NetmonProcess(
      `stateDir: ${process.env.TMPDIR ?? "/tmp"}/netmon-e2e-incidents-${process.pid}`,
      [],
    );
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
  });

  afterAll(async () => {
    await netmon?.stop();
    cleanupDocker();
  });

  it("a labelled container's first undeclared connection alerts within 2 s of its start", async () => {
    const name = uniqueName("web");
    runContainer(
      name,
      network,
      `sleep 1; wget -q -O /dev/null http://${DB_IP}:8080/; wget -q -O /dev/null http://${OTHER_IP}:8080/; sleep 60`,
      service("web", ["--label", "netmon.egress=db:8080/tcp"]),
    );
    // `docker run -d` has returned: the container runs (its script sleeps 1 s, then connects).
    const started = Date.now();
    const alert = (await netmon.waitFor(
      (l) => isAlertLine(l) && l.msg === "alert" && l.alert.container.name === name,
      20_000,
      "the first alert of the labelled container",
    )) as AlertLine;
    expect(alert.alert.detector).toBe("unexpected-outbound");
    expect(alert.receivedAt - started).toBeLessThan(2_000);
  });

  it("a 100-port scan is at most two incidents (the destination and the scan) of at most three lines", async () => {
    const name = uniqueName("scanner");
    runContainer(
      name,
      network,
      `sleep 1; for p in $(seq 2001 2100); do nc -w 1 ${DB_IP} $p </dev/null; done; sleep 60`,
      service("scanner", ["--label", "netmon.egress=db:8080/tcp"]),
    );
    await netmon.waitFor(
      (l) => isAlertLine(l) && l.alert.container.name === name && l.alert.detector === "connection-burst",
      30_000,
      "the scan's connection-burst alert",
    );
    // Let the rest of the scan (and any line it would cause) arrive.
    await new Promise((r) => setTimeout(r, 8_000));
    const lines = netmon.lines.filter(
      (l): l is AlertLine => isAlertLine(l) && l.alert.container.name === name,
    );
    const byIncident = new Map<string, AlertLine[]>();
    for (const l of lines)
      byIncident.set(l.alert.fingerprint, [...(byIncident.get(l.alert.fingerprint) ?? []), l]);
    const summary = [...byIncident.values()].map(
      (ls) => `${ls[0]!.alert.detector}: ${ls.map((l) => l.msg).join(", ")}`,
    );
    expect(byIncident.size, summary.join("\n")).toBeLessThanOrEqual(2);
    for (const ls of byIncident.values()) expect(ls.length, summary.join("\n")).toBeLessThanOrEqual(3);
    expect([...byIncident.values()].some((ls) => ls[0]!.alert.detector === "connection-burst")).toBe(true);
  });
});

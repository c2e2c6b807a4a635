/**
 * Which process: a listener's and an alerted connection's process named from /proc, against real
 * containers with the shipped defaults (each container declares something, so it is judged at once).
 * The daemon runs as root here, so process attribution is on ("auto").
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
const NET = 77;
const SERVER_IP = `198.18.${NET}.10`;
const SCAN_SECONDS = 2;

interface ProcessField {
  pid: number;
  comm: string;
  cmdline: string;
  user: string;
  uid: number;
  startedAt: string | null;
}

interface AlertLine extends LogLine {
  alert: {
    detector: string;
    fingerprint: string;
    transition: string;
    container: { name: string };
    dst?: { ip: string; port: number };
    details?: { process?: ProcessField | null; processUnknown?: string };
  };
}

const isAlertLine = (l: LogLine): l is AlertLine => l.msg === "alert" || l.msg === "alert updated";
const service = (name: string, extra: string[] = []): string[] => composeService("e2e-proc", name, extra);

describe.runIf(ready)("process attribution against real containers", () => {
  let netmon: NetmonProcess;
  let network = "";
  const names = {
    listener: uniqueName("listener"),
    server: uniqueName("server"),
    client: uniqueName("client"),
  };

  beforeAll(async () => {
    cleanupDocker();
    network = createInternalNetwork(uniqueName("net"), NET).name;
    netmon = new NetmonProcess(
      [
        `stateDir: ${process.env.TMPDIR ?? "/tmp"}/netmon-e2e-state-${process.pid}-processes`,
        "listeners:",
        `  schedule: "*/${SCAN_SECONDS} * * * * *"`,
      ].join("\n"),
      [],
    );
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
  });

  afterAll(async () => {
    await netmon?.stop();
    cleanupDocker();
  });

  it("starts with process attribution on, saying nothing about it", () => {
    expect(netmon.lines.filter((l) => l.msg.startsWith("process attribution"))).toEqual([]);
  });

  it("nc -l -p 4444 raises unusual-listener naming nc and its command line", async () => {
    // Declares another port, so it is judged at once rather than learned.
    runContainer(
      names.listener,
      network,
      "nc -l -p 4444",
      service("listener", ["--label", "netmon.listen=8080/tcp"]),
    );
    const line = (await netmon.waitFor(
      (l) =>
        isAlertLine(l) &&
        l.msg === "alert" &&
        l.alert.detector === "unusual-listener" &&
        l.alert.container.name === names.listener,
      20_000,
      "unusual-listener for nc",
    )) as AlertLine;
    expect(line.alert.dst?.port).toBe(4444);
    const proc = line.alert.details?.process;
    expect(proc).toMatchObject({ comm: "nc", cmdline: "nc -l -p 4444", user: "root", uid: 0 });
    expect(proc?.pid).toBeGreaterThan(1);
    expect(Date.parse(proc?.startedAt ?? "")).toBeLessThanOrEqual(Date.now());
    expect(line.alert.details?.processUnknown).toBeUndefined();
  });

  it("a long-lived connection to an undeclared destination raises an alert whose process follows", async () => {
    runContainer(
      names.server,
      network,
      // Its stdin held open too: with /dev/null (docker run -d) nc would end the connection at once.
      "sleep 600 | nc -l -p 5555",
      service("server", ["--ip", SERVER_IP, "--expose", "5555", "--label", "netmon.listen=5555/tcp"]),
    );
    // Declares something else, so it is judged at once; stdin held open keeps the connection up.
    runContainer(
      names.client,
      network,
      `sleep 1; sleep 600 | nc ${SERVER_IP} 5555`,
      service("client", ["--label", `netmon.egress=198.18.${NET}.99:80/tcp`]),
    );
    const fired = (await netmon.waitFor(
      (l) =>
        isAlertLine(l) &&
        l.msg === "alert" &&
        l.alert.detector === "unexpected-outbound" &&
        l.alert.container.name === names.client,
      20_000,
      "unexpected-outbound for the client",
    )) as AlertLine;
    expect(fired.alert.dst).toMatchObject({ ip: SERVER_IP, port: 5555 });
    const named = (await netmon.waitFor(
      (l) =>
        isAlertLine(l) &&
        l.alert.fingerprint === fired.alert.fingerprint &&
        l.alert.details?.process !== undefined,
      10_000,
      "the client's process in an alert line",
    )) as AlertLine;
    if (named.msg === "alert updated") expect(named.alert.transition).toBe("repeated");
    expect(named.alert.details?.process).toMatchObject({
      comm: "nc",
      cmdline: `nc ${SERVER_IP} 5555`,
      user: "root",
    });
    expect(named.receivedAt - fired.receivedAt).toBeLessThan(2000);
  });

  it("counts the lookups in netmon_process_lookups_total", async () => {
    const text = await (await fetch(`http://127.0.0.1:${netmon.httpPort}/metrics`)).text();
    const found = /^netmon_process_lookups_total\{outcome="found"\} (\d+)$/m.exec(text);
    expect(Number(found?.[1] ?? 0)).toBeGreaterThanOrEqual(2);
  });
});

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
const NET = 63;
const API_IP = `198.18.${NET}.10`;
const OTHER_IP = `198.18.${NET}.20`;
const SCAN_SECONDS = 2;

interface AlertLine extends LogLine {
  alert: {
    detector: string;
    severity: string;
    container: { name: string };
    dst?: { ip: string; port: number; proto: string };
    details?: { shape?: string };
    firstSeen: string;
  };
}

const isAlert = (l: LogLine): l is AlertLine => l.msg === "alert";

const service = (name: string, extra: string[] = []): string[] => composeService("e2e", name, extra);

describe.runIf(ready)("detectors against real containers", () => {
  let netmon: NetmonProcess;
  let network = "";
  const names = {
    api: uniqueName("api"),
    other: uniqueName("other"),
    web: uniqueName("web"),
    listener: uniqueName("listener"),
    burst: uniqueName("burst"),
  };

  beforeAll(async () => {
    cleanupDocker();
    network = createInternalNetwork(uniqueName("net"), NET).name;
    runContainer(
      names.api,
      network,
      "httpd -f -p 8080 -h /www",
      service("api", ["--ip", API_IP, "--expose", "8080"]),
    );
    runContainer(
      names.other,
      network,
      "httpd -f -p 8080 -h /www",
      service("other", ["--ip", OTHER_IP, "--expose", "8080"]),
    );
    netmon = new NetmonProcess(
      [
        `stateDir: ${process.env.TMPDIR ?? "/tmp"}/netmon-e2e-state-${process.pid}`,
        "listeners:",
        `  schedule: "*/${SCAN_SECONDS} * * * * *"`,
        "baseline:",
        "  learnForSeconds: 0",
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

  it("an undeclared destination raises unexpected-outbound within 2 s; the declared one raises nothing", async () => {
    // web may reach api:8080 (label), not other:8080.
    runContainer(
      names.web,
      network,
      `sleep 1; for i in 1 2 3; do wget -q -O /dev/null http://${API_IP}:8080/; sleep 0.3; done; wget -q -O /dev/null http://${OTHER_IP}:8080/; sleep 60`,
      service("web", ["--label", "netmon.egress=api:8080/tcp"]),
    );
    const alert = (await netmon.waitFor(
      (l) => isAlert(l) && l.alert.detector === "unexpected-outbound" && l.alert.container.name === names.web,
      20_000,
      "unexpected-outbound for web",
    )) as AlertLine;
    expect(alert.alert.dst).toMatchObject({ ip: OTHER_IP, port: 8080, proto: "tcp" });
    expect(alert.alert.severity).toBe("warning");
    expect(alert.receivedAt - Date.parse(alert.alert.firstSeen)).toBeLessThan(2000);
    const declared = netmon.lines.filter(
      (l) => isAlert(l) && l.alert.container.name === names.web && l.alert.dst?.ip === API_IP,
    );
    expect(declared).toEqual([]);
  });

  it("nc -l on an undeclared port raises unusual-listener within one scan interval", async () => {
    runContainer(names.listener, network, "nc -ll -p 7777 -e true", service("listener"));
    const started = Date.now();
    const alert = (await netmon.waitFor(
      (l) =>
        isAlert(l) && l.alert.detector === "unusual-listener" && l.alert.container.name === names.listener,
      20_000,
      "unusual-listener for nc",
    )) as AlertLine;
    expect(alert.alert.dst?.port).toBe(7777);
    // Container start + one scan interval, with a second of slack for docker run itself.
    expect(alert.receivedAt - started).toBeLessThan((SCAN_SECONDS + 2) * 1000);
  });

  it("100 short connections in a few seconds raise connection-burst", async () => {
    runContainer(
      names.burst,
      network,
      `sleep 1; for i in $(seq 100); do wget -q -O /dev/null http://${API_IP}:8080/; done; sleep 60`,
      // Not allowed to reach api: short connections to an allowed destination are a normal client.
      service("burst"),
    );
    const alert = (await netmon.waitFor(
      (l) => isAlert(l) && l.alert.detector === "connection-burst" && l.alert.container.name === names.burst,
      60_000,
      "connection-burst",
    )) as AlertLine;
    expect(["burst", "brute-force"]).toContain(alert.alert.details?.shape);
  });

  it("raised nothing for the declared traffic and the declared listeners", () => {
    const unexpected = netmon.lines.filter(
      (l) =>
        isAlert(l) &&
        ((l.alert.detector === "unexpected-outbound" &&
          l.alert.container.name === names.web &&
          l.alert.dst?.ip === API_IP) ||
          (l.alert.detector === "unusual-listener" &&
            [names.api, names.other].includes(l.alert.container.name))),
    );
    expect(unexpected).toEqual([]);
  });
});

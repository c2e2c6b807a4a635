/**
 * Brute force against an ALLOWED service, measured against that client's normal rate, with real
 * containers and the shipped connection-burst options: web may reach api:8080 (label) and polls it
 * every 3 s for longer than bruteForceWarmupMs (2 min), then makes 200 short connections to it in a
 * few seconds. The polling raises nothing; the burst raises connection-burst/brute-force. About 3 min.
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
const NET = 93;
const API_IP = `198.18.${NET}.10`;
/** Normal traffic before the burst: past the 120 s warm-up, with a margin. */
const NORMAL_SECONDS = 135;

interface AlertLine extends LogLine {
  alert: {
    detector: string;
    container: { name: string };
    dst?: { ip: string; port: number; proto: string };
    details?: { shape?: string; normalPer10s?: number };
  };
}

const isAlert = (l: LogLine): l is AlertLine => l.msg === "alert";

const service = (name: string, extra: string[] = []): string[] => composeService("e2e", name, extra);

describe.runIf(ready)("connection-burst by rate against real containers", () => {
  let netmon: NetmonProcess;
  let network = "";
  const names = { api: uniqueName("api"), web: uniqueName("web") };

  beforeAll(async () => {
    cleanupDocker();
    network = createInternalNetwork(uniqueName("net"), NET).name;
    runContainer(
      names.api,
      network,
      "httpd -f -p 8080 -h /www",
      service("api", ["--ip", API_IP, "--expose", "8080"]),
    );
    // Shipped defaults, judged from the first packet (this test is about rates, not learning).
    netmon = new NetmonProcess(
      [
        `stateDir: ${process.env.TMPDIR ?? "/tmp"}/netmon-e2e-rate-${process.pid}`,
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

  it(
    "200 short connections in a few seconds to an allowed port, after minutes of polling, raise brute-force",
    async () => {
      const polls = Math.floor(NORMAL_SECONDS / 3);
      runContainer(
        names.web,
        network,
        `sleep 1; for i in $(seq ${polls}); do wget -q -O /dev/null http://${API_IP}:8080/; sleep 3; done; ` +
          `for i in $(seq 200); do wget -q -O /dev/null http://${API_IP}:8080/; done; sleep 60`,
        service("web", ["--label", "netmon.egress=api:8080/tcp"]),
      );
      const burstStarts = Date.now() + (NORMAL_SECONDS + 1) * 1000;
      const alert = (await netmon.waitFor(
        (l) => isAlert(l) && l.alert.detector === "connection-burst" && l.alert.container.name === names.web,
        (NORMAL_SECONDS + 60) * 1000,
        "connection-burst for web",
      )) as AlertLine;
      expect(alert.alert.details?.shape).toBe("brute-force");
      expect(alert.alert.dst).toMatchObject({ ip: API_IP, port: 8080, proto: "tcp" });
      // Not raised by the polling: only once the burst began (with slack for docker run).
      expect(alert.receivedAt).toBeGreaterThan(burstStarts - 10_000);
      const other = netmon.lines.filter(
        (l) => isAlert(l) && l.alert.container.name === names.web && l !== alert,
      );
      expect(other.filter((l) => (l as AlertLine).alert.detector !== "connection-burst")).toEqual([]);
    },
    (NORMAL_SECONDS + 90) * 1000,
  );
});

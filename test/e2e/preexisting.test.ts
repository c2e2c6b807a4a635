/**
 * Connections open before netmon (issue 15): a client opens a long-lived TCP connection to a
 * server on a port its labels do not declare, and only then does netmon start. netmon never sees
 * that connection's SYN; it finds it in the client's /proc/<pid>/net/tcp and judges it at once,
 * with the shipped defaults (the client declares a policy, so it is not learning).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  composeService,
  createInternalNetwork,
  docker,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { type ConnectionLine, isConnection, type LogLine, NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();
const NET = 71;
const SERVER_IP = `198.18.${NET}.10`;
const CLIENT_IP = `198.18.${NET}.20`;
const PORT = 7700;

interface AlertLine extends LogLine {
  alert: {
    detector: string;
    container: { name: string };
    dst?: { ip: string; port: number; proto: string };
  };
}

const isAlert = (l: LogLine): l is AlertLine => l.msg === "alert";

describe.runIf(ready)("connections open before netmon starts", () => {
  let netmon: NetmonProcess;
  const names = { server: uniqueName("pre-server"), client: uniqueName("pre-client") };

  beforeAll(async () => {
    cleanupDocker();
    const network = createInternalNetwork(uniqueName("net"), NET).name;
    // The server echoes; the client holds one connection open (its stdin never ends).
    runContainer(
      names.server,
      network,
      `nc -ll -p ${PORT} -e cat`,
      composeService("pre", "server", ["--ip", SERVER_IP]),
    );
    runContainer(
      names.client,
      network,
      `sleep 1; sleep 600 | nc ${SERVER_IP} ${PORT}`,
      // Declares a policy (so it is judged at once), but not the server's port.
      composeService("pre", "client", ["--ip", CLIENT_IP, "--label", "netmon.egress=server:80/tcp"]),
    );
    // Until the connection is ESTABLISHED in the client's namespace.
    await waitForEstablished(names.client);
    netmon = new NetmonProcess(
      `stateDir: ${process.env.TMPDIR ?? "/tmp"}/netmon-e2e-state-pre-${process.pid}`,
    );
    netmon.start();
  }, 60_000);

  afterAll(async () => {
    await netmon?.stop();
    cleanupDocker();
  });

  it("judges it within about a second of start: unexpected-outbound, its events saying source proc", async () => {
    const started = await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
    const alert = (await netmon.waitFor(
      (l) =>
        isAlert(l) && l.alert.detector === "unexpected-outbound" && l.alert.container.name === names.client,
      10_000,
      "unexpected-outbound for the connection open before start",
    )) as AlertLine;
    expect(alert.alert.dst).toMatchObject({ ip: SERVER_IP, port: PORT, proto: "tcp" });
    expect(alert.receivedAt - started.receivedAt).toBeLessThan(1_500);

    const seeded = netmon.lines.filter(
      (l): l is ConnectionLine =>
        isConnection(l) && l.event.src.ip === CLIENT_IP && l.event.dst.port === PORT,
    );
    expect(seeded.map((l) => l.event.state)).toEqual(["attempt", "accepted"]);
    for (const l of seeded) {
      expect(l.event).toMatchObject({ source: "proc", midstream: true, iface: "proc" });
      expect(l.event.src.container?.name).toBe(names.client);
      expect(l.event.dst.container?.name).toBe(names.server);
    }
    await netmon.waitFor((l) => l.msg === "open connections seeded from /proc", 5_000, "the seeding line");
  });
});

/** Polls the client's /proc/net/tcp (from inside it) until a connection to the server is ESTABLISHED. */
async function waitForEstablished(container: string): Promise<void> {
  const remote = `:${PORT.toString(16).toUpperCase().padStart(4, "0")}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const table = docker("exec", container, "cat", "/proc/net/tcp");
    if (table.split("\n").some((l) => l.includes(remote) && / 01 /.test(l))) return;
    if (Date.now() > deadline) throw new Error(`no established connection in ${container}:\n${table}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

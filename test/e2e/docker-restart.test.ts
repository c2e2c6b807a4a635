import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  createInternalNetwork,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { startDockerd, stopDockerd } from "./support/dockerd.js";
import { type ConnectionLine, isConnection, NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();
const SERVER_IP = "198.18.61.10";

describe.runIf(ready)("dockerd restarted under a running netmon", () => {
  let netmon: NetmonProcess;
  const serverName = uniqueName("server");
  let network = "";

  beforeAll(async () => {
    cleanupDocker();
    network = createInternalNetwork(uniqueName("net"), 61).name;
    // --restart always: the server comes back with dockerd, on the same IP.
    runContainer(serverName, network, "httpd -f -p 8080 -h /www", [
      "--init",
      "--restart",
      "always",
      "--ip",
      SERVER_IP,
    ]);
    netmon = new NetmonProcess("docker:\n  reconnectMinMs: 200\n  reconnectMaxMs: 1000\n");
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
  });

  afterAll(async () => {
    await netmon?.stop();
    startDockerd(); // whatever happened, leave a running dockerd for the next test file
    cleanupDocker();
  });

  it("stays up through 30 s without dockerd, says so in /readyz and metrics, then resyncs and keeps reporting", async () => {
    const base = `http://127.0.0.1:${netmon.httpPort}`;
    await stopDockerd();
    const stoppedAt = Date.now();
    await netmon.waitFor((l) => l.msg === "Docker unreachable", 30_000, "netmon to notice dockerd is gone");
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain("Docker is unreachable");
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^netmon_docker_up 0$/m);
    // Down for 30 s: netmon keeps retrying (with back-off) and keeps serving.
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - stoppedAt))));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    startDockerd();
    const reconnected = await netmon.waitFor(
      (l) => l.msg === "reconnected to Docker; inventory resynced",
      60_000,
      "netmon to reconnect",
    );
    expect(reconnected.level).toBe("info");
    const client = uniqueName("client");
    runContainer(client, network, `sleep 2; wget -q -O /dev/null http://${SERVER_IP}:8080/; sleep 30`, [
      "--init",
    ]);
    const line = (await netmon.waitFor(
      (l) => isConnection(l) && l.event.src.container?.name === client && l.event.state === "accepted",
      30_000,
      "a connection after the restart",
    )) as ConnectionLine;
    expect(line.event.dst.container?.name).toBe(serverName);
    expect(line.event.dst.port).toBe(8080);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^netmon_docker_up 1$/m);
  }, 150_000);
});

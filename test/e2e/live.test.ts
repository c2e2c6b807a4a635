import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  createInternalNetwork,
  docker,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { type ConnectionLine, isConnection, type LogLine, NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();
const SERVER_IP = "198.18.60.10";
const REUSED_IP = "198.18.60.20";

function connection(src: string, dstPort: number, state: string) {
  return (l: LogLine): l is ConnectionLine =>
    isConnection(l) &&
    l.event.src.container?.name === src &&
    l.event.dst.port === dstPort &&
    l.event.state === state;
}

describe.runIf(ready)("netmon run against a real dockerd", () => {
  let netmon: NetmonProcess;
  const serverName = uniqueName("server");
  let bridge = "";

  beforeAll(async () => {
    cleanupDocker();
    const net = createInternalNetwork(uniqueName("net"), 60);
    bridge = `br-${net.id.slice(0, 12)}`;
    runContainer(serverName, net.name, "httpd -f -p 8080 -h /www", ["--init", "--ip", SERVER_IP]);
    netmon = new NetmonProcess('listeners:\n  schedule: "*/2 * * * * *"\n');
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
    await netmon.waitFor(
      (l) => l.msg === "capture started" && l.iface === bridge,
      10_000,
      `capture on ${bridge}`,
    );
  });

  afterAll(async () => {
    await netmon?.stop();
    cleanupDocker();
  });

  it("reports a container→container connection with both names within 1 s of the SYN", async () => {
    const client = uniqueName("client");
    runContainer(
      client,
      netmonNetwork(),
      `sleep 1; wget -q -O /dev/null http://${SERVER_IP}:8080/; sleep 30`,
      ["--init"],
    );
    const attempt = (await netmon.waitFor(
      connection(client, 8080, "attempt"),
      20_000,
      "the attempt",
    )) as ConnectionLine;
    expect(attempt.event.proto).toBe("tcp");
    expect(attempt.event.dst.container?.name).toBe(serverName);
    expect(attempt.event.dst.ip).toBe(SERVER_IP);
    expect(attempt.receivedAt - Date.parse(attempt.event.ts)).toBeLessThan(1000);
    const accepted = (await netmon.waitFor(
      connection(client, 8080, "accepted"),
      5_000,
      "accepted",
    )) as ConnectionLine;
    expect(accepted.event.src.port).toBe(attempt.event.src.port);
    const closed = (await netmon.waitFor(
      connection(client, 8080, "closed"),
      5_000,
      "closed",
    )) as ConnectionLine;
    expect(closed.event.durationMs).toBeGreaterThanOrEqual(0);
    expect(closed.event.durationMs).toBeLessThan(5_000);
  });

  it("reports a refused connection as rejected", async () => {
    const client = uniqueName("refused");
    runContainer(client, netmonNetwork(), `sleep 1; nc ${SERVER_IP} 9 </dev/null; sleep 30`, ["--init"]);
    const rejected = (await netmon.waitFor(
      connection(client, 9, "rejected"),
      20_000,
      "rejected",
    )) as ConnectionLine;
    expect(rejected.event.dst.container?.name).toBe(serverName);
  });

  it("attributes by time when another container takes a removed container's IP", {
    timeout: 90_000,
  }, async () => {
    const first = uniqueName("first");
    const second = uniqueName("second");
    const cmd = `sleep 1; wget -q -O /dev/null http://${SERVER_IP}:8080/; sleep 30`;
    runContainer(first, netmonNetwork(), cmd, ["--init", "--ip", REUSED_IP]);
    const a = (await netmon.waitFor(
      connection(first, 8080, "closed"),
      20_000,
      "first container's connection",
    )) as ConnectionLine;
    expect(a.event.src.ip).toBe(REUSED_IP);
    docker("rm", "-f", first);
    runContainer(second, netmonNetwork(), cmd, ["--init", "--ip", REUSED_IP]);
    const b = (await netmon.waitFor(
      connection(second, 8080, "closed"),
      20_000,
      "second container's connection",
    )) as ConnectionLine;
    expect(b.event.src.ip).toBe(REUSED_IP);
    // Nothing from the second container was attributed to the first one.
    const misattributed = netmon.lines.filter(
      (l) =>
        isConnection(l) &&
        l.event.src.container?.name === first &&
        Date.parse(l.event.ts) >= Date.parse(b.event.ts) - 1000,
    );
    expect(misattributed).toEqual([]);
  });

  it("reports the listening sockets of a container, recognising Docker's embedded DNS", async () => {
    const http = await netmon.waitFor(
      (l) =>
        l.msg === "listener" &&
        (l.event as { container: { name: string }; port: number }).container.name === serverName &&
        (l.event as { port: number }).port === 8080,
      10_000,
      "the server's listener",
    );
    expect(http.event).toMatchObject({ state: "opened", proto: "tcp", dockerDns: false });
    const dns = netmon.lines.find(
      (l) =>
        l.msg === "listener" &&
        (l.event as { container: { name: string }; dockerDns: boolean }).container.name === serverName &&
        (l.event as { dockerDns: boolean }).dockerDns,
    );
    expect(dns?.event).toMatchObject({ address: "127.0.0.11" });
  });

  it("serves /metrics with capture counters for the bridge, /healthz and /readyz", async () => {
    const base = `http://127.0.0.1:${netmon.httpPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(await ready.text()).toBe("ready\n");
    const text = await (await fetch(`${base}/metrics`)).text();
    const captured = new RegExp(
      `^netmon_packets_captured_total\\{interface="${bridge}"\\} (\\d+)$`,
      "m",
    ).exec(text);
    expect(Number(captured?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`^netmon_packets_dropped_total\\{interface="${bridge}"\\} 0$`, "m"));
    expect(text).toMatch(/^netmon_docker_up 1$/m);
    expect(text).toMatch(/^netmon_connections_total\{direction="internal",verdict="[a-z]+"\} [1-9]\d*$/m);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  function netmonNetwork(): string {
    return docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", serverName);
  }
});

import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  cleanupDocker,
  composeService,
  createInternalNetwork,
  docker,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { type LogLine, NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();
const NET = 98;
const API_IP = `198.18.${NET}.10`;
const SCAN_SECONDS = 2;

interface AlertLine extends LogLine {
  alert: { detector: string; container: { name: string }; dst?: { ip: string; port: number } };
}

const isAlert = (l: LogLine): l is AlertLine => l.msg === "alert";

describe.runIf(ready)("netmon explain and netmon alerts against the running daemon", () => {
  let netmon: NetmonProcess;
  let url = "";
  const names = { api: uniqueName("api"), web: uniqueName("web") };

  /** `netmon …` against this daemon: its stdout (a failing command fails the test with its stderr). */
  const cli = (...args: string[]): string =>
    execFileSync(process.execPath, [CLI, ...args, "--url", url], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
    });

  beforeAll(async () => {
    cleanupDocker();
    const network = createInternalNetwork(uniqueName("net"), NET).name;
    runContainer(
      names.api,
      network,
      "httpd -f -p 8080 -h /www",
      composeService("explain", "api", ["--ip", API_IP, "--expose", "8080"]),
    );
    netmon = new NetmonProcess(
      [
        `stateDir: ${process.env.TMPDIR ?? "/tmp"}/netmon-e2e-explain-${process.pid}`,
        "listeners:",
        `  schedule: "*/${SCAN_SECONDS} * * * * *"`,
      ].join("\n"),
      [],
    );
    netmon.start();
    url = `http://127.0.0.1:${netmon.httpPort}`;
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
    // web may reach api:8080 (its label), not api:9090; it listens on 4444, which it does not declare.
    runContainer(
      names.web,
      network,
      `nc -ll -p 4444 -e true & sleep 1; for i in 1 2 3; do wget -q -O /dev/null http://${API_IP}:8080/; sleep 0.3; done; wget -q -O /dev/null http://${API_IP}:9090/; sleep 120`,
      composeService("explain", "web", ["--label", `netmon.egress=${names.api}:8080/tcp`]),
    );
    await netmon.waitFor(
      (l) =>
        isAlert(l) &&
        l.alert.detector === "unexpected-outbound" &&
        l.alert.container.name === names.web &&
        l.alert.dst?.port === 9090,
      30_000,
      "unexpected-outbound for web → api:9090",
    );
    await netmon.waitFor(
      (l) => isAlert(l) && l.alert.detector === "unusual-listener" && l.alert.container.name === names.web,
      30_000,
      "unusual-listener for web's nc",
    );
  }, 120_000);

  afterAll(async () => {
    await netmon?.stop();
    cleanupDocker();
  });

  it("the allowed destination: allowed, by the label that allows it", () => {
    const text = cli("explain", names.web, `${names.api}:8080`);
    expect(text).toContain(`container:   ${names.web}`);
    expect(text).toContain("label netmon.egress (declared: judged at once)");
    expect(text).toContain(`verdict:     allowed by label netmon.egress: ${names.api}:8080/tcp`);
    const json = JSON.parse(cli("explain", names.web, `${API_IP}:8080`, "--json"));
    expect(json.target).toMatchObject({ ip: API_IP, port: 8080, proto: "tcp", container: names.api });
    expect(json.verdict).toMatchObject({
      judged: true,
      allowed: true,
      allowedBy: "dns-name",
      by: `label netmon.egress: ${names.api}:8080/tcp`,
    });
    expect(json.mode).toMatchObject({ effective: "monitor", learning: null });
  });

  it("a refused port: nothing allows it, and the label is a near match (same host, other port)", () => {
    const json = JSON.parse(cli("explain", names.web, `${names.api}:9090`, "--json"));
    expect(json.verdict).toMatchObject({ judged: true, allowed: false, allowedBy: null, by: null });
    expect(json.verdict.text).toBe("refused: no rule, label, DNS name or baseline entry allows it");
    expect(json.evidence).toContainEqual(
      expect.objectContaining({
        kind: "label",
        source: "label netmon.egress",
        text: `${names.api}:8080/tcp`,
        match: "near",
        why: "same host, other port: the rule allows port 8080/tcp",
      }),
    );
    expect(json.enforce.alert).toMatchObject({ detector: "unexpected-outbound", kind: "unexpected" });
    const text = cli("explain", names.web, `${names.api}:9090`);
    expect(text).toContain(`~ label netmon.egress: ${names.api}:8080/tcp — same host, other port`);
    expect(text).toContain("verdict:     refused: no rule, label, DNS name or baseline entry allows it");
  });

  it("--listen on an undeclared port: undeclared, and what unusual-listener raises", () => {
    const json = JSON.parse(cli("explain", names.web, "--listen", "4444", "--json"));
    expect(json.kind).toBe("listen");
    expect(json.verdict).toMatchObject({ allowed: false, allowedBy: null });
    expect(json.verdict.text).toBe("undeclared: nothing declares or learned this port");
    expect(json.enforce.alert).toMatchObject({ detector: "unusual-listener", kind: "undeclared-port" });
    expect(cli("explain", names.web, "--listen", "4444/tcp")).toContain("listen:      4444/tcp");
  });

  it("/api/container/<id> names the label that allowed each recent connection, or says nothing did", async () => {
    const id = docker("inspect", "--format", "{{.Id}}", names.web);
    const details = (await (await fetch(`${url}/api/container/${id}`)).json()) as {
      connections: { ip: string; port: number; rule: string | null; text: string }[];
    };
    expect(details.connections).toContainEqual(
      expect.objectContaining({ ip: API_IP, port: 8080, rule: `label netmon.egress: ${names.api}:8080/tcp` }),
    );
    expect(details.connections).toContainEqual(
      expect.objectContaining({ ip: API_IP, port: 9090, rule: null, text: "nothing allowed it" }),
    );
  });

  it("netmon alerts lists the open incidents with container, detector, severity and count", () => {
    const rows = JSON.parse(cli("alerts", "--json")) as {
      container: string;
      detector: string;
      severity: string;
      count: number;
      firstSeen: number;
      lastSeen: number;
      action: string;
    }[];
    const outbound = rows.find((r) => r.container === names.web && r.detector === "unexpected-outbound");
    expect(outbound).toMatchObject({ severity: "warning" });
    expect(outbound?.count).toBeGreaterThanOrEqual(1);
    expect(outbound?.lastSeen).toBeGreaterThanOrEqual(outbound?.firstSeen ?? Number.POSITIVE_INFINITY);
    expect(rows).toContainEqual(
      expect.objectContaining({ container: names.web, detector: "unusual-listener" }),
    );
    const table = cli("alerts").split("\n");
    expect(table[0]).toMatch(/^CONTAINER\s+DETECTOR\s+SEVERITY\s+FIRST SEEN\s+LAST SEEN\s+COUNT\s+ACTION$/);
    const line = table.find((l) => l.startsWith(names.web) && l.includes("unexpected-outbound"));
    expect(line).toMatch(/\swarning\s.*\s\d+\s+\S+$/);
  });

  it("an unknown container is a usage error naming the known ones", () => {
    let failure: { status?: number; stderr?: string } = {};
    try {
      cli("explain", "no-such-container", `${API_IP}:8080`);
    } catch (err) {
      failure = err as { status?: number; stderr?: string };
    }
    expect(failure.status).toBe(2);
    expect(failure.stderr).toContain('no container "no-such-container"');
  });
});

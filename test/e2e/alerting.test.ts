import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  createInternalNetwork,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { NetmonProcess } from "./support/netmon-process.js";
import {
  ALERTMANAGER,
  freePort,
  PROMETHEUS,
  PROMTOOL,
  type ServiceProcess,
  startAlertmanager,
  startPrometheus,
  WebhookReceiver,
  waitForHttp,
} from "./support/prom-stack.js";

const dockerReady = e2eReady();
const NET = 64;
const TARGET_IP = `198.18.${NET}.20`;

/** The Prometheus tools are prerequisites too: missing in CI is a failure, not a skip. */
function promToolsReady(): boolean {
  const missing = [PROMETHEUS, ALERTMANAGER, PROMTOOL].filter((b) => !existsSync(b));
  if (missing.length === 0) return true;
  if (process.env.CI === "true")
    throw new Error(
      `missing in CI: ${missing.join(", ")} (apt-get install prometheus prometheus-alertmanager)`,
    );
  console.warn(`skipping: ${missing.join(", ")} not installed`);
  return false;
}
const toolsReady = promToolsReady();

describe.runIf(toolsReady)("shipped Prometheus rules", () => {
  it("pass promtool check and their promtool unit tests", () => {
    const out = execFileSync(
      "bash",
      [new URL("../../config/prometheus/check.sh", import.meta.url).pathname],
      {
        encoding: "utf8",
      },
    );
    expect(out).toMatch(/check\.sh: OK/);
  });
});

describe.runIf(dockerReady && toolsReady)("a real Prometheus and Alertmanager", () => {
  let netmon: NetmonProcess;
  let prometheus: ServiceProcess;
  let alertmanager: ServiceProcess;
  const webhook = new WebhookReceiver();
  const client = uniqueName("client");
  let network = "";
  let netmonPort = 0;

  beforeAll(async () => {
    cleanupDocker();
    network = createInternalNetwork(uniqueName("net"), NET).name;
    runContainer(uniqueName("target"), network, "httpd -f -p 8080 -h /www", [
      "--init",
      "--ip",
      TARGET_IP,
      "--label",
      "com.docker.compose.project=alerting",
      "--label",
      "com.docker.compose.service=target",
    ]);
    await webhook.start();
    const [amPort, promPort] = [await freePort(), await freePort()];
    netmonPort = await freePort();
    alertmanager = startAlertmanager(amPort, webhook.port);
    await waitForHttp(`http://127.0.0.1:${amPort}/-/ready`, 30_000);
    netmon = new NetmonProcess(
      [
        `stateDir: /tmp/netmon-e2e-alerting-${process.pid}`,
        "baseline:\n  learnForSeconds: 0",
        // Quick resolution, so the test sees the alert end.
        "alerts:\n  resolveAfterSeconds: 6",
        `http:\n  port: ${netmonPort}`,
        `alertmanager:\n  urls: ["http://127.0.0.1:${amPort}"]\n  resendIntervalSeconds: 2`,
      ].join("\n"),
      [],
    );
    netmon.start();
    await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
    prometheus = startPrometheus(promPort, [`127.0.0.1:${netmonPort}`], amPort);
    await waitForHttp(`http://127.0.0.1:${promPort}/-/ready`, 30_000);
  });

  afterAll(async () => {
    await netmon?.stop();
    await prometheus?.stop();
    await alertmanager?.stop();
    webhook.stop();
    cleanupDocker();
  });

  it("the whole /metrics page passes promtool check metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${netmonPort}/metrics`)).text();
    // Node's process metrics are kept (those prom-client names wrongly are dropped, see metrics.ts).
    expect(text).toMatch(/netmon_docker_up 1/);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_active_handles\{/m);
    expect(text).not.toMatch(/^nodejs_active_handles_total/m);
    const r = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("an undeclared connection reaches the webhook through the rules and through the push, then resolves", async () => {
    // Ten connections a second apart keep the alert active long enough for a scrape, then quiet.
    runContainer(
      client,
      network,
      `sleep 1; for i in $(seq 10); do wget -q -O /dev/null http://${TARGET_IP}:8080/; sleep 1; done; sleep 120`,
      [
        "--init",
        "--label",
        "com.docker.compose.project=alerting",
        "--label",
        "com.docker.compose.service=client",
      ],
    );
    const isOurs = (a: { labels: Record<string, string> }) =>
      a.labels.alertname === "NetmonUnexpectedOutbound" && a.labels.container === client;
    const viaRules = await webhook.waitFor(
      (a) => isOurs(a) && a.status === "firing" && a.labels.instance !== undefined,
      60_000,
      "the rules-path notification",
    );
    expect(viaRules.labels.severity).toBe("warning");
    expect(viaRules.annotations.summary).toContain(client);
    const viaPush = await webhook.waitFor(
      (a) => isOurs(a) && a.status === "firing" && a.labels.fingerprint !== undefined,
      30_000,
      "the direct-push notification",
    );
    expect(viaPush.labels.workload).toBe("alerting/client");
    expect(viaPush.annotations.destination).toContain(`${TARGET_IP}:8080/tcp`);
    await webhook.waitFor(
      (a) => isOurs(a) && a.status === "resolved" && a.labels.fingerprint !== undefined,
      60_000,
      "push resolved",
    );
    await webhook.waitFor(
      (a) => isOurs(a) && a.status === "resolved" && a.labels.instance !== undefined,
      60_000,
      "rules resolved",
    );
    const resolvedLine = netmon.lines.find((l) => l.msg === "alert resolved");
    expect(resolvedLine).toBeDefined();
  }, 180_000);
});

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PROMETHEUS = "/usr/bin/prometheus";
export const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";
export const PROMTOOL = "/usr/bin/promtool";
export const RULES = new URL("../../../config/prometheus/netmon.rules.yml", import.meta.url).pathname;

/** A port free on 127.0.0.1 right now (the OS picks it; the tiny race is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** An Alertmanager webhook receiver on 127.0.0.1 that keeps every alert it is sent. */
export class WebhookReceiver {
  readonly alerts: WebhookAlert[] = [];
  private server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        try {
          const payload = JSON.parse(body) as { alerts?: WebhookAlert[] };
          this.alerts.push(...(payload.alerts ?? []));
        } catch {
          // not a webhook payload: ignored
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async waitFor(pred: (a: WebhookAlert) => boolean, timeoutMs: number, what: string): Promise<WebhookAlert> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.alerts.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; received: ${JSON.stringify(this.alerts).slice(0, 2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

/** A Debian prometheus or prometheus-alertmanager binary run directly, on 127.0.0.1 only. */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  readonly output: string[] = [];

  constructor(
    private readonly binary: string,
    private readonly args: string[],
  ) {}

  start(): void {
    const child = spawn(this.binary, this.args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const keep = (c: Buffer) => {
      this.output.push(c.toString());
      if (this.output.length > 200) this.output.shift();
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
}

export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function startAlertmanager(port: number, webhookPort: number): ServiceProcess {
  const dir = mkdtempSync(join(tmpdir(), "netmon-am-"));
  const config = join(dir, "alertmanager.yml");
  writeFileSync(
    config,
    [
      "route:",
      "  receiver: webhook",
      "  group_by: [alertname, container]",
      "  group_wait: 1s",
      "  group_interval: 1s",
      "  repeat_interval: 1h",
      "receivers:",
      "  - name: webhook",
      "    webhook_configs:",
      `      - url: http://127.0.0.1:${webhookPort}/hook`,
      "        send_resolved: true",
      "",
    ].join("\n"),
  );
  const am = new ServiceProcess(ALERTMANAGER, [
    `--config.file=${config}`,
    `--storage.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--cluster.listen-address=",
  ]);
  am.start();
  return am;
}

/**
 * A Prometheus on 127.0.0.1 with the shipped rules, scraping each netmon target every second as job
 * `netmon`, and sending to an Alertmanager when given one.
 */
export function startPrometheus(
  port: number,
  netmonTargets: string[],
  alertmanagerPort: number | null = null,
): ServiceProcess {
  const dir = mkdtempSync(join(tmpdir(), "netmon-prom-"));
  const config = join(dir, "prometheus.yml");
  const alerting =
    alertmanagerPort === null
      ? []
      : [
          "alerting:",
          "  alertmanagers:",
          `    - static_configs: [{ targets: ["127.0.0.1:${alertmanagerPort}"] }]`,
        ];
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      `rule_files: ["${RULES}"]`,
      ...alerting,
      "scrape_configs:",
      "  - job_name: netmon",
      `    static_configs: [{ targets: ${JSON.stringify(netmonTargets)} }]`,
      "",
    ].join("\n"),
  );
  const prom = new ServiceProcess(PROMETHEUS, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  prom.start();
  return prom;
}

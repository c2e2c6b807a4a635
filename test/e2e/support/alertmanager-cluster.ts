import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALERTMANAGER, freePort, waitForHttp } from "./prom-stack.js";

/** One webhook POST as Alertmanager sends it: which peer sent it (externalURL) and its alerts. */
export interface Notification {
  externalURL: string;
  status: "firing" | "resolved";
  alerts: { status: string; labels: Record<string, string> }[];
  /** Added here: when it arrived (ms), for the failure messages. */
  receivedAt: number;
}

/** A webhook receiver on 127.0.0.1 that keeps every notification (one per POST), in order. */
export class NotificationLog {
  readonly received: Notification[] = [];
  port = 0;
  private server: Server | null = null;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Omit<Notification, "receivedAt">;
          this.received.push({ ...body, receivedAt: Date.now() });
        } catch {
          // not a webhook payload: ignored
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Notifications of `status` that carry an alert with this fingerprint label. */
  about(fingerprint: string, status: "firing" | "resolved"): Notification[] {
    return this.received.filter(
      (n) => n.status === status && n.alerts.some((a) => a.labels.fingerprint === fingerprint),
    );
  }

  async waitFor(
    fingerprint: string,
    status: "firing" | "resolved",
    timeoutMs: number,
  ): Promise<Notification> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.about(fingerprint, status)[0];
      if (hit !== undefined) return hit;
      if (Date.now() > deadline)
        throw new Error(
          `no ${status} notification for ${fingerprint} in ${timeoutMs} ms; got ${JSON.stringify(this.received).slice(0, 1500)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Who sent what when: the first thing to read when a count is off. */
  describe(): string {
    return this.received
      .map(
        (n) =>
          `${new Date(n.receivedAt).toISOString()} ${n.externalURL} ${n.status} ${n.alerts.map((a) => a.labels.fingerprint).join(",")}`,
      )
      .join("\n");
  }

  stop(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

/** How long a peer in position n waits for the ones before it before notifying (n × this). */
export const PEER_TIMEOUT_MS = 2_000;
/**
 * Kept above PEER_TIMEOUT_MS, as Alertmanager's defaults are (5 m vs 15 s): a later peer checks
 * the gossiped notification log peer_timeout after taking its snapshot of the group; with a
 * shorter group_interval that snapshot predates a resolution the first peer already sent, and the
 * cluster itself notifies "firing" again (seen with 1 s vs 3 s).
 */
export const GROUP_INTERVAL_MS = 4_000;

/** One Alertmanager 0.25 of a loopback cluster, with the quick gossip the test needs. */
export class AlertmanagerPeer {
  readonly url: string;
  readonly output: string[] = [];
  private child: ChildProcess | null = null;

  constructor(
    readonly webPort: number,
    readonly clusterPort: number,
    private readonly peerClusterPorts: number[],
    private readonly webhookPort: number,
  ) {
    this.url = `http://127.0.0.1:${webPort}`;
  }

  start(): void {
    const dir = mkdtempSync(join(tmpdir(), "netmon-am-ha-"));
    const config = join(dir, "alertmanager.yml");
    writeFileSync(
      config,
      [
        "route:",
        "  receiver: webhook",
        "  group_by: [alertname, fingerprint]",
        "  group_wait: 1s",
        `  group_interval: ${GROUP_INTERVAL_MS / 1000}s`,
        "  repeat_interval: 1h",
        "receivers:",
        "  - name: webhook",
        "    webhook_configs:",
        `      - url: http://127.0.0.1:${this.webhookPort}/hook`,
        "        send_resolved: true",
        "",
      ].join("\n"),
    );
    const child = spawn(
      ALERTMANAGER,
      [
        `--config.file=${config}`,
        `--storage.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${this.webPort}`,
        `--web.external-url=${this.url}`,
        `--cluster.listen-address=127.0.0.1:${this.clusterPort}`,
        `--cluster.advertise-address=127.0.0.1:${this.clusterPort}`,
        ...this.peerClusterPorts.map((p) => `--cluster.peer=127.0.0.1:${p}`),
        "--cluster.gossip-interval=100ms",
        "--cluster.pushpull-interval=1s",
        "--cluster.settle-timeout=2s",
        `--cluster.peer-timeout=${PEER_TIMEOUT_MS / 1000}s`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    const keep = (c: Buffer) => {
      this.output.push(c.toString());
      if (this.output.length > 200) this.output.shift();
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  /** Peers this one sees in the cluster (itself included), from its API. */
  async clusterSize(): Promise<number> {
    const res = await fetch(`${this.url}/api/v2/status`);
    const status = (await res.json()) as { cluster?: { status?: string; peers?: unknown[] } };
    return status.cluster?.status === "ready" ? (status.cluster.peers?.length ?? 0) : 0;
  }

  /** The alerts this peer holds with this fingerprint label (what netmon pushed to it). */
  async alertsWith(fingerprint: string): Promise<{ status: { state: string } }[]> {
    const res = await fetch(
      `${this.url}/api/v2/alerts?filter=${encodeURIComponent(`fingerprint="${fingerprint}"`)}`,
    );
    return (await res.json()) as { status: { state: string } }[];
  }

  /** A crash, not a graceful leave: the other peer must notice on its own. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  async stop(): Promise<void> {
    await this.signal("SIGTERM");
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(sig);
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
}

/** Two clustered peers on loopback, both ready and seeing each other. */
export async function startCluster(webhookPort: number): Promise<[AlertmanagerPeer, AlertmanagerPeer]> {
  const [w1, w2, c1, c2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const a = new AlertmanagerPeer(w1, c1, [c2], webhookPort);
  const b = new AlertmanagerPeer(w2, c2, [c1], webhookPort);
  a.start();
  b.start();
  await Promise.all([waitForHttp(`${a.url}/-/ready`, 30_000), waitForHttp(`${b.url}/-/ready`, 30_000)]);
  const deadline = Date.now() + 30_000;
  while ((await a.clusterSize()) < 2 || (await b.clusterSize()) < 2) {
    if (Date.now() > deadline)
      throw new Error(`the two Alertmanagers did not form a cluster: ${a.output.join("").slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return [a, b];
}

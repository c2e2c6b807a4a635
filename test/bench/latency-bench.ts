/**
 * Detection latency on a real bridge. A client container opens one connection per port to a server
 * container, INTERVAL ms apart (a new port each time: a new target of the host's one incident,
 * each written as its own line since this run sets no suppression window).
 *
 * - monitor: SYN (the line's lastSeen, i.e. the packet timestamp of the attempt it is about) → the
 *   alert line read from netmon's stdout (receivedAt).
 * - enforce: the server's IP is denylisted, so each attempt is a critical alert blocked by
 *   destination; the ipset (netmon-dst4) is polled without pause: SYN → entry seen in the kernel,
 *   and alert line → entry seen. netmon adds the entry before it writes the alert line, so the
 *   second one is bounded by the polling interval (reported).
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { cleanup, containerPid, createNetwork, inNetns, netmonConfig, runContainer } from "./docker-env.js";
import { freePort, type LogLine, NetmonDaemon } from "./netmon-daemon.js";
import { Background, CLI, NODE, run } from "./proc.js";
import { fixed, markdownTable, percentile, type Summary, summarize } from "./stats.js";

const execFileP = promisify(execFile);

interface AlertLine extends LogLine {
  alert: { detector: string; severity: string; action: string; lastSeen: string; dst?: { port: number } };
}

export interface LatencyDist {
  n: number;
  p50: number;
  p99: number;
  max: number;
  summary: Summary;
}

export interface LatencyResults {
  attempts: number;
  intervalMs: number;
  monitor: { synToAlert: LatencyDist; missing: number };
  enforce: {
    synToAlert: LatencyDist;
    synToKernel: LatencyDist;
    alertToKernel: LatencyDist;
    pollIntervalMs: number;
    actions: Record<string, number>;
    missing: number;
  } | null;
  targets: { alertP99Under50: boolean; kernelP99Under100: boolean | null };
}

function dist(values: number[]): LatencyDist {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: Math.max(...values),
    summary: summarize(values),
  };
}

/** An incident opening (`alert`) or a new target of it (`alert updated`): each names the attempt in dst and lastSeen. */
const isAlert = (l: LogLine): l is AlertLine => l.msg === "alert" || l.msg === "alert updated";

async function attemptRun(opts: {
  mode: "monitor" | "enforce";
  third: number;
  attempts: number;
  intervalMs: number;
  log: (m: string) => void;
}): Promise<{
  alerts: Map<number, AlertLine>;
  kernelSeen: Map<number, number>;
  pollMs: number;
  missing: number;
}> {
  const net = createNetwork(`netmon-bench-lat-${opts.mode}`, opts.third);
  const serverIp = `${net.prefix}10`;
  runContainer(`netmon-bench-lat-server-${opts.mode}`, net.name, { ip: serverIp });
  runContainer(`netmon-bench-lat-client-${opts.mode}`, net.name, {
    ip: `${net.prefix}21`,
    labels: [
      `netmon.mode=${opts.mode}`,
      "com.docker.compose.project=bench",
      "com.docker.compose.service=client",
    ],
  });
  const clientPid = containerPid(`netmon-bench-lat-client-${opts.mode}`);
  const port = await freePort();
  const firstPort = 30_000;
  const { dir, config } = netmonConfig((stateDir) => {
    const lines = [
      `stateDir: ${stateDir}`,
      "capture:",
      `  interfaces: [${net.bridge}]`,
      "baseline:",
      "  learnForSeconds: 0",
      "http:",
      `  port: ${port}`,
      // Each port is a new target of the host's one incident: with no suppression window, each
      // attempt writes its own line (an update), which is what is timed. The shipped 600 s window
      // would fold attempts 2..50 into the count silently (one line per incident, by design).
      "alerts:",
      "  suppressSeconds: 0",
      // Only the per-destination decision: a port-scan quarantine would stop the next attempts.
      "detectors:",
      "  connection-burst:",
      "    portScanThreshold: 0",
      "    burstCapacity: 0",
    ];
    if (opts.mode === "enforce") {
      lines.push(
        "policy:",
        `  denylistFile: ${join(stateDir, "..", "denylist.txt")}`,
        "blocking:",
        "  mode: enforce",
        "  durationSeconds: 120",
        "  maxBlocksPerMinute: 1000",
        "  onShutdown: remove",
        "  rules:",
        "    - { detector: unexpected-outbound, severities: [critical], scope: destination }",
      );
    }
    return `${lines.join("\n")}\n`;
  });
  writeFileSync(join(dir, "denylist.txt"), `${serverIp}\n`);
  const netmon = new NetmonDaemon(config, port);
  const alerts = new Map<number, AlertLine>();
  const kernelSeen = new Map<number, number>();
  let polls = 0;
  let pollStart = 0;
  let polling = false;
  try {
    netmon.start();
    await netmon.waitReady(30_000);
    if (opts.mode === "enforce")
      await netmon.waitFor((l) => l.msg === "blocking ready", 10_000, "blocking ready");
    // Polls the set continuously (async: reading netmon's stdout must never wait for the poller).
    polling = opts.mode === "enforce";
    pollStart = Date.now();
    const poller = (async () => {
      while (polling) {
        try {
          const { stdout } = await execFileP("ipset", ["list", "netmon-dst4"]);
          const at = Date.now();
          polls++;
          for (const m of stdout.matchAll(/,tcp:(\d+),/g)) {
            const p = Number(m[1]);
            if (!kernelSeen.has(p)) kernelSeen.set(p, at);
          }
        } catch {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    })();
    const [cmd, args] = inNetns(clientPid, "loadgen.js", [
      "attempts",
      serverIp,
      firstPort,
      opts.attempts,
      opts.intervalMs,
    ]);
    const gen = new Background(cmd, args);
    await gen.wait((opts.attempts * opts.intervalMs) / 1000 + 30_000);
    // Give the last alert time to arrive.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      for (const l of netmon.lines) {
        if (!isAlert(l) || l.alert.detector !== "unexpected-outbound") continue;
        const p = l.alert.dst?.port;
        if (p !== undefined && p >= firstPort && p < firstPort + opts.attempts && !alerts.has(p))
          alerts.set(p, l);
      }
      if (alerts.size >= opts.attempts && (opts.mode === "monitor" || kernelSeen.size >= opts.attempts))
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    polling = false;
    await poller;
  } finally {
    polling = false;
    await netmon.stop();
    if (opts.mode === "enforce") run(NODE, [CLI, "blocks", "flush", "--config", config]);
  }
  const pollMs = polls > 0 ? (Date.now() - pollStart) / polls : Number.NaN;
  opts.log(
    `latency ${opts.mode}: ${alerts.size}/${opts.attempts} alerts${opts.mode === "enforce" ? `, ${kernelSeen.size} kernel entries, ipset polled every ${fixed(pollMs, 1)} ms` : ""}`,
  );
  return { alerts, kernelSeen, pollMs, missing: opts.attempts - alerts.size };
}

export async function runLatencyBench(opts: {
  attempts: number;
  intervalMs: number;
  enforce: boolean;
  log: (m: string) => void;
}): Promise<LatencyResults> {
  cleanup();
  try {
    const mon = await attemptRun({ ...opts, mode: "monitor", third: 111 });
    const synToAlert = [...mon.alerts.values()].map((l) => l.receivedAt - Date.parse(l.alert.lastSeen));
    let enforce: LatencyResults["enforce"] = null;
    if (opts.enforce) {
      const enf = await attemptRun({ ...opts, mode: "enforce", third: 112 });
      const a: number[] = [];
      const k: number[] = [];
      const ak: number[] = [];
      const actions: Record<string, number> = {};
      for (const [p, l] of enf.alerts) {
        const syn = Date.parse(l.alert.lastSeen);
        a.push(l.receivedAt - syn);
        actions[l.alert.action] = (actions[l.alert.action] ?? 0) + 1;
        const seen = enf.kernelSeen.get(p);
        if (seen !== undefined) {
          k.push(seen - syn);
          ak.push(seen - l.receivedAt);
        }
      }
      enforce = {
        synToAlert: dist(a),
        synToKernel: dist(k),
        alertToKernel: dist(ak),
        pollIntervalMs: enf.pollMs,
        actions,
        missing: enf.missing,
      };
    }
    const monitor = { synToAlert: dist(synToAlert), missing: mon.missing };
    return {
      attempts: opts.attempts,
      intervalMs: opts.intervalMs,
      monitor,
      enforce,
      targets: {
        alertP99Under50: monitor.synToAlert.p99 < 50 && (enforce === null || enforce.synToAlert.p99 < 50),
        kernelP99Under100: enforce === null ? null : enforce.alertToKernel.p99 < 100,
      },
    };
  } finally {
    cleanup();
  }
}

export function latencyTable(r: LatencyResults): string {
  const row = (what: string, d: LatencyDist): string[] => [
    what,
    String(d.n),
    fixed(d.p50, 1),
    fixed(d.p99, 1),
    fixed(d.max, 1),
  ];
  const rows = [row("monitor: SYN → alert line", r.monitor.synToAlert)];
  if (r.enforce) {
    rows.push(row("enforce: SYN → alert line (action blocked)", r.enforce.synToAlert));
    rows.push(row("enforce: SYN → entry in kernel ipset (polled)", r.enforce.synToKernel));
    rows.push(
      row(
        `enforce: alert line → entry seen in kernel (poll every ${fixed(r.enforce.pollIntervalMs, 1)} ms)`,
        r.enforce.alertToKernel,
      ),
    );
  }
  return markdownTable(["detection latency (ms)", "n", "p50", "p99", "max"], rows);
}

/**
 * Start-up: 50 sleeping busybox containers on an internal network, then `netmon run` (its own
 * http port and state dir) is started several times; time from spawn to /readyz answering 200
 * (polled every 10 ms), and to the "netmon started" log line.
 */
import { spawn } from "node:child_process";
import { BENCH_LABEL, cleanup, createNetwork, DOCKER, netmonConfig, TEST_IMAGE } from "./docker-env.js";
import { freePort, metricValue, NetmonDaemon, rssMb } from "./netmon-daemon.js";
import { fixed, markdownTable, mmm, type Summary, sleep, summarize } from "./stats.js";

export interface StartupResults {
  containers: number;
  runs: number;
  readyMs: Summary;
  startedLineMs: Summary;
  containersMonitored: number;
  rssMbAtReady: Summary;
}

function dockerAsync(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(DOCKER, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    c.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args[0]}: ${err.trim()}`))));
  });
}

/** Starts `count` containers, a few at a time (dockerd serialises much of it anyway). */
async function startContainers(network: string, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await dockerAsync([
        "run",
        "-d",
        "--init",
        "--label",
        BENCH_LABEL,
        "--label",
        `com.docker.compose.project=bench`,
        "--label",
        `com.docker.compose.service=svc${i % 10}`,
        "--name",
        `netmon-bench-idle-${i}`,
        "--network",
        network,
        TEST_IMAGE,
        "sleep",
        "3600",
      ]);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

export async function runStartupBench(opts: {
  containers: number;
  runs: number;
  log: (m: string) => void;
}): Promise<StartupResults> {
  cleanup();
  const ready: number[] = [];
  const started: number[] = [];
  const rss: number[] = [];
  let monitored = Number.NaN;
  try {
    const net = createNetwork("netmon-bench-startup", 113);
    const t = Date.now();
    await startContainers(net.name, opts.containers);
    opts.log(
      `startup: ${opts.containers} containers running (${((Date.now() - t) / 1000).toFixed(1)} s to start them)`,
    );
    for (let i = 0; i < opts.runs; i++) {
      const port = await freePort();
      const { config } = netmonConfig((stateDir) => `stateDir: ${stateDir}\nhttp:\n  port: ${port}\n`);
      const netmon = new NetmonDaemon(config, port);
      try {
        netmon.start();
        const readyAt = await netmon.waitReady(60_000, 10);
        ready.push(readyAt - netmon.startedAt);
        const line = await netmon.waitFor((l) => l.msg === "netmon started", 10_000, "netmon started");
        started.push(line.receivedAt - netmon.startedAt);
        rss.push(rssMb(netmon.pid));
        monitored = metricValue(await netmon.metrics(), "netmon_containers_monitored");
      } finally {
        await netmon.stop();
      }
      opts.log(
        `startup run ${i + 1}: ready after ${ready[ready.length - 1]} ms (containers monitored ${monitored})`,
      );
      await sleep(300);
    }
  } finally {
    cleanup();
  }
  return {
    containers: opts.containers,
    runs: opts.runs,
    readyMs: summarize(ready),
    startedLineMs: summarize(started),
    containersMonitored: monitored,
    rssMbAtReady: summarize(rss),
  };
}

export function startupTable(r: StartupResults): string {
  return markdownTable(
    ["start-up", "runs", "min / median / max"],
    [
      [
        `spawn → /readyz 200 (${r.containers} containers)`,
        String(r.runs),
        mmm(r.readyMs, (v) => `${fixed(v, 0)} ms`),
      ],
      ['spawn → "netmon started" line', String(r.runs), mmm(r.startedLineMs, (v) => `${fixed(v, 0)} ms`)],
      ["RSS at ready", String(r.runs), mmm(r.rssMbAtReady, (v) => `${fixed(v, 0)} MB`)],
      ["netmon_containers_monitored", "", String(r.containersMonitored)],
    ],
  );
}

/**
 * Live capture loss: bench containers on an internal bridge; Node load generators run inside the
 * client containers' network namespaces (nsenter) against a server container, at rising rates:
 * short TCP connections (server accepts and closes), then a UDP flood. At each step netmon (`netmon
 * run`, all detectors on, learning off) and tcpdump (same bridge, same BPF filter, same 16 MiB
 * buffer and snap length) capture the same packets at the same time; drops come from netmon's
 * /metrics (netmon_packets_dropped_total) and from tcpdump's own count at exit. netmon's event-loop
 * lag comes from prom-client's default metrics, reset by the scrape at the start of each step.
 */
import { CAPTURE_FILTER } from "../../src/capture/bpf-filter.js";
import { cleanup, containerPid, createNetwork, inNetns, netmonConfig, runContainer } from "./docker-env.js";
import { loadgenArgs, type StepLoad, startLoad } from "./live-load.js";
import { cpuSeconds, freePort, metricValue, NetmonDaemon, rssMb } from "./netmon-daemon.js";
import { Background, runOk } from "./proc.js";
import { fixed, type MachineLoad, machineLoad, markdownTable, si, sleep } from "./stats.js";

/** prom-client's monitorEventLoopDelay resolution: its histogram counts the 10 ms timer interval too. */
export const LAG_RESOLUTION_MS = 10;

export interface LiveStep {
  kind: "tcp" | "udp";
  /** Connections/s or datagrams/s asked of the generators, and what they achieved. */
  target: number;
  achieved: number;
  seconds: number;
  netmon: {
    captured: number;
    dropped: number;
    cpuPct: number;
    /** netmon's CPU time (user + system, whole step) per 1,000 connections or datagrams the generators made. */
    cpuMsPerK: number;
    rssMb: number;
  };
  tcpdump: { received: number; dropped: number; cpuPct: number };
  /** prom-client's raw p99 and max of the loop delay (ms, including the 10 ms interval), and the lag beyond it. */
  lag: { p99RawMs: number; maxRawMs: number; p99Ms: number; maxMs: number };
  /** Other work on the machine at the end of the step (PSI: % of time runnable tasks waited for a CPU). */
  machine: MachineLoad;
}

export interface LiveResults {
  generators: number;
  steps: LiveStep[];
  /** Highest achieved rate with zero drops, per kind and capturer (null: drops at every step). */
  zeroDrop: {
    tcp: { netmon: number | null; tcpdump: number | null };
    udp: { netmon: number | null; tcpdump: number | null };
  };
  dropsBegin: { tcp: number | null; udp: number | null };
  maxLagP99Ms: number;
}

const SERVER_PORT = 20_000;
const SERVER_PORTS = 16;
const UDP_PORT = 9999;

interface TcpdumpStats {
  received: number;
  dropped: number;
}

function tcpdumpStats(stderr: string): TcpdumpStats {
  const num = (re: RegExp): number => Number(re.exec(stderr)?.[1] ?? Number.NaN);
  return {
    received: num(/(\d+) packets? received by filter/),
    dropped: num(/(\d+) packets? dropped by kernel/),
  };
}

async function startTcpdump(bridge: string): Promise<Background> {
  const t = new Background(
    "tcpdump",
    ["-i", bridge, "-n", "-s", "4352", "-B", "16384", "-w", "/dev/null", CAPTURE_FILTER],
    { keepStdout: false },
  );
  const deadline = Date.now() + 5000;
  while (!t.stderr.join("").includes("listening on") && Date.now() < deadline) await sleep(10);
  return t;
}

export async function runLiveBench(opts: {
  tcpRates: number[];
  udpRates: number[];
  stepSeconds: number;
  generators: number;
  log: (m: string) => void;
}): Promise<LiveResults> {
  cleanup();
  const net = createNetwork("netmon-bench-live", 110);
  const serverIp = `${net.prefix}10`;
  runContainer("netmon-bench-server", net.name, { ip: serverIp, labels: ["netmon.mode=monitor"] });
  const clients: number[] = [];
  for (let i = 0; i < opts.generators; i++) {
    const name = `netmon-bench-client-${i}`;
    runContainer(name, net.name, { ip: `${net.prefix}${21 + i}` });
    clients.push(containerPid(name));
  }
  const serverPid = containerPid("netmon-bench-server");
  // The flood's port is dropped inside the server's own network namespace (no ICMP errors back).
  runOk("nsenter", [
    "-t",
    String(serverPid),
    "-n",
    "iptables",
    "-w",
    "-I",
    "INPUT",
    "-p",
    "udp",
    "--dport",
    String(UDP_PORT),
    "-j",
    "DROP",
  ]);
  const [cmd, args] = inNetns(serverPid, "loadgen.js", ["tcp-server", SERVER_PORT, SERVER_PORTS, 900]);
  const server = new Background(cmd, args);
  const port = await freePort();
  const { config } = netmonConfig((stateDir) =>
    [
      `stateDir: ${stateDir}`,
      "capture:",
      `  interfaces: [${net.bridge}]`,
      "baseline:",
      "  learnForSeconds: 0",
      "http:",
      `  port: ${port}`,
      "",
    ].join("\n"),
  );
  const netmon = new NetmonDaemon(config, port, (l) => l.msg !== "alert");
  const steps: LiveStep[] = [];
  try {
    const deadline = Date.now() + 10_000;
    while (!server.stdout.join("").includes("ready") && Date.now() < deadline) await sleep(20);
    netmon.start();
    await netmon.waitReady(30_000);
    opts.log(`live: netmon ready on ${net.bridge}; ${opts.generators} generator processes`);
    const ladder: { kind: "tcp" | "udp"; rate: number }[] = [
      ...opts.tcpRates.map((rate) => ({ kind: "tcp" as const, rate })),
      ...opts.udpRates.map((rate) => ({ kind: "udp" as const, rate })),
    ];
    for (const { kind, rate } of ladder) {
      const tcpdump = await startTcpdump(net.bridge);
      const m0 = await netmon.metrics();
      const cpu0 = { netmon: cpuSeconds(netmon.pid), tcpdump: cpuSeconds(tcpdump.child.pid ?? 0) };
      const t0 = Date.now();
      const load: StepLoad = await startLoad(
        clients.map((pid) =>
          inNetns(
            pid,
            "loadgen.js",
            loadgenArgs(kind, serverIp, rate / clients.length, opts.stepSeconds, {
              tcpPort: SERVER_PORT,
              tcpPorts: SERVER_PORTS,
              udpPort: UDP_PORT,
            }),
          ),
        ),
        (opts.stepSeconds + 20) * 1000,
      );
      // Let the kernel buffers drain into both capturers.
      await sleep(700);
      const m1 = await netmon.metrics();
      const wall = (Date.now() - t0) / 1000;
      const cpu1 = { netmon: cpuSeconds(netmon.pid), tcpdump: cpuSeconds(tcpdump.child.pid ?? 0) };
      tcpdump.signal("SIGINT");
      await tcpdump.wait(5000);
      const td = tcpdumpStats(tcpdump.stderr.join(""));
      const lbl = { interface: net.bridge };
      const delta = (name: string): number => metricValue(m1, name, lbl) - metricValue(m0, name, lbl);
      const p99Raw = metricValue(m1, "nodejs_eventloop_lag_p99_seconds") * 1000;
      const maxRaw = metricValue(m1, "nodejs_eventloop_lag_max_seconds") * 1000;
      const step: LiveStep = {
        kind,
        target: rate,
        achieved: load.achieved,
        seconds: load.seconds,
        netmon: {
          captured: delta("netmon_packets_captured_total"),
          dropped: delta("netmon_packets_dropped_total"),
          cpuPct: ((cpu1.netmon - cpu0.netmon) / wall) * 100,
          cpuMsPerK:
            load.started > 0 ? ((cpu1.netmon - cpu0.netmon) * 1000 * 1000) / load.started : Number.NaN,
          rssMb: rssMb(netmon.pid),
        },
        tcpdump: {
          received: td.received,
          dropped: td.dropped,
          cpuPct: ((cpu1.tcpdump - cpu0.tcpdump) / wall) * 100,
        },
        lag: {
          p99RawMs: p99Raw,
          maxRawMs: maxRaw,
          p99Ms: Math.max(0, p99Raw - LAG_RESOLUTION_MS),
          maxMs: Math.max(0, maxRaw - LAG_RESOLUTION_MS),
        },
        machine: machineLoad(),
      };
      steps.push(step);
      opts.log(
        `live ${kind} ${si(rate)}/s → ${si(step.achieved)}/s: netmon captured ${step.netmon.captured} dropped ${step.netmon.dropped} (cpu ${fixed(step.netmon.cpuPct, 0)}%, lag p99 ${fixed(step.lag.p99Ms, 1)} ms); tcpdump received ${td.received} dropped ${td.dropped}`,
      );
      await sleep(300);
    }
  } finally {
    await netmon.stop();
    await server.stop();
    cleanup();
  }
  const zero = (kind: "tcp" | "udp", who: "netmon" | "tcpdump"): number | null => {
    let best: number | null = null;
    for (const s of steps) {
      if (s.kind !== kind) continue;
      if (s[who].dropped === 0 && (best === null || s.achieved > best)) best = s.achieved;
    }
    return best;
  };
  const begin = (kind: "tcp" | "udp"): number | null =>
    steps.find((s) => s.kind === kind && s.netmon.dropped > 0)?.achieved ?? null;
  return {
    generators: opts.generators,
    steps,
    zeroDrop: {
      tcp: { netmon: zero("tcp", "netmon"), tcpdump: zero("tcp", "tcpdump") },
      udp: { netmon: zero("udp", "netmon"), tcpdump: zero("udp", "tcpdump") },
    },
    dropsBegin: { tcp: begin("tcp"), udp: begin("udp") },
    maxLagP99Ms: Math.max(0, ...steps.map((s) => s.lag.p99Ms)),
  };
}

export function liveTable(r: LiveResults): string {
  const rows = r.steps.map((s) => [
    s.kind === "tcp" ? "TCP conn/s" : "UDP pkt/s",
    si(s.target, 2),
    si(s.achieved),
    `${s.netmon.captured} / ${s.netmon.dropped}`,
    `${s.tcpdump.received} / ${s.tcpdump.dropped}`,
    `${fixed(s.lag.p99Ms, 1)} / ${fixed(s.lag.maxMs, 1)}`,
    `${fixed(s.netmon.cpuPct, 0)}% / ${fixed(s.tcpdump.cpuPct, 0)}%`,
    fixed(s.netmon.cpuMsPerK, 0),
    fixed(s.netmon.rssMb, 0),
    s.machine.cpuPressure10 === null ? "n/a" : `${fixed(s.machine.cpuPressure10, 0)}%`,
  ]);
  return markdownTable(
    [
      "live load",
      "asked",
      "achieved",
      "netmon captured / dropped",
      "tcpdump received / dropped",
      "netmon loop lag p99 / max (ms)",
      "CPU netmon / tcpdump",
      "netmon CPU ms per 1k",
      "netmon RSS MB",
      "CPU pressure (10 s)",
    ],
    rows,
  );
}

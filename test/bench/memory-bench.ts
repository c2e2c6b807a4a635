/**
 * Memory: 100k concurrent flows in-process (fresh process, --expose-gc, heap and RSS after GC),
 * the same in the live daemon (`netmon run` on a bench bridge, 100k UDP flows from two containers),
 * a full flow table (evictions counted, no crash), and RSS/heap under minutes of steady churn.
 */
import { cleanup, containerPid, createNetwork, inNetns, netmonConfig, runContainer } from "./docker-env.js";
import { startLoad } from "./live-load.js";
import type { MemSample } from "./memory-worker.js";
import { freePort, metricValue, NetmonDaemon, rssDetail } from "./netmon-daemon.js";
import { BENCH, lastJson, NODE, runOk } from "./proc.js";
import { fixed, markdownTable, mmm, type Summary, sleep, summarize } from "./stats.js";

interface FlowsResult {
  flows: number;
  afterSetup: MemSample;
  after: MemSample;
  bytesPerFlow: number;
}

interface EvictResult {
  fed: number;
  maxFlows: number;
  stats: { active: number; created: number; evicted: number };
  after: MemSample;
}

interface ChurnResult {
  seconds: number;
  speed: number;
  packets: number;
  packetMinutes: number;
  alerts: { active: number; fired: number; resolved: number };
  samples: MemSample[];
}

export interface MemoryResults {
  inProcess: {
    runs: number;
    flows: number;
    rssMb: Summary;
    heapMb: Summary;
    idleRssMb: Summary;
    bytesPerFlow: Summary;
  };
  daemon: {
    flowsActive: number;
    /** Datagrams libpcap delivered to netmon, and dropped, during the sweep. */
    captured: number;
    dropped: number;
    idleRssMb: number;
    rssMb: number;
    heapMb: number;
    idleHeapMb: number;
    /** RSS split at idle and with the flows: anonymous (heap, native) and file-backed (binary, libs, pcap ring). */
    idle: { anonMb: number; fileMb: number };
    loaded: { anonMb: number; fileMb: number };
  } | null;
  evict: EvictResult;
  churn: {
    wallSeconds: number;
    packetMinutes: number;
    packets: number;
    steadyFromPacketMinute: number;
    steadySamples: number;
    heapMbFirst: number;
    heapMbLast: number;
    heapMbRange: number;
    heapSlopeMbPerMin: number;
    rssMbFirst: number;
    rssMbLast: number;
    rssMbMax: number;
    growthBeyondNoise: boolean;
    samples: MemSample[];
  };
  targets: { under150MbInProcess: boolean; under150MbDaemon: boolean | null; noGrowth: boolean };
}

function worker<T>(args: string[], timeoutMs: number): T {
  return lastJson<T>(runOk(NODE, ["--expose-gc", `${BENCH}memory-worker.js`, ...args], timeoutMs));
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** 100k UDP flows through the real daemon: one datagram per port from two client containers. */
export async function daemonFlows(flows: number, log: (m: string) => void): Promise<MemoryResults["daemon"]> {
  cleanup();
  const net = createNetwork("netmon-bench-mem", 114);
  const serverIp = `${net.prefix}10`;
  runContainer("netmon-bench-mem-server", net.name, { ip: serverIp });
  const clients = [0, 1].map((i) => {
    runContainer(`netmon-bench-mem-client-${i}`, net.name, { ip: `${net.prefix}${21 + i}` });
    return containerPid(`netmon-bench-mem-client-${i}`);
  });
  const serverPid = containerPid("netmon-bench-mem-server");
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
    "-j",
    "DROP",
  ]);
  const port = await freePort();
  const { config } = netmonConfig((stateDir) =>
    [
      `stateDir: ${stateDir}`,
      "capture:",
      `  interfaces: [${net.bridge}]`,
      "baseline:",
      "  learnForSeconds: 0",
      // The bench subnet is allowed: 100k flows, not 100k alerts.
      "policy:",
      `  egress: ["${net.subnet}"]`,
      "flows:",
      "  udpIdleMs: 120000",
      "http:",
      `  port: ${port}`,
      "",
    ].join("\n"),
  );
  const netmon = new NetmonDaemon(config, port);
  try {
    netmon.start();
    await netmon.waitReady(30_000);
    await sleep(1000);
    const m0 = await netmon.metrics();
    const idle = rssDetail(netmon.pid);
    const per = Math.ceil(flows / clients.length);
    await startLoad(
      // 20k new flows/s in all: at 50k/s netmon falls behind and libpcap drops (see the live part).
      clients.map((pid) => inNetns(pid, "loadgen.js", ["udp-sweep", serverIp, 1024, per, 10_000])),
      60_000,
    );
    // No forced GC in the daemon: what an operator would see a few seconds after the burst.
    await sleep(5000);
    const m1 = await netmon.metrics();
    const loaded = rssDetail(netmon.pid);
    const lbl = { interface: net.bridge };
    const result = {
      flowsActive: metricValue(m1, "netmon_flows_active"),
      captured:
        metricValue(m1, "netmon_packets_captured_total", lbl) -
        metricValue(m0, "netmon_packets_captured_total", lbl),
      dropped:
        metricValue(m1, "netmon_packets_dropped_total", lbl) -
        metricValue(m0, "netmon_packets_dropped_total", lbl),
      idleRssMb: idle.rssMb,
      rssMb: loaded.rssMb,
      idle: { anonMb: idle.anonMb, fileMb: idle.fileMb },
      loaded: { anonMb: loaded.anonMb, fileMb: loaded.fileMb },
      heapMb: metricValue(m1, "nodejs_heap_size_used_bytes") / 1048576,
      idleHeapMb: metricValue(m0, "nodejs_heap_size_used_bytes") / 1048576,
    };
    log(
      `memory daemon: ${result.flowsActive} flows active (captured ${result.captured}, dropped ${result.dropped}), RSS ${fixed(result.idleRssMb, 0)} → ${fixed(result.rssMb, 0)} MB, heap ${fixed(result.idleHeapMb, 0)} → ${fixed(result.heapMb, 0)} MB`,
    );
    return result;
  } finally {
    await netmon.stop();
    cleanup();
  }
}

export async function runMemoryBench(opts: {
  flows: number;
  runs: number;
  churnSeconds: number;
  churnSpeed: number;
  live: boolean;
  log: (m: string) => void;
}): Promise<MemoryResults> {
  const runs: FlowsResult[] = [];
  for (let i = 0; i < opts.runs; i++) runs.push(worker<FlowsResult>(["flows", String(opts.flows)], 120_000));
  opts.log(
    `memory: ${opts.flows} flows in-process: RSS ${runs.map((r) => fixed(r.after.rssMb, 0)).join(", ")} MB`,
  );
  const daemon = opts.live ? await daemonFlows(opts.flows, opts.log) : null;
  const evict = worker<EvictResult>(["evict", String(opts.flows / 2), String(opts.flows / 10)], 120_000);
  opts.log(`memory: table of ${evict.maxFlows} fed ${evict.fed} SYNs: ${evict.stats.evicted} evicted`);
  opts.log(`memory: steady churn for ${opts.churnSeconds} s (packet time ×${opts.churnSpeed})…`);
  const churn = worker<ChurnResult>(
    ["churn", String(opts.churnSeconds), String(opts.churnSpeed)],
    (opts.churnSeconds + 120) * 1000,
  );
  // Steady state once every window has filled: alerts resolve after 15 min, the scan window is 5 min.
  const steadyFrom = Math.min(16, churn.packetMinutes / 2);
  const steady = churn.samples.filter((s) => (s.packetMinutes ?? 0) >= steadyFrom);
  const heap = steady.map((s) => s.heapMb);
  const rss = steady.map((s) => s.rssMb);
  const heapSlope = slope(
    steady.map((s) => s.t / 60),
    heap,
  );
  const steadyMinutes = steady.length > 1 ? (steady[steady.length - 1]!.t - steady[0]!.t) / 60 : 0;
  // Growth beyond noise: a trend over the steady window larger than 5% of the heap or 3 MB.
  const growth = heapSlope * steadyMinutes;
  const growthBeyondNoise = growth > Math.max(3, 0.05 * (heap[0] ?? 0));
  const inRss = runs.map((r) => r.after.rssMb);
  return {
    inProcess: {
      runs: opts.runs,
      flows: opts.flows,
      rssMb: summarize(inRss),
      heapMb: summarize(runs.map((r) => r.after.heapMb)),
      idleRssMb: summarize(runs.map((r) => r.afterSetup.rssMb)),
      bytesPerFlow: summarize(runs.map((r) => r.bytesPerFlow)),
    },
    daemon,
    evict,
    churn: {
      wallSeconds: churn.seconds,
      packetMinutes: churn.packetMinutes,
      packets: churn.packets,
      steadyFromPacketMinute: steadyFrom,
      steadySamples: steady.length,
      heapMbFirst: heap[0] ?? Number.NaN,
      heapMbLast: heap[heap.length - 1] ?? Number.NaN,
      heapMbRange: heap.length > 0 ? Math.max(...heap) - Math.min(...heap) : Number.NaN,
      heapSlopeMbPerMin: heapSlope,
      rssMbFirst: rss[0] ?? Number.NaN,
      rssMbLast: rss[rss.length - 1] ?? Number.NaN,
      rssMbMax: rss.length > 0 ? Math.max(...rss) : Number.NaN,
      growthBeyondNoise,
      samples: churn.samples,
    },
    targets: {
      under150MbInProcess: Math.max(...inRss) < 150,
      under150MbDaemon: daemon === null ? null : daemon.rssMb < 150,
      noGrowth: !growthBeyondNoise,
    },
  };
}

export function memoryTable(r: MemoryResults): string {
  const rows: string[][] = [
    [
      `${r.inProcess.flows / 1000}k concurrent flows, in-process pipeline + detectors (${r.inProcess.runs} runs)`,
      `RSS ${mmm(r.inProcess.rssMb, (v) => fixed(v, 0))} MB (idle ${mmm(r.inProcess.idleRssMb, (v) => fixed(v, 0))}); heap ${mmm(r.inProcess.heapMb, (v) => fixed(v, 0))} MB; ${mmm(r.inProcess.bytesPerFlow, (v) => fixed(v, 0))} B/flow`,
    ],
  ];
  if (r.daemon) {
    rows.push([
      `${fixed(r.daemon.flowsActive / 1000, 0)}k flows in the live daemon (netmon_flows_active)`,
      `RSS ${fixed(r.daemon.idleRssMb, 0)} → ${fixed(r.daemon.rssMb, 0)} MB (anon ${fixed(r.daemon.idle.anonMb, 0)} → ${fixed(r.daemon.loaded.anonMb, 0)}, file-backed ${fixed(r.daemon.idle.fileMb, 0)} → ${fixed(r.daemon.loaded.fileMb, 0)}); heap ${fixed(r.daemon.idleHeapMb, 0)} → ${fixed(r.daemon.heapMb, 0)} MB; no forced GC`,
    ]);
  }
  rows.push([
    `flow table full (maxFlows ${r.evict.maxFlows}, ${r.evict.fed} SYNs)`,
    `${r.evict.stats.evicted} evicted (counted), ${r.evict.stats.active} active, RSS ${fixed(r.evict.after.rssMb, 0)} MB, no crash`,
  ]);
  const c = r.churn;
  rows.push([
    `steady churn ${c.wallSeconds} s wall = ${fixed(c.packetMinutes, 0)} min packet time (${(c.packets / 1e6).toFixed(1)}M packets)`,
    `steady from minute ${fixed(c.steadyFromPacketMinute, 0)} (${c.steadySamples} samples): heap ${fixed(c.heapMbFirst, 1)} → ${fixed(c.heapMbLast, 1)} MB (range ${fixed(c.heapMbRange, 1)}, trend ${fixed(c.heapSlopeMbPerMin, 2)} MB/min wall), RSS ${fixed(c.rssMbFirst, 0)} → ${fixed(c.rssMbLast, 0)} MB (max ${fixed(c.rssMbMax, 0)}): ${c.growthBeyondNoise ? "GROWS" : "no growth beyond noise"}`,
  ]);
  return markdownTable(["memory", "result"], rows);
}

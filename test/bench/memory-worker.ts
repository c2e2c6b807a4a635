/**
 * Memory of the pipeline in-process (run with --expose-gc; one JSON line out):
 *
 *   flows N            N concurrent TCP flows (SYNs within 1 s of packet time, none times out)
 *   evict N MAXFLOWS   N SYNs into a table of MAXFLOWS: evictions counted, no crash
 *   churn SECONDS X    steady churn for SECONDS of wall time, packet time running X× faster:
 *                      2,000 connections per packet-second (10 ms – 5 s long), DNS answers with new
 *                      names, UDP flows, a few unexpected destinations (alerts that later resolve);
 *                      daemon ticks every 250 ms of packet time; RSS and heap after GC every 5 s
 *
 * The stack is the replay one: decode → DNS → flows → learner → detectors → alert manager → alert
 * log (on /dev/null), with 50 containers from a synthetic inventory.
 */
import { openSync } from "node:fs";
import { Baseline } from "../../src/baseline/baseline.js";
import { validateConfig } from "../../src/config/load.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { buildEngine } from "../../src/engine/engine.js";
import { Inventory } from "../../src/inventory/inventory.js";
import { parseContainerInspect } from "../../src/inventory/parse-inspect.js";
import { createLogger } from "../../src/util/logger.js";
import { buildDns } from "../support/dns-builder.js";
import { Scenario } from "../support/scenario.js";

const T0 = Date.UTC(2026, 0, 1);
const CONTAINERS = 50;
const containerIp = (i: number): number => (172 << 24) | (30 << 16) | (1 << 8) | (10 + i);

function gcNow(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export interface MemSample {
  t: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  flows?: number;
  dnsEntries?: number;
  activeAlerts?: number;
  packetMinutes?: number;
}

function sample(t: number): MemSample {
  gcNow();
  const m = process.memoryUsage();
  return { t, rssMb: m.rss / 1048576, heapMb: m.heapUsed / 1048576, externalMb: m.external / 1048576 };
}

function stack(overrides: Record<string, unknown>) {
  const parsed = validateConfig({
    baseline: { learnForSeconds: 0 },
    policy: { egress: ["198.51.100.0/24", "203.0.113.0/24"], dnsResolvers: ["192.0.2.53"] },
    ...overrides,
  });
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const config: NetmonConfig = parsed.config;
  const s = new Scenario({ t0: T0, network: "bench_default", gateway: "172.30.0.1" });
  for (let i = 0; i < CONTAINERS; i++) {
    const ip = containerIp(i);
    s.container({
      name: `bench-app-${i}`,
      ip: `172.30.1.${ip & 0xff}`,
      project: "bench",
      service: `svc${i % 10}`,
      image: `bench/app${i % 10}:1`,
    });
  }
  const inventory = new Inventory();
  for (const item of s.inventory()) {
    const parsedItem = parseContainerInspect(item, new Map());
    if (parsedItem.ok) inventory.upsert({ ...parsedItem.value, imageLabels: null }, T0 - 60_000);
  }
  const log = createLogger("info", { fd: openSync("/dev/null", "w"), sync: true });
  const baseline = new Baseline(config.baseline.maxEntriesPerWorkload);
  const engine = buildEngine({ config, containers: inventory, baseline, log, logEvents: false });
  return { pipeline: engine.pipeline, detection: engine.detection, handler: engine.handlerFor("bench") };
}

/** Ethernet + IPv4 + TCP (no options), patched in place per packet; checksums are not needed here. */
class Frames {
  readonly tcp = Buffer.alloc(54);
  readonly udp = Buffer.alloc(14 + 20 + 8 + 512);

  constructor() {
    for (const b of [this.tcp, this.udp]) {
      b.writeUInt16BE(0x0800, 12);
      b[14] = 0x45;
      b[22] = 64;
    }
    this.tcp.writeUInt16BE(40, 16);
    this.tcp[23] = 6;
    this.tcp[46] = 5 << 4;
    this.udp[23] = 17;
  }

  setTcp(src: number, sport: number, dst: number, dport: number, flags: number): Buffer {
    const b = this.tcp;
    b.writeUInt32BE(src >>> 0, 26);
    b.writeUInt32BE(dst >>> 0, 30);
    b.writeUInt16BE(sport, 34);
    b.writeUInt16BE(dport, 36);
    b[47] = flags;
    return b;
  }

  /** A UDP datagram with `payload`; returns the frame length. */
  setUdp(src: number, sport: number, dst: number, dport: number, payload: Buffer): number {
    const b = this.udp;
    const len = Math.min(payload.length, 512);
    b.writeUInt16BE(20 + 8 + len, 16);
    b.writeUInt32BE(src >>> 0, 26);
    b.writeUInt32BE(dst >>> 0, 30);
    b.writeUInt16BE(sport, 34);
    b.writeUInt16BE(dport, 36);
    b.writeUInt16BE(8 + len, 38);
    payload.copy(b, 42, 0, len);
    return 42 + len;
  }
}

const SYN = 0x02;
const SYNACK = 0x12;
const FINACK = 0x11;
const ip4 = (a: number, b: number, c: number, d: number): number =>
  ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

function flows(n: number): object {
  const base = sample(0);
  const { pipeline, handler } = stack({});
  const afterSetup = sample(0);
  const f = new Frames();
  for (let i = 0; i < n; i++) {
    const c = i % CONTAINERS;
    const k = Math.floor(i / CONTAINERS);
    const dst = ip4(198, 51, 100, 1 + (k % 250));
    const b = f.setTcp(containerIp(c), 10_000 + (k % 50_000), dst, 443 + Math.floor(k / 50_000), SYN);
    handler(b, 0, 54, 54, T0 + (i * 900) / n, 1);
  }
  const after = sample(0);
  return {
    mode: "flows",
    flows: pipeline.tracker.size,
    stats: pipeline.tracker.stats(),
    baseline: base,
    afterSetup,
    after,
    bytesPerFlow: ((after.heapMb - afterSetup.heapMb) * 1048576) / Math.max(1, pipeline.tracker.size),
  };
}

function evict(n: number, maxFlows: number): object {
  const { pipeline, handler } = stack({ flows: { maxFlows } });
  const f = new Frames();
  for (let i = 0; i < n; i++) {
    const c = i % CONTAINERS;
    const k = Math.floor(i / CONTAINERS);
    const b = f.setTcp(containerIp(c), 10_000 + (k % 50_000), ip4(203, 0, 113, 1 + (k % 250)), 443, SYN);
    handler(b, 0, 54, 54, T0 + (i * 900) / n, 1);
  }
  const after = sample(0);
  return { mode: "evict", fed: n, maxFlows, stats: pipeline.tracker.stats(), after };
}

async function churn(seconds: number, speed: number): Promise<object> {
  const { pipeline, detection, handler } = stack({});
  const f = new Frames();
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const SLICE = 10;
  const RING = 600;
  const ends: { src: number; sport: number; dst: number; dport: number }[][] = Array.from(
    { length: RING },
    () => [],
  );
  const perSlice = 2000 / (1000 / SLICE);
  let packetTs = T0;
  let slice = 0;
  let nextTick = T0 + 250;
  let sport = 10_000;
  const dnsCache = new Map<number, Buffer>();
  const dnsAnswer = (name: number): Buffer => {
    let b = dnsCache.get(name % 2000);
    if (b === undefined) {
      b = Buffer.from(
        buildDns({
          id: 1,
          response: true,
          questions: [{ name: `h${name}.example.com`, type: 1 }],
          answers: [
            { name: `h${name}.example.com`, type: "A", ip: `198.51.100.${1 + (name % 250)}`, ttl: 120 },
          ],
        }),
      );
      dnsCache.set(name % 2000, b);
    }
    return b;
  };
  const samples: MemSample[] = [];
  const wall0 = Date.now();
  let packets = 0;
  const step = (): void => {
    const ts = packetTs;
    // New connections: mostly to allowed destinations; a few unexpected ones (new alert fingerprints).
    for (let i = 0; i < perSlice; i++) {
      const src = containerIp(Math.floor(rand() * CONTAINERS));
      sport = sport >= 60_000 ? 10_000 : sport + 1;
      const unexpected = rand() < 0.0025;
      const dst = unexpected
        ? ip4(192, 0, 2, 1 + Math.floor(rand() * 254))
        : rand() < 0.5
          ? ip4(198, 51, 100, 1 + Math.floor(rand() * 254))
          : ip4(203, 0, 113, 1 + Math.floor(rand() * 254));
      const dport = unexpected ? 1024 + Math.floor(rand() * 60_000) : [443, 80, 8080, 5432][i & 3]!;
      handler(f.setTcp(src, sport, dst, dport, SYN), 0, 54, 54, ts, 1);
      handler(f.setTcp(dst, dport, src, sport, SYNACK), 0, 54, 54, ts + 0.5, 1);
      packets += 2;
      const life = 1 + Math.floor(rand() * rand() * 500);
      ends[(slice + life) % RING]!.push({ src, sport, dst, dport });
    }
    for (const e of ends[slice % RING]!) {
      handler(f.setTcp(e.src, e.sport, e.dst, e.dport, FINACK), 0, 54, 54, ts + 1, 1);
      handler(f.setTcp(e.dst, e.dport, e.src, e.sport, FINACK), 0, 54, 54, ts + 2, 1);
      packets += 2;
    }
    ends[slice % RING] = [];
    // DNS answers (one per slice: 100/s) from the resolver, with names that keep changing.
    const client = containerIp(Math.floor(rand() * CONTAINERS));
    const len = f.setUdp(
      ip4(192, 0, 2, 53),
      53,
      client,
      30_000 + Math.floor(rand() * 20_000),
      dnsAnswer(slice),
    );
    handler(f.udp, 0, len, len, ts + 3, 1);
    // A UDP flow (statsd-like) every slice.
    const len2 = f.setUdp(client, 40_000 + (slice % 20_000), ip4(198, 51, 100, 77), 8125, dnsAnswer(1));
    handler(f.udp, 0, len2, len2, ts + 4, 1);
    packets += 2;
    slice++;
    packetTs += SLICE;
    if (packetTs >= nextTick) {
      pipeline.tick(packetTs);
      detection.tick(packetTs);
      nextTick += 250;
    }
  };
  const takeSample = (): void => {
    const s = sample((Date.now() - wall0) / 1000);
    s.flows = pipeline.tracker.size;
    s.dnsEntries = pipeline.dns.size;
    s.activeAlerts = detection.alerts.active().length;
    s.packetMinutes = (packetTs - T0) / 60_000;
    samples.push(s);
  };
  takeSample();
  let nextSample = wall0 + 5000;
  while (Date.now() - wall0 < seconds * 1000) {
    const target = T0 + (Date.now() - wall0) * speed;
    while (packetTs < target) step();
    if (Date.now() >= nextSample) {
      takeSample();
      nextSample += 5000;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  takeSample();
  return {
    mode: "churn",
    seconds,
    speed,
    packets,
    packetMinutes: (packetTs - T0) / 60_000,
    stats: pipeline.tracker.stats(),
    alerts: detection.alerts.stats(),
    samples,
  };
}

async function main(): Promise<void> {
  const [mode, a, b] = process.argv.slice(2);
  let result: object;
  if (mode === "flows") result = flows(Number(a ?? 100_000));
  else if (mode === "evict") result = evict(Number(a ?? 50_000), Number(b ?? 10_000));
  else if (mode === "churn") result = await churn(Number(a ?? 150), Number(b ?? 10));
  else {
    process.stderr.write("usage: memory-worker.js flows N | evict N MAXFLOWS | churn SECONDS SPEED\n");
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1]?.endsWith("memory-worker.js")) void main();

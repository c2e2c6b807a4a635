import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { DecodedPacket, PROTO_TCP, TCP_SYN } from "../../src/capture/packet.js";
import { parseConfigText } from "../../src/config/load.js";
import { buildEngine } from "../../src/engine/engine.js";
import { FlowTracker } from "../../src/flows/flow-tracker.js";
import { Inventory } from "../../src/inventory/inventory.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";

// FLOOD_EVENTS raises the count for a longer run; the suite uses 1M (a few seconds).
const EVENTS = Number(process.env.FLOOD_EVENTS ?? 1_000_000);
const T0 = Date.UTC(2026, 0, 1);

// A real collection before each heap reading, so garbage awaiting collection is not counted.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const WEB: ContainerRef = {
  id: "a".repeat(64),
  name: "web-1",
  image: "shop/web",
  service: "web",
  project: "shop",
};

function world() {
  const parsed = parseConfigText(
    "baseline:\n  learnForSeconds: 0\nalerts:\n  maxActive: 1000\n",
    "flood.yaml",
  );
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const inventory = new Inventory();
  inventory.upsert(
    {
      ref: WEB,
      imageId: "",
      labels: {},
      imageLabels: null,
      networks: [
        {
          networkName: "n",
          networkId: "",
          ipv4: "172.30.0.2",
          ipv6: null,
          mac: null,
          gateway: "172.30.0.1",
          bridge: "br-x",
        },
      ],
      pid: 1,
      exposedPorts: [],
      publishedPorts: [],
      startedAt: T0 - 1000,
      finishedAt: null,
      running: true,
    },
    T0 - 1000,
  );
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => lines.push(l) });
  const { detection } = buildEngine({
    config: parsed.config,
    containers: inventory,
    baseline: new Baseline(),
    log,
    logEvents: false,
  });
  return { detection, lines, config: parsed.config };
}

describe("floods", () => {
  // Compromised containers spraying a million destinations must not exhaust memory or the disk. One
  // container's sweep folds into its fan-out incident, so the flood comes from 30k workloads here
  // (each gets up to alerts.fanOutAfter alerts and a fan-out incident, far over alerts.maxActive):
  // enough incidents to reach alerts.maxActive and the log-line budget.
  it(`${EVENTS} unexpected connections in a burst: alerts, log lines and memory stay bounded`, () => {
    const { detection, lines, config } = world();
    const senders = Array.from({ length: 30_000 }, (_, n) => ({
      ...WEB,
      id: `flood${n}`,
      name: `flood-${n}`,
      image: `flood/w${n}:1`,
      service: null,
      project: null,
    }));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < EVENTS; i++) {
      const ev: ConnectionEvent = {
        kind: "connection",
        ts: T0 + i / 100, // 100k per second of packet time
        proto: "tcp",
        state: "attempt",
        src: { ip: "172.30.0.2", port: 10_000 + (i % 50_000), container: senders[i % senders.length]! },
        dst: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 443, container: null },
        direction: "outbound",
        packets: 1,
        iface: "br-x",
      };
      detection.onEvent(ev);
    }
    const stats = detection.alerts.stats();
    expect(detection.alerts.active().length).toBeLessThanOrEqual(config.alerts.maxActive);
    expect(stats.evicted).toBeGreaterThan(0);
    // Lines: the burst, the per-second budget over the flood's 10 s of packet time, and the summaries.
    const alertLines = lines.filter((l) => l.includes('"msg":"alert"')).length;
    const seconds = EVENTS / 100_000;
    expect(alertLines).toBeLessThanOrEqual(
      config.alerts.logLineBurst + Math.ceil(seconds * config.alerts.logLinesPerSecond) + 1,
    );
    const summaries = lines.filter((l) => l.includes("dropped by the log rate limit"));
    expect(summaries.length).toBeGreaterThan(0);
    // The heap does not grow with the number of events: what is left is the capped state.
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  }, 300_000);

  // The flow table evicts (and counts) instead of growing when a burst opens more flows than it holds.
  it(`${EVENTS} SYNs to distinct destinations: the flow table stays at its cap and counts evictions`, () => {
    const tracker = new FlowTracker(
      { maxFlows: 10_000, tcpUnansweredMs: 5000, tcpEstablishedIdleMs: 3_600_000, udpIdleMs: 30_000 },
      { lookup: () => null },
      () => {},
    );
    const p = new DecodedPacket();
    p.ipVersion = 4;
    p.proto = PROTO_TCP;
    p.tcpFlags = TCP_SYN;
    p.src[3] = 0xac1e0002;
    p.dstPort = 443;
    for (let i = 0; i < EVENTS; i++) {
      p.ts = T0 + i / 100;
      p.srcPort = 10_000 + (i % 50_000);
      p.dst[3] = (0x0a000000 + i) >>> 0;
      tracker.onPacket(p, "br-x");
      if (tracker.size > 10_000) throw new Error(`flow table above its cap at ${i}`);
    }
    expect(tracker.size).toBeLessThanOrEqual(10_000);
    expect(tracker.stats().evicted + tracker.stats().created - tracker.size).toBeGreaterThan(0);
    expect(tracker.stats().created).toBe(EVENTS);
  }, 120_000);
});

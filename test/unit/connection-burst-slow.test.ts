/**
 * connection-burst's long window (slowScanWindowMs): scans too slow for the 5 min window, counted
 * from failed attempts and attempts nothing allows, and checked on the detector's tick once a minute
 * of event time — so the result must not depend on where between packets a tick falls.
 */
import { describe, expect, it } from "vitest";
import { type ConnectionBurstOptions, connectionBurst } from "../../detectors/connection-burst.js";
import type { DetectorContext, DetectorInstance } from "../../src/model/detector-api.js";
import type { ConnectionEvent, ConnectionState } from "../../src/model/events.js";
import type { Finding } from "../../src/model/finding.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import { connectionEvent, containerRef } from "../support/fixtures.js";

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 60_000); // a minute boundary
const SEC = 1_000;
const MIN = 60_000;
const WEB = containerRef("web-1", { image: "web:1", service: "web", project: "p" });

/** Destinations on 198.18.0.9 are allowed (by label); everything else is allowed by nothing. */
const ctx: DetectorContext = fakeDetectorContext({
  egress: (_c, d) => ({ allowedBy: d.ip === "198.18.0.9" ? "label" : null, denylisted: false }),
});

function detector(opts: Partial<ConnectionBurstOptions> = {}): DetectorInstance {
  return connectionBurst.create(connectionBurst.options.parse(opts), ctx);
}

let sport = 30_000;
function conn(state: ConnectionState, ts: number, ip: string, port: number): ConnectionEvent {
  return connectionEvent({
    ts,
    state,
    from: WEB,
    srcPort: sport,
    ip,
    port,
    packets: 2,
    iface: "br-test",
    durationMs: state === "attempt" ? undefined : 3,
  });
}

/** One probe: the attempt, then its refusal (or, when `open`, acceptance and a close). */
function probe(ts: number, ip: string, port: number, open = false): ConnectionEvent[] {
  sport++;
  if (open)
    return [
      conn("attempt", ts, ip, port),
      conn("accepted", ts + 1, ip, port),
      conn("closed", ts + 3000, ip, port),
    ];
  return [conn("attempt", ts, ip, port), conn("rejected", ts + 2, ip, port)];
}

interface Run {
  fromEvents: Finding[];
  fromTicks: Finding[];
}

/** Feeds events in time order, ticking at `tickAt(ts)` for every event (if given) and each second. */
function run(d: DetectorInstance, events: ConnectionEvent[], phaseMs: number): Run {
  const out: Run = { fromEvents: [], fromTicks: [] };
  let nextTick = T0 + phaseMs;
  for (const ev of events.sort((a, b) => a.ts - b.ts)) {
    while (nextTick <= ev.ts) {
      out.fromTicks.push(...(d.onTick?.(nextTick) ?? []));
      nextTick += SEC;
    }
    out.fromEvents.push(...d.onEvent(ev));
  }
  const end = (events.at(-1)?.ts ?? T0) + 2 * MIN;
  for (; nextTick <= end; nextTick += SEC) out.fromTicks.push(...(d.onTick?.(nextTick) ?? []));
  return out;
}

/** 40 refused ports of one host, one every 75 s (4 in any 5 min). */
function slowPortScan(ip = "198.18.0.5"): ConnectionEvent[] {
  return Array.from({ length: 40 }, (_, i) => probe(T0 + 10 * SEC + i * 75 * SEC, ip, 1000 + i)).flat();
}

describe("connection-burst: slow scans (long window, on tick)", () => {
  it("finds a port scan too slow for the short window, on a tick, once per 30 ports", () => {
    const r = run(detector(), slowPortScan(), 0);
    expect(r.fromEvents).toEqual([]);
    expect(r.fromTicks).toHaveLength(1);
    const f = r.fromTicks[0]!;
    expect(f).toMatchObject({
      kind: "port-scan",
      key: "port-scan:198.18.0.5",
      details: { shape: "port-scan", count: 30, slow: true, windowMs: 3_600_000 },
    });
    expect(f.summary).toBe("web-1 ran a slow port scan of 198.18.0.5: 30 ports, 0 open, in 1 h");
    // The 30th refusal came at 10 s + 29 × 75 s; the finding carries that event time.
    expect(f.ts).toBe(T0 + 10 * SEC + 29 * 75 * SEC + 2);
  });

  it("finds the same thing whatever the phase of the ticks", () => {
    const base = run(detector(), slowPortScan(), 0).fromTicks;
    for (const phase of [1, 250, 999]) {
      const other = run(detector(), slowPortScan(), phase).fromTicks;
      expect(other.map((f) => [f.ts, f.key, f.details])).toEqual(base.map((f) => [f.ts, f.key, f.details]));
    }
  });

  it("does not count attempts the policy allows when they succeed", () => {
    // A client of a host with many allowed services: 60 ports of 198.18.0.9 in an hour, all answered.
    const events = Array.from({ length: 60 }, (_, i) =>
      probe(T0 + i * MIN, "198.18.0.9", 2000 + i, true),
    ).flat();
    expect(run(detector(), events, 0).fromTicks).toEqual([]);
  });

  it("counts failed attempts even to an allowed host", () => {
    const r = run(detector(), slowPortScan("198.18.0.9"), 0);
    expect(r.fromTicks.map((f) => f.key)).toEqual(["port-scan:198.18.0.9"]);
  });

  it("finds a slow sweep of one port over many hosts", () => {
    const events = Array.from({ length: 55 }, (_, i) => probe(T0 + i * MIN, `198.18.1.${i + 1}`, 22)).flat();
    const r = run(detector(), events, 0);
    expect(r.fromEvents).toEqual([]);
    expect(r.fromTicks.map((f) => [f.kind, f.key, f.details?.count])).toEqual([
      ["host-scan", "host-scan:22/tcp", 50],
    ]);
  });

  it("forgets targets older than the window", () => {
    // 20 ports, an hour and a half of silence, 20 more: never 30 within one hour.
    const first = Array.from({ length: 20 }, (_, i) => probe(T0 + i * MIN, "198.18.0.5", 1000 + i)).flat();
    const later = Array.from({ length: 20 }, (_, i) =>
      probe(T0 + 110 * MIN + i * MIN, "198.18.0.5", 3000 + i),
    ).flat();
    expect(run(detector(), [...first, ...later], 0).fromTicks).toEqual([]);
  });

  it("a scan the short window reports is not reported again by the long one", () => {
    // 20 refused ports in 20 s: the short window's port-scan; the long window stays quiet about it.
    const events = Array.from({ length: 20 }, (_, i) => probe(T0 + i * SEC, "198.18.0.5", 1000 + i)).flat();
    const r = run(detector({ slowPortScanThreshold: 16 }), events, 0);
    expect(r.fromEvents.map((f) => f.key)).toEqual(["port-scan:198.18.0.5"]);
    expect(r.fromTicks).toEqual([]);
  });

  it("bounds its memory: tallies per container and containers tallied", () => {
    const d = detector({ maxTargetsPerContainer: 50, maxTrackedContainers: 10, portScanThreshold: 0 });
    for (let i = 0; i < 500; i++)
      d.onEvent(conn("rejected", T0 + i, `10.1.${i >> 8}.${i & 255}`, 1 + (i % 40)));
    for (let c = 0; c < 30; c++)
      d.onEvent({
        ...conn("rejected", T0 + 1000 + c, "10.2.0.1", 80),
        src: { ip: "172.18.0.9", port: 1, container: containerRef(`c-${c}`) },
      });
    expect(d.status()).toMatch(/slow-scan tallies for 10 containers, 21 evictions$/);
    // An hour of quiet later, the tick forgets them all.
    d.onTick?.(T0 + 2 * 60 * MIN);
    expect(d.status()).toMatch(/slow-scan tallies for 0 containers, 21 evictions$/);
  });

  it("slowScanWindowMs 0 turns it off", () => {
    expect(run(detector({ slowScanWindowMs: 0 }), slowPortScan(), 0).fromTicks).toEqual([]);
  });
});

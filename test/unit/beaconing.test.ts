import { describe, expect, it } from "vitest";
import { type BeaconingDetails, type BeaconingOptions, beaconing } from "../../detectors/beaconing.js";
import type { DetectorContext, DetectorInstance } from "../../src/model/detector-api.js";
import type { ConnectionState, ContainerRef } from "../../src/model/events.js";
import type { Finding } from "../../src/model/finding.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import { connectionEvent, containerRef } from "../support/fixtures.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const MIN = 60_000;
const web = containerRef("shop-web-1");
const db = containerRef("shop-db-1");

function detector(o: Partial<BeaconingOptions> = {}, ctx: Partial<DetectorContext> = {}): DetectorInstance {
  return beaconing.create(beaconing.options.parse(o), fakeDetectorContext(ctx));
}

interface Conn {
  start: number;
  durationMs?: number;
  state?: ConnectionState;
  ip?: string;
  to?: ContainerRef | null;
}

/** Feeds connections (as their end events: closed at start + duration) and collects the findings. */
function feed(d: DetectorInstance, conns: Conn[]): Finding[] {
  const out: Finding[] = [];
  for (const c of conns) {
    const durationMs = c.durationMs ?? 1_500;
    const ev = connectionEvent({
      state: c.state ?? "closed",
      from: web,
      to: c.to ?? null,
      ip: c.ip ?? "198.51.100.23",
      port: 4444,
      ts: c.start + durationMs,
    });
    ev.durationMs = durationMs;
    out.push(...d.onEvent(ev));
  }
  return out;
}

/** Beats every `interval` ms from T0, with a per-beat offset (jitter) in percent of the interval. */
function beats(count: number, interval = MIN, jitterPct: readonly number[] = [0]): Conn[] {
  return Array.from({ length: count }, (_, i) => ({
    start: T0 + i * interval + Math.round((interval * jitterPct[i % jitterPct.length]!) / 100),
  }));
}

const JITTER = [0, 2, -1, 3, -2, 1, -3, 2, 0, -1, 3, -2];

/** A deterministic PRNG (LCG), so the negative cases are the same every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("beaconing", () => {
  it("finds a 60 s beacon with a few percent of jitter, once, critical when nothing allows it", () => {
    const findings = feed(detector(), beats(12, MIN, JITTER));
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f).toMatchObject({ detector: "beaconing", kind: "beacon", severity: "critical" });
    expect(f.key).toBe("198.51.100.23:4444/tcp");
    expect(f.summary).toMatch(
      /^shop-web-1 beacons to 198\.51\.100\.23:4444\/tcp every (59(\.\d)? s|1 min( \d s)?) \(±\d %\), 6 connections over 5 min( \d+ s)?, score 0\.9\d; nothing allows the destination$/,
    );
    const details = f.details as unknown as BeaconingDetails;
    expect(details.connections).toBe(6);
    expect(details.score).toBeGreaterThanOrEqual(0.85);
  });

  it("counts missed beats (gaps of 2× and 3× the interval) as beats that did not happen", () => {
    const kept = beats(16).filter((_, i) => i !== 3 && i !== 7 && i !== 8);
    const f = feed(detector({ minConnections: 10 }), kept);
    expect(f).toHaveLength(1);
    expect(f[0]!.details).toMatchObject({ intervalMs: MIN, missedBeats: 3 });
  });

  it("ignores failed retries and merges a retry or a second connection into its beat", () => {
    const conns: Conn[] = [];
    for (const b of beats(8)) {
      conns.push({ start: b.start, state: "rejected", durationMs: 1 });
      conns.push({ start: b.start + 1_000 });
      conns.push({ start: b.start + 1_300, durationMs: 200 });
    }
    const f = feed(detector(), conns);
    expect(f).toHaveLength(1);
    expect(f[0]!.details).toMatchObject({ intervalMs: MIN, connections: 6, medianDurationMs: 1_500 });
  });

  it("never counts refused or unanswered connections as beats", () => {
    const failed = beats(20).flatMap((b) => [
      { ...b, state: "rejected" as const, durationMs: 1 },
      { start: b.start + 30_000, state: "unanswered" as const, durationMs: 3_000 },
    ]);
    expect(feed(detector(), failed)).toEqual([]);
  });

  it("is silent below the minimum number of beats or span", () => {
    expect(feed(detector(), beats(5))).toEqual([]);
    expect(feed(detector(), beats(30, 5_000))).toEqual([]); // 30 beats, but 2.4 min
  });

  it("stays silent on irregular traffic: random arrivals, even with constant durations", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = random(seed);
      let t = T0;
      const conns: Conn[] = [];
      for (let i = 0; i < 40; i++) {
        conns.push({ start: t, durationMs: 800 + Math.round(r() * 100) });
        t += 3_000 - Math.log(1 - r()) * 40_000;
      }
      expect(feed(detector(), conns), `seed ${seed}`).toEqual([]);
    }
  });

  it("keeps scoring while the workload learns and reports at the first beat once it is monitored", () => {
    const learnUntil = T0 + 10 * MIN;
    const d = detector(
      {},
      {
        modeOf: (_c, ts) => (ts < learnUntil ? "learn" : "monitor"),
        egress: () => ({ allowedBy: "baseline", denylisted: false }),
      },
    );
    const findings = feed(d, beats(14, MIN, JITTER));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.ts).toBeGreaterThanOrEqual(learnUntil);
    expect(findings[0]!.severity).toBe("critical");
    expect(findings[0]!.summary).toContain("allowed by the learned baseline only");
  });

  it("never reports a workload in mode off", () => {
    expect(feed(detector({}, { modeOf: () => "off" }), beats(12))).toEqual([]);
  });

  it("reports explicitly allowed and internal destinations only with reportAllowed, at info", () => {
    const label = { egress: () => ({ allowedBy: "label" as const, denylisted: false }) };
    expect(feed(detector({}, label), beats(12))).toEqual([]);
    const shown = feed(detector({ reportAllowed: true }, label), beats(12));
    expect(shown.map((f) => f.severity)).toEqual(["info"]);
    const internal = beats(12).map((b) => ({ ...b, to: db, ip: "172.18.0.3" }));
    expect(feed(detector(), internal)).toEqual([]);
    const internalShown = feed(detector({ reportAllowed: true }), internal);
    expect(internalShown.map((f) => [f.severity, f.key])).toEqual([["info", "shop-db-1:4444/tcp"]]);
  });

  it("a denylisted destination is critical even when a rule allows it", () => {
    const d = detector({}, { egress: () => ({ allowedBy: "config", denylisted: true }) });
    expect(feed(d, beats(8)).map((f) => f.severity)).toEqual(["critical"]);
  });

  it("bounds the pairs it tracks and counts evictions", () => {
    const d = detector({ maxPairs: 2 });
    for (const ip of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) feed(d, [{ start: T0, ip }]);
    expect(d.status()).toContain("tracking 2 destination pairs, 1 evictions");
  });
});

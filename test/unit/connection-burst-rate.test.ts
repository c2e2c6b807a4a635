/**
 * connection-burst against what is normal: short or failed connections to an ALLOWED destination are
 * judged by rate (bruteForceFloor within bruteForceWindowMs AND more than bruteForceRateMultiple × the
 * p99 of that workload and destination's 10 s counts over the last hour), as 10 s buckets close on the
 * detector's tick; and scan shapes that ignore successful attempts to allowed destinations.
 */
import { describe, expect, it } from "vitest";
import { type ConnectionBurstOptions, connectionBurst } from "../../detectors/connection-burst.js";
import { RateProfiles } from "../../src/counting/rate-profiles.js";
import type { DetectorContext, DetectorInstance } from "../../src/model/detector-api.js";
import type { ConnectionEvent, ConnectionState, ContainerRef } from "../../src/model/events.js";
import type { Finding } from "../../src/model/finding.js";
import type { Mode } from "../../src/model/mode.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import { connectionEvent, containerRef } from "../support/fixtures.js";

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 60_000); // a minute boundary
const SEC = 1_000;
const MIN = 60_000;
const WEB = containerRef("web-1", { image: "shop/web:1", service: "web", project: "shop" });
const DB = containerRef("db-1", { image: "postgres:16", service: "db", project: "shop" });
const DB_IP = "172.30.0.3";

/** Everything on 172.30.0.0/16 and the object store's addresses is allowed; the rest is not. */
function context(modes: Record<string, Mode> = {}, rateProfiles?: RateProfiles): DetectorContext {
  return fakeDetectorContext({
    workloadOf: (c) => (c.project && c.service ? `${c.project}/${c.service}` : c.name),
    modeOf: (c) => modes[c.name] ?? "monitor",
    egress: (_c, d) => ({
      allowedBy: d.ip.startsWith("172.30.") || d.ip.startsWith("52.") ? "label" : null,
      denylisted: false,
    }),
    ...(rateProfiles === undefined ? {} : { rateProfiles }),
  });
}

function detector(opts: Partial<ConnectionBurstOptions> = {}, ctx = context()): DetectorInstance {
  return connectionBurst.create(connectionBurst.options.parse(opts), ctx);
}

let sport = 40_000;
function ev(
  state: ConnectionState,
  ts: number,
  o: { from?: ContainerRef; ip?: string; port?: number; to?: ContainerRef | null; names?: string[] } = {},
  sp = sport,
): ConnectionEvent {
  return connectionEvent({
    ts,
    state,
    from: o.from ?? WEB,
    to: o.to === undefined ? (o.ip === undefined ? DB : null) : o.to,
    srcPort: sp,
    ip: o.ip ?? DB_IP,
    port: o.port ?? 5432,
    packets: 2,
    iface: "br-test",
    durationMs: state === "attempt" ? undefined : 20,
    ...(o.names === undefined ? {} : { names: o.names }),
  });
}

/** One connection: its attempt and its outcome (closed 20 ms later, or refused). */
function conn(
  ts: number,
  outcome: "closed" | "rejected" = "closed",
  o: Parameters<typeof ev>[2] = {},
): ConnectionEvent[] {
  const sp = sport++;
  return [ev("attempt", ts, o, sp), ev(outcome, ts + 20, o, sp)];
}

/** `n` connections evenly over [from, from + spanMs). */
function spread(
  n: number,
  from: number,
  spanMs: number,
  o: Parameters<typeof ev>[2] = {},
): ConnectionEvent[] {
  return Array.from({ length: n }, (_, i) => conn(from + Math.floor((i * spanMs) / n), "closed", o)).flat();
}

/** Feeds events in time order with a tick every second (starting at `phaseMs`), then 1 min more. */
function run(d: DetectorInstance, events: ConnectionEvent[], phaseMs = 0): Finding[] {
  const out: Finding[] = [];
  let nextTick = T0 + phaseMs;
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    while (nextTick <= e.ts) {
      out.push(...(d.onTick?.(nextTick) ?? []));
      nextTick += SEC;
    }
    out.push(...d.onEvent(e));
  }
  const end = (events.at(-1)?.ts ?? T0) + MIN;
  for (; nextTick <= end; nextTick += SEC) out.push(...(d.onTick?.(nextTick) ?? []));
  return out;
}

const shapes = (found: Finding[]) => found.map((f) => `${f.kind}@${f.key}`);

/** web polls the database about once every 3 s for `minutes`. */
const polling = (minutes: number) => spread(minutes * 20, T0, minutes * MIN);

describe("connection-burst: brute force against an allowed destination, by rate", () => {
  it("fires when the database traffic jumps from one connection every 3 s to twenty a second", () => {
    const attack = spread(400, T0 + 5 * MIN, 20 * SEC);
    const found = run(detector(), [...polling(5), ...attack]);
    expect(shapes(found)).toEqual(["brute-force@brute-force:shop/db:5432/tcp"]);
    const f = found[0]!;
    expect(f.dst).toEqual({ ip: DB_IP, port: 5432, proto: "tcp" });
    expect(f.summary).toMatch(
      /^web-1 ran a brute force against db-1 \[172\.30\.0\.3\]:5432\/tcp: \d+ failed or short connections in 20 s, normal/,
    );
    expect(f.details).toMatchObject({
      shape: "brute-force",
      windowMs: 20_000,
      targets: ["shop/db:5432/tcp"],
    });
    expect((f.details as { normalPer10s: number }).normalPer10s).toBeLessThanOrEqual(5);
    // Found at the bucket boundary that closed the window, inside the attack or right after it.
    expect(f.ts).toBeGreaterThan(T0 + 5 * MIN);
    expect(f.ts).toBeLessThanOrEqual(T0 + 5 * MIN + 40 * SEC);
  });

  it("fires on 200 short connections in 3 s (a burst inside one window)", () => {
    const found = run(detector(), [...polling(3), ...spread(200, T0 + 3 * MIN + 4 * SEC, 3 * SEC)]);
    expect(shapes(found)).toEqual(["brute-force@brute-force:shop/db:5432/tcp"]);
  });

  it("fires on refused connections just the same (failed logins, a guessing tool)", () => {
    const refused = Array.from({ length: 300 }, (_, i) => conn(T0 + 4 * MIN + i * 50, "rejected")).flat();
    const found = run(detector({ burstCapacity: 0 }), [...polling(4), ...refused]);
    expect(shapes(found)).toContain("brute-force@brute-force:shop/db:5432/tcp");
  });

  it("finds the same whatever the phase of the ticks", () => {
    const events = [...polling(5), ...spread(400, T0 + 5 * MIN + 3 * SEC, 20 * SEC)];
    const at = (phase: number) => run(detector(), events, phase).map((f) => [f.ts, f.summary]);
    const first = at(0);
    // 20 s starting 3 s into a bucket spans three: reported at the first, and with the next full window.
    expect(first).toHaveLength(2);
    for (const phase of [1, 250, 999]) expect(at(phase)).toEqual(first);
  });

  it("stays silent for a client that has always made 30 short requests a second", () => {
    const steady = spread(30 * 60 * 10, T0, 10 * MIN);
    expect(run(detector(), steady)).toEqual([]);
  });

  it("stays silent below the floor: a quiet client going to two a second", () => {
    // 40 in a 20 s window: far above its normal, but under bruteForceFloor (50).
    const found = run(detector(), [...polling(4), ...spread(80, T0 + 4 * MIN, 40 * SEC)]);
    expect(found).toEqual([]);
  });

  it("stays silent under the multiple: a busy client doubling its rate", () => {
    // Normally 10 per 10 s (p99 about 10), now 25 per 10 s: 50 in 20 s, ≤ 5 × 10 × 2.
    const busy = spread(600, T0, 10 * MIN);
    const doubled = spread(150, T0 + 10 * MIN, MIN);
    expect(run(detector(), [...busy, ...doubled])).toEqual([]);
  });

  it("does not judge a workload in its warm-up, whose rates are being learned", () => {
    // The first connection of web is at 0; the jump at 60 s is inside the 120 s warm-up.
    const found = run(detector(), [...polling(1), ...spread(400, T0 + MIN, 20 * SEC), ...polling(3)]);
    expect(found).toEqual([]);
  });

  it("counts the warm-up from the workload's first connection of any kind", () => {
    // web only holds a long-lived pool open for 3 min (no short connection), then floods the database.
    const pool = [ev("attempt", T0, {}, sport++)];
    const found = run(detector(), [...pool, ...spread(400, T0 + 3 * MIN, 20 * SEC)]);
    expect(shapes(found)).toEqual(["brute-force@brute-force:shop/db:5432/tcp"]);
  });

  it("reports a sustained attack once per window and never learns it as normal", () => {
    const attack = spread(20 * 60 * 10, T0 + 5 * MIN, 10 * MIN);
    const found = run(detector(), [...polling(5), ...attack]);
    // 10 min of attack = 30 windows of 20 s; the first may straddle the start.
    expect(found.length).toBeGreaterThanOrEqual(28);
    expect(found.length).toBeLessThanOrEqual(31);
    expect(new Set(found.map((f) => f.key))).toEqual(new Set(["brute-force:shop/db:5432/tcp"]));
    // Still "normal at most a few per 10 s" at the end: the attack was not learned.
    expect((found.at(-1)!.details as { normalPer10s: number }).normalPer10s).toBeLessThanOrEqual(5);
  });

  it("keys a destination container by its workload: a restart on a new IP keeps the profile", () => {
    const before = polling(5);
    const attack = spread(400, T0 + 5 * MIN, 20 * SEC, { ip: "172.30.0.33", to: DB });
    expect(shapes(run(detector(), [...before, ...attack]))).toEqual([
      "brute-force@brute-force:shop/db:5432/tcp",
    ]);
  });

  it("keys an external destination by the DNS name the client used: rotating addresses are one profile", () => {
    // An object store: one short request every 100 ms, each to one of 50 rotating addresses.
    const store = Array.from({ length: 6_000 }, (_, i) =>
      conn(T0 + i * 100, "closed", {
        ip: `52.0.0.${i % 50}`,
        port: 443,
        to: null,
        names: ["bucket.s3.example"],
      }),
    ).flat();
    const d = detector();
    expect(run(d, store)).toEqual([]);
    expect(d.status()).toMatch(/; 1 rate profiles,/);
  });

  it("raises nothing for a workload that is off, and fires while it learns", () => {
    const events = [...polling(5), ...spread(400, T0 + 5 * MIN, 20 * SEC)];
    expect(run(detector({}, context({ "web-1": "off" })), events)).toEqual([]);
    expect(shapes(run(detector({}, context({ "web-1": "learn" })), events))).toEqual([
      "brute-force@brute-force:shop/db:5432/tcp",
    ]);
  });

  it("bruteForceFloor 0 turns the rate check off", () => {
    const events = [...polling(5), ...spread(400, T0 + 5 * MIN, 20 * SEC)];
    const d = detector({ bruteForceFloor: 0 });
    expect(run(d, events)).toEqual([]);
    expect(d.status()).not.toMatch(/rate profiles/);
  });

  it("learns in the engine's store when the context has one: a new detector (SIGHUP) keeps it", () => {
    const store = new RateProfiles();
    run(detector({}, context({}, store)), polling(5));
    expect(store.size).toBe(1);
    const again = detector({}, context({}, store));
    const found = run(again, spread(400, T0 + 6 * MIN, 20 * SEC));
    expect(shapes(found)).toEqual(["brute-force@brute-force:shop/db:5432/tcp"]);
  });

  it("keeps the absolute rule for destinations nothing allows", () => {
    const ssh = Array.from({ length: 30 }, (_, i) =>
      conn(T0 + i * 500, "closed", { ip: "203.0.113.22", port: 22, to: null }),
    ).flat();
    expect(shapes(run(detector(), ssh))).toEqual(["brute-force@brute-force:203.0.113.22:22/tcp"]);
  });
});

describe("connection-burst: scans ignore successful attempts to allowed destinations", () => {
  it("a monitoring prober checking 60 allowed targets every 15 s raises nothing", () => {
    const probes: ConnectionEvent[] = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 60; i++) {
        probes.push(
          ...conn(T0 + round * 15 * SEC + i * 100, "closed", {
            ip: `172.30.1.${i + 10}`,
            port: 9100,
            to: null,
          }),
        );
      }
    }
    const d = detector();
    expect(run(d, probes)).toEqual([]);
  });

  it("the same sweep on addresses nothing allows is a host-scan", () => {
    const sweep = Array.from({ length: 60 }, (_, i) =>
      conn(T0 + i * 100, "closed", { ip: `198.18.1.${i + 10}`, port: 9100, to: null }),
    ).flat();
    expect(shapes(run(detector(), sweep))).toContain("host-scan@host-scan:9100/tcp");
  });

  it("failed attempts to an allowed host still make a port-scan, each port counted once", () => {
    const refused = Array.from({ length: 30 }, (_, i) =>
      conn(T0 + i * 200, "rejected", { port: 1000 + i }),
    ).flat();
    expect(shapes(run(detector({ burstCapacity: 0 }), refused))).toEqual([
      "port-scan@port-scan:172.30.0.3",
      "port-scan@port-scan:172.30.0.3",
    ]);
  });

  it("scanCounts failures ignores even attempts nothing allows when they succeed", () => {
    const sweep = Array.from({ length: 60 }, (_, i) =>
      conn(T0 + i * 100, "closed", { ip: `198.18.1.${i + 10}`, port: 9100, to: null }),
    ).flat();
    expect(shapes(run(detector({ scanCounts: "failures" }), sweep))).not.toContain(
      "host-scan@host-scan:9100/tcp",
    );
  });
});

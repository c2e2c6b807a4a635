import { describe, expect, it } from "vitest";
import { type ConnectionBurstOptions, connectionBurst } from "../../detectors/connection-burst.js";
import { type DetectorContext, type DetectorInstance, NO_FINDINGS } from "../../src/model/detector-api.js";
import type { ConnectionEvent, ConnectionState, ContainerRef, Proto } from "../../src/model/events.js";
import type { Finding } from "../../src/model/finding.js";
import type { Mode } from "../../src/model/mode.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import { connectionEvent, containerRef } from "../support/fixtures.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const SEC = 1_000;
const MIN = 60_000;

function ref(name: string): ContainerRef {
  return containerRef(name, { image: `${name}:latest`, service: name, project: "proj" });
}

const WEB = ref("web-1");
const API = ref("api-1");
const LEARNER = ref("learner-1");
const OFF = ref("off-1");

/** Fake context: modes by container name (monitor unless listed); the workload is the container name. */
function fakeContext(
  modes: Record<string, Mode> = { "learner-1": "learn", "off-1": "off" },
): DetectorContext {
  return fakeDetectorContext({ modeOf: (c) => modes[c.name] ?? "monitor" });
}

interface EvOpts {
  from?: ContainerRef | null;
  ip?: string;
  port?: number;
  proto?: Proto;
  durationMs?: number;
  sport?: number;
}

let nextSport = 40_000;

function conn(state: ConnectionState, ts: number, o: EvOpts = {}): ConnectionEvent {
  return connectionEvent({
    ts,
    proto: o.proto,
    state,
    from: o.from === undefined ? WEB : o.from,
    srcPort: o.sport ?? nextSport++,
    ip: o.ip ?? "198.18.0.5",
    port: o.port ?? 80,
    packets: 2,
    iface: "br-test",
    durationMs: state === "attempt" ? undefined : (o.durationMs ?? 5),
  });
}

/** A whole connection as the flow tracker reports it: attempt then its outcome. */
function connection(
  outcome: "rejected" | "unanswered" | "closed",
  ts: number,
  o: EvOpts = {},
): ConnectionEvent[] {
  const sport = o.sport ?? nextSport++;
  const dur = o.durationMs ?? 5;
  const first = conn("attempt", ts, { ...o, sport });
  if (outcome === "closed") {
    return [
      first,
      conn("accepted", ts + 1, { ...o, sport, durationMs: 1 }),
      conn("closed", ts + dur, { ...o, sport }),
    ];
  }
  return [first, conn(outcome, ts + dur, { ...o, sport })];
}

function detector(opts: Partial<ConnectionBurstOptions> = {}, ctx = fakeContext()): DetectorInstance {
  return connectionBurst.create(connectionBurst.options.parse(opts), ctx);
}

/** Feeds events in order and returns every finding. */
function run(d: DetectorInstance, events: ConnectionEvent[]): Finding[] {
  const out: Finding[] = [];
  for (const ev of events) out.push(...d.onEvent(ev));
  return out;
}

function shapes(findings: Finding[]): string[] {
  return findings.map((f) => `${f.details?.shape}@${f.key}`);
}

/** n connections spread evenly over `spanMs`, with `each(i)` choosing the target. */
function series(
  n: number,
  spanMs: number,
  outcome: "rejected" | "unanswered" | "closed",
  each: (i: number) => EvOpts = () => ({}),
): ConnectionEvent[] {
  const step = n > 1 ? spanMs / (n - 1) : 0;
  const evs: ConnectionEvent[] = [];
  for (let i = 0; i < n; i++) evs.push(...connection(outcome, T0 + Math.round(i * step), each(i)));
  return evs.sort((a, b) => a.ts - b.ts);
}

/** A different host and a different port per connection: no scan or brute-force shape, only burst. */
const scattered = (i: number): EvOpts => ({ ip: `10.3.${i >> 8}.${i & 255}`, port: 1000 + i });

describe("connection-burst: shapes", () => {
  const cases: Array<{
    name: string;
    opts?: Partial<ConnectionBurstOptions>;
    events: () => ConnectionEvent[];
    want: string[];
  }> = [
    // Leaky bucket overflows once, then is emptied; the rest of the burst does not refill it.
    {
      name: "100 short closed in 5 s → one burst",
      events: () => series(100, 5 * SEC, "closed", scattered),
      want: ["burst@burst"],
    },
    // 100 over 10 min is one per 6 s, far below the 5/s leak.
    {
      name: "100 short closed over 10 min → nothing",
      events: () => series(100, 10 * MIN, "closed", scattered),
      want: [],
    },
    // Short connections to ONE ip:port are bad too: a client without connection reuse at ≥ 30 per window
    // looks like a brute-force (the price of counting fast auth failures; shortMs: 0 turns it off).
    {
      name: "100 short closed to one ip:port over 10 min → brute-force at 30, 60, 90",
      events: () => series(100, 10 * MIN, "closed", () => ({ port: 3306 })),
      want: Array(3).fill("brute-force@brute-force:198.18.0.5:3306/tcp"),
    },
    // With shortMs 0 only refused or unanswered connections count.
    {
      name: "shortMs 0: 100 short closed to one ip:port in 5 s → nothing",
      opts: { shortMs: 0 },
      events: () => series(100, 5 * SEC, "closed", () => ({ port: 3306 })),
      want: [],
    },
    // Connections that lived ≥ shortMs are normal traffic whatever their number.
    {
      name: "100 long-lived closed in 5 s → nothing",
      events: () => series(100, 5 * SEC, "closed", (i) => ({ ...scattered(i), durationMs: 1_000 })),
      want: [],
    },
    // Rejected connections to many ports are both a burst and (at the 15th port) a port-scan.
    {
      name: "60 rejected on 60 ports in 6 s → port-scan ×4, no burst (10/s only nets 5/s)",
      events: () => series(60, 6 * SEC, "rejected", (i) => ({ port: 1 + i })),
      want: Array(4).fill("port-scan@port-scan:198.18.0.5"),
    },
    // 15 distinct ports on one host within 1 min: a vertical scan (accepted or not).
    {
      name: "15 ports on one host in 1 min → port-scan",
      events: () => series(15, MIN, "closed", (i) => ({ port: 1000 + i, durationMs: 5_000 })),
      want: ["port-scan@port-scan:198.18.0.5"],
    },
    // One port short of the threshold.
    {
      name: "14 ports in 1 min → nothing",
      events: () => series(14, MIN, "rejected", (i) => ({ port: 1000 + i })),
      want: [],
    },
    // 15 ports over 10 min: never more than 8 in any 5-min window.
    {
      name: "15 ports over 10 min → nothing",
      events: () => series(15, 10 * MIN, "rejected", (i) => ({ port: 1000 + i })),
      want: [],
    },
    // The same port attempted again and again is one target, not a scan.
    {
      name: "40 attempts to one port (long-lived) → nothing",
      events: () => series(40, MIN, "closed", () => ({ durationMs: 10_000 })),
      want: [],
    },
    // 25 hosts on port 22: a horizontal sweep.
    {
      name: "25 hosts on one port → host-scan",
      events: () =>
        series(25, MIN, "unanswered", (i) => ({ ip: `10.9.0.${i + 1}`, port: 22, durationMs: 5_000 })),
      want: ["host-scan@host-scan:22/tcp"],
    },
    // 30 refused connections to one ip:port: a brute-force (and, being fast, not a burst: 30 < 50).
    {
      name: "30 rejected to one ip:port → brute-force",
      events: () => series(30, MIN, "rejected", () => ({ port: 5432 })),
      want: ["brute-force@brute-force:198.18.0.5:5432/tcp"],
    },
    // 29 is one short.
    { name: "29 rejected to one ip:port → nothing", events: () => series(29, MIN, "rejected"), want: [] },
    // A client of a 30-host web farm, one new long-lived connection every 30 s: at most 10 hosts per window.
    {
      name: "web farm, 30 hosts spread over 15 min → nothing",
      events: () =>
        series(30, 15 * MIN, "closed", (i) => ({ ip: `10.20.0.${i + 1}`, port: 443, durationMs: 10 * MIN })),
      want: [],
    },
    // The same web farm hit within a minute, when nothing allows it, IS a host-scan by default (the
    // fake context allows nothing; an allowed farm is in connection-burst-rate.test.ts)...
    {
      name: "web farm nothing allows, 30 hosts in 1 min, scanCounts=unallowed-or-failed → host-scan",
      events: () =>
        series(30, MIN, "closed", (i) => ({ ip: `10.20.0.${i + 1}`, port: 443, durationMs: 60_000 })),
      want: ["host-scan@host-scan:443/tcp"],
    },
    // ...but not when only failures count (Zeek's rule).
    {
      name: "web farm, 30 hosts in 1 min, scanCounts=failures → nothing",
      opts: { scanCounts: "failures" },
      events: () =>
        series(30, MIN, "closed", (i) => ({ ip: `10.20.0.${i + 1}`, port: 443, durationMs: 60_000 })),
      want: [],
    },
    // In failures mode, refused ports still make a port-scan.
    {
      name: "scanCounts=failures, 15 rejected ports → port-scan",
      opts: { scanCounts: "failures" },
      events: () => series(15, MIN, "rejected", (i) => ({ port: 1 + i })),
      want: ["port-scan@port-scan:198.18.0.5"],
    },
    // UDP is ignored by default, even unanswered.
    {
      name: "UDP unanswered to 30 ports → nothing by default",
      events: () => series(30, MIN, "unanswered", (i) => ({ proto: "udp", port: 1 + i })),
      want: [],
    },
    // With includeUdp, UDP attempts count for scans and unanswered for brute-force.
    {
      name: "includeUdp: 15 UDP ports → port-scan",
      opts: { includeUdp: true },
      events: () => series(15, MIN, "unanswered", (i) => ({ proto: "udp", port: 1 + i })),
      want: ["port-scan@port-scan:198.18.0.5"],
    },
    // A UDP request answered quickly is normal: UDP closed never counts as bad.
    {
      name: "includeUdp: 100 short UDP closed in 5 s → nothing",
      opts: { includeUdp: true },
      events: () => series(100, 5 * SEC, "closed", () => ({ proto: "udp", port: 53 })),
      want: [],
    },
    // Scans are never normal: a container still learning its baseline raises them too (issue 14 §1).
    {
      name: "learn mode → the same shapes as monitor",
      events: () => series(100, 5 * SEC, "rejected", (i) => ({ from: LEARNER, port: 1 + i })),
      want: [
        ...Array(4).fill("port-scan@port-scan:198.18.0.5"),
        "burst@burst",
        ...Array(2).fill("port-scan@port-scan:198.18.0.5"),
      ],
    },
    // A container in off mode raises nothing.
    {
      name: "off mode → nothing",
      events: () => series(100, 5 * SEC, "rejected", (i) => ({ from: OFF, port: 1 + i })),
      want: [],
    },
    // Traffic not initiated by a container (inbound, host) is not ours to judge.
    {
      name: "src.container null → nothing",
      events: () => series(100, 5 * SEC, "rejected", (i) => ({ from: null, port: 1 + i })),
      want: [],
    },
    // Thresholds of 0 disable their shape.
    {
      name: "all thresholds 0 → nothing",
      opts: { burstCapacity: 0, portScanThreshold: 0, hostScanThreshold: 0, bruteForceThreshold: 0 },
      events: () => series(100, 5 * SEC, "rejected", (i) => ({ port: 1 + i })),
      want: [],
    },
  ];

  it.each(cases)("$name", ({ opts, events, want }) => {
    expect(shapes(run(detector(opts), events()))).toEqual(want);
  });
});

describe("connection-burst: findings", () => {
  // The 15th distinct port fires, with the documented finding shape; the 16th does not re-fire.
  it("port-scan fires exactly once, at the 15th port, with a full finding", () => {
    const d = detector();
    const evs = series(16, MIN, "rejected", (i) => ({ port: 100 + i, sport: 50_000 + i }));
    const fired: Array<[number, Finding]> = [];
    let attempts = 0;
    for (const ev of evs) {
      if (ev.state === "attempt") attempts++;
      for (const f of d.onEvent(ev)) fired.push([attempts, f]);
    }
    expect(fired).toHaveLength(1);
    const [at, f] = fired[0]!;
    expect(at).toBe(15);
    expect(f).toEqual({
      detector: "connection-burst",
      kind: "port-scan",
      severity: "warning",
      key: "port-scan:198.18.0.5",
      container: WEB,
      workload: "web-1",
      ts: T0 + MIN * (14 / 15),
      src: { ip: "172.18.0.2", port: 50_014, proto: "tcp" },
      dst: { ip: "198.18.0.5", port: 114, proto: "tcp" },
      details: {
        shape: "port-scan",
        count: 15,
        targets: Array.from({ length: 15 }, (_, i) => `198.18.0.5:${100 + i}/tcp`),
        windowMs: 300_000,
        // The words' facts: the host named, every port of it so far, how many answered, the real span.
        on: "198.18.0.5",
        distinct: 15,
        open: 0,
        spanMs: expect.any(Number),
      },
      summary: expect.stringMatching(
        /^web-1 ran a port scan of 198\.18\.0\.5: 15 ports, 0 open, in [\d.]+ (ms|s)$/,
      ),
      fix: "detectors.connection-burst.portScanThreshold: 16",
    });
  });

  // burst and host-scan have no single target: no dst; samples are capped at 20.
  it("burst finding has no dst and at most 20 distinct sample targets", () => {
    const [f, ...rest] = run(
      detector({ portScanThreshold: 0, hostScanThreshold: 0 }),
      series(100, 5 * SEC, "rejected", (i) => ({ ip: `10.1.${i}.1`, port: 1 + i })),
    );
    expect(rest).toEqual([]);
    expect(f?.key).toBe("burst");
    expect(f?.dst).toBeUndefined();
    expect(f?.summary).toMatch(/^web-1 made a burst of \d+ failed or short connections in \d+(\.\d)? s$/);
    const targets = f?.details?.targets as string[];
    expect(targets).toHaveLength(20);
    expect(new Set(targets).size).toBe(20);
  });

  // brute-force names its ip:port in key, dst and summary; IPv6 addresses are bracketed.
  it("brute-force finding names the target", () => {
    const [f] = run(
      detector(),
      series(30, MIN, "rejected", () => ({ ip: "2001:db8::7", port: 22 })),
    );
    expect(f?.key).toBe("brute-force:[2001:db8::7]:22/tcp");
    expect(f?.dst).toEqual({ ip: "2001:db8::7", port: 22, proto: "tcp" });
    // The real span of the 30 connections, not the window; an IPv6 destination in brackets.
    expect(f?.summary).toBe(
      "web-1 ran a brute force against [2001:db8::7]:22/tcp: 30 failed or short connections in 1 min; nothing allows the destination",
    );
    expect(f?.details).toMatchObject({ shape: "brute-force", count: 30, windowMs: 300_000 });
  });

  // host-scan: key by port/proto, no dst.
  it("host-scan finding", () => {
    const [f] = run(
      detector(),
      series(25, MIN, "rejected", (i) => ({ ip: `10.9.0.${i + 1}`, port: 22 })),
    );
    expect(f?.key).toBe("host-scan:22/tcp");
    expect(f?.dst).toBeUndefined();
    expect(f?.summary).toMatch(/^web-1 ran a host sweep of 25 hosts on 22\/tcp: 0 answered, in /);
    expect(f?.details).toMatchObject({ shape: "host-scan", count: 25 });
  });

  // A sustained storm re-fires once per refill, not once per connection.
  it("sustained burst re-fires only after refilling", () => {
    const found = run(detector({ portScanThreshold: 0, hostScanThreshold: 0, bruteForceThreshold: 0 }), [
      ...series(1000, 20 * SEC, "rejected", scattered),
    ]);
    // 50/s in, 5/s out: about 45/s net, so a refill every ~1.1 s over 20 s.
    expect(found.length).toBeGreaterThan(10);
    expect(found.length).toBeLessThan(25);
    expect(new Set(found.map((f) => f.key))).toEqual(new Set(["burst"]));
  });

  // Two containers each stay below the threshold: nothing, though together they would be a scan.
  it("tracks containers independently", () => {
    const evs = series(20, MIN, "rejected", (i) => ({ from: i % 2 === 0 ? WEB : API, port: 1 + i }));
    expect(run(detector(), evs)).toEqual([]);
    const both = series(30, MIN, "rejected", (i) => ({ from: i % 2 === 0 ? WEB : API, port: 1 + (i >> 1) }));
    const found = run(detector(), both);
    expect(found.map((f) => [f.container.name, f.key])).toEqual([
      ["web-1", "port-scan:198.18.0.5"],
      ["api-1", "port-scan:198.18.0.5"],
    ]);
  });

  // Connections picked up mid-stream were made before netmon looked: never failed or short sightings.
  it("ignores mid-stream connections for scans, bursts and brute force", () => {
    const scan = series(30, MIN, "rejected", (i) => ({ port: 1 + i }));
    expect(shapes(run(detector(), scan))).not.toEqual([]);
    const midstream = scan.map((ev): ConnectionEvent => ({ ...ev, midstream: true }));
    expect(run(detector(), midstream)).toEqual([]);
    const short = series(60, 10_000, "closed", () => ({ port: 22, durationMs: 50 }));
    expect(
      run(
        detector(),
        short.map((ev): ConnectionEvent => ({ ...ev, midstream: true })),
      ),
    ).toEqual([]);
  });

  // A late RST after "unanswered" is the same failed connection, told again: counted once.
  it("a correction of an unanswered connection counts nothing more", () => {
    const unanswered = series(30, MIN, "unanswered", (i) => ({ port: 1 + i }));
    const corrected = unanswered.flatMap((ev): ConnectionEvent[] =>
      ev.state === "unanswered"
        ? [ev, { ...ev, ts: ev.ts + 1, state: "rejected", corrects: "unanswered" }]
        : [ev],
    );
    const plain = run(detector(), unanswered);
    const withCorrections = run(detector(), corrected);
    expect(plain.length).toBeGreaterThan(0);
    expect(shapes(withCorrections)).toEqual(shapes(plain));
    expect(withCorrections.map((f) => f.details)).toEqual(plain.map((f) => f.details));
  });

  // The common path returns the shared empty array: no allocation.
  it("returns NO_FINDINGS when nothing fires", () => {
    const d = detector();
    for (const ev of connection("closed", T0)) expect(d.onEvent(ev)).toBe(NO_FINDINGS);
    expect(d.onEvent(conn("rejected", T0, { from: null }))).toBe(NO_FINDINGS);
    expect(
      d.onEvent({
        kind: "listener",
        ts: T0,
        state: "opened",
        container: WEB,
        proto: "tcp",
        family: 4,
        address: "0.0.0.0",
        port: 80,
        dockerDns: false,
      }),
    ).toBe(NO_FINDINGS);
    expect(d.onTick?.(T0)).toBe(NO_FINDINGS);
  });

  // Mode is asked at the event's time: a container whose mode turns from off to monitor starts counting then.
  it("asks the mode at event time", () => {
    const ctx = fakeContext();
    ctx.modeOf = (_c, ts) => (ts < T0 + 30 * SEC ? "off" : "monitor");
    const d = connectionBurst.create(connectionBurst.options.parse({}), ctx);
    const found = run(
      d,
      series(30, MIN, "rejected", (i) => ({ port: 1 + i })),
    );
    // Only ports 16..30 (from 30 s on) count: 15 of them, one port-scan.
    expect(shapes(found)).toEqual(["port-scan@port-scan:198.18.0.5"]);
  });

  // Events up to a second out of order (unanswered timeouts are stamped in the past) do no harm.
  it("tolerates slightly out-of-order events", () => {
    const evs = series(100, 5 * SEC, "closed", scattered);
    for (let i = 0; i + 1 < evs.length; i += 2) [evs[i], evs[i + 1]] = [evs[i + 1]!, evs[i]!];
    expect(shapes(run(detector(), evs))).toEqual(["burst@burst"]);
  });
});

// The short window's memory; the long window (slowScanWindowMs) is off here and has its own memory
// tests in connection-burst-slow.test.ts.
describe("connection-burst: memory", () => {
  // Beyond maxTrackedContainers, the least recently active container is forgotten and counted.
  it("caps tracked containers", () => {
    const d = detector({ maxTrackedContainers: 100, slowScanWindowMs: 0 });
    for (let i = 0; i < 1000; i++) d.onEvent(conn("attempt", T0 + i, { from: ref(`c-${i}`) }));
    expect(d.status()).toBe("tracking 100 containers, 100 targets, 900 evictions");
  });

  // Beyond maxTargetsPerContainer, the oldest target is forgotten and counted; scans still fire.
  it("caps targets per container", () => {
    const d = detector({
      maxTargetsPerContainer: 50,
      portScanThreshold: 0,
      slowScanWindowMs: 0,
      slowPortScanThreshold: 0,
      slowHostScanThreshold: 0,
    });
    const found = run(
      d,
      Array.from({ length: 500 }, (_, i) =>
        conn("attempt", T0 + i * 10, { ip: `10.0.${i >> 8}.${i & 255}` }),
      ),
    );
    expect(d.status()).toBe("tracking 1 containers, 50 targets, 450 evictions");
    // 500 hosts on port 80 → host-scan every 25 hosts, cap or not.
    expect(found).toHaveLength(20);
  });

  // Targets older than the window are pruned as event time advances, and by onTick when traffic stops.
  it("prunes old targets and idle containers", () => {
    const d = detector({ slowScanWindowMs: 0 });
    run(
      d,
      series(10, MIN, "rejected", (i) => ({ port: 1 + i })),
    );
    run(
      d,
      series(10, MIN, "rejected", (i) => ({ from: API, port: 1 + i })),
    );
    expect(d.status()).toBe("tracking 2 containers, 20 targets, 0 evictions");
    // A new event 10 min later prunes that container's old targets.
    d.onEvent(conn("attempt", T0 + 10 * MIN, { port: 9999 }));
    expect(d.status()).toBe("tracking 2 containers, 11 targets, 0 evictions");
    d.onTick?.(T0 + 11 * MIN);
    expect(d.status()).toBe("tracking 1 containers, 1 targets, 0 evictions");
    d.onTick?.(T0 + 20 * MIN);
    expect(d.status()).toBe("tracking 0 containers, 0 targets, 0 evictions");
  });

  // A port scan split across the window boundary forgets the old ports.
  it("does not count ports that left the window", () => {
    const d = detector();
    run(
      d,
      series(10, MIN, "rejected", (i) => ({ port: 1 + i })),
    );
    d.onTick?.(T0 + 7 * MIN);
    const later = run(
      d,
      series(10, MIN, "rejected", (i) => ({ port: 100 + i })).map((e) => ({ ...e, ts: e.ts + 7 * MIN })),
    );
    expect(later).toEqual([]);
  });
});

describe("connection-burst: options", () => {
  const schema = connectionBurst.options;

  // Every option has a default: {} is a complete configuration.
  it("applies defaults from {}", () => {
    expect(schema.parse({})).toEqual({
      shortMs: 1_000,
      includeUdp: false,
      burstCapacity: 50,
      burstLeakPerSecond: 5,
      scanWindowMs: 300_000,
      scanCounts: "unallowed-or-failed",
      portScanThreshold: 15,
      hostScanThreshold: 25,
      bruteForceThreshold: 30,
      bruteForceFloor: 50,
      bruteForceWindowMs: 20_000,
      bruteForceRateMultiple: 5,
      bruteForceWarmupMs: 120_000,
      slowScanWindowMs: 3_600_000,
      slowPortScanThreshold: 30,
      slowHostScanThreshold: 50,
      maxTrackedContainers: 10_000,
      maxTargetsPerContainer: 4_096,
    });
  });

  // Removed options fail with what replaced them, not a bare "unrecognized key".
  it.each([
    [{ countAllowedShort: true }, /countAllowedShort was removed.*bruteForceFloor/],
    [{ countAllowedShort: false }, /countAllowedShort was removed/],
    [{ scanCounts: "attempts" }, /"attempts" was replaced by "unallowed-or-failed"/],
  ])("rejects %o naming what replaced it", (opts, message) => {
    const r = schema.safeParse(opts);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(message);
  });

  // A typo must fail at start-up, not silently do nothing.
  it("rejects unknown keys", () => {
    expect(schema.safeParse({ portScanTreshold: 10 }).success).toBe(false);
  });

  const numeric = [
    "shortMs",
    "burstCapacity",
    "burstLeakPerSecond",
    "scanWindowMs",
    "portScanThreshold",
    "hostScanThreshold",
    "bruteForceThreshold",
    "bruteForceFloor",
    "bruteForceWindowMs",
    "bruteForceWarmupMs",
    "maxTrackedContainers",
    "maxTargetsPerContainer",
  ] as const;

  // Negative numbers make no sense for any of them.
  it.each(numeric)("rejects negative %s", (key) => {
    expect(schema.safeParse({ [key]: -1 }).success).toBe(false);
  });

  // Counts and milliseconds are integers.
  it.each(numeric.filter((k) => k !== "burstLeakPerSecond"))("rejects fractional %s", (key) => {
    expect(schema.safeParse({ [key]: 1.5 }).success).toBe(false);
  });

  // A leak rate of 0 would never forget; a window of 0 would never see a scan.
  it.each(["burstLeakPerSecond", "scanWindowMs"] as const)("rejects zero %s", (key) => {
    expect(schema.safeParse({ [key]: 0 }).success).toBe(false);
  });

  // A per-container cap below a scan threshold could never see that scan.
  it("rejects maxTargetsPerContainer below a scan threshold", () => {
    const r = schema.safeParse({ maxTargetsPerContainer: 10 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["maxTargetsPerContainer"]);
  });

  // Wrong enum values are rejected.
  it("rejects an unknown scanCounts", () => {
    expect(schema.safeParse({ scanCounts: "packets" }).success).toBe(false);
  });

  // The module follows the detector contract.
  it("exposes name and help", () => {
    expect(connectionBurst.name).toBe("connection-burst");
    expect(connectionBurst.help.length).toBeGreaterThan(20);
  });
});

describe("connection-burst: short connections to allowed destinations", () => {
  const allowAll: DetectorContext = {
    ...fakeContext(),
    egress: () => ({ allowedBy: "label", denylisted: false }),
  };
  const shortClosed = (n: number): ConnectionEvent[] =>
    Array.from({ length: n }, (_, i) => conn("closed", 1_000 + i * 20, { durationMs: 10 }));

  // A client opening one connection per request to a service it may reach is not a brute force.
  it("does not count short closed connections the policy allows", () => {
    expect(run(detector({}, allowAll), shortClosed(100))).toEqual([]);
  });

  // Refused connections to an allowed destination still fill the burst bucket; brute force against
  // it is judged by rate (connection-burst-rate.test.ts), not by the absolute count.
  it("counts rejected connections to an allowed destination as a burst, not an absolute brute force", () => {
    const rejected = Array.from({ length: 60 }, (_, i) => conn("rejected", 1_000 + i * 20));
    expect(shapes(run(detector({}, allowAll), rejected))).toEqual(["burst@burst"]);
  });

  // A denylisted destination is never "allowed", even inside an allowed range.
  it("counts short closed connections to a denylisted destination", () => {
    const denied: DetectorContext = {
      ...fakeContext(),
      egress: () => ({ allowedBy: "config", denylisted: true }),
    };
    expect(run(detector({}, denied), shortClosed(100)).length).toBeGreaterThan(0);
  });

  // Unallowed short connections keep counting by default.
  it("counts short closed connections nothing allows", () => {
    expect(run(detector(), shortClosed(100)).length).toBeGreaterThan(0);
  });
});

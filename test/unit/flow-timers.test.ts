/**
 * Property: the flow tracker's timer wheel (src/flows/flow-timers.ts) reports exactly what a sweep
 * over every flow reports (test/support/sweep-every-flow.ts): the same events, in the same order,
 * with the same times, and the same table afterwards, for any mix of TCP control packets and UDP
 * datagrams on a few reused tuples, with gaps around every timeout, time going back, sweeps at
 * any moment, a full table and the end of input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../src/capture/packet.js";
import { type FlowHarness, flowHarness, flowRef } from "../support/flow-harness.js";
import { fuzzParams } from "../support/mutate.js";
import { sweepEveryFlow } from "../support/sweep-every-flow.js";

const T0 = 1_700_000_000_000;
const HOSTS = ["172.18.0.2", "172.18.0.3", "172.18.0.4", "203.0.113.9"];
const PORTS = [53, 443, 5432, 40_000, 40_001];
const FLAGS = [TCP_SYN, TCP_SYN | TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK, TCP_ACK];
const OPTS = {
  maxFlows: 12,
  tcpUnansweredMs: 1_000,
  tcpHalfCloseMs: 1_500,
  tcpEstablishedIdleMs: 4_000,
  udpIdleMs: 2_000,
};

type Step =
  | {
      kind: "tcp";
      src: number;
      sport: number;
      dst: number;
      dport: number;
      flags: number;
      seq: number;
      gap: number;
    }
  | { kind: "udp"; src: number; sport: number; dst: number; dport: number; gap: number }
  | { kind: "sweep"; gap: number };

/** ms to the previous step: mostly short, some around the timeouts, a few back in time (µs fractions). */
const gapArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 3, arbitrary: fc.integer({ min: 900, max: 6_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -2_000, max: -1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 4_000_000 }).map((us) => us / 1000) },
);
const idx = (n: number) => fc.nat(n - 1);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("tcp" as const),
      src: idx(HOSTS.length),
      sport: idx(PORTS.length),
      dst: idx(HOSTS.length),
      dport: idx(PORTS.length),
      flags: fc.constantFrom(...FLAGS),
      seq: fc.constantFrom(1, 2),
      gap: gapArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("udp" as const),
      src: idx(HOSTS.length),
      sport: idx(PORTS.length),
      dst: idx(HOSTS.length),
      dport: idx(PORTS.length),
      gap: gapArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sweep" as const), gap: gapArb }) },
);

/** Flows held, ended ones kept for their late packets included (stats() leaves those out). */
function held(h: FlowHarness): number {
  return (h.tracker as unknown as { count: number }).count;
}

function run(steps: readonly Step[], reference: boolean): FlowHarness {
  const h = flowHarness(
    [
      [HOSTS[0]!, flowRef("web")],
      [HOSTS[1]!, flowRef("db")],
      [HOSTS[2]!, flowRef("cache")],
    ],
    OPTS,
  );
  if (reference) sweepEveryFlow(h.tracker);
  let ts = T0;
  for (const s of steps) {
    ts += s.gap;
    if (s.kind === "sweep") h.tracker.advance(ts);
    else if (s.kind === "udp") h.udp(HOSTS[s.src]!, PORTS[s.sport]!, HOSTS[s.dst]!, PORTS[s.dport]!, ts);
    else h.tcp(HOSTS[s.src]!, PORTS[s.sport]!, HOSTS[s.dst]!, PORTS[s.dport]!, s.flags, ts, s.seq);
  }
  return h;
}

describe("property: flow timeouts on the timer wheel = a sweep over every flow", () => {
  it("same events in the same order, same table, before and after the end of input", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 120 }), (steps) => {
        const wheel = run(steps, false);
        const every = run(steps, true);
        expect(wheel.events).toEqual(every.events);
        expect(wheel.tracker.stats()).toEqual(every.tracker.stats());
        expect(held(wheel)).toBe(held(every));
        wheel.tracker.flush();
        every.tracker.flush();
        expect(wheel.events).toEqual(every.events);
        expect(wheel.tracker.stats()).toEqual(every.tracker.stats());
      }),
      fuzzParams(0x71e3, 400),
    );
  });

  it("a flow half-closed then lingering acts once per sweep, as the walk over every flow does", () => {
    // FIN from the client, then silence: the half-close timeout reports it closed at one sweep,
    // and the linger record goes only at a later one (a late FIN in between is absorbed).
    const steps: Step[] = [
      { kind: "tcp", src: 0, sport: 3, dst: 1, dport: 2, flags: TCP_SYN, seq: 1, gap: 0 },
      { kind: "tcp", src: 1, sport: 2, dst: 0, dport: 3, flags: TCP_SYN | TCP_ACK, seq: 1, gap: 5 },
      { kind: "tcp", src: 0, sport: 3, dst: 1, dport: 2, flags: TCP_FIN | TCP_ACK, seq: 1, gap: 5 },
      { kind: "sweep", gap: 20_000 },
      { kind: "tcp", src: 1, sport: 2, dst: 0, dport: 3, flags: TCP_FIN | TCP_ACK, seq: 1, gap: 1 },
    ];
    const wheel = run(steps, false);
    expect(wheel.events.map((e) => e.state)).toEqual(["attempt", "accepted", "closed"]);
    expect(wheel.events).toEqual(run(steps, true).events);
  });

  it("an unanswered attempt ended by a late RST lingers 5 s, not the SYN retry window", () => {
    // Its next timeout moves earlier (130 s → 5 s): after that a FIN on the tuple opens a new flow.
    const steps: Step[] = [
      { kind: "tcp", src: 0, sport: 3, dst: 1, dport: 2, flags: TCP_SYN, seq: 1, gap: 0 },
      { kind: "sweep", gap: 1_500 },
      { kind: "tcp", src: 1, sport: 2, dst: 0, dport: 3, flags: TCP_RST | TCP_ACK, seq: 1, gap: 10 },
      { kind: "sweep", gap: 6_000 },
      { kind: "tcp", src: 0, sport: 3, dst: 1, dport: 2, flags: TCP_FIN | TCP_ACK, seq: 1, gap: 10 },
    ];
    const wheel = run(steps, false);
    expect(wheel.events.map((e) => e.state)).toEqual(["attempt", "unanswered", "rejected", "attempt"]);
    expect(wheel.events).toEqual(run(steps, true).events);
  });
});

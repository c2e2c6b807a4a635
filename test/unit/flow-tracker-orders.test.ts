/**
 * Property: whatever the order of one TCP connection's control packets (SYN, SYN-ACK, both FINs,
 * RSTs), retransmitted or duplicated, with gaps past the unanswered and half-close timeouts, the
 * flow tracker reports well-formed flows: one attempt for the connection unless a SYN could only be
 * a new one (it follows an end), never `accepted` after `closed`, at most one `closed` per flow, and
 * durations that fit the event times.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../src/capture/packet.js";
import type { ConnectionEvent } from "../../src/model/events.js";
import { flowHarness, flowRef } from "../support/flow-harness.js";
import { fuzzParams } from "../support/mutate.js";

const T0 = 1_000_000;
const CLIENT = "172.18.0.2";
const SERVER = "172.18.0.3";
const ISN = 123_456;

type Kind = "syn" | "synack" | "finC" | "finS" | "rstC" | "rstS" | "ackC";

const FROM_CLIENT: Record<Kind, boolean> = {
  syn: true,
  synack: false,
  finC: true,
  finS: false,
  rstC: true,
  rstS: false,
  ackC: true,
};
const FLAGS: Record<Kind, number> = {
  syn: TCP_SYN,
  synack: TCP_SYN | TCP_ACK,
  finC: TCP_FIN | TCP_ACK,
  finS: TCP_FIN | TCP_ACK,
  rstC: TCP_RST,
  rstS: TCP_RST | TCP_ACK,
  ackC: TCP_ACK, // a data packet: nothing for the tracker
};

interface Step {
  kind: Kind;
  /** ms since the previous packet: some past the 1 s unanswered and half-close timeouts. */
  gap: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom<Kind>("syn", "synack", "finC", "finS", "rstC", "rstS", "ackC"),
  gap: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 900, max: 1_600 })),
});

/** Mostly the packets of a real connection, shuffled and duplicated; sometimes any sequence. */
const ordersArb: fc.Arbitrary<Step[]> = fc.oneof(
  fc
    .tuple(
      fc.shuffledSubarray<Kind>(["syn", "synack", "finC", "finS", "rstC", "rstS"], { minLength: 1 }),
      fc.array(fc.nat(5), { maxLength: 6 }),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 900, max: 1_600 })), {
        minLength: 12,
        maxLength: 12,
      }),
    )
    .map(([kinds, dups, gaps]) => {
      const seq = [...kinds];
      for (const d of dups) {
        const k = seq[d % seq.length]!;
        seq.splice((d * 7) % (seq.length + 1), 0, k);
      }
      return seq.map((kind, i) => ({ kind, gap: gaps[i % gaps.length]! }));
    }),
  fc.array(stepArb, { minLength: 1, maxLength: 12 }),
);

/**
 * At most two long gaps, so a sequence spans under 5 s: an ended flow is still kept for its late
 * packets (CLOSED_LINGER_MS), and a late packet cannot legitimately open a second, mid-stream flow.
 */
function withinLinger(steps: readonly Step[]): Step[] {
  let long = 0;
  return steps.map((s) => (s.gap > 50 && ++long > 2 ? { ...s, gap: s.gap % 51 } : s));
}

function run(steps: readonly Step[]): ConnectionEvent[] {
  const h = flowHarness(
    [
      [CLIENT, flowRef("web")],
      [SERVER, flowRef("db")],
    ],
    { tcpUnansweredMs: 1_000, tcpHalfCloseMs: 1_000 },
  );
  let ts = T0;
  for (const s of steps) {
    ts += s.gap;
    const [src, sport, dst, dport] = FROM_CLIENT[s.kind]
      ? [CLIENT, 40_000, SERVER, 5432]
      : [SERVER, 5432, CLIENT, 40_000];
    h.tcp(src, sport, dst, dport, FLAGS[s.kind], ts, s.kind === "syn" ? ISN : 999);
  }
  h.tracker.flush();
  return h.events;
}

/** SYNs that may open a new connection: after an end (FIN, RST), or after a SYN-ACK no SYN preceded. */
function possibleReuses(steps: readonly Step[]): number {
  let ended = false;
  let synSeen = false;
  let orphanSynAck = false;
  let n = 0;
  for (const s of steps) {
    if (s.kind === "syn") {
      if (ended || orphanSynAck) n++;
      synSeen = true;
    } else if (s.kind === "synack") {
      if (!synSeen) orphanSynAck = true;
    } else if (s.kind !== "ackC") {
      ended = true;
    }
  }
  return n;
}

/** The events of each flow: a new one starts at each attempt. */
function flows(events: readonly ConnectionEvent[]): ConnectionEvent[][] {
  const out: ConnectionEvent[][] = [];
  for (const ev of events) {
    if (ev.state === "attempt") out.push([ev]);
    else {
      expect(out.length, `${ev.state} before any attempt`).toBeGreaterThan(0);
      out.at(-1)!.push(ev);
    }
  }
  return out;
}

function checkFlow(flow: readonly ConnectionEvent[]): void {
  const [attempt, ...rest] = flow;
  const states = rest.map((e) => e.state);
  const closed = states.indexOf("closed");
  expect(states.filter((s) => s === "closed").length).toBeLessThanOrEqual(1);
  if (closed >= 0) expect(closed, `nothing after closed: ${states}`).toBe(states.length - 1);
  // At most one outcome, or an unanswered corrected once by a late answer.
  const outcomes = rest.filter((e) => e.state !== "closed");
  expect(outcomes.length).toBeLessThanOrEqual(2);
  if (outcomes.length === 2) {
    expect(outcomes[0]!.state).toBe("unanswered");
    expect(outcomes[1]!.corrects).toBe("unanswered");
  }
  for (const ev of rest) {
    expect(ev.durationMs).toBeGreaterThanOrEqual(0);
    expect(ev.durationMs!).toBeLessThanOrEqual(ev.ts - attempt!.ts);
    expect(ev.src).toEqual(attempt!.src);
    expect(ev.midstream).toBe(attempt!.midstream);
  }
  const end = rest[closed];
  const accepted = rest.find((e) => e.state === "accepted");
  if (end !== undefined && accepted !== undefined) {
    // A connection closed lasted at least until it was accepted.
    expect(attempt!.ts + end.durationMs!).toBeGreaterThanOrEqual(accepted.ts);
  }
}

describe("property: FlowTracker over any order of one connection's control packets", () => {
  it("well-formed flows, one attempt per connection, no accepted after closed, consistent durations", () => {
    fc.assert(
      fc.property(ordersArb.map(withinLinger), (steps) => {
        const events = run(steps);
        const fs = flows(events);
        for (const f of fs) checkFlow(f);
        expect(fs.length).toBeLessThanOrEqual(1 + possibleReuses(steps));
        // A connection that starts with its SYN and never ends is exactly one flow, however often
        // its SYN and SYN-ACK are retransmitted.
        if (steps.find((s) => s.kind !== "ackC")?.kind === "syn" && possibleReuses(steps) === 0)
          expect(fs.length).toBe(1);
        // Data packets alone open nothing.
        if (steps.every((s) => s.kind === "ackC")) expect(events).toEqual([]);
      }),
      fuzzParams(0xf10e5, 800),
    );
  });

  it("a connection seen from its SYN, retransmitted and reordered, is one attempt and one close", () => {
    const steps: Step[] = [
      { kind: "syn", gap: 0 },
      { kind: "syn", gap: 1_200 }, // past the unanswered timeout: reported, then answered late
      { kind: "synack", gap: 10 },
      { kind: "synack", gap: 10 },
      { kind: "finS", gap: 30 },
      { kind: "finC", gap: 5 },
      { kind: "finS", gap: 5 },
    ];
    const events = run(steps);
    expect(events.map((e) => e.state)).toEqual(["attempt", "unanswered", "accepted", "closed"]);
    expect(events[2]?.corrects).toBe("unanswered");
    expect(events[3]).toMatchObject({ durationMs: 1_255, closedBy: "responder" });
  });
});

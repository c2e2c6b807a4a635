import { describe, expect, it } from "vitest";
import { PROTO_TCP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/capture/packet.js";
import { endpointHash, flowHash } from "../../src/flows/flow-hash.js";
import type { FlowTrackerOptions } from "../../src/flows/flow-tracker.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";
import { ipToWords } from "../../src/net/ip-format.js";
import { FLOW_IFACE, type FlowHarness, flowHarness, flowRef } from "../support/flow-harness.js";
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethernet,
  fragmentExt,
  ipv4,
  ipv6,
  udpPacket,
} from "../support/packet-builder.js";

// Far in the past on purpose: a tracker that looked at the wall clock would time everything out.
const T0 = 1_000_000;
const IFACE = FLOW_IFACE;

const WEB = flowRef("web");
const DB = flowRef("db");
const WEB6 = flowRef("web6");

function harness(
  opts: Partial<FlowTrackerOptions> = {},
  entries?: Array<[string, ContainerRef]>,
): FlowHarness {
  return flowHarness(
    entries ?? [
      ["172.18.0.2", WEB],
      ["172.18.0.3", DB],
      ["fd00:18::2", WEB6],
    ],
    opts,
  );
}

const states = (events: ConnectionEvent[]): string[] => events.map((e) => e.state);

describe("FlowTracker: TCP", () => {
  it("reports a SYN as an attempt from the initiator, attributed through the resolver", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_SYN, T0);
    expect(h.events).toEqual([
      {
        kind: "connection",
        ts: T0,
        proto: "tcp",
        state: "attempt",
        src: { ip: "172.18.0.2", port: 40000, container: WEB },
        dst: { ip: "172.18.0.3", port: 5432, container: DB },
        direction: "internal",
        packets: 1,
        iface: IFACE,
      },
    ]);
    expect(h.events[0]).not.toHaveProperty("durationMs");
    expect(h.resolver.calls).toEqual([
      ["172.18.0.2", T0],
      ["172.18.0.3", T0],
    ]);
    expect(h.tracker.size).toBe(1);
    expect(h.tracker.stats()).toEqual({ active: 1, created: 1, evicted: 0, expired: 0 });
  });

  it.each([
    ["172.18.0.2", "203.0.113.7", "outbound"],
    ["203.0.113.7", "172.18.0.3", "inbound"],
    ["203.0.113.7", "198.51.100.9", "external"],
    ["172.18.0.3", "172.18.0.2", "internal"],
  ])("direction of %s -> %s is %s", (src, dst, direction) => {
    const h = harness();
    h.tcp(src, 33333, dst, 443, TCP_SYN, T0);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]?.direction).toBe(direction);
    expect(h.events[0]?.src.ip).toBe(src);
    expect(h.events[0]?.dst.ip).toBe(dst);
  });

  it("reports a SYN-ACK from the responder as accepted with the handshake time", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_SYN | TCP_ACK, T0 + 3);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    const ev = h.events[1]!;
    expect(ev.ts).toBe(T0 + 3);
    expect(ev.durationMs).toBe(3);
    expect(ev.packets).toBe(2);
    // The initiator stays the source whichever side sent the packet.
    expect(ev.src).toEqual({ ip: "172.18.0.2", port: 40000, container: WEB });
    expect(ev.dst).toEqual({ ip: "172.18.0.3", port: 5432, container: DB });
    expect(ev.direction).toBe("internal");
  });

  it("the connection closes when both sides have sent FIN, with its duration to the second FIN", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_SYN | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 250);
    // Half-closed: the responder may still send.
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    expect(h.tracker.size).toBe(1);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_FIN | TCP_ACK, T0 + 251);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    const closed = h.events[2]!;
    expect(closed.ts).toBe(T0 + 251);
    expect(closed.durationMs).toBe(251);
    expect(closed.packets).toBe(4);
    expect(closed.src.ip).toBe("172.18.0.2");
    expect(closed.closedBy).toBe("initiator");
    expect(h.tracker.size).toBe(0);
    expect(h.tracker.stats().active).toBe(0);
    // The last ACK, a retransmitted FIN and a trailing RST belong to the ended flow: nothing more.
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_ACK, T0 + 252);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_FIN | TCP_ACK, T0 + 400);
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_RST, T0 + 401);
    expect(h.events).toHaveLength(3);
    expect(h.tracker.size).toBe(0);
    expect(h.tracker.stats().created).toBe(1);
  });

  it("a FIN from the responder first: closedBy responder, the initiator stays the source", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_SYN | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_FIN | TCP_ACK, T0 + 90);
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 95);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    expect(h.events[2]).toMatchObject({
      src: { port: 40000 },
      dst: { port: 5432 },
      durationMs: 95,
      closedBy: "responder",
    });
    expect(h.tracker.size).toBe(0);
  });

  it("a half-closed connection runs until the other side closes, however long the tail", () => {
    const h = harness({ tcpHalfCloseMs: 60_000 });
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_SYN | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_FIN | TCP_ACK, T0 + 100);
    h.tracker.advance(T0 + 25_000);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 25_100);
    expect(h.events[2]).toMatchObject({ state: "closed", durationMs: 25_100, closedBy: "responder" });
  });

  it("a half-close with no answer is closed at tcpHalfCloseMs after the last control packet", () => {
    const h = harness({ tcpHalfCloseMs: 30_000, tcpEstablishedIdleMs: 600_000 });
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40000, TCP_SYN | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 100);
    h.tracker.advance(T0 + 30_099);
    expect(h.events).toHaveLength(2);
    h.tracker.advance(T0 + 30_100);
    expect(h.events[2]).toMatchObject({
      state: "closed",
      ts: T0 + 30_100,
      durationMs: 30_100,
      closedBy: "initiator",
    });
    expect(h.tracker.size).toBe(0);
  });

  it.each([
    ["RST", TCP_RST],
    ["RST-ACK", TCP_RST | TCP_ACK],
  ])("a %s from the responder to a SYN is a rejection", (_label, flags) => {
    const h = harness();
    h.tcp("172.18.0.2", 40001, "172.18.0.3", 9999, TCP_SYN, T0);
    h.tcp("172.18.0.3", 9999, "172.18.0.2", 40001, flags, T0 + 2);
    expect(states(h.events)).toEqual(["attempt", "rejected"]);
    expect(h.events[1]?.ts).toBe(T0 + 2);
    expect(h.events[1]?.durationMs).toBe(2);
    expect(h.events[1]?.src.port).toBe(40001);
    expect(h.tracker.size).toBe(0);
    // A duplicate RST is a late packet of the refusal, not a mid-stream connection.
    h.tcp("172.18.0.3", 9999, "172.18.0.2", 40001, flags, T0 + 3);
    expect(h.events).toHaveLength(2);
  });

  it("a RST from the initiator is a close, not a rejection", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40002, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.2", 40002, "172.18.0.3", 5432, TCP_RST, T0 + 40);
    expect(states(h.events)).toEqual(["attempt", "closed"]);
    expect(h.events[1]?.durationMs).toBe(40);
    expect(h.events[1]?.closedBy).toBe("initiator");
    expect(h.tracker.size).toBe(0);
  });

  it("a RST from the responder after the handshake is a close", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40003, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40003, TCP_SYN | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40003, TCP_RST, T0 + 500);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    expect(h.events[2]?.durationMs).toBe(500);
    expect(h.events[2]?.closedBy).toBe("responder");
  });

  it("a retransmitted SYN is not a second attempt", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40004, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.2", 40004, "172.18.0.3", 5432, TCP_SYN, T0 + 200);
    h.tcp("172.18.0.2", 40004, "172.18.0.3", 5432, TCP_SYN, T0 + 600);
    expect(states(h.events)).toEqual(["attempt"]);
    expect(h.tracker.stats().created).toBe(1);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40004, TCP_SYN | TCP_ACK, T0 + 601);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    // Measured from the first SYN; all four control packets counted.
    expect(h.events[1]?.durationMs).toBe(601);
    expect(h.events[1]?.packets).toBe(4);
  });

  it("a retransmitted SYN-ACK is not a second acceptance", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40005, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40005, TCP_SYN | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40005, TCP_SYN | TCP_ACK, T0 + 201);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
  });

  it("ignores data packets (ACK, PSH only): no event, no flow, no packet count", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40006, "172.18.0.3", 5432, TCP_ACK, T0);
    h.tcp("172.18.0.2", 40006, "172.18.0.3", 5432, TCP_PSH | TCP_ACK, T0 + 1);
    expect(h.events).toEqual([]);
    expect(h.tracker.size).toBe(0);
    h.tcp("172.18.0.2", 40006, "172.18.0.3", 5432, TCP_SYN, T0 + 2);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40006, TCP_SYN | TCP_ACK, T0 + 3);
    for (let i = 0; i < 10; i++) {
      h.tcp("172.18.0.2", 40006, "172.18.0.3", 5432, TCP_PSH | TCP_ACK, T0 + 4 + i);
      h.tcp("172.18.0.3", 5432, "172.18.0.2", 40006, TCP_ACK, T0 + 4 + i);
    }
    h.tcp("172.18.0.2", 40006, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 20);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40006, TCP_FIN | TCP_ACK, T0 + 21);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    expect(h.events[2]?.packets).toBe(4);
  });

  it("a SYN-ACK with no SYN before it opens the flow mid-stream, its destination the initiator", () => {
    const h = harness();
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40010, TCP_SYN | TCP_ACK, T0);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    for (const ev of h.events) {
      expect(ev).toMatchObject({
        midstream: true,
        src: { ip: "172.18.0.2", port: 40010, container: WEB },
        dst: { ip: "172.18.0.3", port: 5432, container: DB },
      });
      expect(ev).not.toHaveProperty("initiator");
    }
    expect(h.events[1]?.durationMs).toBe(0);
    h.tcp("172.18.0.2", 40010, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 10);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40010, TCP_FIN | TCP_ACK, T0 + 11);
    expect(h.events[2]).toMatchObject({
      state: "closed",
      midstream: true,
      closedBy: "initiator",
      durationMs: 11,
    });
    // ...and a SYN-ACK from the initiator's side of a known flow does not accept it.
    h.tcp("172.18.0.2", 40011, "172.18.0.3", 5432, TCP_SYN, T0 + 20);
    h.tcp("172.18.0.2", 40011, "172.18.0.3", 5432, TCP_SYN | TCP_ACK, T0 + 21);
    expect(states(h.events.slice(3))).toEqual(["attempt"]);
  });

  it("a FIN first opens the flow mid-stream, the server side told by its port, then waits for the other FIN", () => {
    const h = harness();
    // The server (port 443) closes first: the container on the ephemeral port is the initiator.
    h.tcp("203.0.113.7", 443, "172.18.0.2", 40007, TCP_FIN | TCP_ACK, T0);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({
      state: "attempt",
      midstream: true,
      src: { ip: "172.18.0.2", port: 40007, container: WEB },
      dst: { ip: "203.0.113.7", port: 443 },
      direction: "outbound",
    });
    h.tcp("172.18.0.2", 40007, "203.0.113.7", 443, TCP_FIN | TCP_ACK, T0 + 30);
    expect(h.events[1]).toMatchObject({
      state: "closed",
      midstream: true,
      closedBy: "responder",
      durationMs: 30,
    });
    // A client on an unprivileged service port: the ephemeral side is the client.
    h.tcp("172.18.0.2", 40008, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 40);
    expect(h.events[2]).toMatchObject({ src: { port: 40008 }, dst: { port: 5432 }, midstream: true });
  });

  it("a RST first opens and closes the flow mid-stream at once", () => {
    const h = harness();
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40009, TCP_RST | TCP_ACK, T0);
    expect(states(h.events)).toEqual(["attempt", "closed"]);
    expect(h.events[1]).toMatchObject({
      midstream: true,
      src: { port: 40009 },
      dst: { port: 5432 },
      durationMs: 0,
      closedBy: "responder",
    });
    // Its duplicates belong to the same ended flow.
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40009, TCP_RST, T0 + 1);
    expect(h.events).toHaveLength(2);
    expect(h.tracker.size).toBe(0);
  });

  it("mid-stream with no port to tell the server: the sender is the source, marked initiator unknown", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40000, "172.18.0.3", 50000, TCP_FIN | TCP_ACK, T0);
    expect(h.events[0]).toMatchObject({
      midstream: true,
      initiator: "unknown",
      src: { port: 40000 },
      dst: { port: 50000 },
    });
  });

  it("a RST after the SYN was reported unanswered corrects it into a rejection, once", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40020, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tracker.advance(T0 + 1000);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40020, TCP_RST | TCP_ACK, T0 + 1500);
    expect(states(h.events)).toEqual(["attempt", "unanswered", "rejected"]);
    expect(h.events[2]).toMatchObject({ corrects: "unanswered", durationMs: 1500, src: { port: 40020 } });
    expect(h.events[1]).not.toHaveProperty("corrects");
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40020, TCP_RST | TCP_ACK, T0 + 1600);
    h.tracker.flush();
    expect(h.events).toHaveLength(3);
  });

  it("a SYN-ACK after the SYN was reported unanswered corrects it into accepted", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40021, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tracker.advance(T0 + 1000);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40021, TCP_SYN | TCP_ACK, T0 + 3000);
    expect(states(h.events)).toEqual(["attempt", "unanswered", "accepted"]);
    expect(h.events[2]).toMatchObject({ corrects: "unanswered", durationMs: 3000 });
  });

  it("a new SYN with a new initial sequence number on an open flow is a new connection", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40022, "172.18.0.3", 5432, TCP_SYN, T0, 1000);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40022, TCP_SYN | TCP_ACK, T0 + 1, 7000);
    // The same ISN again: the SYN-ACK was lost before the client, which retransmits. Nothing new.
    h.tcp("172.18.0.2", 40022, "172.18.0.3", 5432, TCP_SYN, T0 + 60, 1000);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    h.tcp("172.18.0.2", 40022, "172.18.0.3", 5432, TCP_SYN, T0 + 100, 99_000);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed", "attempt"]);
    // The old connection ends at its last packet (the retransmitted SYN).
    expect(h.events[2]).toMatchObject({ ts: T0 + 100, durationMs: 60 });
    expect(h.events[2]).not.toHaveProperty("closedBy");
    expect(h.events[3]).toMatchObject({ ts: T0 + 100, packets: 1 });
    expect(h.events[3]).not.toHaveProperty("midstream");
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40022, TCP_SYN | TCP_ACK, T0 + 101, 8000);
    expect(h.events[4]).toMatchObject({ state: "accepted", durationMs: 1 });
    expect(h.tracker.stats().created).toBe(2);
    expect(h.tracker.size).toBe(1);
  });

  it("any SYN on a closing flow is a new connection: no stack retransmits its SYN after a FIN", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40024, "172.18.0.3", 5432, TCP_SYN, T0, 1000);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40024, TCP_SYN | TCP_ACK, T0 + 1, 7000);
    h.tcp("172.18.0.2", 40024, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 50, 1001);
    h.tcp("172.18.0.2", 40024, "172.18.0.3", 5432, TCP_SYN, T0 + 20_000, 1000);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed", "attempt"]);
    expect(h.events[2]).toMatchObject({ durationMs: 50, closedBy: "initiator" });
  });

  it("a SYN on a tuple whose connection has ended opens a new flow, whatever its sequence number", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40023, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40023, TCP_RST | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.2", 40023, "172.18.0.3", 5432, TCP_SYN, T0 + 2);
    expect(states(h.events)).toEqual(["attempt", "rejected", "attempt"]);
    expect(h.tracker.size).toBe(1);
  });

  it("a later unrelated packet times out an unanswered SYN at exactly firstTs + tcpUnansweredMs", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40012, "172.18.0.3", 5432, TCP_SYN, T0);
    // Before the timeout (in packet time) nothing happens, however late the wall clock is.
    h.tcp("172.18.0.2", 40013, "172.18.0.3", 5432, TCP_SYN, T0 + 999);
    expect(states(h.events)).toEqual(["attempt", "attempt"]);
    h.tcp("172.18.0.2", 40014, "172.18.0.3", 80, TCP_SYN, T0 + 1300);
    expect(states(h.events)).toEqual(["attempt", "attempt", "unanswered", "attempt"]);
    const unanswered = h.events[2]!;
    expect(unanswered.src.port).toBe(40012);
    expect(unanswered.ts).toBe(T0 + 1000);
    expect(unanswered.durationMs).toBe(1000);
    expect(unanswered.packets).toBe(1);
    // The unanswered flow stays (as a retry record) with the two pending attempts.
    expect(h.tracker.size).toBe(3);
  });

  it("advance(now) times out unanswered SYNs on packet time", () => {
    const h = harness({ tcpEstablishedIdleMs: 600_000 });
    h.tcp("172.18.0.2", 40015, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.2", 40016, "172.18.0.3", 5432, TCP_SYN, T0 + 500);
    h.tracker.advance(T0 + 999);
    expect(states(h.events)).toEqual(["attempt", "attempt"]);
    h.tracker.advance(T0 + 1000);
    expect(states(h.events)).toEqual(["attempt", "attempt", "unanswered"]);
    expect(h.events[2]?.src.port).toBe(40015);
    expect(h.events[2]?.ts).toBe(T0 + 1000);
    h.tracker.advance(T0 + 5000);
    expect(states(h.events)).toEqual(["attempt", "attempt", "unanswered", "unanswered"]);
    expect(h.events[3]?.src.port).toBe(40016);
    expect(h.events[3]?.ts).toBe(T0 + 1500);
    // Both stay as retry records while the clients may retransmit.
    expect(h.tracker.size).toBe(2);
    // A retransmitted SYN is the same connect(): no second attempt, no second unanswered.
    h.tcp("172.18.0.2", 40016, "172.18.0.3", 5432, TCP_SYN, T0 + 3500);
    h.tracker.advance(T0 + 60_000);
    expect(h.events).toHaveLength(4);
    // A late SYN-ACK still means the connection was made.
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40015, TCP_SYN | TCP_ACK, T0 + 60_001);
    expect(states(h.events)).toEqual(["attempt", "attempt", "unanswered", "unanswered", "accepted"]);
    expect(h.events[4]?.durationMs).toBe(60_001);
    // After the SYN retry window (130 s from the first SYN) the unanswered record goes; the accepted flow stays.
    h.tracker.advance(T0 + 130_500);
    expect(h.tracker.size).toBe(1);
  });

  // Linux retries a SYN at 1, 3, 7, 15, 31 and 63 s: one connect() must be one attempt and one unanswered.
  it("SYN retransmissions of one connect() are one connection", () => {
    const h = harness({ tcpUnansweredMs: 5000 });
    for (const s of [0, 1, 3, 7, 15, 31, 63]) {
      h.tcp("172.18.0.2", 40030, "203.0.113.5", 5432, TCP_SYN, T0 + s * 1000);
      h.tracker.advance(T0 + s * 1000 + 1);
    }
    h.tracker.advance(T0 + 200_000);
    expect(states(h.events)).toEqual(["attempt", "unanswered"]);
    expect(h.tracker.size).toBe(0);
  });

  it("an answered flow is not reported unanswered later", () => {
    const h = harness();
    h.tcp("172.18.0.2", 40017, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40017, TCP_SYN | TCP_ACK, T0 + 10);
    h.tracker.advance(T0 + 10_000);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    expect(h.tracker.size).toBe(1);
  });

  it("drops established flows idle for tcpEstablishedIdleMs, counted as expired, without an event", () => {
    const h = harness({ tcpEstablishedIdleMs: 5000 });
    h.tcp("172.18.0.2", 40018, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 40018, TCP_SYN | TCP_ACK, T0 + 1);
    h.tracker.advance(T0 + 5000);
    expect(h.tracker.size).toBe(1);
    expect(h.tracker.stats().expired).toBe(0);
    h.tracker.advance(T0 + 5001);
    expect(h.tracker.size).toBe(0);
    expect(h.tracker.stats()).toEqual({ active: 0, created: 1, evicted: 0, expired: 1 });
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    // Its FIN arrives later: the flow is gone, so the connection is picked up again mid-stream.
    h.tcp("172.18.0.2", 40018, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 6000);
    expect(h.events[2]).toMatchObject({ state: "attempt", midstream: true, src: { port: 40018 } });
  });

  it("supports IPv6 flows", () => {
    const h = harness();
    h.tcp("fd00:18::2", 50000, "2001:db8::80", 443, TCP_SYN, T0);
    h.tcp("2001:db8::80", 443, "fd00:18::2", 50000, TCP_SYN | TCP_ACK, T0 + 7);
    h.tcp("2001:db8::80", 443, "fd00:18::2", 50000, TCP_RST, T0 + 70);
    h.tracker.advance(T0 + 60_000);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    for (const ev of h.events) {
      expect(ev.src).toEqual({ ip: "fd00:18::2", port: 50000, container: WEB6 });
      expect(ev.dst).toEqual({ ip: "2001:db8::80", port: 443, container: null });
      expect(ev.direction).toBe("outbound");
    }
    expect(h.events[1]?.durationMs).toBe(7);
    expect(h.events[2]?.durationMs).toBe(70);
    expect(h.tracker.size).toBe(0);
  });

  it("keeps IPv6 flows that differ only in the high address words apart", () => {
    const h = harness();
    h.tcp("fd00:1::5", 50001, "fd00:2::5", 80, TCP_SYN, T0);
    h.tcp("fd00:3::5", 50001, "fd00:4::5", 80, TCP_SYN, T0 + 1);
    h.tcp("fd00:4::5", 80, "fd00:3::5", 50001, TCP_SYN | TCP_ACK, T0 + 2);
    expect(states(h.events)).toEqual(["attempt", "attempt", "accepted"]);
    expect(h.events[2]?.src.ip).toBe("fd00:3::5");
    expect(h.tracker.size).toBe(2);
  });

  it("keeps TCP and UDP flows with the same addresses and ports apart", () => {
    const h = harness();
    h.tcp("172.18.0.2", 5353, "172.18.0.3", 5353, TCP_SYN, T0);
    h.udp("172.18.0.3", 5353, "172.18.0.2", 5353, T0 + 1);
    expect(h.events.map((e) => `${e.proto}:${e.state}:${e.src.ip}`)).toEqual([
      "tcp:attempt:172.18.0.2",
      "udp:attempt:172.18.0.3",
    ]);
    expect(h.tracker.size).toBe(2);
  });
});

describe("FlowTracker: UDP", () => {
  it("a first datagram from a well-known port to an ephemeral one is the server answering", () => {
    const h = harness();
    h.udp("203.0.113.53", 53, "172.18.0.2", 41000, T0);
    h.udp("172.18.0.2", 41000, "203.0.113.53", 53, T0 + 5);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    for (const ev of h.events) {
      expect(ev).toMatchObject({
        midstream: true,
        src: { ip: "172.18.0.2", port: 41000, container: WEB },
        dst: { ip: "203.0.113.53", port: 53 },
        direction: "outbound",
      });
    }
    // Two unprivileged ports (or a well-known one to a non-ephemeral one): the first sender initiates.
    h.udp("172.18.0.3", 123, "172.18.0.2", 123, T0 + 10);
    h.udp("172.18.0.3", 5004, "172.18.0.2", 40000, T0 + 11);
    expect(h.events.slice(2).map((e) => [e.src.ip, e.midstream])).toEqual([
      ["172.18.0.3", undefined],
      ["172.18.0.3", undefined],
    ]);
  });

  it("non-first IP fragments open and update no flow; the first one is tracked", () => {
    const h = harness();
    const seg = udpPacket({
      src: "203.0.113.53",
      dst: "172.18.0.2",
      srcPort: 53,
      dstPort: 41000,
      payload: Buffer.alloc(8),
    });
    const later = (payload: Buffer) => {
      const ip = ipv4({ src: "172.18.0.2", dst: "203.0.113.9", proto: 17, payload, fragOffset: 185 });
      return ethernet({ etherType: ETHERTYPE_IPV4, payload: ip });
    };
    h.frame(later(Buffer.alloc(64, 1)), T0);
    const v6later = ethernet({
      etherType: ETHERTYPE_IPV6,
      payload: ipv6({
        src: "fd00:18::2",
        dst: "2001:db8::9",
        nextHeader: PROTO_TCP,
        payload: Buffer.alloc(64, 2),
        extHeaders: [fragmentExt({ offset: 100, more: false })],
      }),
    });
    h.frame(v6later, T0 + 1);
    expect(h.events).toEqual([]);
    expect(h.tracker.stats().created).toBe(0);
    h.frame(seg, T0 + 2);
    h.frame(later(Buffer.alloc(64, 3)), T0 + 3);
    expect(h.events).toHaveLength(2);
    expect(h.events[1]).toMatchObject({ state: "accepted", packets: 1 });
  });

  it("first datagram is an attempt, a reply accepts, idle closes with last - first as duration", () => {
    const h = harness();
    h.udp("172.18.0.2", 41000, "203.0.113.53", 53, T0);
    h.udp("172.18.0.2", 41000, "203.0.113.53", 53, T0 + 5);
    h.udp("203.0.113.53", 53, "172.18.0.2", 41000, T0 + 20);
    h.udp("172.18.0.2", 41000, "203.0.113.53", 53, T0 + 300);
    h.udp("203.0.113.53", 53, "172.18.0.2", 41000, T0 + 320);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    expect(h.events[0]).toMatchObject({
      proto: "udp",
      ts: T0,
      src: { ip: "172.18.0.2", port: 41000, container: WEB },
      dst: { ip: "203.0.113.53", port: 53, container: null },
      direction: "outbound",
      packets: 1,
    });
    expect(h.events[1]).toMatchObject({ ts: T0 + 20, durationMs: 20, packets: 3 });
    h.tracker.advance(T0 + 320 + 1999);
    expect(h.events).toHaveLength(2);
    h.tracker.advance(T0 + 320 + 2000);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    expect(h.events[2]).toMatchObject({
      ts: T0 + 2320,
      durationMs: 320,
      packets: 5,
      src: { ip: "172.18.0.2", port: 41000 },
    });
    expect(h.tracker.size).toBe(0);
  });

  it("a datagram never answered is reported unanswered once idle", () => {
    const h = harness();
    h.udp("172.18.0.2", 41001, "172.18.0.3", 9000, T0);
    h.udp("172.18.0.2", 41001, "172.18.0.3", 9000, T0 + 100);
    // A later unrelated packet triggers the sweep (packet time, not the wall clock).
    h.udp("172.18.0.3", 41002, "172.18.0.2", 9001, T0 + 2500);
    expect(states(h.events)).toEqual(["attempt", "unanswered", "attempt"]);
    expect(h.events[1]).toMatchObject({
      ts: T0 + 2100,
      durationMs: 2100,
      packets: 2,
      direction: "internal",
      src: { ip: "172.18.0.2", port: 41001, container: WEB },
      dst: { ip: "172.18.0.3", port: 9000, container: DB },
    });
    expect(h.tracker.size).toBe(1);
  });

  it("UDP over IPv6", () => {
    const h = harness();
    h.udp("fd00:18::2", 41003, "fd00:18::53", 53, T0);
    h.udp("fd00:18::53", 53, "fd00:18::2", 41003, T0 + 4);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    expect(h.events[1]).toMatchObject({
      durationMs: 4,
      src: { ip: "fd00:18::2", port: 41003, container: WEB6 },
      dst: { ip: "fd00:18::53", port: 53, container: null },
    });
  });
});

describe("FlowTracker: table management", () => {
  it("caps the table at maxFlows, evicting the oldest flow and counting it", () => {
    const h = harness({ maxFlows: 3 });
    for (let i = 0; i < 5; i++) {
      h.tcp("172.18.0.2", 42000 + i, "172.18.0.3", 80, TCP_SYN, T0 + i);
      expect(h.tracker.size).toBeLessThanOrEqual(3);
    }
    expect(h.tracker.size).toBe(3);
    expect(h.tracker.stats()).toEqual({ active: 3, created: 5, evicted: 2, expired: 0 });
    // Evictions are silent.
    expect(states(h.events)).toEqual(["attempt", "attempt", "attempt", "attempt", "attempt"]);
    // The two oldest are gone (their answers pick them up again mid-stream); the three newest are still tracked.
    for (const i of [2, 3, 4, 0, 1])
      h.tcp("172.18.0.3", 80, "172.18.0.2", 42000 + i, TCP_SYN | TCP_ACK, T0 + 10);
    const accepted = h.events.filter((e) => e.state === "accepted" && !e.midstream).map((e) => e.src.port);
    expect(accepted).toEqual([42002, 42003, 42004]);
  });

  it("evicts in creation order even after flows in the middle were removed", () => {
    const h = harness({ maxFlows: 3 });
    h.tcp("172.18.0.2", 43000, "172.18.0.3", 80, TCP_SYN, T0);
    h.tcp("172.18.0.2", 43001, "172.18.0.3", 80, TCP_SYN, T0 + 1);
    h.tcp("172.18.0.2", 43002, "172.18.0.3", 80, TCP_SYN, T0 + 2);
    h.tcp("172.18.0.2", 43001, "172.18.0.3", 80, TCP_RST, T0 + 3); // middle one closes
    h.tcp("172.18.0.2", 43003, "172.18.0.3", 80, TCP_SYN, T0 + 4); // fits
    expect(h.tracker.stats().evicted).toBe(0);
    h.tcp("172.18.0.2", 43004, "172.18.0.3", 80, TCP_SYN, T0 + 5); // evicts 43000
    expect(h.tracker.stats().evicted).toBe(1);
    expect(h.tracker.size).toBe(3);
    h.tcp("172.18.0.2", 43002, "172.18.0.3", 80, TCP_RST, T0 + 6);
    h.tcp("172.18.0.2", 43000, "172.18.0.3", 80, TCP_RST, T0 + 6);
    const closed = h.events.filter((e) => e.state === "closed" && !e.midstream).map((e) => e.src.port);
    expect(closed).toEqual([43001, 43002]);
  });

  it("a full table pushes out an ended flow kept for its late packets before any live one", () => {
    const h = harness({ maxFlows: 3 });
    h.tcp("172.18.0.2", 43100, "172.18.0.3", 80, TCP_SYN, T0);
    h.tcp("172.18.0.2", 43101, "172.18.0.3", 80, TCP_SYN, T0 + 1);
    h.tcp("172.18.0.2", 43102, "172.18.0.3", 80, TCP_SYN, T0 + 2);
    h.tcp("172.18.0.3", 80, "172.18.0.2", 43102, TCP_RST, T0 + 3); // the newest ends
    h.tcp("172.18.0.2", 43103, "172.18.0.3", 80, TCP_SYN, T0 + 4);
    expect(h.tracker.stats()).toMatchObject({ active: 3, evicted: 0 });
    for (const port of [43100, 43101, 43103])
      h.tcp("172.18.0.3", 80, "172.18.0.2", port, TCP_SYN | TCP_ACK, T0 + 5);
    expect(h.events.filter((e) => e.state === "accepted" && !e.midstream)).toHaveLength(3);
  });

  it("flush() reports pending attempts as unanswered, as the timeouts would have", () => {
    const h = harness();
    h.tcp("172.18.0.2", 44000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.2", 44001, "172.18.0.3", 5432, TCP_SYN, T0 + 10);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 44001, TCP_SYN | TCP_ACK, T0 + 11);
    h.udp("172.18.0.2", 44002, "203.0.113.53", 53, T0 + 20);
    h.udp("172.18.0.2", 44003, "203.0.113.53", 53, T0 + 30);
    h.udp("203.0.113.53", 53, "172.18.0.2", 44003, T0 + 35);
    const before = h.events.length;
    h.tracker.flush();
    const flushed = h.events.slice(before).map((e) => [e.proto, e.src.port, e.state, e.ts, e.durationMs]);
    expect(flushed).toEqual([
      ["tcp", 44000, "unanswered", T0 + 1000, 1000],
      ["udp", 44002, "unanswered", T0 + 2020, 2000],
      ["udp", 44003, "closed", T0 + 2035, 5],
    ]);
    expect(h.tracker.size).toBe(0);
    expect(h.tracker.stats().expired).toBe(1); // the established TCP flow
  });

  it("records reused from the free list carry no stale attribution", () => {
    const h = harness();
    h.tcp("172.18.0.2", 45000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 45000, TCP_SYN | TCP_ACK, T0 + 1);
    h.tcp("172.18.0.2", 45000, "172.18.0.3", 5432, TCP_FIN, T0 + 2);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 45000, TCP_FIN, T0 + 2);
    h.udp("172.18.0.3", 45001, "172.18.0.2", 53, T0 + 3);
    h.udp("172.18.0.3", 45001, "172.18.0.2", 53, T0 + 4);
    h.tracker.advance(T0 + 10_000);
    expect(h.tracker.size).toBe(0);
    const before = h.events.length;
    // New flows between unknown addresses reuse those records.
    h.tcp("198.51.100.1", 1234, "203.0.113.9", 80, TCP_SYN, T0 + 20_000);
    h.udp("198.51.100.2", 1235, "203.0.113.9", 53, T0 + 20_001);
    h.tcp("203.0.113.9", 80, "198.51.100.1", 1234, TCP_SYN | TCP_ACK, T0 + 20_002);
    const fresh = h.events.slice(before);
    expect(fresh.map((e) => [e.proto, e.state, e.packets])).toEqual([
      ["tcp", "attempt", 1],
      ["udp", "attempt", 1],
      ["tcp", "accepted", 2],
    ]);
    for (const ev of fresh) {
      expect(ev.src.container).toBeNull();
      expect(ev.dst.container).toBeNull();
      expect(ev.direction).toBe("external");
    }
    expect(fresh[2]?.durationMs).toBe(2);
    expect(fresh[2]?.ts).toBe(T0 + 20_002);
    // Events already emitted are not changed by the reuse of their record.
    expect(h.events[0]?.src.container).toEqual(WEB);
    expect(h.events[2]).toMatchObject({ state: "closed", src: { container: WEB }, dst: { container: DB } });
    expect(h.events.every((e) => e.midstream === undefined)).toBe(true);
  });

  it("5,000 flows opened and closed in interleaved order all resolve to the right flow", () => {
    const h = harness({ maxFlows: 10_000, tcpUnansweredMs: 1_000_000_000, udpIdleMs: 1_000_000_000 });
    const n = 5000;
    const client = (i: number) => `10.${1 + (i >> 12)}.${(i >> 6) & 63}.${(i & 63) + 1}`;
    const cport = (i: number) => 20000 + ((i * 7) % 30000);
    const server = (i: number) => `10.200.0.${1 + (i % 5)}`;
    const sport = (i: number) => (i % 2 === 0 ? 80 : 443);
    let ts = T0;
    for (let i = 0; i < n; i++) h.tcp(client(i), cport(i), server(i), sport(i), TCP_SYN, ts++);
    expect(h.tracker.size).toBe(n);
    // Answers in reverse order.
    for (let i = n - 1; i >= 0; i--) h.tcp(server(i), sport(i), client(i), cport(i), TCP_SYN | TCP_ACK, ts++);
    // Closes in a scrambled order (a permutation: 2,003 is coprime with 5,000), from alternating sides.
    for (let k = 0; k < n; k++) {
      const i = (k * 2003) % n;
      if (k % 2 === 0) {
        h.tcp(client(i), cport(i), server(i), sport(i), TCP_FIN | TCP_ACK, ts++);
        h.tcp(server(i), sport(i), client(i), cport(i), TCP_FIN | TCP_ACK, ts++);
      } else h.tcp(server(i), sport(i), client(i), cport(i), TCP_RST, ts++);
    }
    const key = (e: ConnectionEvent) => `${e.src.ip}:${e.src.port}>${e.dst.ip}:${e.dst.port}`;
    const expected = new Set(
      Array.from({ length: n }, (_, i) => `${client(i)}:${cport(i)}>${server(i)}:${sport(i)}`),
    );
    for (const state of ["attempt", "accepted", "closed"]) {
      const got = h.events.filter((e) => e.state === state).map(key);
      expect(got).toHaveLength(n);
      expect(new Set(got)).toEqual(expected);
    }
    expect(h.events).toHaveLength(3 * n);
    expect(h.events.every((e) => e.direction === "external")).toBe(true);
    const closed = h.events.filter((e) => e.state === "closed");
    expect(closed.every((e) => e.packets === (e.closedBy === "initiator" ? 4 : 3))).toBe(true);
    expect(h.tracker.size).toBe(0);
    expect(h.tracker.stats()).toEqual({ active: 0, created: n, evicted: 0, expired: 0 });
  });

  it("flows whose hashes collide share a bucket and still resolve and unlink correctly", () => {
    // Search a deterministic candidate set for real 32-bit flowHash collisions.
    const server = "10.99.0.1";
    const dst = new Uint32Array(4);
    ipToWords(server, dst);
    const src = new Uint32Array(4);
    const seen = new Map<number, [string, number]>();
    const pairs: Array<[[string, number], [string, number]]> = [];
    for (let i = 0; i < 600_000 && pairs.length < 4; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const port = 1024 + (i % 7);
      ipToWords(ip, src);
      const hash = flowHash(src, port, dst, 80, PROTO_TCP);
      const other = seen.get(hash);
      if (other !== undefined) pairs.push([other, [ip, port]]);
      else seen.set(hash, [ip, port]);
    }
    expect(pairs.length).toBeGreaterThanOrEqual(2);
    const h = harness({ tcpUnansweredMs: 1_000_000_000, udpIdleMs: 1_000_000_000 });
    let ts = T0;
    pairs.forEach(([a, b], n) => {
      const start = h.events.length;
      h.tcp(a[0], a[1], server, 80, TCP_SYN, ts++);
      h.tcp(b[0], b[1], server, 80, TCP_SYN, ts++);
      expect(h.tracker.size).toBe(2);
      // Half the pairs unlink the chain's head first, the other half the record behind it.
      const [first, second] = n % 2 === 0 ? [a, b] : [b, a];
      h.tcp(server, 80, first[0], first[1], TCP_SYN | TCP_ACK, ts++);
      h.tcp(first[0], first[1], server, 80, TCP_RST, ts++);
      expect(h.tracker.size).toBe(1);
      h.tcp(server, 80, second[0], second[1], TCP_SYN | TCP_ACK, ts++);
      h.tcp(server, 80, second[0], second[1], TCP_RST, ts++);
      expect(h.tracker.size).toBe(0);
      expect(h.events.slice(start).map((e) => `${e.state} ${e.src.ip}:${e.src.port}`)).toEqual([
        `attempt ${a[0]}:${a[1]}`,
        `attempt ${b[0]}:${b[1]}`,
        `accepted ${first[0]}:${first[1]}`,
        `closed ${first[0]}:${first[1]}`,
        `accepted ${second[0]}:${second[1]}`,
        `closed ${second[0]}:${second[1]}`,
      ]);
      // Nothing stale is left in the bucket: both flows open afresh (records come from the free list).
      const again = h.events.length;
      h.tcp(first[0], first[1], server, 80, TCP_SYN, ts++);
      h.tcp(second[0], second[1], server, 80, TCP_SYN, ts++);
      h.tcp(server, 80, second[0], second[1], TCP_RST, ts++);
      h.tcp(server, 80, first[0], first[1], TCP_RST, ts++);
      expect(h.events.slice(again).map((e) => `${e.state} ${e.src.ip}:${e.src.port}`)).toEqual([
        `attempt ${first[0]}:${first[1]}`,
        `attempt ${second[0]}:${second[1]}`,
        `rejected ${second[0]}:${second[1]}`,
        `rejected ${first[0]}:${first[1]}`,
      ]);
      expect(h.tracker.size).toBe(0);
    });
  });

  it("a four-deep collision chain unlinks from the middle, the tail and the head", () => {
    // Two endpoint-hash collisions (h(A1) = h(A2), h(B1) = h(B2)) make the four flows Ai <-> Bj share
    // one flow hash, since the flow hash adds the two endpoint hashes.
    const words = new Uint32Array(4);
    const seen = new Map<number, [string, number]>();
    const pairs: Array<[[string, number], [string, number]]> = [];
    for (let i = 0; i < 600_000 && pairs.length < 2; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const port = 1024 + (i % 7);
      ipToWords(ip, words);
      const hash = endpointHash(words[0]!, words[1]!, words[2]!, words[3]!, port);
      const other = seen.get(hash);
      if (other !== undefined) pairs.push([other, [ip, port]]);
      else seen.set(hash, [ip, port]);
    }
    expect(pairs).toHaveLength(2);
    const [[a1, a2], [b1, b2]] = pairs as [
      [[string, number], [string, number]],
      [[string, number], [string, number]],
    ];
    const flows: Array<[[string, number], [string, number]]> = [
      [a1, b1],
      [a1, b2],
      [a2, b1],
      [a2, b2],
    ];
    const w1 = new Uint32Array(4);
    const w2 = new Uint32Array(4);
    const hashes = new Set(
      flows.map(([c, s]) => {
        ipToWords(c[0], w1);
        ipToWords(s[0], w2);
        return flowHash(w1, c[1], w2, s[1], PROTO_TCP);
      }),
    );
    expect(hashes.size).toBe(1);
    const label = (k: number) =>
      `${flows[k]![0][0]}:${flows[k]![0][1]}>${flows[k]![1][0]}:${flows[k]![1][1]}`;
    const ev = (e: ConnectionEvent) => `${e.state} ${e.src.ip}:${e.src.port}>${e.dst.ip}:${e.dst.port}`;
    const h = harness({ tcpUnansweredMs: 1_000_000_000, udpIdleMs: 1_000_000_000 });
    let ts = T0;
    const syn = (k: number) => {
      const [c, s] = flows[k]!;
      h.tcp(c[0], c[1], s[0], s[1], TCP_SYN, ts++);
    };
    const fromServer = (k: number, flags: number) => {
      const [c, s] = flows[k]!;
      h.tcp(s[0], s[1], c[0], c[1], flags, ts++);
    };
    for (let round = 0; round < 2; round++) {
      const start = h.events.length;
      for (let k = 0; k < 4; k++) syn(k); // chain: 3 -> 2 -> 1 -> 0
      expect(h.tracker.size).toBe(4);
      const order = round === 0 ? [1, 0, 3, 2] : [2, 3, 0, 1];
      for (const k of order) {
        fromServer(k, TCP_SYN | TCP_ACK);
        fromServer(k, TCP_RST | TCP_ACK);
      }
      expect(h.tracker.size).toBe(0);
      expect(h.events.slice(start).map(ev)).toEqual([
        ...[0, 1, 2, 3].map((k) => `attempt ${label(k)}`),
        ...order.flatMap((k) => [`accepted ${label(k)}`, `closed ${label(k)}`]),
      ]);
    }
  });
});

/**
 * Connections open before netmon watched a container: seeded from /proc into the flow table
 * (FlowTracker.seed, Engine.seedConnections), then kept up to date by the wire; and the initiator of
 * unseen openings from the ports containers are known to listen on (ListeningPorts).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../src/capture/packet.js";
import { parseConfigText } from "../../src/config/load.js";
import { buildEngine } from "../../src/engine/engine.js";
import { ListeningPorts } from "../../src/flows/listening-ports.js";
import type { ProcConnection } from "../../src/flows/proc-connection.js";
import { loadStaticInventory } from "../../src/inventory/static-inventory.js";
import type { ConnectionEvent, ContainerRef, ListenerEvent, NetmonEvent } from "../../src/model/events.js";
import { ipToWords } from "../../src/net/ip-format.js";
import { flowHarness, flowRef } from "../support/flow-harness.js";
import { captureLog } from "../support/log-capture.js";
import { SCENARIO_T0, Scenario } from "../support/scenario.js";

const T0 = 1_000_000;
const WEB = flowRef("web");
const DB = flowRef("db");
const ENTRIES: Array<[string, ContainerRef]> = [
  ["172.18.0.2", WEB],
  ["172.18.0.3", DB],
  ["fd00:18::2", WEB],
];

function conn(src: string, srcPort: number, dst: string, dstPort: number): ProcConnection {
  const s = new Uint32Array(4);
  const d = new Uint32Array(4);
  const version = ipToWords(src, s);
  ipToWords(dst, d);
  if (version === 0) throw new Error(`bad ip ${src}`);
  return { version, src: s, srcPort, dst: d, dstPort };
}

const states = (events: readonly ConnectionEvent[]): string[] => events.map((e) => e.state);

function listener(
  container: ContainerRef,
  proto: "tcp" | "udp",
  port: number,
  state: "opened" | "closed" = "opened",
  address = "0.0.0.0",
): ListenerEvent {
  return {
    kind: "listener",
    ts: T0,
    state,
    container,
    proto,
    family: address.includes(":") ? 6 : 4,
    address,
    port,
    dockerDns: address === "127.0.0.11",
  };
}

describe("FlowTracker.seed: connections found open in /proc", () => {
  it("becomes one judged attempt then accepted, mid-stream, source proc, at the time given", () => {
    const h = flowHarness(ENTRIES);
    expect(h.tracker.seed(conn("172.18.0.2", 41000, "203.0.113.7", 4444), T0)).toBe(true);
    const common = {
      kind: "connection",
      ts: T0,
      proto: "tcp",
      src: { ip: "172.18.0.2", port: 41000, container: WEB },
      dst: { ip: "203.0.113.7", port: 4444, container: null },
      direction: "outbound",
      packets: 0,
      iface: "proc",
      midstream: true,
      source: "proc",
    };
    expect(h.events).toEqual([
      { ...common, state: "attempt" },
      { ...common, state: "accepted", durationMs: 0 },
    ]);
    expect(h.tracker.size).toBe(1);
  });

  it("IPv6 sockets are seeded too", () => {
    const h = flowHarness(ENTRIES);
    h.tracker.seed(conn("fd00:18::2", 41000, "2001:db8::7", 443), T0);
    expect(h.events[0]).toMatchObject({
      src: { ip: "fd00:18::2", container: WEB },
      dst: { ip: "2001:db8::7" },
    });
  });

  it("a tuple already in the table (seen on the wire, or seeded before) is not seeded again", () => {
    const h = flowHarness(ENTRIES);
    h.tcp("172.18.0.2", 41000, "172.18.0.3", 5432, TCP_SYN, T0);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 41000, TCP_SYN | TCP_ACK, T0 + 1);
    const c = conn("172.18.0.2", 41000, "172.18.0.3", 5432);
    expect(h.tracker.seed(c, T0 + 10)).toBe(false);
    // The same connection read from the server's side (inbound orientation) is the same tuple.
    expect(h.tracker.seed(conn("172.18.0.2", 41000, "172.18.0.3", 5432), T0 + 20)).toBe(false);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);

    const again = flowHarness(ENTRIES);
    expect(again.tracker.seed(c, T0)).toBe(true);
    expect(again.tracker.seed(c, T0 + 5_000)).toBe(false);
    expect(states(again.events)).toEqual(["attempt", "accepted"]);
  });

  it("the wire keeps a seeded flow up to date: both FINs close it, with its duration from the seeding", () => {
    const h = flowHarness(ENTRIES);
    h.tracker.seed(conn("172.18.0.2", 41000, "203.0.113.7", 4444), T0);
    // A FIN from the remote side first: the seeded flow, not a second mid-stream pickup.
    h.tcp("203.0.113.7", 4444, "172.18.0.2", 41000, TCP_FIN | TCP_ACK, T0 + 3000);
    h.tcp("172.18.0.2", 41000, "203.0.113.7", 4444, TCP_FIN | TCP_ACK, T0 + 3010);
    h.tcp("203.0.113.7", 4444, "172.18.0.2", 41000, TCP_FIN | TCP_ACK, T0 + 3020); // retransmitted
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    expect(h.events[2]).toMatchObject({
      source: "proc",
      midstream: true,
      durationMs: 3010,
      closedBy: "responder",
      src: { ip: "172.18.0.2", port: 41000 },
      packets: 2,
    });
  });

  it("a RST on the wire ends a seeded flow; a later SYN on the tuple is a new connection", () => {
    const h = flowHarness(ENTRIES);
    h.tracker.seed(conn("172.18.0.2", 41000, "203.0.113.7", 4444), T0);
    h.tcp("172.18.0.2", 41000, "203.0.113.7", 4444, TCP_RST, T0 + 500);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    expect(h.events[2]).toMatchObject({ closedBy: "initiator", durationMs: 500 });
    h.tcp("172.18.0.2", 41000, "203.0.113.7", 4444, TCP_SYN, T0 + 10_000, 77);
    expect(h.events.at(-1)).toMatchObject({ state: "attempt", packets: 1, iface: "br-test" });
    expect(h.events.at(-1)).not.toHaveProperty("source");
  });

  it("a seeded connection that goes silent is dropped after the established idle timeout, unreported", () => {
    const h = flowHarness(ENTRIES, { tcpEstablishedIdleMs: 10_000 });
    h.tracker.seed(conn("172.18.0.2", 41000, "203.0.113.7", 4444), T0);
    h.tracker.advance(T0 + 10_000);
    expect(h.tracker.size).toBe(0);
    expect(h.tracker.stats().expired).toBe(1);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
  });
});

describe("FlowTracker.seed and the wire's opening SYN", () => {
  it("a SYN still in the capture buffer when /proc was read is the seeded connection's own: nothing twice", () => {
    const h = flowHarness(ENTRIES);
    h.tracker.seed(conn("172.18.0.2", 41000, "172.18.0.3", 5432), T0 + 100);
    h.tcp("172.18.0.2", 41000, "172.18.0.3", 5432, TCP_SYN, T0, 77);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 41000, TCP_SYN | TCP_ACK, T0 + 10);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    h.tcp("172.18.0.2", 41000, "172.18.0.3", 5432, TCP_FIN | TCP_ACK, T0 + 3000);
    h.tcp("172.18.0.3", 5432, "172.18.0.2", 41000, TCP_FIN | TCP_ACK, T0 + 3010);
    // One connection, closed once, its duration from the SYN the wire saw.
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed"]);
    expect(h.events[2]).toMatchObject({ durationMs: 3010, source: "proc" });
  });

  it("a SYN long after the seeding, with no end seen, is a new connection on the reused tuple", () => {
    const h = flowHarness(ENTRIES);
    h.tracker.seed(conn("172.18.0.2", 41000, "172.18.0.3", 5432), T0);
    h.tcp("172.18.0.2", 41000, "172.18.0.3", 5432, TCP_SYN, T0 + 20_000, 77);
    expect(states(h.events)).toEqual(["attempt", "accepted", "closed", "attempt"]);
  });
});

describe("ListeningPorts", () => {
  it("counts twin sockets (IPv4 and IPv6) and forgets a port when the last one closes", () => {
    const l = new ListeningPorts();
    l.apply(listener(DB, "tcp", 5432));
    l.apply(listener(DB, "tcp", 5432, "opened", "::"));
    expect(l.listens(DB.id, PROTO_TCP, 5432)).toBe(true);
    expect(l.listens(DB.id, PROTO_UDP, 5432)).toBe(false);
    expect(l.listens(WEB.id, PROTO_TCP, 5432)).toBe(false);
    l.apply(listener(DB, "tcp", 5432, "closed"));
    expect(l.listens(DB.id, PROTO_TCP, 5432)).toBe(true);
    l.apply(listener(DB, "tcp", 5432, "closed", "::"));
    l.apply(listener(DB, "tcp", 5432, "closed")); // a close never seen opened changes nothing
    expect(l.listens(DB.id, PROTO_TCP, 5432)).toBe(false);
    expect(l.size).toBe(0);
  });

  it("ignores loopback binds, Docker's DNS and UDP sockets on ephemeral ports (client sockets)", () => {
    const l = new ListeningPorts();
    l.apply(listener(DB, "tcp", 8080, "opened", "127.0.0.1"));
    l.apply(listener(DB, "udp", 41234, "opened", "127.0.0.11"));
    l.apply(listener(DB, "tcp", 9000, "opened", "::1"));
    l.apply(listener(DB, "udp", 40000));
    expect(l.size).toBe(0);
    l.apply(listener(DB, "udp", 5353));
    l.apply(listener(DB, "tcp", 40000));
    expect(l.listens(DB.id, PROTO_UDP, 5353)).toBe(true);
    expect(l.listens(DB.id, PROTO_TCP, 40000)).toBe(true);
  });

  it("retain drops the containers the scan no longer sees", () => {
    const l = new ListeningPorts();
    l.apply(listener(DB, "tcp", 5432));
    l.apply(listener(WEB, "tcp", 80));
    l.retain(new Set([WEB.id]));
    expect(l.listens(DB.id, PROTO_TCP, 5432)).toBe(false);
    expect(l.listens(WEB.id, PROTO_TCP, 80)).toBe(true);
  });
});

describe("FlowTracker: initiator of unseen openings from known listening ports", () => {
  // Two ephemeral ports: the port rule alone cannot tell the server.
  it("a FIN-first TCP flow from a port its container listens on is the server answering", () => {
    const l = new ListeningPorts();
    l.apply(listener(DB, "tcp", 40000));
    const h = flowHarness(ENTRIES, {}, l);
    h.tcp("172.18.0.3", 40000, "172.18.0.2", 50000, TCP_FIN | TCP_ACK, T0);
    expect(h.events[0]).toMatchObject({
      state: "attempt",
      midstream: true,
      src: { ip: "172.18.0.2", port: 50000, container: WEB },
      dst: { ip: "172.18.0.3", port: 40000, container: DB },
    });
    expect(h.events[0]).not.toHaveProperty("initiator");
  });

  it("the listening port wins over the port rule; without it the port rule decides", () => {
    // db listens on 40000 and web's client port happens to be 8080: the port rule would pick web.
    const l = new ListeningPorts();
    l.apply(listener(DB, "tcp", 40000));
    const h = flowHarness(ENTRIES, {}, l);
    h.tcp("172.18.0.2", 8080, "172.18.0.3", 40000, TCP_RST, T0);
    expect(h.events[0]).toMatchObject({ src: { port: 8080 }, dst: { port: 40000 } });
    const plain = flowHarness(ENTRIES);
    plain.tcp("172.18.0.2", 8080, "172.18.0.3", 40000, TCP_RST, T0);
    expect(plain.events[0]).toMatchObject({ src: { port: 40000 }, dst: { port: 8080 } });
  });

  it("both ends on a listening port: the port rule decides, else the initiator is unknown", () => {
    const l = new ListeningPorts();
    l.apply(listener(DB, "tcp", 40000));
    l.apply(listener(WEB, "tcp", 50000));
    const h = flowHarness(ENTRIES, {}, l);
    h.tcp("172.18.0.3", 40000, "172.18.0.2", 50000, TCP_FIN | TCP_ACK, T0);
    expect(h.events[0]).toMatchObject({ initiator: "unknown", src: { port: 40000 } });
  });

  it("a first UDP datagram from a UDP port its container listens on is the server answering", () => {
    const l = new ListeningPorts();
    l.apply(listener(DB, "udp", 5000));
    const h = flowHarness(ENTRIES, {}, l);
    h.udp("172.18.0.3", 5000, "172.18.0.2", 46000, T0);
    expect(states(h.events)).toEqual(["attempt", "accepted"]);
    expect(h.events[0]).toMatchObject({
      midstream: true,
      src: { ip: "172.18.0.2", port: 46000 },
      dst: { ip: "172.18.0.3", port: 5000 },
    });
    // From its listening port to a port that is no client's: judged as the container's own attempt,
    // or a container could send anything from a port it listens on unjudged.
    h.udp("172.18.0.3", 5000, "203.0.113.7", 9999, T0 + 5);
    expect(h.events.at(-1)).toMatchObject({
      state: "attempt",
      src: { ip: "172.18.0.3", port: 5000, container: DB },
      dst: { ip: "203.0.113.7", port: 9999 },
    });
    // The request direction of the same service stays an ordinary attempt.
    h.udp("172.18.0.2", 6001, "172.18.0.3", 5000, T0 + 10);
    expect(h.events.at(-1)).toMatchObject({ state: "attempt", src: { port: 6001 } });
    expect(h.events.at(-1)).not.toHaveProperty("midstream");
  });

  it("a request to a service port from a client whose port another rule calls a service stays the client's", () => {
    // web sends from 53 (the port rule's server side) to db's listening port 5000: db is the server.
    const l = new ListeningPorts();
    l.apply(listener(DB, "udp", 5000));
    const h = flowHarness(ENTRIES, {}, l);
    h.udp("172.18.0.2", 53, "172.18.0.3", 40000, T0);
    expect(h.events[0]).toMatchObject({ src: { port: 40000 }, midstream: true }); // port rule: 53 answers
    h.udp("172.18.0.2", 53, "172.18.0.3", 5000, T0 + 1);
    expect(h.events.at(-1)).toMatchObject({ state: "attempt", src: { port: 53 }, dst: { port: 5000 } });
  });
});

describe("Engine.seedConnections", () => {
  function engineWithInventory() {
    const out = new Scenario({ network: "shop_default", gateway: "172.30.0.1" })
      .container({
        name: "shop-web-1",
        ip: "172.30.0.2",
        project: "shop",
        service: "web",
        image: "shop/web:1.4",
        labels: { "netmon.egress": "db:5432/tcp" },
      })
      .build();
    const file = join(mkdtempSync(join(tmpdir(), "netmon-seed-")), "inventory.json");
    writeFileSync(file, JSON.stringify(out.inventory));
    const r = parseConfigText("", "test.yaml");
    if (!r.ok) throw new Error(r.errors.join("\n"));
    const seen: NetmonEvent[] = [];
    const { log, lines } = captureLog();
    const engine = buildEngine({
      config: r.config,
      containers: loadStaticInventory(file).inventory,
      baseline: new Baseline(),
      log,
      logEvents: false,
      observers: [{ onEvent: (ev) => seen.push(ev) }],
    });
    return { engine, seen, lines };
  }

  it("judges a seeded connection at the engine's time: an undeclared destination alerts at once", () => {
    const { engine, seen, lines } = engineWithInventory();
    const now = SCENARIO_T0 + 5_000;
    const c = conn("172.30.0.2", 41000, "198.51.100.23", 4444);
    expect(engine.seedConnections([c], now)).toEqual({ seeded: 1, known: 0 });
    expect(engine.clock.now).toBe(now);
    const attempt = seen.find((e) => e.kind === "connection" && e.state === "attempt") as ConnectionEvent;
    expect(attempt).toMatchObject({ ts: now, source: "proc", midstream: true });
    expect(attempt.verdict).toMatchObject({ mode: "monitor", allowedBy: null });
    const alert = lines.find((l) => l.msg === "alert") as { alert: { detector: string } } | undefined;
    expect(alert?.alert.detector).toBe("unexpected-outbound");
    // Re-seeding (after a Docker reconnect) reports nothing twice.
    expect(engine.seedConnections([c], now + 2_000)).toEqual({ seeded: 0, known: 1 });
    expect(seen.filter((e) => e.kind === "connection")).toHaveLength(2);
  });

  it("never dates an event before the engine's clock: packet time ahead of the wall clock wins", () => {
    const { engine, seen } = engineWithInventory();
    engine.tick(SCENARIO_T0 + 9_000);
    engine.seedConnections([conn("172.30.0.2", 41000, "198.51.100.23", 4444)], SCENARIO_T0 + 5_000);
    expect(seen[0]?.ts).toBe(SCENARIO_T0 + 9_000);
  });
});

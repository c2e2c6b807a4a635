/**
 * A FlowTracker fed with built packets (test/support/packet-builder.ts) and a fixed IP → container
 * map, collecting the events it emits: for the flow-tracker tests.
 */
import { expect } from "vitest";
import { decodePacket } from "../../src/capture/decoder.js";
import { DecodedPacket, LINKTYPE_ETHERNET } from "../../src/capture/packet.js";
import { FlowTracker, type FlowTrackerOptions } from "../../src/flows/flow-tracker.js";
import type { ListeningPorts } from "../../src/flows/listening-ports.js";
import type { IpResolver } from "../../src/inventory/types.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";
import { containerRef } from "./fixtures.js";
import { tcpPacket, udpPacket } from "./packet-builder.js";

export const FLOW_IFACE = "br-test";

export const FLOW_OPTS: FlowTrackerOptions = {
  maxFlows: 1000,
  tcpUnansweredMs: 1000,
  tcpEstablishedIdleMs: 60_000,
  udpIdleMs: 2000,
};

/** A container named `name` with a stable 64-character id. */
export function flowRef(name: string): ContainerRef {
  return containerRef(name, {
    id: `${name}-id`.padEnd(64, "0"),
    image: `${name}:latest`,
    service: name,
    project: "proj",
  });
}

export class FakeResolver implements IpResolver {
  readonly calls: Array<[string, number]> = [];
  constructor(readonly map: Map<string, ContainerRef>) {}
  lookup(ip: string, tsMs: number): ContainerRef | null {
    this.calls.push([ip, tsMs]);
    return this.map.get(ip) ?? null;
  }
}

export interface FlowHarness {
  tracker: FlowTracker;
  events: ConnectionEvent[];
  resolver: FakeResolver;
  tcp(src: string, sport: number, dst: string, dport: number, flags: number, ts: number, seq?: number): void;
  /** Any frame (a fragment, ...) at ts. */
  frame(buf: Buffer, ts: number): void;
  udp(src: string, sport: number, dst: string, dport: number, ts: number): void;
}

export function flowHarness(
  entries: Array<[string, ContainerRef]>,
  opts: Partial<FlowTrackerOptions> = {},
  listening: ListeningPorts | null = null,
): FlowHarness {
  const resolver = new FakeResolver(new Map(entries));
  const events: ConnectionEvent[] = [];
  const tracker = new FlowTracker({ ...FLOW_OPTS, ...opts }, resolver, (ev) => events.push(ev), listening);
  const pkt = new DecodedPacket();
  const feed = (buf: Buffer, ts: number): void => {
    expect(decodePacket(buf, 0, buf.length, LINKTYPE_ETHERNET, pkt)).toBe(true);
    pkt.ts = ts;
    tracker.onPacket(pkt, FLOW_IFACE);
  };
  return {
    tracker,
    events,
    resolver,
    tcp: (src, srcPort, dst, dstPort, flags, ts, seq) =>
      feed(tcpPacket({ src, dst, srcPort, dstPort, flags, seq }), ts),
    frame: feed,
    udp: (src, srcPort, dst, dstPort, ts) =>
      feed(udpPacket({ src, dst, srcPort, dstPort, payload: Buffer.from("hello") }), ts),
  };
}

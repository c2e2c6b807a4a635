import { describe, expect, it } from "vitest";
import { LINKTYPE_ETHERNET, PROTO_UDP } from "../../src/capture/packet.js";
import { defaultConfig } from "../../src/config/load.js";
import { Pipeline } from "../../src/engine/pipeline.js";
import type { NetmonEvent } from "../../src/model/events.js";
import { buildDns } from "../support/dns-builder.js";
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethernet,
  fragmentExt,
  ipv4,
  ipv6,
  udp,
} from "../support/packet-builder.js";

/**
 * A DNS answer too big for one packet arrives as IP fragments. The first carries the UDP header and
 * the start of the message: it is the start of an honest answer, not a malformed or hostile one.
 */

const T0 = 1_700_000_000_000;
const RESOLVER = { v4: "172.18.0.1", v6: "fd00::1" };
const CLIENT = { v4: "172.18.0.5", v6: "fd00::5" };

/** An EDNS-sized answer: 120 A records for one name (about 2 KB). */
const BIG_ANSWER = buildDns({
  response: true,
  questions: [{ name: "cdn.example.com" }],
  answers: Array.from({ length: 120 }, (_, i) => ({
    name: "cdn.example.com",
    type: "A" as const,
    ip: `198.51.${100 + (i >> 8)}.${i & 0xff}`,
    ttl: 60,
  })),
});

/** The UDP datagram 53 → client, cut into IP fragments of at most `chunk` bytes (a multiple of 8). */
function fragmentsV4(chunk: number): Buffer[] {
  const datagram = udp({ srcPort: 53, dstPort: 40_000, payload: BIG_ANSWER });
  const out: Buffer[] = [];
  for (let at = 0; at < datagram.length; at += chunk) {
    const part = datagram.subarray(at, at + chunk);
    const ip = ipv4({
      src: RESOLVER.v4,
      dst: CLIENT.v4,
      proto: PROTO_UDP,
      payload: part,
      id: 0x4242,
      fragOffset: at / 8,
      moreFragments: at + chunk < datagram.length,
    });
    out.push(ethernet({ etherType: ETHERTYPE_IPV4, payload: ip }));
  }
  return out;
}

function fragmentsV6(chunk: number): Buffer[] {
  const datagram = udp({ srcPort: 53, dstPort: 40_000, payload: BIG_ANSWER });
  const out: Buffer[] = [];
  for (let at = 0; at < datagram.length; at += chunk) {
    const ip = ipv6({
      src: RESOLVER.v6,
      dst: CLIENT.v6,
      nextHeader: PROTO_UDP,
      payload: datagram.subarray(at, at + chunk),
      extHeaders: [fragmentExt({ offset: at / 8, more: at + chunk < datagram.length })],
    });
    out.push(ethernet({ etherType: ETHERTYPE_IPV6, payload: ip }));
  }
  return out;
}

function replay(frames: Buffer[]): { pipeline: Pipeline; events: NetmonEvent[] } {
  const events: NetmonEvent[] = [];
  const pipeline = new Pipeline(defaultConfig(), { lookup: () => null }, (ev) => events.push(ev));
  const onPacket = pipeline.handlerFor("br-test");
  frames.forEach((f, i) => {
    onPacket(f, 0, f.length, f.length, T0 + i, LINKTYPE_ETHERNET);
  });
  pipeline.finish();
  return { pipeline, events };
}

describe("fragmented DNS answers", () => {
  it.each([
    ["IPv4", fragmentsV4(1480)],
    ["IPv6", fragmentsV6(1448)],
  ])(
    "%s: the first fragment is not counted as a rejected answer, and no fragment makes a phantom flow",
    (_family, frames) => {
      expect(frames.length).toBeGreaterThan(1);
      const { pipeline, events } = replay(frames);
      // The partial message is not parsed (fragments are not reassembled): neither an answer nor a rejection.
      expect(pipeline.counters).toMatchObject({
        packets: frames.length,
        undecoded: 0,
        dnsAnswers: 0,
        dnsRejected: 0,
      });
      // One pseudo-flow, from the first fragment's ports (the client asked: a reply from port 53 says
      // so); the later fragments (no ports) open nothing.
      const flows = events.filter((e) => e.kind === "connection" && e.state === "attempt");
      expect(flows).toHaveLength(1);
      expect(flows[0]).toMatchObject({ proto: "udp", src: { port: 40_000 }, dst: { port: 53 } });
    },
  );

  it("the same answer in one datagram is parsed and counted as an answer", () => {
    const frame = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({
        src: RESOLVER.v4,
        dst: CLIENT.v4,
        proto: PROTO_UDP,
        payload: udp({ srcPort: 53, dstPort: 40_000, payload: BIG_ANSWER }),
      }),
    });
    const { pipeline } = replay([frame]);
    expect(pipeline.counters).toMatchObject({ dnsAnswers: 1, dnsRejected: 0 });
    expect(pipeline.dns.namesFor(CLIENT.v4, "198.51.100.7", T0)).toEqual(["cdn.example.com"]);
  });

  it("an answer cut short without fragmentation is still rejected", () => {
    // A datagram that claims 120 records and holds 3: no fragment header explains it.
    const cut = BIG_ANSWER.subarray(0, 12 + 21 + 3 * 16);
    const frame = ethernet({
      etherType: ETHERTYPE_IPV4,
      payload: ipv4({
        src: RESOLVER.v4,
        dst: CLIENT.v4,
        proto: PROTO_UDP,
        payload: udp({ srcPort: 53, dstPort: 40_000, payload: cut }),
      }),
    });
    expect(replay([frame]).pipeline.counters).toMatchObject({ dnsAnswers: 0, dnsRejected: 1 });
  });
});

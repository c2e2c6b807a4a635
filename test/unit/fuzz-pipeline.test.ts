/**
 * Fuzzing the whole packet path (src/engine/pipeline.ts: decode → DNS cache → FlowTracker → events) with
 * a small inventory: random streams of TCP control packets, UDP datagrams, DNS answers, mutated
 * frames and raw junk, with timestamps that repeat, jump and go backwards. Properties: nothing
 * throws; the flow table never holds more than maxFlows and the DNS cache never more than its
 * cap after any packet; every event is well-formed; the end of input empties the table; a mutated
 * capture replayed through readPcapFile fails only with PcapFormatError. Run counts and seeds: see
 * test/support/mutate.ts (FUZZ_RUNS=100000 for a longer campaign).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from "../../src/capture/packet.js";
import { PcapFormatError, readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { defaultConfig } from "../../src/config/load.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { Pipeline } from "../../src/engine/pipeline.js";
import { Inventory } from "../../src/inventory/inventory.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { ConnectionEvent, NetmonEvent } from "../../src/model/events.js";
import { normalizeIp } from "../../src/net/ip-format.js";
import { buildDns, type MessageSpec } from "../support/dns-builder.js";
import {
  FUZZ_TIMEOUT_MS,
  fuzzParams,
  LONG_CAMPAIGN,
  mutate,
  mutated,
  mutationArb,
} from "../support/mutate.js";
import { tcpPacket, udpPacket } from "../support/packet-builder.js";
import { PcapWriter } from "../support/pcap-writer.js";

const T0 = 1_767_225_600_000;
const NET = "5".repeat(64);

function container(id: string, name: string, v4: string, v6: string): ContainerInfo {
  return {
    ref: { id, name, image: "busybox", service: null, project: null },
    imageId: "sha256:0",
    labels: {},
    imageLabels: null,
    networks: [
      {
        networkName: "app",
        networkId: NET,
        ipv4: v4,
        ipv6: v6,
        mac: null,
        gateway: "172.18.0.1",
        bridge: "br-555555555555",
      },
    ],
    pid: 1,
    exposedPorts: [],
    publishedPorts: [],
    startedAt: T0 - 60_000,
    finishedAt: null,
    running: true,
  };
}

function smallInventory(): Inventory {
  const inv = new Inventory();
  inv.upsert(container("a".repeat(64), "web", "172.18.0.2", "fd00:18::2"), T0 - 60_000);
  inv.upsert(container("b".repeat(64), "db", "172.18.0.3", "fd00:18::3"), T0 - 60_000);
  return inv;
}

const V4 = ["172.18.0.2", "172.18.0.3", "192.0.2.53", "203.0.113.10", "172.18.0.1"];
const V6 = ["fd00:18::2", "fd00:18::3", "2001:db8::53", "2001:db8::10", "fd00:18::1"];
const CONTAINER_IPS = new Set(["172.18.0.2", "172.18.0.3", "fd00:18::2", "fd00:18::3"]);

const port = fc.oneof(fc.constantFrom(53, 80, 443, 5432, 40000, 40001), fc.nat(0xffff));
const flags = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      TCP_SYN,
      TCP_SYN | TCP_ACK,
      TCP_ACK,
      TCP_FIN | TCP_ACK,
      TCP_RST,
      TCP_RST | TCP_ACK,
      TCP_PSH | TCP_ACK,
    ),
  },
  { weight: 1, arbitrary: fc.nat(255) },
);
/** Time between packets: mostly small, sometimes past every timeout, sometimes backwards. */
const dt = fc.oneof(
  { weight: 6, arbitrary: fc.nat(200) },
  { weight: 2, arbitrary: fc.nat(40_000) },
  { weight: 1, arbitrary: fc.constantFrom(0, 200_000, 4_000_000) },
);
const backwards = fc.integer({ min: -50_000, max: -1 });

const dnsSpec: fc.Arbitrary<MessageSpec> = fc.record({
  response: fc.boolean(),
  rcode: fc.constantFrom(0, 0, 3),
  questions: fc.array(fc.record({ name: fc.constantFrom("api.example.com", "db", "x.example.net") }), {
    maxLength: 2,
  }),
  answers: fc.array(
    fc.oneof(
      fc.record({
        name: fc.constantFrom("api.example.com", "edge.example.net"),
        type: fc.constant("A" as const),
        ip: fc.constantFrom(...V4),
        ttl: fc.nat(600),
      }),
      fc.record({
        name: fc.constantFrom("api.example.com", "edge.example.net"),
        type: fc.constant("AAAA" as const),
        ip: fc.constantFrom(...V6),
        ttl: fc.nat(600),
      }),
      fc.record({
        name: fc.constantFrom("api.example.com", "x.example.net"),
        type: fc.constant("CNAME" as const),
        target: fc.constantFrom("edge.example.net", "api.example.com"),
      }),
    ),
    { maxLength: 4 },
  ),
  compress: fc.boolean(),
});

interface Frame {
  bytes: Buffer;
  linkType: number;
}

const ends = fc.record({
  v6: fc.boolean(),
  s: fc.nat(V4.length - 1),
  d: fc.nat(V4.length - 1),
  vlan: fc.option(fc.nat(4095), { nil: undefined }),
});
const addr = (v6: boolean, i: number): string => (v6 ? V6[i]! : V4[i]!);

const validFrame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ e: ends, sp: port, dp: port, flags }).map(({ e, sp, dp, flags: f }) => ({
      bytes: tcpPacket({
        src: addr(e.v6, e.s),
        dst: addr(e.v6, e.d),
        srcPort: sp,
        dstPort: dp,
        flags: f,
        vlan: e.vlan,
      }),
      linkType: LINKTYPE_ETHERNET,
    })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ e: ends, sp: port, dp: port, payload: fc.uint8Array({ maxLength: 40 }) })
      .map(({ e, sp, dp, payload }) => ({
        bytes: udpPacket({
          src: addr(e.v6, e.s),
          dst: addr(e.v6, e.d),
          srcPort: sp,
          dstPort: dp,
          payload: Buffer.from(payload),
          vlan: e.vlan,
        }),
        linkType: LINKTYPE_ETHERNET,
      })),
  },
  // DNS answers from a resolver (port 53) to a container.
  {
    weight: 3,
    arbitrary: fc.record({ e: ends, dp: port, spec: dnsSpec }).map(({ e, dp, spec }) => ({
      bytes: udpPacket({
        src: addr(e.v6, e.s),
        dst: addr(e.v6, e.d),
        srcPort: 53,
        dstPort: dp,
        payload: buildDns(spec),
      }),
      linkType: LINKTYPE_ETHERNET,
    })),
  },
);

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 6, arbitrary: validFrame },
  {
    weight: 3,
    arbitrary: fc
      .tuple(validFrame, fc.array(mutationArb(), { minLength: 1, maxLength: 4 }))
      .map(([f, m]) => ({
        bytes: mutate(f.bytes, m),
        linkType: f.linkType,
      })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      bytes: fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u)),
      linkType: fc.constantFrom(LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, 0, 228),
    }),
  },
);

type Step = { frame: Frame; dt: number } | { tick: number };

const stepsArb = (allowBackwards: boolean): fc.Arbitrary<Step[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 12,
        arbitrary: fc.record({
          frame: frameArb,
          dt: allowBackwards
            ? fc.oneof({ weight: 8, arbitrary: dt }, { weight: 1, arbitrary: backwards })
            : dt,
        }),
      },
      { weight: 1, arbitrary: fc.record({ tick: fc.nat(60_000) }) },
    ),
    { maxLength: 120 },
  );

function config(maxFlows: number, dnsMax: number): NetmonConfig {
  const c = defaultConfig();
  return { ...c, flows: { ...c.flows, maxFlows }, dns: { ...c.dns, maxEntries: dnsMax } };
}

function checkEvent(ev: NetmonEvent, monotonic: boolean): void {
  if (ev.kind === "dns") {
    // A response to a container: its question, whatever bytes the name holds.
    expect(normalizeIp(ev.server)).toBe(ev.server);
    expect(ev.qname.length).toBeLessThanOrEqual(253);
    expect(Number.isInteger(ev.qtype) && Number.isInteger(ev.rcode) && ev.answers >= 0).toBe(true);
    return;
  }
  expect(ev.kind).toBe("connection");
  const c = ev as ConnectionEvent;
  expect(["tcp", "udp"]).toContain(c.proto);
  expect(["attempt", "accepted", "rejected", "unanswered", "closed"]).toContain(c.state);
  expect(Number.isFinite(c.ts)).toBe(true);
  for (const end of [c.src, c.dst]) {
    expect(Number.isInteger(end.port) && end.port >= 0 && end.port <= 0xffff).toBe(true);
    expect(normalizeIp(end.ip)).toBe(end.ip);
    if (end.container !== null) expect(CONTAINER_IPS.has(end.ip)).toBe(true);
    else if (monotonic) expect(CONTAINER_IPS.has(end.ip)).toBe(false);
    if (end.names !== undefined) expect(end.names.length).toBeGreaterThan(0);
  }
  const expectedDirection =
    c.src.container !== null
      ? c.dst.container !== null
        ? "internal"
        : "outbound"
      : c.dst.container !== null
        ? "inbound"
        : "external";
  expect(c.direction).toBe(expectedDirection);
  expect(c.packets).toBeGreaterThanOrEqual(1);
  if (c.state === "attempt") expect(c.durationMs).toBeUndefined();
  else expect(Number.isFinite(c.durationMs)).toBe(true);
  if (monotonic && c.durationMs !== undefined) expect(c.durationMs).toBeGreaterThanOrEqual(0);
}

/** Runs the steps through a fresh pipeline, checking the caps after every packet. */
function runSteps(steps: Step[], maxFlows: number, dnsMax: number, monotonic: boolean): void {
  const events: NetmonEvent[] = [];
  const pipeline = new Pipeline(config(maxFlows, dnsMax), smallInventory(), (ev) => {
    checkEvent(ev, monotonic);
    events.push(ev);
  });
  const handler = pipeline.handlerFor("br-555555555555");
  let ts = T0;
  for (const step of steps) {
    if ("tick" in step) {
      ts += step.tick;
      pipeline.tick(ts);
    } else {
      ts += step.dt;
      handler(step.frame.bytes, 0, step.frame.bytes.length, step.frame.bytes.length, ts, step.frame.linkType);
    }
    expect(pipeline.tracker.size).toBeLessThanOrEqual(maxFlows);
    expect(pipeline.tracker.stats().active).toBe(pipeline.tracker.size);
    expect(pipeline.dns.size).toBeLessThanOrEqual(dnsMax);
  }
  const c = pipeline.counters;
  expect(c.undecoded).toBeLessThanOrEqual(c.packets);
  expect(c.dnsAnswers + c.dnsRejected).toBeLessThanOrEqual(c.packets);
  pipeline.finish();
  expect(pipeline.tracker.size).toBe(0);
  const st = pipeline.tracker.stats();
  expect(st.created).toBe(events.filter((e) => e.kind === "connection" && e.state === "attempt").length);
}

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "netmon-fuzz-pipeline-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("fuzz: pipeline (decode → DNS → flows → events)", () => {
  it(
    "random packet streams in time order: no throw, caps hold after every packet, events well-formed",
    () => {
      fc.assert(
        fc.property(
          stepsArb(false),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 6 }),
          (steps, maxFlows, dnsMax) => {
            runSteps(steps, maxFlows, dnsMax, true);
          },
        ),
        fuzzParams(0x919e001, 250),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "streams whose timestamps repeat and go backwards: no throw, caps hold",
    () => {
      fc.assert(
        fc.property(stepsArb(true), fc.integer({ min: 1, max: 12 }), (steps, maxFlows) => {
          runSteps(steps, maxFlows, 4, false);
        }),
        fuzzParams(0x919e002, 200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "a flood of distinct SYNs never grows the table past maxFlows",
    () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 100, max: 400 }),
          fc.integer({ min: 1, max: 3000 }),
          fc.boolean(),
          (maxFlows, n, v6) => {
            const pipeline = new Pipeline(config(maxFlows, 10), smallInventory(), () => {});
            const handler = pipeline.handlerFor("br-555555555555");
            for (let i = 0; i < n; i++) {
              const frame = tcpPacket({
                src: v6 ? "fd00:18::2" : "172.18.0.2",
                dst: v6 ? `2001:db8::${(i % 0xffff).toString(16)}` : `203.0.${(i >> 8) & 255}.${i & 255}`,
                srcPort: 1024 + (i % 60000),
                dstPort: 443,
                flags: TCP_SYN,
              });
              handler(frame, 0, frame.length, frame.length, T0 + i, LINKTYPE_ETHERNET);
            }
            expect(pipeline.tracker.size).toBe(Math.min(n, maxFlows));
            expect(pipeline.tracker.stats().evicted).toBe(Math.max(0, n - maxFlows));
          },
        ),
        // Each run is thousands of packets: a long campaign needs far fewer runs of this one.
        { ...fuzzParams(0x919e003, 8), ...(LONG_CAMPAIGN ? { numRuns: 200 } : {}) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "mutated captures replayed through readPcapFile: only PcapFormatError escapes, caps hold",
    () => {
      const path = join(dir, "replay.pcap");
      fc.assert(
        fc.property(
          fc.array(fc.tuple(validFrame, dt), { maxLength: 30 }),
          fc.boolean(),
          fc.array(mutationArb(), { maxLength: 6 }),
          (frames, ng, muts) => {
            let ts = T0;
            const w = new PcapWriter();
            for (const [f, d] of frames) {
              ts += d;
              w.packet(ts, f.bytes);
            }
            writeFileSync(path, mutate(ng ? w.toPcapng() : w.toPcap(), muts));
            const pipeline = new Pipeline(config(8, 4), smallInventory(), (ev) => checkEvent(ev, false));
            const handler = pipeline.handlerFor("file");
            let maxTs = 0;
            try {
              readPcapFile(path, (buf, start, caplen, wireLength, tsMs, linkType) => {
                maxTs = Math.max(maxTs, tsMs);
                handler(buf, start, caplen, wireLength, tsMs, linkType);
                expect(pipeline.tracker.size).toBeLessThanOrEqual(8);
              });
            } catch (err) {
              if (!(err instanceof PcapFormatError)) throw err;
            }
            pipeline.finish();
            // flush() runs the clock to infinity: even absurd (corrupt) timestamps leave nothing behind.
            expect(pipeline.tracker.size).toBe(0);
          },
        ),
        fuzzParams(0x919e004, 150),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "mutated frames alone (every packet damaged): no throw, caps hold",
    () => {
      fc.assert(
        fc.property(
          fc.array(
            mutated(
              validFrame.map((f) => f.bytes),
              3,
            ),
            { maxLength: 80 },
          ),
          fc.integer({ min: 1, max: 8 }),
          (frames, maxFlows) => {
            runSteps(
              frames.map((bytes, i) => ({ frame: { bytes, linkType: LINKTYPE_ETHERNET }, dt: i % 7 })),
              maxFlows,
              3,
              true,
            );
          },
        ),
        fuzzParams(0x919e005, 150),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

/**
 * The hot-path rewrites (issue 18) against what they replaced, on random inputs: the decoder with
 * byte arithmetic against its readUInt* version (test/support/reference-decoder.ts), the classic
 * pcap reader against a plain whole-buffer parse, CidrSet.has on text against a scan of its
 * networks, and Detection's mode check once a second against a check on every event (the same log
 * lines, mode switches and alerts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { Alert, AlertSink, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { decodePacket } from "../../src/capture/decoder.js";
import { DECODABLE_LINK_TYPES } from "../../src/capture/link-types.js";
import { DecodedPacket, PROTO_TCP, PROTO_UDP } from "../../src/capture/packet.js";
import { readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { Detection } from "../../src/detection/detection.js";
import type { ContainerRef, NetmonEvent } from "../../src/model/events.js";
import { CidrSet, parseCidr } from "../../src/net/cidr.js";
import { connectionEvent, containerInfo, listenerEvent, containerRef as ref } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";
import { FUZZ_TIMEOUT_MS, fuzzParams, mutated } from "../support/mutate.js";
import { ethernet, fragmentExt, ipv4, ipv6, linkLayer, tcp, udp } from "../support/packet-builder.js";
import { PcapWriter } from "../support/pcap-writer.js";
import { policyFromYaml } from "../support/policy.js";
import { referenceDecodePacket } from "../support/reference-decoder.js";

/** Every field of a decoded packet, as plain data. */
function fields(ok: boolean, p: DecodedPacket) {
  return {
    ok,
    ipVersion: p.ipVersion,
    proto: p.proto,
    src: [...p.src],
    dst: [...p.dst],
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    tcpFlags: p.tcpFlags,
    tcpSeq: p.tcpSeq,
    fragment: p.fragment,
    vlan: p.vlan,
    payloadOffset: p.payloadOffset,
    payloadLength: p.payloadLength,
  };
}

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const v6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(":"));
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));

const segmentArb = fc.oneof(
  fc
    .record({ srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), flags: fc.nat(255), payload: bytes(40) })
    .map((t) => ({ proto: PROTO_TCP, data: tcp(t) })),
  fc
    .record({ srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), payload: bytes(40) })
    .map((t) => ({ proto: PROTO_UDP, data: udp(t) })),
  bytes(30).map((data) => ({ proto: 47, data })),
);

/** IPv4 (fragments too) or IPv6 (extension headers, fragment headers) around a segment. */
const ipArb = fc.oneof(
  fc
    .record({
      src: v4,
      dst: v4,
      s: segmentArb,
      fragOffset: fc.oneof(fc.constant(0), fc.nat(0x1fff)),
      moreFragments: fc.boolean(),
    })
    .map((o) =>
      ipv4({
        src: o.src,
        dst: o.dst,
        proto: o.s.proto,
        payload: o.s.data,
        fragOffset: o.fragOffset,
        moreFragments: o.moreFragments,
      }),
    ),
  fc
    .record({
      src: v6,
      dst: v6,
      s: segmentArb,
      frag: fc.option(fc.record({ offset: fc.oneof(fc.constant(0), fc.nat(0x1fff)), more: fc.boolean() })),
      hopByHop: fc.boolean(),
    })
    .map((o) =>
      ipv6({
        src: o.src,
        dst: o.dst,
        nextHeader: o.s.proto,
        payload: o.s.data,
        extHeaders: [...(o.hopByHop ? [{ type: 0 }] : []), ...(o.frag === null ? [] : [fragmentExt(o.frag)])],
      }),
    ),
);

const LINKS = DECODABLE_LINK_TYPES.filter((t) => t !== 228 && t !== 229 && t !== 50);

const frameArb = fc
  .record({ ip: ipArb, linkType: fc.constantFrom(...LINKS), vlan: fc.option(fc.nat(0xffff)) })
  .map(({ ip, linkType, vlan }) => ({
    linkType,
    bytes:
      linkType === 1 && vlan !== null
        ? ethernet({ etherType: ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, payload: ip, vlan })
        : linkLayer(linkType, ip),
  }));

describe("decoder with byte arithmetic = decoder with Buffer.readUInt*", () => {
  const a = new DecodedPacket();
  const b = new DecodedPacket();
  const same = (buf: Buffer, start: number, caplen: number, linkType: number) => {
    const got = fields(decodePacket(buf, start, caplen, linkType, a), a);
    const want = fields(referenceDecodePacket(buf, start, caplen, linkType, b), b);
    expect(got).toEqual(want);
  };

  it(
    "mutated valid frames on every link type, at any start and snap length",
    () => {
      fc.assert(
        fc.property(
          frameArb.chain((f) => fc.tuple(mutated(fc.constant(f.bytes)), fc.constant(f.linkType))),
          fc.nat(),
          fc.nat(8),
          ([frame, linkType], caplenSeed, pad) => {
            // Garbage before the frame, so offsets other than 0 are exercised.
            const buf = Buffer.concat([Buffer.alloc(pad, 0xa5), frame]);
            same(buf, pad, frame.length, linkType);
            same(buf, pad, caplenSeed % (frame.length + 1), linkType);
          },
        ),
        fuzzParams(0x18de0001, 1500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "random bytes with any link type number",
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(300), fc.nat(200), (u, linkType, caplen) => {
          same(Buffer.from(u), 0, caplen, linkType);
        }),
        fuzzParams(0x18de0002, 800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

// ---- pcap reader ----

interface Seen {
  data: string;
  orig: number;
  ts: number;
  linkType: number;
}

/** Classic pcap read the plain way: the whole file in memory, DataView, no chunking. */
function referenceRead(file: Buffer): { packets: Seen[]; error: string | null } {
  const packets: Seen[] = [];
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = dv.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nanos = (little ? magic : dv.getUint32(0, false)) === 0xa1b23c4d;
  const linkType = dv.getUint32(20, little) & 0x0fffffff;
  let pos = 24;
  while (pos < file.length) {
    const where = `at byte offset ${pos} (after ${packets.length} packets)`;
    if (file.length - pos < 16) return { packets, error: `truncated record header ${where}` };
    const incl = dv.getUint32(pos + 8, little);
    if (incl > 262_144 + 64) return { packets, error: `record claims ${incl} captured bytes` };
    if (file.length - pos < 16 + incl) {
      return { packets, error: `truncated packet data (needs ${incl} bytes) ${where}` };
    }
    const ts = dv.getUint32(pos, little) * 1000 + dv.getUint32(pos + 4, little) * (nanos ? 1e-6 : 1e-3);
    const data = file.subarray(pos + 16, pos + 16 + incl).toString("hex");
    packets.push({ data, orig: dv.getUint32(pos + 12, little), ts, linkType });
    pos += 16 + incl;
  }
  return { packets, error: null };
}

const dir = mkdtempSync(join(tmpdir(), "netmon-hotpath-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pcap reader with byte arithmetic = a plain parse", () => {
  it(
    "captures in both byte orders, µs and ns, cut anywhere or with a record length that lies",
    () => {
      const file = join(dir, "c.pcap");
      fc.assert(
        fc.property(
          fc.array(fc.record({ tsMs: fc.nat(2 ** 31), data: bytes(80), extra: fc.nat(100) }), {
            maxLength: 12,
          }),
          fc.boolean(),
          fc.boolean(),
          fc.nat(),
          fc.option(fc.tuple(fc.nat(), fc.nat(0xffffffff))),
          (records, bigEndian, nanos, cutSeed, lie) => {
            const w = new PcapWriter(records.map((r) => ({ ...r, origLen: r.data.length + r.extra })));
            let buf = w.toPcap({ bigEndian, nanos, linkType: 113 });
            // Keep the global header: what follows it may be cut anywhere.
            buf = buf.subarray(0, 24 + (cutSeed % (buf.length - 23)));
            if (lie !== null && buf.length > 40) {
              // A record length that lies, written over the first record's caplen.
              buf = Buffer.from(buf);
              if (bigEndian) buf.writeUInt32BE(lie[1] % 300_000, 32);
              else buf.writeUInt32LE(lie[1] % 300_000, 32);
            }
            writeFileSync(file, buf);
            const packets: Seen[] = [];
            let error: string | null = null;
            try {
              readPcapFile(file, (b, start, caplen, orig, ts, linkType) => {
                packets.push({ data: b.subarray(start, start + caplen).toString("hex"), orig, ts, linkType });
              });
            } catch (err) {
              error = (err as Error).message;
            }
            const want = referenceRead(buf);
            expect(packets).toEqual(want.packets);
            if (want.error === null) expect(error).toBeNull();
            else expect(error).toContain(want.error);
          },
        ),
        fuzzParams(0x18de0003, 300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

// ---- CidrSet.has ----

describe("CidrSet.has on text = any of its networks contains the address", () => {
  const octet = fc.oneof(fc.nat(255).map(String), fc.constantFrom("256", "010", "1234", "", "-1", " 1"));
  const ipText = fc.oneof(
    v4,
    fc.array(octet, { minLength: 1, maxLength: 6 }).map((o) => o.join(".")),
    fc.stringMatching(/^[0-9.:a-f]{0,20}$/),
    v6,
    v4.map((a) => `::ffff:${a}`),
  );
  const cidrText = fc.oneof(
    fc.tuple(v4, fc.nat(32)).map(([a, p]) => `${a}/${p}`),
    fc.tuple(v6, fc.nat(128)).map(([a, p]) => `${a}/${p}`),
  );

  it("random networks and random (often malformed) address text", () => {
    fc.assert(
      fc.property(fc.array(cidrText, { maxLength: 8 }), fc.array(ipText, { maxLength: 20 }), (nets, ips) => {
        const cidrs = nets.map((t) => parseCidr(t)!);
        // Addresses near the networks too, so matches are common.
        const near = cidrs.map((c) => c.text.split("/")[0]!);
        const set = new CidrSet(cidrs);
        for (const ip of [...ips, ...near]) expect(set.has(ip)).toBe(cidrs.some((c) => c.contains(ip)));
      }),
      fuzzParams(0x18de0004, 400),
    );
  });
});

// ---- Detection: the mode checked once a second ----

const T0 = 1_700_000_000_000;
const CONTAINERS = [
  ref("shop-web-1", { project: "shop", service: "web" }),
  ref("shop-web-2", { project: "shop", service: "web" }),
  ref("proxy", { image: "nginx:1.25" }),
  ref("proxy-off", { image: "nginx:1.25" }),
  ref("db", { project: "shop", service: "db" }),
];

function detectionWorld(learnForSeconds: number, modeCheckMs: number | undefined) {
  const { log, lines } = captureLog({ base: { app: "netmon" } });
  const infos = CONTAINERS.map((r, i) =>
    containerInfo(r, {
      labels:
        r.name === "proxy-off" ? { "netmon.mode": "off" } : i === 4 ? { "netmon.listen": "5432/tcp" } : {},
      exposedPorts: ["80/tcp"],
      startedAt: T0,
    }),
  );
  const yaml = `baseline:\n  learnForSeconds: ${learnForSeconds}\n`;
  const { policy, config, baseline } = policyFromYaml(yaml, infos, { warn: (m) => log.warn(m) });
  const alerts: string[] = [];
  const sink: AlertSink = {
    onAlert(a: Alert, t: AlertTransition) {
      alerts.push(`${t} ${a.detector} ${a.workload} ${a.count}`);
    },
  };
  const manager = new AlertManager([sink], {
    suppressMs: 600_000,
    resolveAfterMs: 900_000,
    onSinkError: () => {},
  });
  const detection = new Detection(config.detectors, policy, baseline, manager, log, undefined, modeCheckMs);
  return { detection, lines, alerts };
}

type Step = { kind: "tick"; dt: number } | { kind: "event"; dt: number; ev: (ts: number) => NetmonEvent };

const containerArb = fc.constantFrom(...CONTAINERS);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc
    .record({
      dt: fc.oneof(fc.nat(300), fc.nat(5000)),
      from: containerArb,
      to: fc.option(containerArb),
      ip: fc.constantFrom("203.0.113.10", "203.0.113.11", "198.51.100.7"),
      port: fc.constantFrom(22, 443, 8080),
      accepted: fc.boolean(),
    })
    .map((o) => ({
      kind: "event" as const,
      dt: o.dt,
      ev: (ts: number) =>
        connectionEvent({
          ts,
          ip: o.ip,
          port: o.port,
          from: o.from,
          ...(o.to === null ? {} : { to: o.to as ContainerRef }),
          ...(o.accepted ? { state: "accepted" as const, durationMs: 2 } : {}),
        }),
    })),
  fc.record({ dt: fc.nat(2000), c: containerArb, port: fc.constantFrom(80, 9090) }).map((o) => ({
    kind: "event" as const,
    dt: o.dt,
    ev: (ts: number) => listenerEvent(o.c, { ts, port: o.port }),
  })),
  fc.record({ dt: fc.nat(3000) }).map((o) => ({ kind: "tick" as const, dt: o.dt })),
);

describe("Detection: mode checked at most once a second = on every event", () => {
  it("same mode log lines, mode switches and alerts for random event streams", () => {
    let switches = 0;
    let alerted = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(stepArb, { maxLength: 80 }),
        (learnFor, steps) => {
          const every = detectionWorld(learnFor, 0);
          const throttled = detectionWorld(learnFor, undefined);
          for (const w of [every, throttled]) {
            let ts = T0;
            for (const s of steps) {
              ts += s.dt;
              if (s.kind === "tick") w.detection.tick(ts);
              else w.detection.onEvent(s.ev(ts));
            }
          }
          // Everything but the wall-clock time of writing.
          const text = (lines: Record<string, unknown>[]) => lines.map(({ time: _t, ...rest }) => rest);
          expect(text(throttled.lines)).toEqual(text(every.lines));
          expect(throttled.detection.modeSwitches).toBe(every.detection.modeSwitches);
          expect(throttled.alerts).toEqual(every.alerts);
          switches += every.detection.modeSwitches;
          alerted += every.alerts.length;
        },
      ),
      fuzzParams(0x18de0005, 300),
    );
    // The streams did reach the end of learning periods, and alerts.
    expect(switches).toBeGreaterThan(0);
    expect(alerted).toBeGreaterThan(0);
  });
});

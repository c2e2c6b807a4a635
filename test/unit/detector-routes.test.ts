/**
 * Detection hands each event only to the detectors that read its kind (DetectorModule.reads,
 * src/detection/detector-routes.ts). That is only a saving if a detector given an event it does not
 * read would have done nothing: these properties feed random event streams to two instances of
 * every detector that declares `reads`, one given every event and one given only what it reads, and
 * show the same findings, ticks and status, and no finding on any event it does not read.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DETECTORS } from "../../detectors/index.js";
import { unexpectedOutbound } from "../../detectors/unexpected-outbound.js";
import { routeDetectors } from "../../src/detection/detector-routes.js";
import type { DetectorInstance, DetectorModule, EventRoute } from "../../src/model/detector-api.js";
import type { ConnectionState, NetmonEvent } from "../../src/model/events.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import { connectionEvent, containerRef, listenerEvent } from "../support/fixtures.js";

const T0 = 1_700_000_000_000;
const WEB = containerRef("web");
const DB = containerRef("db");
const STATES: ConnectionState[] = ["attempt", "accepted", "rejected", "unanswered", "closed"];

const container = fc.constantFrom(WEB, DB, null);
/** An event at time 0: the stream sets the times. */
const event: fc.Arbitrary<NetmonEvent> = fc.oneof(
  fc
    .record({
      state: fc.constantFrom(...STATES),
      proto: fc.constantFrom("tcp" as const, "udp" as const),
      from: container,
      to: container,
      ip: fc.constantFrom("203.0.113.7", "203.0.113.8", "172.18.0.3"),
      port: fc.constantFrom(22, 443, 5432),
      durationMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
    })
    .map((o) => connectionEvent(o)),
  fc
    .record({
      c: fc.constantFrom(WEB, DB),
      port: fc.constantFrom(8080, 9090),
      state: fc.constantFrom("opened" as const, "closed" as const),
    })
    .map(({ c, port, state }) => listenerEvent(c, { port, state })),
  fc
    .record({
      c: fc.constantFrom(WEB, DB),
      repeat: fc.boolean(),
      domain: fc.constantFrom("example.com", "example.net"),
      rcode: fc.constantFrom(0, 3),
    })
    .map(
      ({ c, repeat, domain, rcode }): NetmonEvent => ({
        kind: "dns",
        ts: 0,
        container: c,
        server: "192.0.2.53",
        // The stream numbers the names (distinct names make tunnels); a repeat keeps "www".
        qname: repeat ? `www.${domain}` : domain,
        qtype: 1,
        rcode,
        answers: rcode === 0 ? 1 : 0,
      }),
    ),
);

/** Events a few ms to a few seconds apart. */
const stream = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 3_000 }), event), { minLength: 20, maxLength: 200, size: "max" })
  .map((steps) => {
    let ts = T0;
    return steps.map(([gap, ev], i) => {
      ts += gap;
      if (ev.kind === "dns" && !ev.qname.startsWith("www.")) return { ...ev, ts, qname: `n${i}.${ev.qname}` };
      return { ...ev, ts } as NetmonEvent;
    });
  });

function routeOf(ev: NetmonEvent): EventRoute {
  return ev.kind === "connection" ? `connection:${ev.state}` : ev.kind;
}

/** Low thresholds, so findings happen within a short stream. */
const LOW_THRESHOLDS: Record<string, unknown> = {
  "dns-abuse": { tunnelNames: 10, dgaDomains: 5 },
  "connection-burst": {
    burstCapacity: 3,
    burstLeakPerSecond: 0.1,
    portScanThreshold: 2,
    hostScanThreshold: 2,
    bruteForceThreshold: 3,
  },
};

function create(module: DetectorModule): DetectorInstance {
  const options = module.options.parse(LOW_THRESHOLDS[module.name] ?? {});
  return (module.create as (o: unknown, c: unknown) => DetectorInstance)(options, fakeDetectorContext());
}

const declaring = DETECTORS.filter((d) => d.reads !== undefined);

describe("detector routes", () => {
  it.each(declaring.map((d) => [d.name, d] as const))(
    "%s: the events it does not read change nothing and find nothing",
    (_, module) => {
      const reads = module.reads ?? [];
      let found = 0;
      fc.assert(
        fc.property(stream, (events) => {
          const everything = create(module);
          const routed = create(module);
          for (const ev of events) {
            const all = everything.onEvent(structuredClone(ev));
            if (!reads.includes(routeOf(ev))) {
              expect(all).toEqual([]);
              continue;
            }
            expect(routed.onEvent(structuredClone(ev))).toEqual(all);
            found += all.length;
          }
          const end = (events.at(-1)?.ts ?? T0) + 3_600_000;
          expect(routed.onTick?.(end) ?? []).toEqual(everything.onTick?.(end) ?? []);
          expect(routed.status()).toBe(everything.status());
        }),
        { numRuns: 100 },
      );
      // Not vacuous: the streams make findings (beaconing needs regular beats, which random gaps are not).
      if (module.name !== "beaconing") expect(found).toBeGreaterThan(0);
    },
  );

  it("gives each event to the detectors that read it, in the detectors' order", () => {
    const names = DETECTORS.map((d) => d.name);
    const routes = routeDetectors(DETECTORS, names);
    const readers = (ev: NetmonEvent): readonly string[] => routes.of(ev);
    expect(readers(connectionEvent({ state: "attempt", from: WEB }))).toEqual([
      "unexpected-outbound",
      "connection-burst",
    ]);
    expect(readers(connectionEvent({ state: "accepted" }))).toEqual(["connection-burst", "unusual-listener"]);
    expect(readers(connectionEvent({ state: "closed" }))).toEqual(["connection-burst", "beaconing"]);
    expect(readers(listenerEvent(WEB))).toEqual(["unusual-listener"]);
    const dns: NetmonEvent = {
      kind: "dns",
      ts: T0,
      container: WEB,
      server: "192.0.2.53",
      qname: "a.example.com",
      qtype: 1,
      rcode: 0,
      answers: 1,
    };
    expect(readers(dns)).toEqual(["dns-abuse"]);
    // A detector that declares nothing (a third-party one written before `reads`) gets every event.
    const { reads: _reads, ...undeclared } = unexpectedOutbound;
    const withUndeclared = routeDetectors([undeclared as DetectorModule, ...DETECTORS], ["any", ...names]);
    for (const ev of [dns, listenerEvent(WEB), connectionEvent({ state: "closed" })])
      expect(withUndeclared.of(ev)[0]).toBe("any");
  });
});

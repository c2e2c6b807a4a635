/**
 * Property: the order of the `docker inspect` array never changes attribution. Containers take IPs
 * from a small pool with random (often overlapping or equal) start and finish times; the inventory
 * built from the array and from a shuffled copy must answer every lookup alike, and away from
 * tenure boundaries (where slack applies) give the container that started last before that time,
 * if it still ran. A second property replays a small capture through the real pipeline with both.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { defaultConfig } from "../../src/config/load.js";
import { Pipeline } from "../../src/engine/pipeline.js";
import type { Inventory } from "../../src/inventory/inventory.js";
import { staticInventoryOf } from "../../src/inventory/static-inventory.js";
import type { NetmonEvent } from "../../src/model/events.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "../support/mutate.js";
import { PcapWriter } from "../support/pcap-writer.js";
import { type ContainerSpec, hexId, Scenario, SCENARIO_T0 as T0 } from "../support/scenario.js";

const POOL = ["172.30.0.2", "172.30.0.3", "172.30.0.4"];
const SEC = 1_000;
/** Farther than any slack (2 s before a start, 250 ms after a finish). */
const CLEAR_OF_BOUNDARY_MS = 2_500;

interface Generated {
  ip: number;
  startS: number;
  /** Seconds it ran; null: still running. */
  runS: number | null;
}

// Whole seconds, so equal starts and back-to-back tenures come up often.
const containerArb: fc.Arbitrary<Generated> = fc.record({
  ip: fc.nat(POOL.length - 1),
  startS: fc.integer({ min: -60, max: 60 }),
  runS: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 3 }),
});

/** Containers and a permutation of their indices. */
const inventoryArb = fc.array(containerArb, { minLength: 1, maxLength: 8 }).chain((cs) =>
  fc.tuple(
    fc.constant(cs),
    fc.shuffledSubarray(
      cs.map((_, i) => i),
      { minLength: cs.length, maxLength: cs.length },
    ),
  ),
);

function specOf(c: Generated, i: number): ContainerSpec {
  const spec: ContainerSpec = { name: `c${i}`, ip: POOL[c.ip]!, startedAt: c.startS * SEC };
  if (c.runS !== null) spec.finishedAt = (c.startS + c.runS) * SEC;
  return spec;
}

function scenarioOf(cs: Generated[]): Scenario {
  const s = new Scenario();
  cs.forEach((c, i) => {
    s.container(specOf(c, i));
  });
  return s;
}

/** The inventory from the array as generated and from the permuted copy. */
function bothOrders(s: Scenario, order: number[]): [Inventory, Inventory] {
  const inspect = s.inventory();
  const shuffled = order.map((i) => inspect[i]);
  return [
    staticInventoryOf(inspect, "inv.json").inventory,
    staticInventoryOf(shuffled, "inv.json").inventory,
  ];
}

/** Times from before the first start to after the last finish, every 250 ms (relative ms). */
const TIMES = Array.from({ length: 801 }, (_, i) => -70 * SEC + i * 250);

/** A generated container as the oracle sees it: its IP, id and [start, end or null] in relative ms. */
interface Known {
  ip: number;
  id: string;
  start: number;
  end: number | null;
}

function knownOf(cs: Generated[]): Known[] {
  return cs.map((c, i) => ({
    ip: c.ip,
    id: hexId(`container:c${i}`),
    start: c.startS * SEC,
    end: c.runS === null ? null : (c.startS + c.runS) * SEC,
  }));
}

/**
 * Who held `ip` at t by the containers' own times: the container that started last by then (equal
 * starts: the greater id), if still running; undefined when t is near a start or finish on that IP.
 */
function expectedHolder(known: Known[], ip: number, t: number): string | null | undefined {
  let last: Known | null = null;
  for (const k of known) {
    if (k.ip !== ip) continue;
    if (Math.abs(t - k.start) < CLEAR_OF_BOUNDARY_MS) return undefined;
    if (k.end !== null && Math.abs(t - k.end) < CLEAR_OF_BOUNDARY_MS) return undefined;
    const later = last === null || k.start > last.start || (k.start === last.start && k.id > last.id);
    if (k.start <= t && later) last = k;
  }
  if (last === null) return null;
  return last.end === null || t <= last.end ? last.id : null;
}

describe("static inventory: any order of the inspect array, same attribution", () => {
  it(
    "lookups agree between the array and a shuffled copy, and follow StartedAt/FinishedAt",
    () => {
      fc.assert(
        fc.property(inventoryArb, ([cs, order]) => {
          const [inOrder, shuffled] = bothOrders(scenarioOf(cs), order);
          const known = knownOf(cs);
          for (const [ip, addr] of POOL.entries()) {
            const got = TIMES.map((t) => inOrder.lookup(addr, T0 + t)?.id ?? null);
            expect(TIMES.map((t) => shuffled.lookup(addr, T0 + t)?.id ?? null)).toEqual(got);
            // Where the containers' own times decide (away from slack), the expected holder.
            const expected = TIMES.map((t, i) => expectedHolder(known, ip, t) ?? got[i]);
            expect(got).toEqual(expected);
          }
        }),
        fuzzParams(0x5a7c001, 300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "a replay through the pipeline gives the same events with the array and a shuffled copy",
    () => {
      const pcap = join(mkdtempSync(join(tmpdir(), "netmon-inv-order-")), "capture.pcap");
      const packetArb = fc.record({
        ip: fc.nat(POOL.length - 1),
        tenthS: fc.integer({ min: -650, max: 1250 }),
      });
      fc.assert(
        fc.property(
          inventoryArb,
          fc.array(packetArb, { minLength: 1, maxLength: 12 }),
          ([cs, order], packets) => {
            const s = scenarioOf(cs);
            for (const p of packets)
              s.udp(p.tenthS * 100, POOL[p.ip]!, "203.0.113.10", 53, { answered: false });
            new PcapWriter(s.pcapRecords()).writeFile(pcap);
            const [a, b] = bothOrders(s, order).map((inventory) => {
              const events: NetmonEvent[] = [];
              const pipeline = new Pipeline(defaultConfig(), inventory, (ev) => events.push(ev));
              readPcapFile(pcap, pipeline.handlerFor("file"));
              pipeline.finish();
              return events;
            });
            expect(a!.length).toBeGreaterThan(0);
            expect(b).toEqual(a);
          },
        ),
        fuzzParams(0x5a7c002, 40),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

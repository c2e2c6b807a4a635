/**
 * "A `tcpdump -i any` capture replays like the same traffic captured on the bridge": the traffic of
 * the linktype-* golden cases, written once per link type (pcap and pcapng), replayed through the
 * real Pipeline, gives the very same events as the Ethernet capture, apart from the interface name.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DECODABLE_LINK_TYPES, linkTypeName } from "../../src/capture/link-types.js";
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6 } from "../../src/capture/packet.js";
import { readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { defaultConfig } from "../../src/config/load.js";
import { Pipeline } from "../../src/engine/pipeline.js";
import { loadStaticInventory } from "../../src/inventory/static-inventory.js";
import type { NetmonEvent } from "../../src/model/events.js";
import { linkTypeTraffic } from "../cases/make-cases.js";
import { type PcapFileFormat, PcapWriter } from "../support/pcap-writer.js";

const dir = mkdtempSync(join(tmpdir(), "netmon-linktype-events-"));

interface Replayed {
  events: NetmonEvent[];
  counters: Pipeline["counters"];
}

/** Writes the linktype-* traffic in `linkType` and replays it on an interface named after the type. */
function replay(linkType: number, family: 4 | 6, format: PcapFileFormat): Replayed {
  const { pcapRecords, inventory, linkType: written } = linkTypeTraffic(linkType, family);
  expect(written).toBe(linkType);
  const base = join(dir, `lt-${linkType}-v${family}`);
  writeFileSync(`${base}.json`, JSON.stringify(inventory));
  new PcapWriter(pcapRecords).writeFile(`${base}.${format}`, format, { linkType });
  const loaded = loadStaticInventory(`${base}.json`);
  expect(loaded.warnings).toEqual([]);
  const events: NetmonEvent[] = [];
  const pipeline = new Pipeline(defaultConfig(), loaded.inventory, (ev) => events.push(ev));
  readPcapFile(`${base}.${format}`, pipeline.handlerFor(`capture-${linkType}`));
  pipeline.finish();
  return { events, counters: pipeline.counters };
}

function withoutIface(events: NetmonEvent[]): unknown[] {
  return events.map((ev) => (ev.kind === "connection" ? { ...ev, iface: "-" } : ev));
}

for (const family of [4, 6] as const) {
  describe(`IPv${family}: every link type replays like the bridge capture`, () => {
    let reference: Replayed;
    beforeAll(() => {
      reference = replay(LINKTYPE_ETHERNET, family, "pcap");
    });

    it(`IPv${family} reference (Ethernet): every packet decoded, the expected connections`, () => {
      expect(reference.counters.undecoded).toBe(0);
      expect(reference.counters.dnsAnswers).toBe(1);
      const attempts = reference.events.flatMap((ev) =>
        ev.kind === "connection" && ev.state === "attempt"
          ? [`${ev.src.container?.name} -> ${ev.dst.container?.name ?? ev.dst.ip}:${ev.dst.port}`]
          : [],
      );
      const api = family === 4 ? "203.0.113.50" : "2001:db8:50::50";
      const other = family === 4 ? "198.51.100.23" : "2001:db8:23::23";
      const resolver = family === 4 ? "172.30.0.1" : "fd00:30::1";
      expect(attempts).toEqual([
        `shop-web-1 -> ${resolver}:53`,
        `shop-web-1 -> ${api}:443`,
        "shop-web-1 -> shop-db-1:5432",
        `shop-web-1 -> ${other}:4444`,
      ]);
      const named = reference.events.find((ev) => ev.kind === "connection" && ev.dst.ip === api);
      expect(named?.kind === "connection" && named.dst.names).toEqual(["api.example.com"]);
      expect(reference.events.every((ev) => ev.kind !== "connection" || ev.iface === "capture-1")).toBe(true);
    });

    const others = DECODABLE_LINK_TYPES.filter(
      (lt) => lt !== LINKTYPE_ETHERNET && lt !== (family === 4 ? LINKTYPE_IPV6 : LINKTYPE_IPV4),
    );
    for (const linkType of others) {
      for (const format of ["pcap", "pcapng"] as const) {
        it(`IPv${family}, ${linkTypeName(linkType)}, ${format}: the same events as Ethernet apart from iface`, () => {
          const got = replay(linkType, family, format);
          expect(got.counters).toEqual(reference.counters);
          expect(got.events.length).toBe(reference.events.length);
          expect(withoutIface(got.events)).toEqual(withoutIface(reference.events));
          const ifaces = new Set(got.events.flatMap((ev) => (ev.kind === "connection" ? [ev.iface] : [])));
          expect([...ifaces]).toEqual([`capture-${linkType}`]);
        });
      }
    }
  });
}

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { replayCommand, replayFile } from "../../src/commands/replay.js";
import { defaultConfig } from "../../src/config/load.js";
import { Pipeline } from "../../src/engine/pipeline.js";
import { Inventory } from "../../src/inventory/inventory.js";
import { loadStaticInventory } from "../../src/inventory/static-inventory.js";
import type { ConnectionEvent, NetmonEvent } from "../../src/model/events.js";
import { makeFixtures, T0 } from "../fixtures/make-fixtures.js";

function who(e: ConnectionEvent["src"]): string {
  return `${e.container?.name ?? e.ip}:${e.port}`;
}

/** One line per event: time offset, proto, state, initiator → responder, duration, names. */
function summarize(ev: NetmonEvent): string {
  if (ev.kind === "dns")
    return `+${ev.ts - T0} dns ${ev.container.name} ${ev.qname} rcode ${ev.rcode} ${ev.answers} answers`;
  if (ev.kind !== "connection") return `listener ${ev.state}`;
  const names = ev.dst.names ? ` [${ev.dst.names.join(",")}]` : "";
  const dur = ev.durationMs === undefined ? "" : ` ${ev.durationMs}ms`;
  return `+${ev.ts - T0} ${ev.proto} ${ev.state} ${who(ev.src)} -> ${who(ev.dst)} ${ev.direction}${dur}${names}`;
}

const EXPECTED = [
  "+1000 udp attempt shop-web-1:40000 -> 192.0.2.53:53 outbound",
  "+1005 udp accepted shop-web-1:40000 -> 192.0.2.53:53 outbound 5ms",
  "+1100 tcp attempt shop-web-1:41000 -> 203.0.113.10:443 outbound [api.example.com,edge.example.net]",
  "+1130 tcp accepted shop-web-1:41000 -> 203.0.113.10:443 outbound 30ms [api.example.com,edge.example.net]",
  "+2000 tcp attempt shop-web-1:42000 -> shop-db-1:5432 internal",
  "+2001 tcp accepted shop-web-1:42000 -> shop-db-1:5432 internal 1ms",
  "+2200 tcp attempt shop-web-1:42001 -> shop-db-1:6379 internal",
  "+2201 tcp rejected shop-web-1:42001 -> shop-db-1:6379 internal 1ms",
  // Closed when both sides have sent FIN (web's at +3000, the api's at +3001).
  "+3001 tcp closed shop-web-1:41000 -> 203.0.113.10:443 outbound 1901ms [api.example.com,edge.example.net]",
  "+4000 tcp attempt shop-db-1:43000 -> 198.51.100.7:25 outbound",
  "+5000 tcp attempt worker-a:45000 -> 203.0.113.10:443 outbound",
  "+5010 tcp accepted worker-a:45000 -> 203.0.113.10:443 outbound 10ms",
  "+6000 tcp attempt shop-web-1:44000 -> shop-db-1:5432 internal",
  "+6001 tcp accepted shop-web-1:44000 -> shop-db-1:5432 internal 1ms",
  "+6100 tcp closed shop-web-1:44000 -> shop-db-1:5432 internal 100ms",
  "+9000 tcp unanswered shop-db-1:43000 -> 198.51.100.7:25 outbound 5000ms",
  // worker-a only half-closed; worker-b's SYN on the same tuple is a new connection and ends it.
  "+25000 tcp closed worker-a:45000 -> 203.0.113.10:443 outbound 200ms",
  "+25000 tcp attempt worker-b:45000 -> 203.0.113.10:443 outbound",
  "+25010 tcp accepted worker-b:45000 -> 203.0.113.10:443 outbound 10ms",
  "+31005 udp closed shop-web-1:40000 -> 192.0.2.53:53 outbound 5ms",
  // Only the client's FIN was captured: closed by the half-close timeout (flows.tcpHalfCloseMs, 60 s).
  "+62500 tcp closed shop-web-1:42000 -> shop-db-1:5432 internal 60500ms",
  "+85100 tcp closed worker-b:45000 -> 203.0.113.10:443 outbound 60100ms",
];

describe("replay of the basic fixture through the real pipeline", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmon-replay-"));
  const fx = makeFixtures(dir);

  it("emits the expected connection events, attributed by time (worker-a, then worker-b on the same IP)", () => {
    const { inventory, warnings } = loadStaticInventory(fx.inventory);
    expect(warnings).toEqual([]);
    const events: NetmonEvent[] = [];
    const pipeline = new Pipeline(defaultConfig(), inventory, (ev) => events.push(ev));
    const result = readPcapFile(fx.pcap, pipeline.handlerFor("file"));
    pipeline.finish();
    expect(result.packets).toBe(25);
    expect(events.filter((ev) => ev.kind !== "dns").map(summarize)).toEqual(EXPECTED);
    // One DnsEvent per response to a container (dns-abuse's input), just before the reply's UDP event.
    expect(events.filter((ev) => ev.kind === "dns").map(summarize)).toEqual([
      "+1005 dns shop-web-1 api.example.com rcode 0 2 answers",
    ]);
    expect(pipeline.counters).toEqual({ packets: 25, undecoded: 1, dnsAnswers: 1, dnsRejected: 0 });
    expect(pipeline.tracker.size).toBe(0);
  });

  it("without an inventory nothing is attributed and every flow is external", () => {
    const events: NetmonEvent[] = [];
    const pipeline = new Pipeline(defaultConfig(), new Inventory(), (ev) => events.push(ev));
    readPcapFile(fx.pcap, pipeline.handlerFor("file"));
    pipeline.finish();
    expect(events).toHaveLength(EXPECTED.length);
    for (const ev of events) {
      expect(ev.kind === "connection" && ev.direction).toBe("external");
    }
  });

  it("replayFile prints every event and returns a summary", () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const summary = replayFile(fx.pcap, { inventory: fx.inventory, logEvents: true }, defaultConfig(), log);
    expect(summary).toMatchObject({
      packets: 25,
      undecoded: 1,
      events: EXPECTED.length + 1,
      flowsCreated: 8,
    });
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; event: { state: string } });
    expect(parsed.filter((l) => l.msg === "connection")).toHaveLength(EXPECTED.length);
    expect(parsed.filter((l) => l.msg === "dns")).toHaveLength(1);
    expect(parsed[0]?.event.state).toBe("attempt");
  });

  it("replayCommand --graph writes the capture's map, and gives the same summary as a plain replay", async () => {
    const silent = pino({ level: "silent" });
    const path = join(dir, "map.json");
    const withMap = await replayCommand(
      fx.pcap,
      { inventory: fx.inventory, graph: path },
      defaultConfig(),
      silent,
    );
    const plain = await replayCommand(fx.pcap, { inventory: fx.inventory }, defaultConfig(), silent);
    expect({ ...withMap, seconds: 0 }).toEqual({ ...plain, seconds: 0 });
    const map = JSON.parse(readFileSync(path, "utf8")) as { nodes: { label: string }[]; edges: unknown[] };
    expect(map.nodes.map((n) => n.label)).toContain("api.example.com");
    expect(map.edges.length).toBeGreaterThan(0);
  });

  it("replayFile without replayCommand refuses --graph instead of writing no map", () => {
    expect(() =>
      replayFile(fx.pcap, { graph: join(dir, "x.dot") }, defaultConfig(), pino({ level: "silent" })),
    ).toThrow(/needs a map/);
  });

  it("a missing capture file is a clear error", () => {
    expect(() => replayFile(join(dir, "nope.pcap"), {}, defaultConfig(), pino({ level: "silent" }))).toThrow(
      /nope\.pcap: cannot read the capture file \(ENOENT\)/,
    );
  });
});

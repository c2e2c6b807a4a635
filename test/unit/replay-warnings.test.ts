/**
 * What `netmon replay` says about a capture or inventory it cannot use fully: one warning line for
 * packets of a link type it cannot decode (with the type and the count), and one for containers of the
 * inventory that did not run during the capture.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { replayFile } from "../../src/commands/replay.js";
import { defaultConfig } from "../../src/config/load.js";
import { PcapWriter } from "../support/pcap-writer.js";
import { Scenario } from "../support/scenario.js";

const SEC = 1_000;
const HOUR = 3_600_000;

interface Line {
  level: number;
  msg: string;
  undecodable?: Record<string, number>;
}

function replay(records: Parameters<PcapWriter["add"]>[0][], linkType: number, inventory: unknown[]): Line[] {
  const dir = mkdtempSync(join(tmpdir(), "netmon-replay-warn-"));
  const pcap = join(dir, "c.pcap");
  const inv = join(dir, "inv.json");
  writeFileSync(pcap, new PcapWriter(records).toPcap({ linkType }));
  writeFileSync(inv, JSON.stringify(inventory));
  const raw: string[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => raw.push(l) });
  replayFile(pcap, { inventory: inv }, defaultConfig(), log);
  return raw.map((l) => JSON.parse(l) as Line);
}

function scenario(startedAt = 0): Scenario {
  return new Scenario({ network: "app_default", gateway: "172.30.0.1" }).container({
    name: "app-1",
    ip: "172.30.0.2",
    image: "acme/app:1",
    startedAt,
  });
}

describe("replay warnings", () => {
  it("names a link type it cannot decode, with the packet count, in one line", () => {
    const s = scenario();
    s.tcp(1 * SEC, "app-1", "203.0.113.5", 443, "closed", 100);
    const out = s.build();
    // The same bytes under IEEE 802.11 radiotap (127): nothing there is decodable.
    const lines = replay(out.pcapRecords, 127, out.inventory);
    const warnings = lines.filter((l) => l.msg.includes("cannot decode"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    expect(warnings[0]!.msg).toContain(`${out.pcapRecords.length} packets of IEEE802_11_RADIOTAP (127)`);
    expect(warnings[0]!.undecodable).toEqual({ "IEEE802_11_RADIOTAP (127)": out.pcapRecords.length });
  });

  it("says nothing about link types when every packet decodes", () => {
    const s = scenario();
    s.tcp(1 * SEC, "app-1", "203.0.113.5", 443, "closed", 100);
    const out = s.build();
    const lines = replay(out.pcapRecords, out.linkType, out.inventory);
    expect(lines.filter((l) => l.msg.includes("cannot decode"))).toEqual([]);
    expect(lines.filter((l) => l.msg.includes("did not run during the capture"))).toEqual([]);
  });

  it("warns once when inventory containers started after the capture", () => {
    // The capture holds traffic of app-1; the inventory was taken hours later, from new containers.
    const capture = scenario();
    capture.tcp(1 * SEC, "app-1", "203.0.113.5", 443, "closed", 100);
    const later = new Scenario({ network: "app_default", gateway: "172.30.0.1" })
      .container({ name: "app-2", ip: "172.30.0.2", image: "acme/app:1", startedAt: 5 * HOUR })
      .container({ name: "app-3", ip: "172.30.0.3", image: "acme/app:1", startedAt: 5 * HOUR });
    const lines = replay(capture.build().pcapRecords, capture.build().linkType, later.build().inventory);
    const warnings = lines.filter((l) => l.msg.includes("did not run during the capture"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain("2 containers");
    expect(warnings[0]!.msg).toContain("app-2");
    expect(warnings[0]!.msg).toContain("app-3");
  });
});

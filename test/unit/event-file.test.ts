import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { logEvent } from "../../src/engine/event-log.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";
import { parseEventLine, readConnectionEvents } from "../../src/posture/event-file.js";
import { suggestPolicy } from "../../src/posture/suggest.js";
import { connectionEvent } from "../support/fixtures.js";

// Log lines carry 12-character ids and no Compose project: the fixtures look like that already.
const WEB: ContainerRef = {
  id: "a".repeat(12),
  name: "shop-web-1",
  image: "shop/web:1",
  service: "web",
  project: null,
};
const T0 = 1_700_000_000_000;

function lineOf(ev: ConnectionEvent): string {
  const lines: string[] = [];
  logEvent(pino({}, { write: (l: string) => lines.push(l.trimEnd()) }), ev);
  return lines[0]!;
}

const attempt = connectionEvent({ from: WEB, ts: T0, ip: "203.0.113.9", port: 443 });

describe("events file: connection-tracking fields", () => {
  it.each<[string, Partial<ConnectionEvent>]>([
    ["a mid-stream pickup whose initiator the ports did not tell", { midstream: true, initiator: "unknown" }],
    ["a close and who closed first", { state: "closed", durationMs: 25_000, closedBy: "responder" }],
    [
      "a late answer that corrects an unanswered report",
      { state: "rejected", durationMs: 31_000, corrects: "unanswered" },
    ],
  ])("reads back %s", (_what, fields) => {
    const ev: ConnectionEvent = { ...attempt, ...fields };
    expect(parseEventLine(lineOf(ev))).toEqual(ev);
  });

  it("reads back a connection seeded from /proc (open before netmon watched the container)", () => {
    // Written by hand: the line as README "Event lines" documents `source`.
    const ev: ConnectionEvent = { ...attempt, midstream: true, source: "proc", iface: "proc" };
    const line = lineOf({ ...attempt, midstream: true, iface: "proc" }).replace(
      '"midstream":true',
      '"midstream":true,"source":"proc"',
    );
    expect(parseEventLine(line)).toEqual(ev);
    expect(parseEventLine(line.replace('"source":"proc"', '"source":"guess"'))).toBe("bad");
  });

  it("refuses a line whose tracking fields hold something netmon never writes", () => {
    const line = lineOf({ ...attempt, state: "closed", closedBy: "initiator" });
    expect(parseEventLine(line.replace('"closedBy":"initiator"', '"closedBy":"attacker"'))).toBe("bad");
    expect(
      parseEventLine(
        lineOf({ ...attempt, midstream: true }).replace('"midstream":true', '"midstream":"yes"'),
      ),
    ).toBe("bad");
  });

  it("counts a corrected outcome as the same connection, in the reader and in the dry run", async () => {
    // One connect(): reported unanswered at 30 s, then its RST arrived and corrected it to rejected.
    const dir = mkdtempSync(join(tmpdir(), "netmon-event-file-"));
    const path = join(dir, "events.log");
    const events: ConnectionEvent[] = [
      attempt,
      { ...attempt, ts: T0 + 30_000, state: "unanswered", durationMs: 30_000 },
      { ...attempt, ts: T0 + 31_000, state: "rejected", durationMs: 31_000, corrects: "unanswered" },
    ];
    writeFileSync(path, `${events.map(lineOf).join("\n")}\n`);
    const read = await readConnectionEvents(path);
    expect(read).toMatchObject({ connections: 3, corrections: 1, bad: 0 });
    expect(read.events.filter((e) => e.corrects === undefined && e.state === "attempt")).toHaveLength(1);

    const baseline = new Baseline();
    baseline.recordEgress("shop/web", "198.51.100.1", 443, "tcp", T0);
    const s = suggestPolicy(baseline, "shop/web", [], read.events);
    expect(s.dryRun.observed).toBe(1);
    expect(s.dryRun.iptables.wouldBlock).toEqual([
      expect.objectContaining({ dst: "203.0.113.9:443/tcp", count: 1 }),
    ]);
  });
});

/**
 * The one engine behind `netmon run` and `netmon replay` (src/engine/engine.ts): packet time drives
 * flow timeouts, detector ticks and alert resolutions, so a replay prints what the daemon would have
 * logged, in the same order, whenever the daemon's wall-clock fallback happened to tick.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { replayFile } from "../../src/commands/replay.js";
import { parseConfigText } from "../../src/config/load.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { buildEngine } from "../../src/engine/engine.js";
import { TICK_EVERY_MS } from "../../src/engine/packet-clock.js";
import { loadStaticInventory } from "../../src/inventory/static-inventory.js";
import type { NetmonEvent } from "../../src/model/events.js";
import type { Logger } from "../../src/util/logger.js";
import { PcapWriter } from "../support/pcap-writer.js";
import { Scenario, type ScenarioOutput } from "../support/scenario.js";

const SEC = 1_000;
const MIN = 60_000;
const GATEWAY = "172.30.0.1";

function config(yaml: string): NetmonConfig {
  const r = parseConfigText(yaml, "test.yaml");
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.config;
}

/** Judged from the first packet, alerts resolve after 2 min of quiet, repeats logged after 1 min. */
const CONFIG = `
baseline:
  learnForSeconds: 0
alerts:
  suppressSeconds: 60
  resolveAfterSeconds: 120
`;

/**
 * web reaches an undeclared server now and then, gets a SYN unanswered, and keeps talking to the
 * database it may use; quiet stretches long enough for alerts to resolve in between.
 */
function traffic(): ScenarioOutput {
  const s = new Scenario({ network: "shop_default", gateway: GATEWAY })
    .container({
      name: "shop-web-1",
      ip: "172.30.0.2",
      project: "shop",
      service: "web",
      image: "shop/web:1.4",
      labels: { "netmon.egress": "db:5432/tcp" },
    })
    .container({
      name: "shop-db-1",
      ip: "172.30.0.3",
      project: "shop",
      service: "db",
      image: "postgres:16",
      exposed: ["5432/tcp"],
    });
  s.every(5 * SEC, 20 * SEC, 40, (t) => s.tcp(t, "shop-web-1", "shop-db-1", 5432, "closed", 40));
  s.tcp(10 * SEC, "shop-web-1", "198.51.100.23", 4444, "closed", 1_500);
  s.tcp(80 * SEC, "shop-web-1", "198.51.100.23", 4444, "closed", 1_500);
  s.tcp(90 * SEC, "shop-web-1", "203.0.113.9", 443, "unanswered");
  s.tcp(9 * MIN, "shop-web-1", "198.51.100.23", 4444, "closed", 1_500);
  return s.build();
}

interface Written {
  pcap: string;
  inventory: string;
  out: ScenarioOutput;
}

function write(out: ScenarioOutput): Written {
  const dir = mkdtempSync(join(tmpdir(), "netmon-engine-"));
  const pcap = join(dir, "capture.pcap");
  const inventory = join(dir, "inventory.json");
  writeFileSync(pcap, new PcapWriter(out.pcapRecords).toPcap({ linkType: out.linkType }));
  writeFileSync(inventory, JSON.stringify(out.inventory));
  return { pcap, inventory, out };
}

/** The alert lines of a log, as the operator reads them. */
function alertLines(raw: string[]): string[] {
  return raw
    .map(
      (l) =>
        JSON.parse(l) as { msg: string; alert?: { fingerprint: string; transition: string; count: number } },
    )
    .filter((l) => l.alert !== undefined)
    .map((l) => `${l.msg} ${l.alert!.transition} ${l.alert!.fingerprint} x${l.alert!.count}`);
}

function capturingLog(): { log: Logger; raw: string[] } {
  const raw: string[] = [];
  return { log: pino({ level: "info" }, { write: (l: string) => raw.push(l) }), raw };
}

/**
 * The daemon's way: packets arrive through the capture handler, and the wall clock ticks the engine
 * at `fallbacks` (times between packets, never past the next packet: the daemon ticks a little behind).
 */
function liveRun(w: Written, cfg: NetmonConfig, fallbackFractions: number[]): string[] {
  const { log, raw } = capturingLog();
  const { inventory } = loadStaticInventory(w.inventory);
  const engine = buildEngine({
    config: cfg,
    containers: inventory,
    baseline: new Baseline(),
    log,
    logEvents: false,
  });
  const handler = engine.handlerFor("br-test");
  const records = w.out.pcapRecords;
  let prev = records[0]?.tsMs ?? 0;
  records.forEach((r, i) => {
    const f = fallbackFractions[i % Math.max(1, fallbackFractions.length)];
    if (f !== undefined && f > 0) engine.tick(prev + (r.tsMs - prev) * f);
    handler(r.data, 0, r.data.length, r.data.length, r.tsMs, w.out.linkType);
    prev = r.tsMs;
  });
  engine.finish();
  return alertLines(raw);
}

function replayRun(w: Written, cfg: NetmonConfig): string[] {
  const { log, raw } = capturingLog();
  replayFile(w.pcap, { inventory: w.inventory }, cfg, log);
  return alertLines(raw);
}

describe("engine: one clock for live and replay", () => {
  const w = write(traffic());
  const cfg = config(CONFIG);

  it("a replay resolves an alert that goes quiet inside the capture, and fires it again later", () => {
    const lines = replayRun(w, cfg);
    const fp = (i: number) => lines[i]!.split(" ").at(-2);
    expect(lines.map((l) => l.replace(/ [0-9a-f]{16} /, " "))).toEqual([
      "alert fired x1", // 198.51.100.23:4444 at 10 s
      "alert updated repeated x2", // again at 80 s, after the 60 s suppression window
      "alert fired x1", // 203.0.113.9:443 at 90 s (its SYN then goes unanswered)
      "alert resolved resolved x2", // 4444 quiet for 120 s after 80 s
      "alert resolved resolved x1", // 443 quiet for 120 s after 90 s
      "alert fired x1", // 4444 again at 9 min: a new incident
      "alert resolved resolved x1", // ... quiet by 11 min, while the db traffic goes on to 13 min
    ]);
    expect(fp(0)).toBe(fp(3));
    expect(fp(0)).toBe(fp(5));
  });

  it("prints the same lines, in the same order, wherever the wall-clock fallback ticks", () => {
    const expected = replayRun(w, cfg);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (fr) => {
          expect(liveRun(w, cfg, fr)).toEqual(expected);
        },
      ),
      { seed: 13, numRuns: 40 },
    );
  });

  it("ticks once per second of packet time, and never backwards", () => {
    const { log } = capturingLog();
    const engine = buildEngine({
      config: cfg,
      containers: loadStaticInventory(w.inventory).inventory,
      baseline: new Baseline(),
      log,
      logEvents: false,
    });
    const ticks: number[] = [];
    const tick = engine.tick.bind(engine);
    engine.tick = (now: number) => {
      if (now > engine.clock.now) ticks.push(now);
      tick(now);
    };
    const handler = engine.handlerFor("file");
    const r = w.out.pcapRecords;
    for (const rec of r) handler(rec.data, 0, rec.data.length, rec.data.length, rec.tsMs, w.out.linkType);
    const span = r.at(-1)!.tsMs - r[0]!.tsMs;
    expect(ticks.length).toBeLessThanOrEqual(Math.ceil(span / TICK_EVERY_MS) + 1);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!).toBeGreaterThan(ticks[i - 1]!);
    engine.tick(r[0]!.tsMs); // a fallback behind packet time does nothing
    expect(engine.clock.now).toBe(ticks.at(-1));
  });

  it("judges each attempt once and hands the verdict to every consumer", () => {
    const { log } = capturingLog();
    const seen: NetmonEvent[] = [];
    const verdicts: string[] = [];
    const engine = buildEngine({
      config: cfg,
      containers: loadStaticInventory(w.inventory).inventory,
      baseline: new Baseline(),
      log,
      logEvents: false,
      observers: [{ onEvent: (ev) => seen.push(ev) }],
      onConnectionVerdict: (direction, verdict) => verdicts.push(`${direction}:${verdict}`),
    });
    let judged = 0;
    const egress = engine.policy.egress.bind(engine.policy);
    engine.policy.egress = (c, d) => {
      judged++;
      return egress(c, d);
    };
    const handler = engine.handlerFor("file");
    for (const rec of w.out.pcapRecords)
      handler(rec.data, 0, rec.data.length, rec.data.length, rec.tsMs, w.out.linkType);
    engine.finish();
    const attempts = seen.filter((e) => e.kind === "connection" && e.state === "attempt");
    expect(attempts.length).toBe(44);
    // One policy judgement per attempt; a detector that needs the verdict of an outcome (a short or
    // failed connection, for connection-burst; a regular series, for beaconing) may still ask once
    // for it, and nothing more.
    const shortOrFailed = seen.filter(
      (e) =>
        e.kind === "connection" &&
        (e.state === "rejected" ||
          e.state === "unanswered" ||
          (e.state === "closed" && (e.durationMs ?? 0) < 1000)),
    ).length;
    // beaconing asks once per container and destination whose connections it finds regular.
    const beaconPairs = new Set(
      seen.flatMap((e) =>
        e.kind === "connection" && e.state === "closed" && e.src.container !== null
          ? [`${e.src.container.id} ${e.dst.ip}:${e.dst.port}/${e.proto}`]
          : [],
      ),
    ).size;
    expect(judged).toBeLessThanOrEqual(attempts.length + shortOrFailed + beaconPairs);
    for (const a of attempts) expect(a.kind === "connection" && a.verdict?.mode).toBe("monitor");
    expect(verdicts.filter((v) => v === "internal:allowed")).toHaveLength(40);
    expect(verdicts.filter((v) => v === "outbound:unexpected")).toHaveLength(4);
  });
});

/**
 * DNS names outlive their answer while the client uses them (issue 14 §4), through the real engine:
 * the pipeline attaches the names, the policy judges the attempt, the engine tells the pipeline which
 * names let it through (Pipeline.judged), and later connections to the same address keep them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { parseConfigText } from "../../src/config/load.js";
import { buildEngine } from "../../src/engine/engine.js";
import { staticInventoryOf } from "../../src/inventory/static-inventory.js";
import type { ConnectionEvent, NetmonEvent } from "../../src/model/events.js";
import { Scenario } from "../support/scenario.js";

const SEC = 1_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const GATEWAY = "172.30.0.1";
const API = "203.0.113.50";

/** One attempt as the policy saw it: when (ms from t0), where, the names it carried, what allowed it. */
interface Seen {
  at: number;
  dst: string;
  names: string[];
  allowedBy: string | null;
}

function web(labels: Record<string, string> = {}): Scenario {
  return new Scenario({ network: "shop_default", gateway: GATEWAY }).container({
    name: "shop-web-1",
    ip: "172.30.0.2",
    project: "shop",
    service: "web",
    image: "shop/web:1.4",
    labels,
  });
}

/** Replays the scenario through the engine and returns web's outbound attempts (not its DNS). */
function attempts(s: Scenario, yaml = "baseline:\n  learnForSeconds: 0\n"): Seen[] {
  const parsed = parseConfigText(yaml, "test.yaml");
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  const out = s.build();
  const containers = staticInventoryOf(out.inventory, "scenario").inventory;
  const seen: ConnectionEvent[] = [];
  const engine = buildEngine({
    config: parsed.config,
    containers,
    baseline: new Baseline(),
    log: pino({ level: "silent" }),
    logEvents: false,
    observers: [
      {
        onEvent(ev: NetmonEvent) {
          if (ev.kind === "connection" && ev.state === "attempt" && ev.dst.port !== 53) seen.push(ev);
        },
      },
    ],
  });
  const handler = engine.handlerFor("file");
  for (const r of out.pcapRecords) handler(r.data, 0, r.data.length, r.data.length, r.tsMs, out.linkType);
  engine.finish();
  return seen.map((ev) => ({
    at: ev.ts - s.t0,
    dst: ev.dst.ip,
    names: ev.dst.names ?? [],
    allowedBy: ev.verdict?.allowedBy ?? null,
  }));
}

describe("DNS names stay valid while they are used", () => {
  it("a name allowed by a rule is kept hours after its answer, for a client that never looks it up again", () => {
    const s = web({ "netmon.egress": "api.example.com:443/tcp" });
    s.dns(1 * SEC, "shop-web-1", GATEWAY, "api.example.com", { ips: [API] }, 30);
    s.tcp(2 * SEC, "shop-web-1", API, 443, "closed", 800);
    s.tcp(5 * HOUR, "shop-web-1", API, 443, "closed", 800);
    s.tcp(10 * HOUR, "shop-web-1", API, 443, "closed", 800);
    expect(attempts(s).map((a) => `${a.at / SEC} s ${a.names.join(",")} ${a.allowedBy}`)).toEqual([
      "2 s api.example.com dns-name",
      "18000 s api.example.com dns-name",
      "36000 s api.example.com dns-name",
    ]);
  });

  it("retention counts from the last use: dns.retainSeconds after it, the name is gone", () => {
    const s = web({ "netmon.egress": "api.example.com:443/tcp" });
    s.dns(1 * SEC, "shop-web-1", GATEWAY, "api.example.com", { ips: [API] }, 30);
    s.tcp(2 * SEC, "shop-web-1", API, 443, "closed", 800);
    s.tcp(9 * MIN, "shop-web-1", API, 443, "closed", 800);
    // 10 min after the last use (which ended at 9 min 0.8 s).
    s.tcp(19 * MIN + 1 * SEC, "shop-web-1", API, 443, "closed", 800);
    const seen = attempts(s, "baseline:\n  learnForSeconds: 0\ndns:\n  retainSeconds: 600\n");
    expect(seen.map((a) => a.allowedBy)).toEqual(["dns-name", "dns-name", null]);
    expect(seen[2]!.names).toEqual([]);
  });

  it("a name nothing allows lives its answer only (dns.minTtlSeconds)", () => {
    const s = web({ "netmon.egress": "db:5432/tcp" });
    s.dns(1 * SEC, "shop-web-1", GATEWAY, "tracker.example.net", { ips: ["198.51.100.7"] }, 30);
    s.tcp(2 * SEC, "shop-web-1", "198.51.100.7", 443, "closed", 800);
    s.tcp(5 * MIN, "shop-web-1", "198.51.100.7", 443, "closed", 800);
    expect(attempts(s).map((a) => a.names)).toEqual([["tracker.example.net"], []]);
  });

  it("an open connection keeps every name of its address until it ends", () => {
    const s = web({ "netmon.egress": "db:5432/tcp" });
    s.dns(1 * SEC, "shop-web-1", GATEWAY, "stream.example.net", { ips: ["198.51.100.8"] }, 30);
    // A connection open from 2 s to 30 min; a second one at 20 min, then one after the first closed.
    s.tcp(2 * SEC, "shop-web-1", "198.51.100.8", 443, "closed", 30 * MIN);
    s.tcp(20 * MIN, "shop-web-1", "198.51.100.8", 443, "closed", 500);
    s.tcp(35 * MIN, "shop-web-1", "198.51.100.8", 443, "closed", 500);
    expect(attempts(s).map((a) => a.names)).toEqual([["stream.example.net"], ["stream.example.net"], []]);
  });

  it("a name the workload learned (baseline) is retained like one a rule allows", () => {
    const s = web();
    s.dns(1 * SEC, "shop-web-1", GATEWAY, "api.example.com", { ips: [API] }, 30);
    s.tcp(2 * SEC, "shop-web-1", API, 443, "closed", 800); // learning: recorded by name
    s.tcp(3 * HOUR, "shop-web-1", API, 443, "closed", 800);
    const seen = attempts(s, "baseline:\n  learnForSeconds: 60\n");
    expect(seen.map((a) => `${a.names.join(",")} ${a.allowedBy}`)).toEqual([
      "api.example.com null",
      "api.example.com baseline",
    ]);
  });

  it("a denylisted address does not keep its names, even when a rule allows the name", () => {
    const s = web({ "netmon.egress": "api.example.com:443/tcp" });
    s.dns(1 * SEC, "shop-web-1", GATEWAY, "api.example.com", { ips: [API] }, 30);
    s.tcp(2 * SEC, "shop-web-1", API, 443, "closed", 800);
    s.tcp(1 * HOUR, "shop-web-1", API, 443, "closed", 800);
    const denylist = join(mkdtempSync(join(tmpdir(), "netmon-dns-retention-")), "denylist.txt");
    writeFileSync(denylist, `${API}\n`);
    const seen = attempts(s, `baseline:\n  learnForSeconds: 0\npolicy:\n  denylistFile: ${denylist}\n`);
    expect(seen.map((a) => a.names)).toEqual([["api.example.com"], []]);
  });
});

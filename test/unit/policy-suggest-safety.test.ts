import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { LogAlertSink } from "../../src/alerts/log-sink.js";
import { Baseline } from "../../src/baseline/baseline.js";
import { saveBaseline } from "../../src/baseline/baseline-store.js";
import { policySuggestCommand } from "../../src/commands/policy-suggest.js";
import { logEvent } from "../../src/engine/event-log.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";
import { suggestPolicy } from "../../src/posture/suggest.js";
import { type LoggedAlert, readLoggedAlerts } from "../../src/posture/suggest-alerts.js";
import { refusalOf } from "../../src/posture/suggest-format.js";
import { parseEgressList } from "../../src/rules/egress-rule.js";
import { parseListenList } from "../../src/rules/listen-rule.js";
import { NetmonError } from "../../src/util/errors.js";
import { alertOf, bridgeNetwork, connectionEvent, containerInfo } from "../support/fixtures.js";
import { configFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const W = "shop/web";

const ref = (name: string, service: string, c: string): ContainerRef => ({
  id: c.repeat(64),
  name,
  image: `shop/${service}:1`,
  service,
  project: "shop",
});
const WEB = ref("shop-web-1", "web", "a");
const DB = ref("shop-db-1", "db", "b");
const CACHE = ref("shop-cache-1", "cache", "c");
const BATCH = ref("shop-batch-1", "batch", "e");
const IP = { web: "172.18.0.5", db: "172.18.0.7", cache: "172.18.0.8", batch: "172.18.0.9" };

function info(r: ContainerRef, ip: string, labels: Record<string, string> = {}): ContainerInfo {
  return containerInfo(r, {
    labels,
    imageLabels: {},
    networks: [bridgeNetwork({ networkName: "shop_default", ipv4: ip, bridge: "br-dddddddddddd" })],
  });
}
const running = (webLabels: Record<string, string> = {}) => [
  info(WEB, IP.web, webLabels),
  info(DB, IP.db),
  info(CACHE, IP.cache),
  info(BATCH, IP.batch),
];

let port = 30_000;
/** One connection of `from` to `to`: its attempt, then its outcome (a fresh source port each time). */
function connection(
  from: ContainerRef,
  to: { ip: string; port: number; container?: ContainerRef; names?: string[] },
  ts: number,
  outcome: "accepted" | "rejected" | "unanswered" = "accepted",
): ConnectionEvent[] {
  const srcPort = port++;
  const base = {
    from,
    srcIp: from === WEB ? IP.web : IP.batch,
    srcPort,
    to: to.container,
    ip: to.ip,
    port: to.port,
    names: to.names,
  };
  return [connectionEvent({ ...base, ts }), connectionEvent({ ...base, ts: ts + 1, state: outcome })];
}

/** Alert lines exactly as the daemon writes them (LogAlertSink), read back by the suggest reader. */
async function loggedAlerts(alerts: Alert[]): Promise<LoggedAlert[]> {
  const lines: string[] = [];
  const sink = new LogAlertSink(pino({}, { write: (l: string) => lines.push(l.trimEnd()) }));
  for (const a of alerts) sink.onAlert(a, "fired");
  const path = join(mkdtempSync(join(tmpdir(), "netmon-alerts-")), "netmon.log");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return readLoggedAlerts(path);
}

/** web scanned the cache container's 100 ports from T0+10 s, and opened a listener on 4444 meanwhile. */
function scanWorld() {
  const b = new Baseline(10_000);
  b.recordEgress(W, "db", 5432, "tcp", T0 - 3_600_000);
  b.recordListen(W, 8080, "tcp", T0 - 3_600_000);
  const events: ConnectionEvent[] = [];
  for (let i = 0; i < 20; i++)
    events.push(...connection(WEB, { ip: IP.db, port: 5432, container: DB }, T0 - 3_000_000 + i * 1000));
  for (let p = 1; p <= 100; p++) {
    const open = p % 10 === 0;
    // The open ports answered, so they were learned (the first ones before the finding stopped learning).
    if (open) b.recordEgress(W, "cache", p, "tcp", T0 + 10_000 + p * 100);
    events.push(
      ...connection(
        WEB,
        { ip: IP.cache, port: p, container: CACHE },
        T0 + 10_000 + p * 100,
        open ? "accepted" : "rejected",
      ),
    );
  }
  b.recordListen(W, 4444, "tcp", T0 + 5_000);
  const scan = alertOf({
    fingerprint: "f-scan",
    detector: "connection-burst",
    kind: "port-scan",
    summary: "port scan of shop-cache-1: 100 ports, 10 open",
    container: { ...WEB },
    dst: { ip: IP.cache, port: 100, proto: "tcp" },
    details: { shape: "port-scan", count: 100, targets: [`${IP.cache}:1/tcp`], windowMs: 300_000 },
    firstSeen: T0 + 11_500,
    lastSeen: T0 + 20_000,
  });
  return { b, events, scan };
}

describe("policy suggest: never what raised an alert or belonged to a scan, burst or failed connection", () => {
  it("leaves out every port a scanner touched and the listener it opened, keeps its normal traffic", async () => {
    // The scan is in the log as an alert line; its connections are in the log as events.
    const { b, events, scan } = scanWorld();
    const s = suggestPolicy(b, W, running(), events, { alerts: await loggedAlerts([scan]) });
    expect(s.egress).toEqual(["db:5432/tcp"]);
    expect(s.listen).toEqual(["8080/tcp"]);
    const reasons = new Map(s.omitted.map((o) => [o.entry, o.reason]));
    expect(reasons.get("cache|10|tcp")).toBe(
      'seen only in a scan or burst: "port scan of shop-cache-1: 100 ports, 10 open" (alert f-scan)',
    );
    expect(reasons.get("cache|100|tcp")).toMatch(/^raised an alert: "port scan of shop-cache-1/);
    expect(reasons.get("4444/tcp")).toMatch(/^learned during a scan or burst: "port scan of shop-cache-1/);
    expect(s.iptablesRules.some((l) => l.includes(IP.cache))).toBe(false);
  });

  it("without the log's connections, the alert's window still tells what was learned during the scan", async () => {
    // Only alert lines (a daemon run without --log-events).
    const { b, scan } = scanWorld();
    const s = suggestPolicy(b, W, running(), [], { alerts: await loggedAlerts([scan]) });
    expect(s.egress).toEqual(["db:5432/tcp"]);
    expect(s.listen).toEqual(["8080/tcp"]);
  });

  it("never suggests the destination of an alert, even with ordinary connections to it", async () => {
    // unexpected-outbound named 203.0.113.7:443 (by its DNS name in the baseline).
    const b = new Baseline();
    b.recordEgress(W, "api.example.com", 443, "tcp", T0);
    b.recordEgress(W, "db", 5432, "tcp", T0);
    const events = connection(WEB, { ip: "203.0.113.7", port: 443, names: ["api.example.com"] }, T0);
    const s = suggestPolicy(b, W, running(), events, { alerts: await loggedAlerts([alertOf()]) });
    expect(s.egress).toEqual(["db:5432/tcp"]);
    expect(s.omitted.find((o) => o.entry === "api.example.com|443|tcp")?.reason).toMatch(
      /^raised an alert: /,
    );
  });

  it("leaves out what was only refused or unanswered, keeps what answered late (corrects)", () => {
    // 198.51.100.9 never answered; 198.51.100.10's unanswered was corrected by a late SYN-ACK.
    const b = new Baseline();
    b.recordEgress(W, "198.51.100.9", 443, "tcp", T0);
    b.recordEgress(W, "198.51.100.10", 443, "tcp", T0);
    const late = connection(WEB, { ip: "198.51.100.10", port: 443 }, T0, "unanswered");
    const corrected: ConnectionEvent = {
      ...late[1]!,
      ts: T0 + 5000,
      state: "accepted",
      corrects: "unanswered",
    };
    const events = [
      ...connection(WEB, { ip: "198.51.100.9", port: 443 }, T0, "unanswered"),
      ...late,
      corrected,
    ];
    const s = suggestPolicy(b, W, running(), events, { alerts: [] });
    expect(s.egress).toEqual(["198.51.100.10:443/tcp"]);
    expect(s.omitted).toContainEqual({
      entry: "198.51.100.9|443|tcp",
      reason: "seen only in refused or unanswered connections (1 in the events file)",
    });
  });
});

describe("policy suggest: hard benign cases stay suggested", () => {
  it("a client fanning out to many allowed addresses: every one suggested", () => {
    // 40 object-store addresses, all answered, no alert.
    const b = new Baseline();
    const events: ConnectionEvent[] = [];
    for (let i = 1; i <= 40; i++) {
      b.recordEgress(W, `192.0.2.${i}`, 443, "tcp", T0);
      events.push(...connection(WEB, { ip: `192.0.2.${i}`, port: 443 }, T0 + i * 10));
    }
    const s = suggestPolicy(b, W, running(), events, { alerts: [] });
    expect(s.egress).toHaveLength(40);
    expect(s.omitted).toEqual([]);
  });

  it("a per-request client at a high steady rate is suggested, while another workload's burst is left out", async () => {
    // 3000 connections at 50/s to the api; batch's burst in the same minutes touches only batch.
    const b = new Baseline();
    b.recordEgress(W, "api.example.com", 8443, "tcp", T0);
    b.recordEgress("shop/batch", "198.51.100.77", 25, "tcp", T0 + 1000);
    const events: ConnectionEvent[] = [];
    for (let i = 0; i < 3000; i++)
      events.push(
        ...connection(WEB, { ip: "198.51.100.5", port: 8443, names: ["api.example.com"] }, T0 + i * 20),
      );
    events.push(...connection(BATCH, { ip: "198.51.100.77", port: 25 }, T0 + 1000, "rejected"));
    const burst = alertOf({
      fingerprint: "f-burst",
      detector: "connection-burst",
      workload: "shop/batch",
      container: { ...BATCH },
      summary: "shop-batch-1 made 200 failed or short connections in 2 s",
      dst: undefined,
      details: { shape: "burst", count: 200, targets: [], windowMs: 2000 },
      firstSeen: T0 + 2000,
      lastSeen: T0 + 30_000,
    });
    const alerts = await loggedAlerts([burst]);
    expect(suggestPolicy(b, W, running(), events, { alerts }).egress).toEqual(["api.example.com:8443/tcp"]);
    const batch = suggestPolicy(b, "shop/batch", running(), events, { alerts });
    expect(batch.egress).toEqual([]);
    expect(batch.omitted[0]?.reason).toMatch(/^seen only in a scan or burst: "shop-batch-1 made 200/);
  });
});

describe("policy suggest: what is declared is kept", () => {
  it("merges suggestions into the container's labels, shown as a diff", () => {
    // web declares db; it was also seen using the cache.
    const b = new Baseline();
    b.recordEgress(W, "db", 5432, "tcp", T0);
    b.recordEgress(W, "cache", 6379, "tcp", T0);
    const s = suggestPolicy(b, W, running({ "netmon.egress": "db:5432/tcp" }));
    expect(s.labelDiff).toEqual([
      "- netmon.egress=db:5432/tcp",
      "+ netmon.egress=db:5432/tcp,cache:6379/tcp",
    ]);
    expect(s.labels["netmon.egress"]).toBe("db:5432/tcp,cache:6379/tcp");
    expect(s.omitted).toContainEqual({ entry: "db|5432|tcp", reason: "already declared (dns-name)" });
    expect(parseEgressList(s.labels["netmon.egress"]!).errors).toEqual([]);
  });

  it("a declared label with nothing new stays as written", () => {
    // Nothing learned beyond what it declares.
    const b = new Baseline();
    b.recordEgress(W, "db", 5432, "tcp", T0);
    const s = suggestPolicy(b, W, running({ "netmon.egress": "db:5432/tcp, 10.0.0.0/8:5432" }));
    expect(s.labelDiff).toEqual(["  netmon.egress=db:5432/tcp, 10.0.0.0/8:5432 (unchanged)"]);
  });

  it("iptables rules allow what it declares before any REJECT, even when it learned nothing of it", () => {
    // A declared workload is judged at once and learns nothing: its declaration must not be cut.
    const b = new Baseline();
    b.recordEgress(W, "203.0.113.7", 443, "tcp", T0);
    const s = suggestPolicy(b, W, running({ "netmon.egress": "db:5432/tcp,10.0.0.0/8:6000-6010" }));
    const v4 = s.iptablesRules.filter((l) => l.startsWith("iptables -A"));
    const reject = v4.findIndex((l) => l.endsWith("-j REJECT"));
    const at = (rule: string) => v4.findIndex((l) => l.includes(rule));
    for (const rule of [
      `-d ${IP.db} -p tcp --dport 5432 -j RETURN`,
      "-d 10.0.0.0/8 -p tcp --dport 6000:6010 -j RETURN",
      "-d 10.0.0.0/8 -p udp --dport 6000:6010 -j RETURN",
      "-d 203.0.113.7 -p tcp --dport 443 -j RETURN",
    ]) {
      expect(at(rule), rule).toBeGreaterThanOrEqual(0);
      expect(at(rule), rule).toBeLessThan(reject);
    }
    expect(at(`-d ${IP.db}`)).toBeLessThan(at("-d 203.0.113.7"));
  });

  it("refuses to print rules that would break a declared connection of the log, naming it", () => {
    // api.example.com is declared by DNS name: iptables cannot follow it.
    const b = new Baseline();
    b.recordEgress(W, "203.0.113.7", 443, "tcp", T0);
    const events = connection(WEB, { ip: "198.51.100.20", port: 443, names: ["api.example.com"] }, T0);
    const s = suggestPolicy(b, W, running({ "netmon.egress": "api.example.com:443/tcp" }), events, {
      alerts: [],
    });
    expect(s.dryRun.iptables.brokenDeclared.map((i) => `${i.from} ${i.dst} ${i.allowedBy}`)).toEqual([
      "shop-web-1 198.51.100.20:443/tcp dns-name",
    ]);
    expect(refusalOf(s, "events.log")).toContain(
      "shop-web-1 → 198.51.100.20:443/tcp (api.example.com) ×1, last 2023-11-14T22:13:20.000Z, allowed by a DNS-name rule",
    );
    // Declared by address instead: zero broken, nothing refused.
    const byIp = suggestPolicy(b, W, running({ "netmon.egress": "198.51.100.0/24:443/tcp" }), events, {
      alerts: [],
    });
    expect(byIp.dryRun.iptables.brokenDeclared).toEqual([]);
    expect(refusalOf(byIp, "events.log")).toBeNull();
  });

  it("the command exits non-zero with the message instead of printing the rules", async () => {
    // No Docker: the workload rule of netmon.yaml declares the DNS name.
    const dir = mkdtempSync(join(tmpdir(), "netmon-suggest-refuse-"));
    const b = new Baseline();
    b.recordEgress(W, "203.0.113.7", 443, "tcp", Date.now() - 60_000);
    saveBaseline(join(dir, "baseline.json"), b);
    const lines: string[] = [];
    const log = pino({}, { write: (l: string) => lines.push(l.trimEnd()) });
    const logRef = { ...WEB, id: WEB.id.slice(0, 12), project: null };
    for (const ev of connection(
      logRef,
      { ip: "198.51.100.20", port: 443, names: ["api.example.com"] },
      Date.now() - 30_000,
    ))
      logEvent(log, ev);
    writeFileSync(join(dir, "events.log"), `${lines.join("\n")}\n`);
    const cfg = configFromYaml(
      [
        `stateDir: ${dir}`,
        "docker:",
        `  socketPath: ${join(dir, "no-docker.sock")}`,
        "policy:",
        "  workloads:",
        '    - match: { name: "shop-web-1" }',
        '      egress: ["api.example.com:443/tcp"]',
      ].join("\n"),
    );
    const run = policySuggestCommand(cfg, W, { events: join(dir, "events.log") });
    await expect(run).rejects.toBeInstanceOf(NetmonError);
    await expect(run).rejects.toThrow(
      /refusing to print the iptables rules of shop\/web: .*\n {2}shop-web-1 → 198\.51\.100\.20:443\/tcp \(api\.example\.com\)/,
    );
  });
});

describe("policy suggest: ports sorted numerically, folded into ranges of the label grammar", () => {
  it("folds consecutive ports, never widens, and the labels parse with the real parser", () => {
    // 9, 10, 11 and 100 sort as numbers (text order would put 10 and 100 before 9).
    const b = new Baseline();
    for (const p of [100, 9, 11, 10, 8000, 8001, 8002, 8003, 8005])
      b.recordEgress(W, "203.0.113.7", p, "tcp", T0);
    b.recordEgress(W, "203.0.113.7", 10, "udp", T0);
    for (const p of [9002, 80, 9000, 9001]) b.recordListen(W, p, "tcp", T0);
    const s = suggestPolicy(b, W, running());
    expect(s.egress).toEqual([
      "203.0.113.7:9-11/tcp",
      "203.0.113.7:10/udp",
      "203.0.113.7:100/tcp",
      "203.0.113.7:8000-8003/tcp",
      "203.0.113.7:8005/tcp",
    ]);
    expect(s.listen).toEqual(["80/tcp", "9000-9002/tcp"]);
    const egress = parseEgressList(s.labels["netmon.egress"]!);
    const listen = parseListenList(s.labels["netmon.listen"]!);
    expect(egress.errors).toEqual([]);
    expect(listen.errors).toEqual([]);
    expect(egress.rules.map((r) => [r.ports?.from, r.ports?.to])).toEqual([
      [9, 11],
      [10, 10],
      [100, 100],
      [8000, 8003],
      [8005, 8005],
    ]);
    expect(s.iptablesRules).toContain(
      `iptables -A ${s.iptablesRules[1]!.split(" ")[2]} -d 203.0.113.7 -p tcp --dport 8000:8003 -j RETURN`,
    );
  });
});

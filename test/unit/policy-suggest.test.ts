import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { saveBaseline } from "../../src/baseline/baseline-store.js";
import { policySuggestCommand } from "../../src/commands/policy-suggest.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { logEvent } from "../../src/engine/event-log.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { ConnectionEvent, ContainerRef, Proto } from "../../src/model/events.js";
import { parseEventLine, readConnectionEvents } from "../../src/posture/event-file.js";
import { policyChainName, suggestPolicy } from "../../src/posture/suggest.js";
import { formatSuggestion } from "../../src/posture/suggest-format.js";
import { parseEgressList } from "../../src/rules/egress-rule.js";
import { parseListenList } from "../../src/rules/listen-rule.js";
import { NetmonError } from "../../src/util/errors.js";
import { bridgeNetwork, connectionEvent, containerInfo } from "../support/fixtures.js";
import { configFromYaml as config, policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const W = "shop/web";
const CHAIN = policyChainName(W);

const WEB: ContainerRef = {
  id: "a".repeat(64),
  name: "shop-web-1",
  image: "shop/web:1.2",
  service: "web",
  project: "shop",
};
const DB: ContainerRef = {
  id: "b".repeat(64),
  name: "shop-db-1",
  image: "postgres:16",
  service: "db",
  project: "shop",
};
const OTHER: ContainerRef = {
  id: "c".repeat(64),
  name: "batch-1",
  image: "batch:1",
  service: null,
  project: null,
};

function info(
  ref: ContainerRef,
  ipv4: string,
  ipv6: string | null = null,
  labels: Record<string, string> = {},
): ContainerInfo {
  return containerInfo(ref, {
    imageId: `sha256:${"0".repeat(64)}`,
    labels,
    imageLabels: {},
    networks: [
      bridgeNetwork({
        networkName: "shop_default",
        networkId: "d".repeat(64),
        ipv4,
        ipv6,
        bridge: "br-dddddddddddd",
      }),
    ],
    pid: 100,
    startedAt: T0,
  });
}

const CONTAINERS = [info(WEB, "172.18.0.5", "fd00::5"), info(DB, "172.18.0.7"), info(OTHER, "172.18.0.9")];

/** What shop/web learned: DNS to its gateway, the db container, a DNS name, and two addresses. */
function learned(): Baseline {
  const b = new Baseline();
  b.recordEgress(W, "172.18.0.1", 53, "udp", T0);
  b.recordEgress(W, "db", 5432, "tcp", T0);
  b.recordEgress(W, "api.example.com", 443, "tcp", T0);
  b.recordEgress(W, "203.0.113.7", 443, "tcp", T0);
  b.recordEgress(W, "2001:db8::7", 443, "tcp", T0);
  b.recordListen(W, 8080, "tcp", T0);
  return b;
}

function conn(
  src: ContainerRef,
  dst: { ip: string; port: number; container?: ContainerRef; names?: string[] },
  o: { proto?: Proto; ts?: number; state?: ConnectionEvent["state"] } = {},
): ConnectionEvent {
  return connectionEvent({
    ...o,
    ts: o.ts ?? T0 + 1000,
    from: src,
    srcIp: "172.18.0.5",
    to: dst.container,
    ip: dst.ip,
    port: dst.port,
    names: dst.names,
    iface: "br-dddddddddddd",
  });
}

/** The traffic the baseline was learned from. */
const SAME_TRAFFIC = [
  conn(WEB, { ip: "172.18.0.1", port: 53 }, { proto: "udp" }),
  conn(WEB, { ip: "172.18.0.7", port: 5432, container: DB }),
  conn(WEB, { ip: "203.0.113.7", port: 443 }),
  conn(WEB, { ip: "2001:db8::7", port: 443 }),
];
const TO_NAME = conn(WEB, { ip: "198.51.100.20", port: 443, names: ["api.example.com"] });

describe("suggestPolicy: labels", () => {
  const s = suggestPolicy(learned(), W, CONTAINERS);

  it("allows exactly what was learned, in the label grammar, with DNS to the gateway left implicit", () => {
    // IPv6 with a port is bracketed; DNS to a network gateway is always allowed, so it is left out.
    expect(s.labels).toEqual({
      "netmon.egress": "[2001:db8::7]:443/tcp,203.0.113.7:443/tcp,api.example.com:443/tcp,db:5432/tcp",
      "netmon.listen": "8080/tcp",
    });
    expect(s.omitted).toEqual([
      { entry: "172.18.0.1|53|udp", reason: "DNS to its resolver: always allowed" },
    ]);
  });

  it("prints labels that parse back with zero errors, one rule per learned entry", () => {
    // The contract with src/rules/egress-rule.ts and listen-rule.ts.
    const egress = parseEgressList(s.labels["netmon.egress"]!);
    const listen = parseListenList(s.labels["netmon.listen"]!);
    expect(egress.errors).toEqual([]);
    expect(listen.errors).toEqual([]);
    expect(egress.rules.map((r) => r.text)).toEqual(s.egress);
    expect(listen.rules.map((r) => r.text)).toEqual(["8080/tcp"]);
  });

  it("as labels on a fresh container with no baseline, allows the same traffic and nothing new", () => {
    // The real Policy (labels + empty baseline, monitoring at once) judges the learned connections allowed.
    const labelled = info(WEB, "172.18.0.5", "fd00::5", s.labels);
    const warnings: string[] = [];
    const all = new Map([labelled, ...CONTAINERS.slice(1)].map((c) => [c.ref.id, c]));
    const { policy } = policyFromYaml("baseline:\n  learnForSeconds: 0\n", all, {
      baseline: new Baseline(),
      warn: (m) => warnings.push(m),
    });
    const verdict = (ev: ConnectionEvent) =>
      policy.egress(WEB, {
        ip: ev.dst.ip,
        port: ev.dst.port,
        proto: ev.proto,
        names: ev.dst.names ?? [],
        container: ev.dst.container,
      }).allowedBy;
    expect([...SAME_TRAFFIC, TO_NAME].map(verdict)).toEqual([
      "dns-resolver",
      "dns-name",
      "label",
      "label",
      "dns-name",
    ]);
    expect(verdict(conn(WEB, { ip: "203.0.113.8", port: 443 }))).toBeNull();
    expect(verdict(conn(WEB, { ip: "203.0.113.7", port: 22 }))).toBeNull();
    expect(verdict(conn(WEB, { ip: "172.18.0.9", port: 80, container: OTHER }))).toBeNull();
    expect(policy.listenAllowed(WEB, 8080, "tcp")).toBe("label");
    expect(warnings).toEqual([]);
  });

  it("gives the same rules for Compose, docker run and netmon.yaml", () => {
    // Three forms; the netmon.yaml one matches the workload by its Compose service.
    expect(s.compose).toBe(
      [
        "services:",
        "  web:",
        "    labels:",
        '      netmon.egress: "[2001:db8::7]:443/tcp,203.0.113.7:443/tcp,api.example.com:443/tcp,db:5432/tcp"',
        '      netmon.listen: "8080/tcp"',
      ].join("\n"),
    );
    expect(s.dockerRun).toBe(
      "--label 'netmon.egress=[2001:db8::7]:443/tcp,203.0.113.7:443/tcp,api.example.com:443/tcp,db:5432/tcp' --label 'netmon.listen=8080/tcp'",
    );
    expect(s.configYaml).toContain('- match: { service: "shop/web" }');
    const cfg = config(s.configYaml);
    expect(cfg.policy.workloads[0]?.egress.map((r) => r.text)).toEqual(s.egress);
  });

  it("says when the rules are too many for a label, and still gives the netmon.yaml form", () => {
    // 300 destinations exceed a label's 256 items.
    const b = new Baseline(10_000);
    for (let i = 0; i < 300; i++) b.recordEgress(W, `10.1.${i >> 8}.${i & 255}`, 443, "tcp", T0);
    const big = suggestPolicy(b, W, CONTAINERS);
    expect(big.labels["netmon.egress"]).toBeUndefined();
    expect(big.notes[0]).toContain("exceed a label's 256 items");
    expect(config(big.configYaml).policy.workloads[0]?.egress).toHaveLength(300);
  });

  it("refuses a workload with no baseline", () => {
    // Nothing learned, nothing to suggest.
    expect(() => suggestPolicy(learned(), "shop/none", CONTAINERS)).toThrow(/no baseline/);
  });
});

describe("suggestPolicy: iptables", () => {
  const s = suggestPolicy(learned(), W, CONTAINERS);
  const v4 = s.iptablesRules.filter((l) => l.startsWith("iptables "));
  const v6 = s.iptablesRules.filter((l) => l.startsWith("ip6tables "));

  it("default-denies the workload's IPv4 egress, allowing its resolvers and its IP destinations", () => {
    // A container destination becomes its current IP; the chain name fits iptables' 28 characters.
    expect(CHAIN).toMatch(/^NETMON-POL-[0-9a-f]{8}$/);
    expect(v4).toEqual([
      `iptables -N ${CHAIN}`,
      `iptables -A ${CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
      `iptables -A ${CHAIN} -d 172.18.0.1 -p udp --dport 53 -j RETURN`,
      `iptables -A ${CHAIN} -d 172.18.0.1 -p tcp --dport 53 -j RETURN`,
      `iptables -A ${CHAIN} -d 203.0.113.7 -p tcp --dport 443 -j RETURN`,
      `iptables -A ${CHAIN} -d 172.18.0.7 -p tcp --dport 5432 -j RETURN`,
      `iptables -A ${CHAIN} -j REJECT`,
      `iptables -I DOCKER-USER -s 172.18.0.5 -j ${CHAIN}`,
    ]);
  });

  it("explains in comments what iptables cannot express", () => {
    // A DNS name cannot be an iptables rule; a container's IP changes when it is re-created.
    expect(s.iptablesRules).toContain(
      "# not allowed here: api.example.com:443/tcp is a DNS name (or a container not running now): iptables cannot follow DNS; the netmon.egress label allows it (netmon follows the DNS answers)",
    );
    expect(
      s.iptablesRules.some((l) => l.startsWith("# db:5432/tcp: container shop-db-1, at 172.18.0.7 now")),
    ).toBe(true);
  });

  it("adds ip6tables rules when the workload has IPv6 addresses", () => {
    // fd00::5 is web's IPv6; 2001:db8::7 its IPv6 destination.
    expect(v6).toContain(`ip6tables -A ${CHAIN} -d 2001:db8::7 -p tcp --dport 443 -j RETURN`);
    expect(v6).toContain(`ip6tables -I DOCKER-USER -s fd00::5 -j ${CHAIN}`);
    expect(v4.some((l) => l.includes("2001:db8"))).toBe(false);
  });

  it("undoes exactly what it adds", () => {
    // Jumps removed before the chain is flushed and deleted.
    expect(s.iptablesUndo).toEqual([
      `iptables -D DOCKER-USER -s 172.18.0.5 -j ${CHAIN}`,
      `iptables -F ${CHAIN}`,
      `iptables -X ${CHAIN}`,
      `ip6tables -D DOCKER-USER -s fd00::5 -j ${CHAIN}`,
      `ip6tables -F ${CHAIN}`,
      `ip6tables -X ${CHAIN}`,
    ]);
  });

  it("without a running container, says how to attach the chain instead of guessing IPs", () => {
    // Nothing to put after -s.
    const none = suggestPolicy(learned(), W, []);
    expect(none.iptablesRules.some((l) => l.startsWith("iptables -I DOCKER-USER"))).toBe(false);
    expect(none.iptablesRules).toContain(
      `# no running container of ${W}: for each of its IPs, iptables -I DOCKER-USER -s IP -j ${CHAIN}`,
    );
    expect(none.configYaml).toContain("check the match");
  });
});

describe("suggestPolicy: dry run", () => {
  it("over the traffic it learned from: nothing alerts; iptables refuses only the DNS-name destination", () => {
    // The clean baseline gives zero alerts; iptables cannot follow api.example.com, and says so.
    const s = suggestPolicy(learned(), W, CONTAINERS, [...SAME_TRAFFIC, TO_NAME]);
    expect(s.dryRun.observed).toBe(5);
    expect(s.dryRun.labels.wouldAlert).toEqual([]);
    expect(s.dryRun.iptables.wouldBlock.map((i) => i.dst)).toEqual(["198.51.100.20:443/tcp"]);
    expect(s.dryRun.iptables.wouldBlock[0]?.names).toEqual(["api.example.com"]);
  });

  it("an IP-only baseline replays with zero blocks and zero alerts", () => {
    // The clean case of the issue: every learned destination is an address or a running container.
    const b = new Baseline();
    b.recordEgress(W, "203.0.113.7", 443, "tcp", T0);
    b.recordEgress(W, "db", 5432, "tcp", T0);
    const s = suggestPolicy(b, W, CONTAINERS, SAME_TRAFFIC.slice(1, 3));
    expect(s.dryRun).toMatchObject({
      observed: 2,
      labels: { wouldAlert: [] },
      iptables: { wouldBlock: [], unfiltered: [] },
    });
  });

  it("a new destination is reported by both, counted per destination", () => {
    // Twice to 203.0.113.99:443, once to another container; other workloads and old events are ignored.
    const events = [
      ...SAME_TRAFFIC,
      conn(WEB, { ip: "203.0.113.99", port: 443 }, { ts: T0 + 5000 }),
      conn(WEB, { ip: "203.0.113.99", port: 443 }, { ts: T0 + 9000 }),
      conn(WEB, { ip: "203.0.113.99", port: 443 }, { ts: T0 + 9000, state: "accepted" }),
      conn(WEB, { ip: "172.18.0.9", port: 80, container: OTHER }),
      conn(OTHER, { ip: "198.51.100.1", port: 25 }),
      conn(WEB, { ip: "198.51.100.2", port: 25 }, { ts: T0 - 10_000 }),
    ];
    const s = suggestPolicy(learned(), W, CONTAINERS, events, { sinceMs: T0 });
    expect(s.dryRun.observed).toBe(7);
    expect(s.dryRun.labels.wouldAlert.map((i) => `${i.dst} ${i.count}`)).toEqual([
      "203.0.113.99:443/tcp 2",
      "172.18.0.9:80/tcp 1",
    ]);
    expect(s.dryRun.labels.wouldAlert[0]).toMatchObject({
      first: new Date(T0 + 5000).toISOString(),
      last: new Date(T0 + 9000).toISOString(),
    });
    expect(s.dryRun.labels.wouldAlert[1]?.container).toBe("batch-1");
    expect(s.dryRun.iptables.wouldBlock.map((i) => i.dst)).toEqual([
      "203.0.113.99:443/tcp",
      "172.18.0.9:80/tcp",
    ]);
  });

  it("connections to the host (its gateway) are listed apart: DOCKER-USER never sees them", () => {
    // 172.18.0.1:9100 is the host; the label dry run still alerts on it.
    const s = suggestPolicy(learned(), W, CONTAINERS, [conn(WEB, { ip: "172.18.0.1", port: 9100 })]);
    expect(s.dryRun.iptables.wouldBlock).toEqual([]);
    expect(s.dryRun.iptables.unfiltered.map((i) => i.dst)).toEqual(["172.18.0.1:9100/tcp"]);
    expect(s.dryRun.labels.wouldAlert).toHaveLength(1);
  });

  it("matches events read back from a log (12-character ids, no Compose project) to the workload", () => {
    // Log lines carry neither the full id nor the project.
    const fromLog = conn(
      { ...WEB, id: WEB.id.slice(0, 12), project: null },
      { ip: "203.0.113.99", port: 443 },
    );
    const s = suggestPolicy(learned(), W, [], [fromLog]);
    expect(s.dryRun.observed).toBe(1);
  });
});

describe("events file", () => {
  /** Lines exactly as `netmon run --log-events` writes them. */
  function logLines(events: ConnectionEvent[]): string[] {
    const lines: string[] = [];
    const log = pino({ base: { app: "netmon" } }, { write: (l: string) => lines.push(l.trimEnd()) });
    for (const ev of events) logEvent(log, ev);
    return lines;
  }

  it("reads back what --log-events wrote", () => {
    // Same event, except the id is cut to 12 characters and the project is not logged.
    const [line] = logLines([TO_NAME]);
    const back = parseEventLine(line!);
    expect(back).toEqual({
      ...TO_NAME,
      src: { ...TO_NAME.src, container: { ...WEB, id: WEB.id.slice(0, 12), project: null } },
    });
  });

  it("skips other lines, counts bad ones, and keeps what the filter accepts", async () => {
    // An alert line and a start-up line are not events; junk and a bad connection line are counted.
    const dir = mkdtempSync(join(tmpdir(), "netmon-events-"));
    const path = join(dir, "netmon.log");
    writeFileSync(
      path,
      [
        '{"level":30,"msg":"netmon started"}',
        ...logLines(SAME_TRAFFIC),
        '{"level":40,"msg":"alert","alert":{"detector":"unexpected-outbound"}}',
        '{"msg":"connection","event":{"ts":"x"}}',
        'not json but mentions "connection"',
        "",
      ].join("\n"),
    );
    const r = await readConnectionEvents(path, (ev) => ev.proto === "tcp");
    expect(r).toMatchObject({ connections: 4, bad: 2, dropped: 0, firstTs: T0 + 1000, lastTs: T0 + 1000 });
    expect(r.events).toHaveLength(3);
  });
});

describe("netmon policy suggest (command)", () => {
  function setup(): { cfg: NetmonConfig; events: string } {
    const dir = mkdtempSync(join(tmpdir(), "netmon-suggest-"));
    saveBaseline(join(dir, "baseline.json"), learned());
    const events = join(dir, "events.log");
    const now = Date.now();
    const lines: string[] = [];
    const log = pino({}, { write: (l: string) => lines.push(l.trimEnd()) });
    for (const ev of SAME_TRAFFIC) logEvent(log, { ...ev, ts: now - 60_000 });
    logEvent(log, {
      ...SAME_TRAFFIC[2]!,
      ts: now - 48 * 3_600_000,
      dst: { ip: "203.0.113.50", port: 443, container: null },
    });
    writeFileSync(events, `${lines.join("\n")}\n`);
    // No Docker here on purpose: the command must still suggest, without container IPs.
    return {
      cfg: config(`stateDir: ${dir}\ndocker:\n  socketPath: ${join(dir, "no-docker.sock")}\n`),
      events,
    };
  }

  it("prints the sections and a dry run over the last N hours of the events file", async () => {
    // The 48-hour-old connection to 203.0.113.50 is outside --hours 24.
    const { cfg, events } = setup();
    const text = await policySuggestCommand(cfg, W, { events });
    expect(text).toContain("# ===== shop/web: learned 5 egress and 1 listen entries");
    // Without Docker the gateway is unknown, so DNS to it stays a plain destination.
    expect(text).toContain(
      'netmon.egress: "172.18.0.1:53/udp,[2001:db8::7]:443/tcp,203.0.113.7:443/tcp,api.example.com:443/tcp,db:5432/tcp"',
    );
    expect(text).toContain(`iptables -N ${CHAIN}`);
    expect(text).toContain("the iptables rules name no container IPs");
    expect(text).toContain("#   with the labels, netmon would alert on 0 destination(s)");
    expect(text).not.toContain("203.0.113.50");
    const json = JSON.parse(
      await policySuggestCommand(cfg, undefined, { events, json: true, hours: "72" }),
    ) as {
      workload: string;
      dryRun: { labels: { wouldAlert: { dst: string }[] } };
    }[];
    expect(json.map((s) => s.workload)).toEqual([W]);
    expect(json[0]?.dryRun.labels.wouldAlert.map((i) => i.dst)).toEqual(["203.0.113.50:443/tcp"]);
  });

  it("fails with one clear line on an unknown workload, a bad --hours or a missing events file", async () => {
    // Exit 1 for what is not there, 2 for bad usage.
    const { cfg } = setup();
    await expect(policySuggestCommand(cfg, "shop/none")).rejects.toThrow(
      /no baseline for workload "shop\/none" in .*baseline.json \(workloads: shop\/web\)/,
    );
    await expect(policySuggestCommand(cfg, W, { hours: "soon" })).rejects.toMatchObject({ exitCode: 2 });
    const missing = policySuggestCommand(cfg, W, { events: "/nonexistent/events.log" });
    await expect(missing).rejects.toBeInstanceOf(NetmonError);
    await expect(missing).rejects.toThrow("/nonexistent/events.log: cannot read the events file (ENOENT)");
  });

  it("formats a suggestion without events as such", () => {
    // No --events: the dry run says what it needs.
    const text = formatSuggestion(suggestPolicy(learned(), W, CONTAINERS), null);
    expect(text).toContain("# --- dry run: no observed connections given (--events FILE");
    // Every command line printed is a rule or an undo step, in order: the text can be pasted as is.
    const s = suggestPolicy(learned(), W, CONTAINERS);
    const commands = text.split("\n").filter((l) => /^ip6?tables /.test(l));
    expect(commands).toEqual([...s.iptablesRules, ...s.iptablesUndo].filter((l) => !l.startsWith("#")));
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Alert, AlertSink, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { Blocker } from "../../src/block/blocker.js";
import type { Argv } from "../../src/block/commands.js";
import { recordingRunner } from "../../src/block/dry-run.js";
import { Firewall } from "../../src/block/firewall.js";
import type { ContainerInfo, NetworkAttachment } from "../../src/inventory/types.js";
import type { ContainerRef } from "../../src/model/events.js";
import type { Finding } from "../../src/model/finding.js";
import { FakeHost } from "../support/fake-host.js";
import { bridgeNetwork, containerInfo, SHOP_WEB } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";
import { policyFromYaml } from "../support/policy.js";

const T0 = 1_700_000_000_000;
const SEC = 1_000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/**
 * The pretend host of test/support/fake-host.ts as the blocker sees it: Docker's DOCKER-USER chain
 * for IPv4, for IPv6 only when `ip6` is on.
 */
class FakeKernel extends FakeHost {
  constructor(ip6 = true) {
    super({ dockerUser6: ip6 });
  }

  /** The `ipset add` commands for block sets (not the never-block set), as text. */
  adds(): string[] {
    return this.calls
      .filter((a) => a[1] === "add" && !a[2]?.startsWith("netmon-safe"))
      .map((a) => a.join(" "));
  }

  dels(): string[] {
    return this.calls.filter((a) => a[1] === "del").map((a) => a.join(" "));
  }
}

const WEB: ContainerRef = { ...SHOP_WEB };

function net(ipv4: string | null, gateway: string | null, ipv6: string | null = null): NetworkAttachment {
  return bridgeNetwork({
    networkName: "shop_default",
    networkId: "net-shop",
    ipv4,
    ipv6,
    mac: "02:42:ac:12:00:02",
    gateway,
  });
}

function info(ref: ContainerRef, o: Partial<Omit<ContainerInfo, "ref">> = {}): ContainerInfo {
  return containerInfo(ref, {
    imageId: `sha256:${"0123456789abcdef".repeat(4)}`,
    networks: [net("172.18.0.2", "172.18.0.1")],
    startedAt: T0 - HOUR,
    ...o,
  });
}

/** An in-memory sink placed after the blocker: what the log and Alertmanager sinks would see. */
function collector(): AlertSink & { seen: { transition: AlertTransition; action: Alert["action"] }[] } {
  const seen: { transition: AlertTransition; action: Alert["action"] }[] = [];
  return { seen, onAlert: (a, transition) => void seen.push({ transition, action: a.action }) };
}

interface WorldOptions {
  infos?: ContainerInfo[];
  kernel?: FakeKernel;
  dryRun?: boolean;
  statePath?: string;
  /** Start the clock here (ms). */
  now?: number;
  /** The workload finished learning (default true). */
  learned?: boolean;
  /** Call blocker.start() (default true). */
  start?: boolean;
}

interface World {
  blocker: Blocker;
  alerts: AlertManager;
  kernel: FakeKernel;
  dryRunCalls: Argv[];
  actions: string[];
  lines: Record<string, unknown>[];
  sink: ReturnType<typeof collector>;
  clock: { now: number };
  statePath: string;
  containers: Map<string, ContainerInfo>;
  /** Feeds a finding through the alert manager at the current clock; returns its fingerprint. */
  emit(f: Partial<Finding>): string;
}

const dirs: string[] = [];
function tempState(): string {
  const dir = mkdtempSync(join(tmpdir(), "netmon-blocker-"));
  dirs.push(dir);
  return join(dir, "state", "blocks.json");
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(yaml: string, o: WorldOptions = {}): World {
  const containers = new Map((o.infos ?? [info(WEB)]).map((i) => [i.ref.id, i]));
  const inventory = { get: (id: string) => containers.get(id), all: () => [...containers.values()] };
  const { policy, config: cfg, baseline } = policyFromYaml(yaml, containers, { warn: () => {} });
  if (o.learned ?? true) baseline.touch("shop/web", T0 - 2 * HOUR);
  const { log, lines } = captureLog({ base: { app: "netmon" } });
  const kernel = o.kernel ?? new FakeKernel();
  const dryRunCalls: Argv[] = [];
  const actions: string[] = [];
  const clock = { now: o.now ?? T0 };
  const statePath = o.statePath ?? tempState();
  const blocker = new Blocker({
    config: cfg.blocking,
    containers: inventory,
    firewall: new Firewall(
      o.dryRun ? recordingRunner(log, dryRunCalls) : kernel.run,
      cfg.blocking.durationSeconds,
    ),
    dryRun: o.dryRun ?? false,
    resolvers: cfg.policy.dnsResolvers,
    modeOf: (c, ts) => policy.modeOf(c, ts),
    statePath,
    log,
    onAction: (action, result) => actions.push(`${action}:${result}`),
    now: () => clock.now,
  });
  const sink = collector();
  const alerts = new AlertManager([sink], {
    suppressMs: 5 * MIN,
    resolveAfterMs: 7 * 24 * HOUR,
    decide: blocker,
  });
  if (o.start ?? true) blocker.start();
  const emit = (f: Partial<Finding>): string =>
    alerts.onFinding({
      detector: "unexpected-outbound",
      severity: "critical",
      key: "203.0.113.7:443/tcp",
      container: WEB,
      workload: "shop/web",
      summary: "shop-web-1 connected to 203.0.113.7:443/tcp",
      ts: clock.now,
      dst: { ip: "203.0.113.7", port: 443, proto: "tcp" },
      ...f,
    }).fingerprint;
  return { blocker, alerts, kernel, dryRunCalls, actions, lines, sink, clock, statePath, containers, emit };
}

/** A finding to another external destination (a distinct alert and block target). */
const to = (ip: string, port = 443): Partial<Finding> => ({
  key: `${ip}:${port}/tcp`,
  summary: `shop-web-1 connected to ${ip}:${port}/tcp`,
  dst: { ip, port, proto: "tcp" },
});

const scan: Partial<Finding> = {
  detector: "connection-burst",
  severity: "warning",
  key: "port-scan:198.18.0.5",
  summary: "shop-web-1 probed 40 ports of 198.18.0.5",
  dst: { ip: "198.18.0.5", port: 22, proto: "tcp" },
  details: { shape: "port-scan" },
};

const ENFORCE = "mode: enforce\nblocking:\n  mode: enforce\n";
const ADD_7 = "ipset add netmon-dst4 172.18.0.2,tcp:443,203.0.113.7";

const msgs = (lines: Record<string, unknown>[], msg: string) => lines.filter((l) => l.msg === msg);
/** The timeout argument of every `ipset add` to a block set. */
const timeouts = (k: FakeKernel) => k.adds().map((a) => Number(a.split(" ")[5]));

describe("Blocker in enforce mode", () => {
  // The whole point: a blockable alert for an enforce container lands in the kernel and the alert says so.
  it("blocks, records the action on the alert, and later sinks see it", () => {
    const w = world(ENFORCE);
    const fp = w.emit({});
    expect(w.kernel.adds()).toEqual([`${ADD_7} timeout 3600 -exist`]);
    expect(w.kernel.calls.map((a) => a.join(" "))).toContain(
      "conntrack -D -f ipv4 -s 172.18.0.2 -d 203.0.113.7 -p tcp --dport 443",
    );
    expect(w.alerts.get(fp)?.action).toBe("blocked");
    expect(w.sink.seen).toEqual([{ transition: "fired", action: "blocked" }]);
    expect(w.actions).toEqual(["add:ok"]);
    expect(w.blocker.active()).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f]{10}$/),
        entry: {
          scope: "destination",
          family: 4,
          src: "172.18.0.2",
          proto: "tcp",
          port: 443,
          dst: "203.0.113.7",
        },
        container: "shop-web-1",
        workload: "shop/web",
        fingerprint: fp,
        reason: "unexpected-outbound: shop-web-1 connected to 203.0.113.7:443/tcp",
        createdAt: T0,
        expiresAt: T0 + 3600 * SEC,
      },
    ]);
    const blocked = msgs(w.lines, "blocked");
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({
      level: "warn",
      fingerprint: fp,
      dryRun: false,
      block: { seconds: 3600 },
    });
  });

  // A container on two networks: the destination is cut from each of its addresses.
  it("adds one entry per container IP", () => {
    const w = world(ENFORCE, {
      infos: [info(WEB, { networks: [net("172.18.0.2", "172.18.0.1"), net("172.19.0.5", "172.19.0.1")] })],
    });
    w.emit({});
    expect(w.kernel.adds()).toEqual([
      `${ADD_7} timeout 3600 -exist`,
      "ipset add netmon-dst4 172.19.0.5,tcp:443,203.0.113.7 timeout 3600 -exist",
    ]);
    expect(w.blocker.active()).toHaveLength(2);
  });

  // A port scan quarantines the container (its own set, no conntrack flow to close).
  it("quarantines the container on a port scan", () => {
    const w = world(ENFORCE);
    const fp = w.emit(scan);
    expect(w.kernel.adds()).toEqual(["ipset add netmon-quar4 172.18.0.2 timeout 3600 -exist"]);
    expect(w.alerts.get(fp)?.action).toBe("blocked");
  });

  // An alert that no rule blocks (a warning) is left alone and keeps action none.
  it("does not block an alert no rule selects", () => {
    const w = world(ENFORCE);
    const fp = w.emit({ severity: "warning" });
    expect(w.kernel.adds()).toEqual([]);
    expect(w.alerts.get(fp)?.action).toBe("none");
    expect(w.actions).toEqual([]);
  });
});

describe("Blocker: who may be blocked", () => {
  const cases: [why: string, yaml: string, o: WorldOptions][] = [
    // Monitor mode alerts only: the firewall is never touched.
    ["global mode monitor", "mode: monitor\nblocking:\n  mode: enforce\n", {}],
    // An enforce workload that is still learning is not judged yet, let alone blocked.
    ["enforce workload still learning", ENFORCE, { learned: false }],
    // A workload rule can lower one workload to monitor under a global enforce.
    [
      "workload rule sets monitor",
      `${ENFORCE}policy:\n  workloads:\n    - match: { service: shop/web }\n      mode: monitor\n`,
      {},
    ],
    // So can the container's own label.
    [
      "container label netmon.mode=monitor",
      ENFORCE,
      { infos: [info(WEB, { labels: { "netmon.mode": "monitor" } })] },
    ],
    // A container the inventory no longer knows has no IPs to block.
    ["container gone from the inventory", ENFORCE, { infos: [] }],
  ];
  it.each(cases)("%s → no block", (_why, yaml, o) => {
    const w = world(yaml, o);
    const fp = w.emit({});
    expect(w.kernel.adds()).toEqual([]);
    expect(w.actions).toEqual([]);
    expect(w.alerts.get(fp)?.action).toBe("none");
  });

  // A resolved alert is the end of the incident: the decide stage is not asked, nothing (re)blocks.
  it("ignores resolved transitions", () => {
    const w = world(ENFORCE);
    w.emit({});
    const adds = w.kernel.adds().length;
    w.alerts.tick(T0 + 8 * 24 * HOUR);
    expect(w.alerts.active()).toEqual([]);
    expect(w.kernel.adds()).toHaveLength(adds);
  });
});

describe("Blocker dry-run", () => {
  // Dry-run decides exactly as enforce does, prints the exact command, and the alert says dry-run-block.
  it("logs the command, counts dry-run, marks the alert dry-run-block", () => {
    const w = world(ENFORCE, { dryRun: true });
    const fp = w.emit({});
    expect(w.alerts.get(fp)?.action).toBe("dry-run-block");
    expect(w.sink.seen).toEqual([{ transition: "fired", action: "dry-run-block" }]);
    expect(w.actions).toEqual(["add:dry-run"]);
    const add = `${ADD_7} timeout 3600 -exist`;
    expect(w.dryRunCalls.map((a) => a.join(" "))).toContain(add);
    expect(msgs(w.lines, "dry-run: would run").map((l) => l.command)).toContain(add);
    expect(msgs(w.lines, "dry-run: would block")).toHaveLength(1);
    // Nothing went to the pretend kernel, and the kernel is never read in dry-run.
    expect(w.kernel.calls).toEqual([]);
    expect(w.dryRunCalls.some((a) => a[1] === "save")).toBe(false);
  });
});

describe("Blocker safety", () => {
  const cases: [why: string, yaml: string, dst: string, port: number][] = [
    // A configured never-block network wins over any alert.
    ["configured never-block CIDR", `${ENFORCE}  neverBlock: ["203.0.113.0/24"]\n`, "203.0.113.7", 443],
    // The container's network gateway (added at start) is never cut: it is its route out and its DNS.
    ["network gateway", ENFORCE, "172.18.0.1", 53],
    // Configured DNS resolvers are protected too.
    ["policy.dnsResolvers", `${ENFORCE}policy:\n  dnsResolvers: ["192.0.2.53"]\n`, "192.0.2.53", 53],
    // Loopback, built in.
    ["loopback", ENFORCE, "127.0.0.1", 8080],
  ];
  it.each(cases)("%s → refused, no add, no action", (_why, yaml, dst, port) => {
    const w = world(yaml);
    const fp = w.emit(to(dst, port));
    expect(w.kernel.adds()).toEqual([]);
    expect(w.actions).toEqual(["add:refused"]);
    expect(w.alerts.get(fp)?.action).toBe("none");
    const refused = msgs(w.lines, "block refused");
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      level: "warn",
      fingerprint: fp,
      reason: `${dst} is on the never-block list`,
    });
  });

  // The never-block list reaches the kernel too (quarantine lets it through): gateways and resolvers are in netmon-safe4.
  it("writes gateways and resolvers into the kernel never-block set", () => {
    const w = world(`${ENFORCE}policy:\n  dnsResolvers: ["192.0.2.53"]\n`);
    expect([...(w.kernel.sets.get("netmon-safe4")?.keys() ?? [])].sort()).toEqual(
      ["127.0.0.0/8", "172.18.0.1/32", "192.0.2.53/32"].sort(),
    );
  });

  // A container on a new network: its gateway becomes protected at once, in memory and in the kernel.
  it("protects a new network's gateway after an inventory change", () => {
    const w = world(ENFORCE);
    const db: ContainerRef = { ...WEB, id: "db-id", name: "shop-db-1", service: "db" };
    w.containers.set(db.id, info(db, { networks: [net("172.20.0.3", "172.20.0.1")] }));
    w.blocker.onInventoryChange();
    expect(w.kernel.sets.get("netmon-safe4")?.has("172.20.0.1/32")).toBe(true);
    w.emit(to("172.20.0.1", 53));
    expect(w.kernel.adds()).toEqual([]);
    expect(w.actions).toEqual(["add:refused"]);
  });

  // maxBlocksPerMinute bounds new blocks: a flood of alerts cannot firewall the host into the ground.
  it("refuses the third block in a minute with maxBlocksPerMinute 2, and allows again a minute later", () => {
    const w = world(`${ENFORCE}  maxBlocksPerMinute: 2\n`);
    const fps = [w.emit(to("203.0.113.7")), w.emit(to("203.0.113.8")), w.emit(to("203.0.113.9"))];
    expect(w.kernel.adds()).toHaveLength(2);
    expect(w.actions).toEqual(["add:ok", "add:ok", "add:refused"]);
    expect(fps.map((fp) => w.alerts.get(fp)?.action)).toEqual(["blocked", "blocked", "none"]);
    expect(msgs(w.lines, "block refused")[0]?.reason).toBe("more than 2 new blocks this minute");
    w.clock.now += MIN;
    const later = w.emit(to("203.0.113.10"));
    expect(w.alerts.get(later)?.action).toBe("blocked");
    expect(w.kernel.adds()).toHaveLength(3);
  });

  // maxActiveBlocks caps what netmon holds at once; an expired block frees its place.
  it("refuses beyond maxActiveBlocks until a block expires", () => {
    const w = world(`${ENFORCE}  maxActiveBlocks: 2\n  durationSeconds: 600\n`);
    w.emit(to("203.0.113.7"));
    w.emit(to("203.0.113.8"));
    const third = w.emit(to("203.0.113.9"));
    expect(w.kernel.adds()).toHaveLength(2);
    expect(w.alerts.get(third)?.action).toBe("none");
    expect(msgs(w.lines, "block refused")[0]?.reason).toBe("the cap of 2 active blocks is reached");
    w.clock.now += 601 * SEC;
    const fourth = w.emit(to("203.0.113.11"));
    expect(w.alerts.get(fourth)?.action).toBe("blocked");
    expect(w.blocker.active()).toHaveLength(1);
  });
});

describe("Blocker repeats and escalation", () => {
  // A re-notification of an alert whose block is in place must not add it again (the kernel timeout runs on).
  it("does not add a duplicate for a repeated alert", () => {
    const w = world(ENFORCE);
    const fp = w.emit({});
    w.clock.now += 6 * MIN;
    w.emit({});
    w.clock.now += 6 * MIN;
    w.emit({});
    expect(w.sink.seen.map((s) => s.transition)).toEqual(["fired", "repeated", "repeated"]);
    expect(w.kernel.adds()).toHaveLength(1);
    expect(w.actions).toEqual(["add:ok"]);
    expect(w.alerts.get(fp)?.action).toBe("blocked");
    expect(w.sink.seen.every((s) => s.action === "blocked")).toBe(true);
  });

  // Repeat offenders: each new block of the same workload and target within 24 h doubles the duration.
  it("doubles the duration of each new block of the same target within 24 h", () => {
    const w = world(ENFORCE);
    w.emit({});
    w.clock.now += 3601 * SEC; // expired
    w.emit({}); // still the same alert, re-notified: a new block is needed
    w.clock.now += 7201 * SEC;
    w.emit({});
    expect(timeouts(w.kernel)).toEqual([3600, 7200, 14_400]);
  });

  // Another replica of the same workload to the same target counts as the same offender.
  it("escalates across replicas of the same workload", () => {
    const web2: ContainerRef = { ...WEB, id: "web2-id", name: "shop-web-2" };
    const w = world(ENFORCE, {
      infos: [info(WEB), info(web2, { networks: [net("172.18.0.3", "172.18.0.1")] })],
    });
    w.emit({});
    w.clock.now += 6 * MIN; // the same alert (same workload and key), re-notified from the other replica
    w.emit({ container: web2, src: { ip: "172.18.0.3", port: 40000, proto: "tcp" } });
    expect(w.kernel.adds()).toEqual([
      `${ADD_7} timeout 3600 -exist`,
      "ipset add netmon-dst4 172.18.0.3,tcp:443,203.0.113.7 timeout 7200 -exist",
    ]);
  });

  // Different targets escalate independently.
  it("does not escalate a different target", () => {
    const w = world(ENFORCE);
    w.emit(to("203.0.113.7"));
    w.emit(to("203.0.113.8"));
    expect(timeouts(w.kernel)).toEqual([3600, 3600]);
  });

  // Older than 24 h is forgiven: the next block is back to the base duration.
  it("forgets blocks older than 24 h", () => {
    const w = world(ENFORCE);
    w.emit({});
    w.clock.now += 24 * HOUR + SEC;
    w.emit({});
    expect(timeouts(w.kernel)).toEqual([3600, 3600]);
  });

  // Re-notifications while the block is in place are not new blocks: they must not count as repeats.
  it("does not count re-notifications of an active block as repeats", () => {
    const w = world(ENFORCE);
    w.emit({});
    for (let i = 0; i < 5; i++) {
      w.clock.now += 10 * MIN;
      w.emit({}); // repeated while blocked: no add
    }
    expect(timeouts(w.kernel)).toEqual([3600]);
    w.clock.now += 20 * MIN; // now past the first block's expiry
    w.emit({});
    expect(timeouts(w.kernel)).toEqual([3600, 7200]);
  });

  // escalation is bounded by maxDurationSeconds.
  it("caps the escalated duration", () => {
    const w = world(`${ENFORCE}  durationSeconds: 600\n  maxDurationSeconds: 1000\n`);
    for (let i = 0; i < 3; i++) {
      w.emit({});
      w.clock.now += 1001 * SEC;
    }
    expect(timeouts(w.kernel)).toEqual([600, 1000, 1000]);
  });
});

describe("Blocker failures", () => {
  // A failing ipset add is logged and counted, never thrown into detection, and the alert does not claim a block.
  it("logs and counts a failed add, sets no action, does not throw", () => {
    const w = world(ENFORCE);
    w.kernel.fail = (a) =>
      a[1] === "add" && a[2] === "netmon-dst4" ? "Hash is full, cannot add more elements" : null;
    let fp = "";
    expect(() => {
      fp = w.emit({});
    }).not.toThrow();
    expect(w.actions).toEqual(["add:error"]);
    expect(w.alerts.get(fp)?.action).toBe("none");
    expect(w.sink.seen).toEqual([{ transition: "fired", action: "none" }]);
    expect(w.alerts.stats().sinkErrors).toBe(0);
    expect(w.blocker.active()).toEqual([]);
    const failed = msgs(w.lines, "block failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: "error", fingerprint: fp });
    expect(String(failed[0]?.err)).toContain("Hash is full");
    // A failed block is not a block: the next successful one is not escalated.
    w.kernel.fail = () => null;
    w.clock.now += 6 * MIN;
    w.emit({});
    expect(w.alerts.get(fp)?.action).toBe("blocked");
    expect(timeouts(w.kernel).at(-1)).toBe(3600);
  });

  // Without ip6tables DOCKER-USER there is no IPv6 chain: IPv6 entries are refused, not reported as failures.
  it("refuses IPv6 entries when the host cannot block IPv6", () => {
    const w = world(ENFORCE, {
      kernel: new FakeKernel(false),
      infos: [info(WEB, { networks: [net("172.18.0.2", "172.18.0.1", "fd00:18::2")] })],
    });
    expect(msgs(w.lines, "blocking ready")).toHaveLength(1);
    const fp = w.emit(scan);
    expect(w.kernel.adds()).toEqual(["ipset add netmon-quar4 172.18.0.2 timeout 3600 -exist"]);
    expect(w.actions).toEqual(["add:ok", "add:refused"]);
    expect(w.alerts.get(fp)?.action).toBe("blocked");
    expect(msgs(w.lines, "block failed")).toEqual([]);
  });
});

describe("Blocker reconcile, stop and state", () => {
  // The kernel is the truth: entries it holds are adopted, records it dropped (expired) are forgotten.
  it("adopts unknown kernel entries and drops records the kernel no longer has", () => {
    const w = world(ENFORCE);
    w.emit(to("203.0.113.7"));
    w.emit(to("203.0.113.8"));
    const [a, b] = w.blocker.active();
    w.kernel.sets.get("netmon-dst4")!.delete("172.18.0.2,tcp:443,203.0.113.7");
    w.kernel.sets.get("netmon-quar4")!.set("172.18.0.9", 120);
    w.clock.now += MIN;
    w.blocker.reconcile();
    const active = w.blocker.active();
    expect(active.map((r) => r.id)).not.toContain(a?.id);
    expect(active.find((r) => r.id === b?.id)).toEqual(b);
    expect(active.find((r) => r.entry.src === "172.18.0.9")).toMatchObject({
      entry: { scope: "container", family: 4, src: "172.18.0.9" },
      container: "?",
      workload: "?",
      fingerprint: "",
      reason: "adopted from the kernel (no record)",
      createdAt: T0 + MIN,
      expiresAt: T0 + MIN + 120 * SEC,
    });
    expect(active).toHaveLength(2);
    expect(w.actions.filter((x) => x === "expire:ok")).toHaveLength(1);
    // The state file follows.
    const file = JSON.parse(readFileSync(w.statePath, "utf8")) as { blocks: { entry: { src: string } }[] };
    expect(file.blocks.map((x) => x.entry.src).sort()).toEqual(["172.18.0.2", "172.18.0.9"]);
  });

  // A record the kernel dropped can be blocked again at once (it is no longer "already blocked").
  it("re-blocks after reconcile dropped an expired record", () => {
    const w = world(ENFORCE);
    w.emit({});
    w.kernel.sets.get("netmon-dst4")!.clear();
    w.blocker.reconcile();
    w.clock.now += 6 * MIN;
    w.emit({});
    expect(w.kernel.adds()).toHaveLength(2);
  });

  // onShutdown remove: every block netmon holds is taken out of the kernel on SIGTERM.
  it("stop() with onShutdown remove deletes each entry", () => {
    const w = world(`${ENFORCE}  onShutdown: remove\n`);
    w.emit(to("203.0.113.7"));
    w.emit(scan);
    w.blocker.stop();
    expect(w.kernel.dels().sort()).toEqual(
      [
        "ipset del netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 -exist",
        "ipset del netmon-quar4 172.18.0.2 -exist",
      ].sort(),
    );
    expect(w.kernel.sets.get("netmon-dst4")?.size).toBe(0);
    expect(w.kernel.sets.get("netmon-quar4")?.size).toBe(0);
    expect(w.blocker.active()).toEqual([]);
    expect(w.actions.filter((x) => x === "remove:ok")).toHaveLength(2);
    expect((JSON.parse(readFileSync(w.statePath, "utf8")) as { blocks: unknown[] }).blocks).toEqual([]);
  });

  // onShutdown keep (the default): blocks outlive netmon and expire by their kernel timeout.
  it("stop() with onShutdown keep leaves the kernel alone", () => {
    const w = world(ENFORCE);
    w.emit({});
    w.blocker.stop();
    expect(w.kernel.dels()).toEqual([]);
    expect(w.kernel.sets.get("netmon-dst4")?.size).toBe(1);
  });

  // A restart keeps the reasons of blocks still in the kernel, and the history that escalates repeat offenders.
  it("keeps records and escalation history across a new Blocker instance", () => {
    const kernel = new FakeKernel();
    const statePath = tempState();
    const first = world(ENFORCE, { kernel, statePath });
    const fp = first.emit({});
    const [record] = first.blocker.active();

    // Restart while the block is still in the kernel: the record comes back with its reason, not "adopted".
    const second = world(ENFORCE, { kernel, statePath, now: T0 + 10 * MIN });
    expect(second.blocker.active()).toEqual([record]);
    expect(second.blocker.active()[0]?.fingerprint).toBe(fp);

    // Later the kernel expired it; a third instance blocks the same target again: escalated from the saved history.
    kernel.sets.get("netmon-dst4")!.clear();
    kernel.calls.length = 0;
    const third = world(ENFORCE, { kernel, statePath, now: T0 + 2 * HOUR });
    expect(third.blocker.active()).toEqual([]);
    third.emit({});
    expect(timeouts(kernel)).toEqual([7200]);
  });

  // A corrupt state file loses only the reasons: the blocker starts, adopts the kernel's entries.
  it("starts from a corrupt state file by adopting the kernel entries", () => {
    const kernel = new FakeKernel();
    const statePath = tempState();
    const first = world(ENFORCE, { kernel, statePath });
    first.emit({});
    writeFileSync(statePath, "{ not json");
    const second = world(ENFORCE, { kernel, statePath });
    expect(second.blocker.active().map((r) => r.reason)).toEqual(["adopted from the kernel (no record)"]);
  });
});

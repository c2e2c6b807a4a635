import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { blockingSchema } from "../../src/block/block-config.js";
import { Blocker } from "../../src/block/blocker.js";
import type { Argv } from "../../src/block/commands.js";
import { recordingRunner } from "../../src/block/dry-run.js";
import type { ExecResult, Runner } from "../../src/block/exec.js";
import { Firewall } from "../../src/block/firewall.js";
import type { BackendReport, FamilyProbe, FirewallProbe } from "../../src/block/firewall-backend.js";
import { FirewallGuard } from "../../src/block/firewall-guard.js";
import type { RepairReason } from "../../src/block/firewall-layout.js";
import { type Cidr, parseCidr } from "../../src/net/cidr.js";
import { bad, FakeHost, ok } from "../support/fake-host.js";
import { bridgeNetwork, containerInfo, SHOP_WEB } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";

const JUMP = "-A DOCKER-USER -j NETMON";
const NEVER: Cidr[] = [parseCidr("172.18.0.1")!];

/**
 * iptables as one variant keeps it: chains holding `-A` lines, in order, so a rule can be inserted
 * above netmon's jump or DOCKER-USER re-created empty (what a Docker restart or `firewall-cmd
 * --reload` does). ipset and conntrack go to FakeHost. `binary` is the only iptables name it answers to.
 */
class VariantKernel {
  readonly chains = new Map<string, string[]>();
  readonly host = new FakeHost();
  readonly calls: Argv[] = [];

  constructor(
    readonly binary = "iptables",
    docker = true,
  ) {
    this.chains.set("FORWARD", docker ? ["-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-FORWARD"] : []);
    if (docker) this.chains.set("DOCKER-USER", []);
  }

  readonly run: Runner = (argv) => {
    this.calls.push(argv);
    if (argv[0] === this.binary) return this.ipt(argv.slice(3));
    if (argv[0].startsWith("ip")) return argv[0] === "ipset" ? this.host.run(argv) : bad("command not found");
    return this.host.run(argv);
  };

  private ipt(args: string[]): ExecResult {
    const [op, chain = "", ...rest] = args;
    const rules = this.chains.get(chain);
    const missing = bad("iptables: No chain/target/match by that name.");
    const rule = (spec: string[]) => [`-A ${chain}`, ...spec].join(" ");
    switch (op) {
      case "-S":
        return rules ? ok(`-N ${chain}\n${rules.map((r) => `${r}\n`).join("")}`) : missing;
      case "-N":
        this.chains.set(chain, []);
        return ok();
      case "-X":
        this.chains.delete(chain);
        return ok();
      case "-F":
        if (!rules) return missing;
        rules.length = 0;
        return ok();
      case "-A":
        if (!rules) return missing;
        rules.push(rule(rest));
        return ok();
      case "-I": {
        if (!rules) return missing;
        rules.splice(Number(rest[0]) - 1, 0, rule(rest.slice(1)));
        return ok();
      }
      case "-C":
        return rules?.includes(rule(rest)) ? ok() : bad("iptables: Bad rule");
      case "-D": {
        const i = rules?.indexOf(rule(rest)) ?? -1;
        if (i < 0) return bad("iptables: Bad rule");
        rules!.splice(i, 1);
        return ok();
      }
      default:
        return bad(`unexpected ${op}`);
    }
  }

  /** What changed the firewall since `from` (not the read-only listings). */
  changesSince(from: number): string[] {
    return this.calls
      .slice(from)
      .filter((a) => !a.includes("-S") && !a.includes("-C") && a[1] !== "save")
      .map((a) => a.join(" "));
  }
}

const nftVersion = "iptables v1.8.9 (nf_tables)";
const DOCKER_SAVE = "*filter\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n";
const family = (o: Partial<FamilyProbe>): FamilyProbe => ({
  version: nftVersion,
  nftSave: "",
  legacySave: "",
  ...o,
});
const nftHost: FirewallProbe = {
  4: family({ nftSave: DOCKER_SAVE }),
  6: family({}),
  nftRuleset: null,
  firewalldState: null,
};
const legacyOnlyHost: FirewallProbe = { ...nftHost, 4: family({ legacySave: DOCKER_SAVE }) };
const dockerNftHost: FirewallProbe = {
  ...nftHost,
  4: family({}),
  nftRuleset: "table ip docker-bridges {\n}\ntable ip6 docker-bridges {\n}\n",
};

function guarded(kernel: VariantKernel, probe: () => FirewallProbe, dryRun = false) {
  const { log, lines } = captureLog();
  const repairs: RepairReason[] = [];
  const backends: BackendReport[] = [];
  const firewall = new Firewall(dryRun ? recordingRunner(log) : kernel.run);
  const guard = new FirewallGuard({
    firewall,
    probe,
    dryRun,
    log,
    onRepair: (r) => repairs.push(r),
    onBackend: (r) => backends.push(r),
  });
  return { guard, firewall, lines, repairs, backends };
}

const errors = (lines: Record<string, unknown>[]) => lines.filter((l) => l.level === "error");

describe("FirewallGuard at start", () => {
  it("sets up netmon's jump at the top of DOCKER-USER when the backend works", () => {
    const k = new VariantKernel();
    k.chains.set("DOCKER-USER", ["-A DOCKER-USER -j RETURN"]);
    const w = guarded(k, () => nftHost);
    expect(w.guard.start(NEVER)).toBe(true);
    expect(w.guard.available()).toBe(true);
    expect(k.chains.get("DOCKER-USER")).toEqual([JUMP, "-A DOCKER-USER -j RETURN"]);
    expect(w.backends.map((b) => [b.backend, b.ok])).toEqual([["iptables-nft", true]]);
  });

  it("puts back on top a jump left below another rule by an earlier run", () => {
    const k = new VariantKernel();
    const w = guarded(k, () => nftHost);
    w.guard.start(NEVER);
    k.chains.get("DOCKER-USER")!.unshift("-A DOCKER-USER -s 10.9.0.0/16 -j ACCEPT");
    w.guard.start(NEVER);
    expect(k.chains.get("DOCKER-USER")).toEqual([JUMP, "-A DOCKER-USER -s 10.9.0.0/16 -j ACCEPT"]);
  });

  it("Docker's nftables backend: one error line naming it, a metric, and nothing touched", () => {
    const k = new VariantKernel("iptables", false);
    const w = guarded(k, () => dockerNftHost);
    expect(w.guard.start(NEVER)).toBe(false);
    expect(w.guard.available()).toBe(false);
    expect(errors(w.lines)).toHaveLength(1);
    expect(errors(w.lines)[0]).toMatchObject({ backend: "docker-nftables", reason: "docker-nftables" });
    expect(String(errors(w.lines)[0]?.msg)).toMatch(
      /^blocking \(enforce\) cannot work on this host: Docker uses/,
    );
    expect(w.backends.map((b) => [b.backend, b.ok])).toEqual([["docker-nftables", false]]);
    expect(k.changesSince(0)).toEqual([]);
  });

  it("a failing setup (ipset missing) is a refusal too, not a crash", () => {
    const k = new VariantKernel();
    k.host.fail = (a) => (a[0] === "ipset" ? "spawnSync ipset ENOENT" : null);
    const w = guarded(k, () => nftHost);
    expect(w.guard.start(NEVER)).toBe(false);
    expect(w.backends.at(-1)).toMatchObject({ ok: false, reason: "setup-failed", backend: "iptables-nft" });
    expect(String(errors(w.lines)[0]?.msg)).toMatch(/ENOENT/);
  });

  it("dry-run on a host where enforce would fail: warns, and still prints its commands", () => {
    const k = new VariantKernel("iptables", false);
    const w = guarded(k, () => dockerNftHost, true);
    expect(w.guard.start(NEVER)).toBe(true);
    expect(errors(w.lines)).toEqual([]);
    expect(w.lines.some((l) => String(l.msg).startsWith("dry-run: enforce mode could not block"))).toBe(true);
    expect(k.calls).toEqual([]);
  });
});

describe("FirewallGuard reconcile loop", () => {
  function running(kernel = new VariantKernel(), probe = () => nftHost) {
    const w = guarded(kernel, probe);
    expect(w.guard.start(NEVER)).toBe(true);
    return { ...w, kernel };
  }

  it("changes nothing when the layout is intact", () => {
    const w = running();
    const from = w.kernel.calls.length;
    w.guard.check(NEVER);
    expect(w.kernel.changesSince(from)).toEqual([]);
    expect(w.repairs).toEqual([]);
  });

  // What a Docker restart or `firewall-cmd --reload` leaves: DOCKER-USER re-created without netmon's jump.
  it("restores a removed jump and counts the repair", () => {
    const w = running();
    w.kernel.chains.set("DOCKER-USER", []);
    w.guard.check(NEVER);
    expect(w.kernel.chains.get("DOCKER-USER")).toEqual([JUMP]);
    expect(w.repairs).toEqual(["jump-missing"]);
    expect(w.lines.some((l) => l.msg === "firewall layout repaired")).toBe(true);
  });

  it("moves the jump back above a rule inserted at the top, deleting nothing but its own jump", () => {
    const w = running();
    const other = "-A DOCKER-USER -i eth0 -j ACCEPT";
    w.kernel.chains.get("DOCKER-USER")!.unshift(other);
    w.guard.check(NEVER);
    expect(w.kernel.chains.get("DOCKER-USER")).toEqual([JUMP, other]);
    expect(w.repairs).toEqual(["jump-not-first"]);
    const deletes = w.kernel.calls.filter((a) => a.includes("-D"));
    expect(deletes.every((a) => a.join(" ").endsWith("-D DOCKER-USER -j NETMON"))).toBe(true);
  });

  it("rewrites a flushed NETMON chain", () => {
    const w = running();
    w.kernel.chains.set("NETMON", []);
    w.guard.check(NEVER);
    expect(w.kernel.chains.get("NETMON")).toHaveLength(5);
    expect(w.repairs).toEqual(["chain-changed"]);
  });

  it("follows Docker's rules to the other variant when DOCKER-USER disappears from this one", () => {
    const nft = new VariantKernel("iptables");
    const legacy = new VariantKernel("iptables-legacy");
    const both: Runner = (a) => (a[0] === "iptables-legacy" ? legacy.run(a) : nft.run(a));
    let probe = nftHost;
    const repairs: RepairReason[] = [];
    const firewall = new Firewall(both);
    const guard = new FirewallGuard({
      firewall,
      probe: () => probe,
      dryRun: false,
      log: captureLog().log,
      onRepair: (r) => repairs.push(r),
    });
    expect(guard.start(NEVER)).toBe(true);
    nft.chains.delete("DOCKER-USER");
    probe = legacyOnlyHost;
    guard.check(NEVER);
    expect(firewall.binaries()[4]).toBe("iptables-legacy");
    expect(legacy.chains.get("DOCKER-USER")).toEqual([JUMP]);
    expect(repairs).toEqual(["backend-changed"]);
  });

  it("becomes unavailable when Docker's chains go, and available again once they are back", () => {
    const k = new VariantKernel();
    let probe = nftHost;
    const w = guarded(k, () => probe);
    w.guard.start(NEVER);
    k.chains.delete("DOCKER-USER");
    k.chains.set("FORWARD", []);
    probe = dockerNftHost;
    w.guard.check(NEVER);
    w.guard.check(NEVER);
    expect(w.guard.available()).toBe(false);
    expect(errors(w.lines)).toHaveLength(1); // said once, not at every tick
    k.chains.set("DOCKER-USER", []);
    k.chains.set("FORWARD", ["-A FORWARD -j DOCKER-USER"]);
    probe = nftHost;
    w.guard.check(NEVER);
    expect(w.guard.available()).toBe(true);
    expect(k.chains.get("DOCKER-USER")).toEqual([JUMP]);
    expect(w.lines.some((l) => l.msg === "blocking available again")).toBe(true);
  });
});

describe("Blocker when blocking cannot work", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("refuses every block (counted), never touches the firewall, and never throws", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-guard-"));
    dirs.push(dir);
    const k = new VariantKernel("iptables", false);
    const { log, lines } = captureLog();
    const actions: string[] = [];
    const web = containerInfo(SHOP_WEB, { networks: [bridgeNetwork()] });
    const blocker = new Blocker({
      config: blockingSchema.parse({ mode: "enforce" }),
      containers: { get: (id) => (id === web.ref.id ? web : undefined), all: () => [web] },
      firewall: new Firewall(k.run),
      dryRun: false,
      resolvers: [],
      statePath: join(dir, "blocks.json"),
      log,
      modeOf: () => "enforce",
      probe: () => dockerNftHost,
      onAction: (a, r) => actions.push(`${a}:${r}`),
    });
    blocker.start();
    const alert: Alert = {
      fingerprint: "f1",
      detector: "unexpected-outbound",
      severity: "critical",
      workload: "shop/web",
      container: SHOP_WEB,
      summary: "shop-web-1 connected to 203.0.113.7:443/tcp",
      dst: { ip: "203.0.113.7", port: 443, proto: "tcp" },
      count: 1,
      firstSeen: 0,
      lastSeen: 0,
      action: "none",
      state: "active",
    };
    expect(blocker.decide(alert)).toBeNull();
    expect(actions).toEqual(["add:refused"]);
    expect(lines.some((l) => l.msg === "blocking ready")).toBe(false);
    expect(k.changesSince(0).filter((c) => c.startsWith("ipset add netmon-dst"))).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { ConnectionLedger } from "../../src/explain/connection-ledger.js";
import { connectionAllowances } from "../../src/explain/connection-rules.js";
import { explain } from "../../src/explain/explain.js";
import { formatExplain } from "../../src/explain/format.js";
import type { ExplainReport, ExplainSources } from "../../src/explain/report.js";
import {
  type ExplainQuery,
  parseEgressQuery,
  parseExplainParams,
  parseListenQuery,
} from "../../src/explain/target.js";
import { DnsCache } from "../../src/flows/dns-cache.js";
import { judgeAttempt } from "../../src/model/detector-api.js";
import { CidrSet, parseCidr } from "../../src/net/cidr.js";
import {
  bridgeNetwork,
  connectionEvent,
  containerInfo,
  containerRef,
  FIXTURE_TS,
} from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

const WEB = containerInfo(containerRef("web"), {
  labels: {
    "netmon.egress": "db:5432/tcp, 10.0.0.0/8:443/tcp, *.example.com:443/tcp",
    "netmon.listen": "8080/tcp",
  },
  networks: [bridgeNetwork({ ipv4: "172.18.0.2" })],
  exposedPorts: ["80/tcp"],
});
const DB = containerInfo(containerRef("db"), { networks: [bridgeNetwork({ ipv4: "172.18.0.3" })] });
/** Declares nothing: judged after learning, by the baseline. */
const WORKER = containerInfo(containerRef("worker"), { networks: [bridgeNetwork({ ipv4: "172.18.0.4" })] });

const YAML = `
mode: monitor
policy:
  egress: ["192.0.2.0/24:123/udp"]
  workloads:
    - match: { name: web }
      egress: ["198.51.100.9:8443/tcp"]
blocking:
  mode: enforce
`;

interface World {
  sources: ExplainSources;
  ledger: ConnectionLedger;
  dns: DnsCache;
}

/** The report is asked an hour after the fixtures' time. */
const NOW = FIXTURE_TS + 3_600_000;

/** `container` resolved `name` to `ip` at `at` with this TTL (s), as the engine records answers. */
function answer(w: World, container: string, name: string, ip: string, ttl: number, at: number): void {
  const rr = { name, type: "A" as const, data: ip, ttl };
  const msg = { id: 1, isResponse: true, opcode: 0, rcode: 0, truncated: false };
  w.dns.record(container, { ...msg, questions: [{ name, type: 1 }], answers: [rr] }, at);
}

function world(o: { denylist?: string[]; baseline?: Baseline } = {}): World {
  const containers = [WEB, DB, WORKER];
  const byId = new Map(containers.map((c) => [c.ref.id, c]));
  const inventory = { get: (id: string) => byId.get(id), all: () => containers };
  const denylist = o.denylist ? new CidrSet() : null;
  for (const d of o.denylist ?? []) denylist?.add(parseCidr(d)!);
  const baseline = o.baseline ?? new Baseline();
  const { policy, config } = policyFromYaml(YAML, inventory, { baseline, denylist });
  const dns = new DnsCache({ maxEntries: 100, minTtlMs: 5_000, maxTtlMs: 3_600_000, retainMs: 21_600_000 });
  const ledger = new ConnectionLedger();
  const sources: ExplainSources = {
    config,
    containers: inventory,
    policy,
    baseline,
    dns,
    recent: ledger,
    now: NOW,
  };
  return { sources, ledger, dns };
}

function egress(container: string, dst: string): ExplainQuery {
  const q = parseEgressQuery(container, dst);
  if (!q.ok) throw new Error(q.error);
  return q.value;
}

function run(w: World, q: ExplainQuery): ExplainReport {
  const out = explain(w.sources, q);
  if (!out.ok) throw new Error(out.error);
  return out.report;
}

describe("explain: arguments", () => {
  // Hostile or mistyped input is a message naming what is wrong, never an exception or a guess.
  it("rejects bad destinations, ports and protos with a clear reason", () => {
    const bad = (c: string, d: string) => {
      const r = parseEgressQuery(c, d);
      return r.ok ? "ok" : r.error;
    };
    expect(bad("web", "999.1.1.1:443")).toContain("not a valid IP address");
    expect(bad("web", "10.0.0.1:0")).toContain("not a port 1-65535");
    expect(bad("web", "10.0.0.1:70000")).toContain("not a port 1-65535");
    expect(bad("web", "10.0.0.1:53/icmp")).toContain("proto must be tcp or udp");
    expect(bad("web", "10.0.0.1/udp")).toContain("a proto needs a port");
    expect(bad("web", "a b")).toContain("spaces or control characters");
    expect(bad("web", "x\u0000y")).toContain("control characters");
    expect(bad("web", "x".repeat(5000))).toContain("at most 300");
    expect(bad("web", "$(id);x")).toContain("neither an IP address nor a container or DNS name");
    expect(bad("", "10.0.0.1")).toBe("container is empty");
    expect(bad("web", "[fd00::1")).toContain('missing "]"');
    const listen = parseListenQuery("web", "80/sctp");
    expect(listen.ok ? "ok" : listen.error).toContain("proto must be tcp or udp");
    const params = parseExplainParams(new URLSearchParams("container=web&dst=a&listen=80"));
    expect(params.ok ? "ok" : params.error).toBe("give exactly one of dst= and listen=");
  });

  it("reads IPv4, bracketed IPv6 with a port, bare IPv6 and names", () => {
    expect(egress("web", "10.1.2.3:443")).toMatchObject({ ip: "10.1.2.3", port: 443, proto: "tcp" });
    expect(egress("web", "[FD00::1]:53/UDP")).toMatchObject({ ip: "fd00::1", port: 53, proto: "udp" });
    expect(egress("web", "fd00::1")).toMatchObject({ ip: "fd00::1", port: null });
    expect(egress("web", "API.Example.com:443")).toMatchObject({ ip: null, destination: "api.example.com" });
  });

  it("names an unknown container and lists the known ones", () => {
    const out = explain(world().sources, egress("nope", "10.0.0.1:443"));
    expect(out.ok ? "ok" : out.error).toBe(
      'no container "nope" (name, full id or id prefix of 12+; known: db, web, worker)',
    );
  });
});

describe("explain: egress", () => {
  // The label rule that allowed it is named, and the verdict is the engine's own.
  it("names the label rule that allows an address, and agrees with the engine's verdict", () => {
    const w = world();
    const r = run(w, egress("web", "10.1.2.3:443"));
    expect(r.mode).toMatchObject({
      effective: "monitor",
      source: "label netmon.egress (declared: judged at once)",
    });
    expect(r.verdict).toMatchObject({
      allowed: true,
      allowedBy: "label",
      by: "label netmon.egress: 10.0.0.0/8:443/tcp",
    });
    const engine = judgeAttempt(
      w.sources.policy,
      WEB.ref,
      connectionEvent({ from: WEB.ref, ip: "10.1.2.3", port: 443 }),
    );
    expect(r.verdict.allowedBy).toBe(engine.allowedBy);
    expect(r.enforce.text).toBe("nothing: no alert, so nothing to block");
  });

  // Near matches are what an operator needs to fix a rule: same host other port, same port other host.
  it("lists near matches when refused: same host other port, same port other host", () => {
    const r = run(world(), egress("web", "10.1.2.3:80"));
    expect(r.verdict).toMatchObject({ allowed: false, allowedBy: null, by: null });
    expect(r.verdict.text).toBe("refused: no rule, label, DNS name or baseline entry allows it");
    expect(r.evidence).toContainEqual(
      expect.objectContaining({
        source: "label netmon.egress",
        text: "10.0.0.0/8:443/tcp",
        match: "near",
        why: "same host, other port: the rule allows port 443/tcp",
      }),
    );
    const other = run(world(), egress("web", "203.0.113.5:8443"));
    expect(other.evidence).toContainEqual(
      expect.objectContaining({
        source: "policy.workloads[0].egress[0]",
        match: "near",
        why: "same port, other host (the rule allows port 8443/tcp)",
      }),
    );
    // The default blocking rules block only critical unexpected-outbound alerts.
    expect(r.enforce).toMatchObject({
      alert: { detector: "unexpected-outbound", kind: "unexpected", severity: "warning" },
      commands: [],
    });
  });

  it("a container destination is judged by its name, as Docker's DNS resolves it", () => {
    const r = run(world(), egress("web", "db:5432"));
    expect(r.target).toMatchObject({ ip: "172.18.0.3", container: "db" });
    expect(r.verdict.by).toBe("label netmon.egress: db:5432/tcp");
  });

  // A wildcard never covers the domain itself: say so rather than leave the operator guessing.
  it("a DNS name: live names, the wildcard near miss, and names that resolved earlier", () => {
    const w = world();
    answer(w, WEB.ref.id, "api.example.com", "203.0.113.7", 60, NOW - 10_000);
    const byName = run(w, egress("web", "example.com:443"));
    expect(byName.target.ip).toBeNull();
    expect(byName.notes[0]).toContain("judged by the name alone");
    expect(byName.evidence).toContainEqual(
      expect.objectContaining({
        text: "*.example.com:443/tcp",
        match: "near",
        why: "*.example.com covers subdomains only, not example.com itself",
      }),
    );
    const live = run(w, egress("web", "203.0.113.7:443"));
    expect(live.verdict).toMatchObject({
      allowedBy: "dns-name",
      by: "label netmon.egress: *.example.com:443/tcp",
    });
    expect(live.evidence).toContainEqual(
      expect.objectContaining({
        kind: "dns",
        text: "api.example.com → 203.0.113.7",
        match: "match",
        answer: expect.objectContaining({ name: "api.example.com", seenAt: NOW - 10_000, ttlSeconds: 60 }),
      }),
    );
    // The answer expired: an earlier connection still tells the name, as a near match.
    w.ledger.onEvent({
      ...connectionEvent({ from: WEB.ref, ip: "203.0.113.8", port: 443, names: ["old.example.com"] }),
      verdict: { workload: "web", mode: "monitor", allowedBy: "dns-name", denylisted: false },
    });
    const expired = run(w, egress("web", "203.0.113.8:443"));
    expect(expired.verdict.allowed).toBe(false);
    expect(expired.evidence).toContainEqual(
      expect.objectContaining({
        kind: "dns",
        text: "old.example.com → 203.0.113.8",
        match: "near",
        seen: expect.any(Object),
      }),
    );
    expect(expired.evidence).toContainEqual(
      expect.objectContaining({
        text: "*.example.com:443/tcp",
        why: "a name it allows resolved to this address earlier, but that answer is no longer live",
      }),
    );
    // Asked by that name, the address comes from the earlier connection.
    expect(run(w, egress("web", "old.example.com:443")).target).toMatchObject({ ip: "203.0.113.8" });
  });

  // When the answer was seen, its TTL, and what keeps the name past it: what "why is it still
  // allowed" (or "why no longer") comes down to.
  it("DNS answers: seen time and TTL, expired but held by an open connection, retained, gone", () => {
    const w = world();
    const at = (ms: number) => new Date(ms).toISOString().slice(11, 19);
    const ip = "203.0.113.20";
    answer(w, WEB.ref.id, "api.example.com", ip, 60, NOW - 120_000);
    w.dns.flowStarted(WEB.ref.id, ip, NOW - 119_000);
    const dnsOf = (r: ExplainReport) => r.evidence.find((e) => e.kind === "dns" && e.source === "DNS cache");
    // No open hold configured here (openHoldMs 0): the open connection holds nothing; the name expired.
    const gone = run(w, egress("web", `${ip}:443`));
    expect(dnsOf(gone)).toMatchObject({
      match: "near",
      why: `answer seen ${at(NOW - 120_000)}Z, TTL 60 s, expired ${at(NOW - 60_000)}Z: no longer live (kept in the cache until it is swept)`,
    });
    expect(gone.verdict.allowed).toBe(false);
    expect(gone.evidence).toContainEqual(
      expect.objectContaining({
        text: "*.example.com:443/tcp",
        why: "a name it allows resolved to this address earlier, but that answer is no longer live",
      }),
    );
    // Held open (a cache whose connections hold names, as the daemon's does).
    const held = world();
    held.dns = new DnsCache({ maxEntries: 10, minTtlMs: 5_000, maxTtlMs: 3_600_000, openHoldMs: 3_600_000 });
    held.sources.dns = held.dns;
    answer(held, WEB.ref.id, "api.example.com", ip, 60, NOW - 120_000);
    held.dns.flowStarted(WEB.ref.id, ip, NOW - 119_000);
    const open = run(held, egress("web", `${ip}:443`));
    expect(dnsOf(open)).toMatchObject({
      match: "match",
      why: `answer seen ${at(NOW - 120_000)}Z, TTL 60 s, expired ${at(NOW - 60_000)}Z, kept while a connection to the address is open`,
    });
    expect(open.verdict).toMatchObject({
      allowedBy: "dns-name",
      by: "label netmon.egress: *.example.com:443/tcp",
    });
    // Retained: it let a connection through, so it is kept retainMs after its last use (another
    // day than the report's: the full date is given).
    w.dns.retain(WEB.ref.id, ip, ["api.example.com"], NOW - 119_000);
    const kept = run(w, egress("web", `${ip}:443`));
    expect(dnsOf(kept)?.why).toBe(
      `answer seen ${at(NOW - 120_000)}Z, TTL 60 s, expired ${at(NOW - 60_000)}Z, kept until ${new Date(NOW - 119_000 + 21_600_000).toISOString().replace(".000", "")}: it let a connection through, so each use of the address keeps it longer`,
    );
    expect(formatExplain(kept)).toContain(`✓ DNS cache: api.example.com → ${ip} — answer seen`);
  });

  it("baseline entries: the one that allowed it, and near ones with when they were seen", () => {
    const baseline = new Baseline();
    baseline.touch("worker", FIXTURE_TS);
    baseline.recordEgress("worker", "198.51.100.20", 5432, "tcp", FIXTURE_TS + 1000);
    baseline.recordEgress("worker", "198.51.100.30", 443, "tcp", FIXTURE_TS + 2000);
    const w = world({ baseline });
    const r = run(w, egress("worker", "198.51.100.20:5432"));
    expect(r.mode.source).toBe("global mode after learning");
    expect(r.verdict).toMatchObject({ allowedBy: "baseline", by: "baseline: 198.51.100.20:5432/tcp" });
    const near = run(w, egress("worker", "198.51.100.20:443"));
    expect(near.evidence.map((e) => [e.text, e.why])).toEqual([
      ["198.51.100.20:5432/tcp", "same host, other port"],
      ["198.51.100.30:443/tcp", "same port, other host"],
    ]);
    expect(near.evidence[0]?.seen).toEqual({ first: FIXTURE_TS + 1000, last: FIXTURE_TS + 1000, count: 1 });
  });

  // Denylisted is critical, and the default blocking rules block it: the exact commands are shown.
  it("a denylisted destination: critical, and enforce mode's exact commands", () => {
    const r = run(world({ denylist: ["203.0.113.0/24"] }), egress("web", "203.0.113.7:443"));
    expect(r.verdict).toMatchObject({ allowed: false, denylisted: true });
    expect(r.enforce.alert).toEqual({
      detector: "unexpected-outbound",
      kind: "denylisted",
      severity: "critical",
    });
    expect(r.enforce.rule).toBe("blocking.rules[0]");
    expect(r.enforce.commands).toEqual([
      "ipset add netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 timeout 3600 -exist",
      "conntrack -D -f ipv4 -s 172.18.0.2 -d 203.0.113.7 -p tcp --dport 443",
    ]);
    expect(r.enforce.chain[0]).toContain(
      "-A NETMON -p tcp -m set --match-set netmon-dst4 src,dst,dst -j REJECT",
    );
    expect(r.enforce.text).toBe(
      "would block this destination for 3600 s (the workload is in monitor mode: nothing is blocked now)",
    );
    const text = formatExplain(r);
    expect(text).toContain("denylist:    the destination is on policy.denylistFile");
    expect(text).toContain("    ipset add netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 timeout 3600 -exist");
  });

  it("the network's gateway on port 53 is a resolver", () => {
    const r = run(world(), egress("worker", "172.18.0.1:53/udp"));
    expect(r.verdict).toMatchObject({
      allowedBy: "dns-resolver",
      by: "gateway of network app: 172.18.0.1:53",
    });
  });
});

describe("explain: listen", () => {
  it("declared, labelled and undeclared ports", () => {
    const w = world();
    const q = (p: string) => {
      const r = parseListenQuery("web", p);
      if (!r.ok) throw new Error(r.error);
      return run(w, r.value);
    };
    expect(q("80").verdict).toMatchObject({ allowedBy: "declared", by: "EXPOSE: 80/tcp" });
    expect(q("8080/tcp").verdict).toMatchObject({ allowedBy: "label", by: "label netmon.listen: 8080/tcp" });
    const udp = q("8080/udp");
    expect(udp.verdict.allowed).toBe(false);
    expect(udp.evidence).toContainEqual(
      expect.objectContaining({ match: "near", why: "same port, other proto" }),
    );
    expect(udp.enforce).toMatchObject({
      alert: { detector: "unusual-listener", severity: "warning" },
      commands: [],
    });
  });
});

describe("connection allowances (/api/container/<id>)", () => {
  it("names the rule or label that allowed each recent connection, or says nothing did", () => {
    const w = world();
    for (const [ip, port] of [
      ["10.1.2.3", 443],
      ["203.0.113.9", 80],
    ] as const) {
      const ev = connectionEvent({ from: WEB.ref, ip: ip, port: port });
      ev.verdict = judgeAttempt(w.sources.policy, WEB.ref, ev);
      w.ledger.onEvent(ev);
    }
    const rows = connectionAllowances(w.sources, WEB.ref.id);
    expect(rows.map((r) => [r.ip, r.rule, r.text])).toEqual([
      ["203.0.113.9", null, "nothing allowed it"],
      [
        "10.1.2.3",
        "label netmon.egress: 10.0.0.0/8:443/tcp",
        "allowed by label netmon.egress: 10.0.0.0/8:443/tcp",
      ],
    ]);
  });

  it("takes the rule's words from the engine's verdict when it carries them", () => {
    // Policy.egress names the rule once per attempt: nothing is searched again per request.
    const w = world();
    const ev = connectionEvent({ from: WEB.ref, ip: "198.51.100.9", port: 8443 });
    ev.verdict = {
      workload: "web",
      mode: "monitor",
      allowedBy: "config",
      denylisted: false,
      allowedRule: w.sources.policy.egress(WEB.ref, {
        ip: "198.51.100.9",
        port: 8443,
        proto: "tcp",
        names: [],
        container: null,
      }).allowedRule,
    };
    w.ledger.onEvent(ev);
    expect(connectionAllowances(w.sources, WEB.ref.id)[0]).toMatchObject({
      rule: "policy.workloads[0].egress[0]: 198.51.100.9:8443/tcp",
      text: "allowed by policy.workloads[0].egress[0]: 198.51.100.9:8443/tcp",
    });
  });

  it("the ledger is bounded", () => {
    const ledger = new ConnectionLedger({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) {
      const ev = connectionEvent({ from: WEB.ref, ip: `10.0.0.${i}`, port: 443 });
      ev.verdict = { workload: "web", mode: "monitor", allowedBy: null, denylisted: false };
      ledger.onEvent(ev);
    }
    expect(ledger.size).toBe(3);
    expect(ledger.of(WEB.ref.id).map((e) => e.ip)).toEqual(["10.0.0.9", "10.0.0.8", "10.0.0.7"]);
  });
});

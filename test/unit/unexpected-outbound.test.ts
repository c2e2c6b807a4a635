import { describe, expect, it } from "vitest";
import { type UnexpectedOutboundOptions, unexpectedOutbound } from "../../detectors/unexpected-outbound.js";
import { Baseline } from "../../src/baseline/baseline.js";
import type { Policy } from "../../src/detection/policy.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import {
  type AllowedBy,
  type DetectorContext,
  type DetectorInstance,
  type EgressTarget,
  NO_FINDINGS,
} from "../../src/model/detector-api.js";
import type {
  ConnectionEvent,
  ConnectionState,
  ContainerRef,
  ListenerEvent,
} from "../../src/model/events.js";
import { CidrSet, parseCidr } from "../../src/net/cidr.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import {
  bridgeNetwork,
  type ConnectionOptions,
  connectionEvent,
  containerInfo,
  containerRef as ref,
} from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;

function info(r: ContainerRef, labels: Record<string, string> = {}): ContainerInfo {
  return containerInfo(r, {
    imageId: `sha256:${"ab".repeat(32)}`,
    labels,
    networks: [bridgeNetwork()],
    startedAt: T0,
  });
}

const WEB = ref("web-1", { project: "shop", service: "web", image: "shop-web:1.0" });
const DB = ref("shop-db-1", { project: "shop", service: "db", image: "postgres:16" });
const LEARNER = ref("learner-1");
const OFF = ref("off-1");
const ENFORCER = ref("enforcer-1");

const YAML = `
baseline:
  learnForSeconds: 0
policy:
  egress: ["192.0.2.0/24:443/tcp", "api.example.com:443/tcp"]
  workloads:
    - match: { name: "learner-*" }
      mode: learn
    - match: { name: "off-*" }
      mode: "off"
    - match: { name: "enforcer-*" }
      mode: enforce
`;

/** The real Policy over a hand-built inventory, with 192.0.2.66 and 198.51.100.0/24 denylisted. */
function realPolicy(): Policy {
  const infos = [
    info(WEB, { "netmon.egress": "203.0.113.200:8443/tcp" }),
    ...[DB, LEARNER, OFF, ENFORCER].map((c) => info(c)),
  ];
  const baseline = new Baseline();
  baseline.recordEgress("shop/web", "203.0.113.100", 22, "tcp", T0);
  return policyFromYaml(YAML, infos, {
    baseline,
    denylist: new CidrSet([parseCidr("192.0.2.66")!, parseCidr("198.51.100.0/24")!]),
  }).policy;
}

function detector(opts: Partial<UnexpectedOutboundOptions> = {}, ctx: DetectorContext = realPolicy()) {
  return unexpectedOutbound.create(unexpectedOutbound.options.parse(opts), ctx);
}

type EvOpts = Pick<ConnectionOptions, "from" | "to" | "ip" | "port" | "proto" | "names">;

/** From WEB at T0 unless `o` says otherwise; 3 ms after the attempt for any later state. */
function conn(state: ConnectionState, o: EvOpts = {}): ConnectionEvent {
  return connectionEvent({
    ...o,
    state,
    ts: T0,
    from: o.from === undefined ? WEB : o.from,
    durationMs: state === "attempt" ? undefined : 3,
  });
}

function only(d: DetectorInstance, ev: ConnectionEvent) {
  const out = d.onEvent(ev);
  expect(out).toHaveLength(1);
  return out[0]!;
}

describe("which events are judged", () => {
  const states: ConnectionState[] = ["accepted", "rejected", "unanswered", "closed"];
  it.each(states)("a %s event raises nothing (only the attempt is judged)", (state) => {
    // One finding per connection: judging every state change would repeat it 2-3 times.
    expect(detector().onEvent(conn(state))).toBe(NO_FINDINGS);
  });

  it("a listener event raises nothing", () => {
    // Listeners are unusual-listener's business.
    const ev: ListenerEvent = {
      kind: "listener",
      ts: T0,
      state: "opened",
      container: WEB,
      proto: "tcp",
      family: 4,
      address: "0.0.0.0",
      port: 4444,
      dockerDns: false,
    };
    expect(detector().onEvent(ev)).toBe(NO_FINDINGS);
  });

  it("an attempt from outside (src.container null) raises nothing", () => {
    // Inbound traffic is not a container's egress.
    expect(detector().onEvent(conn("attempt", { from: null, to: WEB }))).toBe(NO_FINDINGS);
  });

  const modes: { why: string; from: ContainerRef; fires: boolean }[] = [
    // learn mode builds the baseline and must stay silent.
    { why: "learn", from: LEARNER, fires: false },
    // off means nothing at all.
    { why: "off", from: OFF, fires: false },
    // monitor alerts.
    { why: "monitor", from: WEB, fires: true },
    // enforce alerts too (and the blocker acts on the alert).
    { why: "enforce", from: ENFORCER, fires: true },
  ];
  it.each(modes)("mode $why: fires=$fires", ({ from, fires }) => {
    const out = detector().onEvent(conn("attempt", { from }));
    if (fires) expect(out).toHaveLength(1);
    else expect(out).toBe(NO_FINDINGS);
  });
});

describe("verdicts", () => {
  const allowed: { why: string; o: EvOpts }[] = [
    // Global config CIDR rule.
    { why: "config rule", o: { ip: "192.0.2.10", port: 443 } },
    // DNS name the container resolved.
    { why: "dns name", o: { ip: "203.0.113.50", port: 443, names: ["api.example.com"] } },
    // The container's own label.
    { why: "label", o: { ip: "203.0.113.200", port: 8443 } },
    // Learned.
    { why: "baseline", o: { ip: "203.0.113.100", port: 22 } },
    // DNS to the network gateway.
    { why: "dns resolver", o: { ip: "172.18.0.1", port: 53, proto: "udp" } },
  ];
  it.each(allowed)("allowed by $why → nothing (real Policy)", ({ o }) => {
    expect(detector().onEvent(conn("attempt", o))).toBe(NO_FINDINGS);
  });

  const every: Exclude<AllowedBy, null>[] = [
    "config",
    "label",
    "baseline",
    "dns-name",
    "dns-resolver",
    "declared",
  ];
  it.each(every)("any allowedBy (%s) → nothing", (allowedBy) => {
    // The detector must not second-guess the reason: any non-null verdict allows.
    const ctx = fakeDetectorContext({ egress: () => ({ allowedBy, denylisted: false }) });
    expect(detector({}, ctx).onEvent(conn("attempt"))).toBe(NO_FINDINGS);
  });

  it("a destination nothing allows → a warning with the documented shape", () => {
    // The fingerprint key and the alert fields are contracts (logs, Alertmanager, blocker): one alert
    // per destination host, the port counted as its target, the host offered for fan-out.
    const f = only(detector(), conn("attempt", { ip: "203.0.113.7", port: 443 }));
    expect(f).toEqual({
      detector: "unexpected-outbound",
      kind: "unexpected",
      severity: "warning",
      key: "203.0.113.7",
      container: WEB,
      workload: "shop/web",
      summary: expect.any(String),
      ts: T0,
      src: { ip: "172.18.0.2", port: 40_000, proto: "tcp" },
      dst: { ip: "203.0.113.7", port: 443, proto: "tcp" },
      details: {
        denylisted: false,
        allowedBy: null,
        allowedRule: null,
        direction: "outbound",
        port: 443,
        proto: "tcp",
      },
      target: { of: "ports", value: "443/tcp" },
      host: "203.0.113.7",
      // The label that allows exactly this destination (it parses: test/unit/alert-fix.test.ts).
      fix: "netmon.egress=203.0.113.7:443/tcp",
    });
    expect(f.summary).toContain("web-1");
    expect(f.summary).toContain("203.0.113.7:443/tcp");
  });

  it("a destination with names carries them, and the summary names it", () => {
    // The name tells an operator far more than the IP of a CDN edge.
    const names = ["evil.example.com", "cdn.evil.example.com"];
    const f = only(detector(), conn("attempt", { ip: "203.0.113.8", port: 8080, names }));
    expect(f.dst).toEqual({ ip: "203.0.113.8", port: 8080, proto: "tcp", names });
    expect(f.summary).toContain("web-1");
    // By name, with the IP in brackets.
    expect(f.summary).toContain("evil.example.com [203.0.113.8]:8080/tcp");
    // Keyed by the name it was reached by: another port or another IP of that name is the same alert.
    expect(f.key).toBe("evil.example.com");
    expect(f.host).toBe("evil.example.com");
  });

  it("a destination container is named in the summary with its IP", () => {
    // Lateral movement: which container was reached matters more than its address.
    const f = only(detector(), conn("attempt", { to: DB, ip: "172.18.0.9", port: 5432 }));
    expect(f.summary).toContain("web-1");
    expect(f.summary).toContain("shop-db-1 [172.18.0.9]");
    expect(f.key).toBe("shop-db-1");
    expect(f.details).toMatchObject({ direction: "internal" });
  });

  const denied: { why: string; o: EvOpts; allowedBy: AllowedBy }[] = [
    // Allowed by a rule, but on the denylist: critical anyway.
    { why: "allowed by config and denylisted", o: { ip: "192.0.2.66", port: 443 }, allowedBy: "config" },
    // Not allowed and denylisted.
    { why: "denylisted only", o: { ip: "198.51.100.9", port: 80 }, allowedBy: null },
  ];
  it.each(denied)("$why → critical", ({ o, allowedBy }) => {
    const f = only(detector({ severity: "info" }), conn("attempt", o));
    expect(f.severity).toBe("critical");
    expect(f.details).toMatchObject({ denylisted: true, allowedBy });
    // The exact rule that allowed it, so the on-call engineer knows what to remove.
    expect((f.details as { allowedRule: string | null }).allowedRule === null).toBe(allowedBy === null);
    expect(f.summary).toContain("denylisted");
    // Its own alert, apart from the host's unexpected one, and never folded into a fan-out.
    expect(f.key).toBe(`denylisted:${o.ip}`);
    expect(f.host).toBeUndefined();
  });
});

describe("options", () => {
  it("udp: true (default) judges UDP attempts", () => {
    // UDP exfiltration and C2 are visible by default.
    const f = only(detector(), conn("attempt", { proto: "udp", port: 9999 }));
    expect(f.target).toEqual({ of: "ports", value: "9999/udp" });
  });

  it("udp: false skips UDP but still judges TCP", () => {
    // The option silences UDP only.
    const d = detector({ udp: false });
    expect(d.onEvent(conn("attempt", { proto: "udp", port: 9999 }))).toBe(NO_FINDINGS);
    expect(d.onEvent(conn("attempt", { proto: "tcp", port: 9999 }))).toHaveLength(1);
  });

  it("internal: true (default) judges container destinations", () => {
    // Lateral movement is visible by default.
    expect(detector().onEvent(conn("attempt", { to: DB, ip: "172.18.0.9", port: 22 }))).toHaveLength(1);
  });

  it("internal: false skips container destinations but still judges the others", () => {
    // Only container-to-container traffic is silenced.
    const d = detector({ internal: false });
    expect(d.onEvent(conn("attempt", { to: DB, ip: "172.18.0.9", port: 22 }))).toBe(NO_FINDINGS);
    expect(d.onEvent(conn("attempt", { ip: "203.0.113.7", port: 22 }))).toHaveLength(1);
  });

  it("internal: false still skips a denylisted container destination", () => {
    // The option is about where the destination is, decided before the verdict.
    const d = detector({ internal: false });
    expect(d.onEvent(conn("attempt", { to: DB, ip: "198.51.100.9", port: 22 }))).toBe(NO_FINDINGS);
  });

  const severities = ["info", "warning", "critical"] as const;
  it.each(severities)("severity: %s sets the severity of a plain finding", (severity) => {
    // Operators tune how loud an unknown destination is.
    expect(only(detector({ severity }), conn("attempt")).severity).toBe(severity);
  });

  it("unknown options are rejected", () => {
    // A typo in the config must fail at start-up, not silently do nothing.
    expect(unexpectedOutbound.options.safeParse({ udpp: false }).success).toBe(false);
  });

  it("status counts judged connections and findings", () => {
    // `netmon status` shows what each detector is doing.
    const d = detector();
    d.onEvent(conn("attempt", { ip: "192.0.2.10", port: 443 }));
    d.onEvent(conn("attempt"));
    d.onEvent(conn("closed"));
    expect(d.status()).toBe("judged 2 connections, raised 1 findings");
  });

  it("the target passed to the context has the destination's names and container", () => {
    // The policy matches names and destination containers: they must reach it intact.
    const seen: EgressTarget[] = [];
    const ctx = fakeDetectorContext({
      egress: (_c, dst) => {
        seen.push(dst);
        return { allowedBy: "config", denylisted: false };
      },
    });
    const d = detector({}, ctx);
    d.onEvent(conn("attempt", { to: DB, ip: "172.18.0.9", port: 5432, names: ["db.internal"] }));
    d.onEvent(conn("attempt", { ip: "203.0.113.7", port: 53, proto: "udp" }));
    expect(seen).toEqual([
      { ip: "172.18.0.9", port: 5432, proto: "tcp", names: ["db.internal"], container: DB },
      { ip: "203.0.113.7", port: 53, proto: "udp", names: [], container: null },
    ]);
  });
});

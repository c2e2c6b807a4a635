import { describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { type BlockingConfig, blockingSchema } from "../../src/block/block-config.js";
import { decideBlock } from "../../src/block/decision.js";
import type { BlockEntry } from "../../src/block/types.js";
import type { FindingEndpoint, Severity } from "../../src/model/finding.js";
import { alertOf, SHOP_WEB } from "../support/fixtures.js";

const T0 = 1_700_000_000_000;
const DEFAULTS: BlockingConfig = blockingSchema.parse({});

const V4 = "172.18.0.2";
const V4B = "172.19.0.7";
const V6 = "fd00:18::2";
const EXT4: FindingEndpoint = { ip: "203.0.113.7", port: 443, proto: "tcp" };
const EXT6: FindingEndpoint = { ip: "2001:db8::7", port: 8443, proto: "udp" };

function alert(extra: Partial<Alert> = {}): Alert {
  return alertOf({
    fingerprint: "0bf3814a6285ab33",
    severity: "critical",
    container: { ...SHOP_WEB, id: "c0ffee" },
    summary: "shop-web-1 connected to 203.0.113.7:443/tcp",
    src: { ip: V4, port: 40312, proto: "tcp" },
    dst: EXT4,
    firstSeen: T0,
    lastSeen: T0,
    ...extra,
  });
}

function burst(shape: string, extra: Partial<Alert> = {}): Alert {
  return alert({
    detector: "connection-burst",
    severity: "warning",
    summary: `shop-web-1: ${shape}`,
    details: { shape },
    ...extra,
  });
}

const dest = (src: string, d: FindingEndpoint): BlockEntry => ({
  scope: "destination",
  family: src.includes(":") ? 6 : 4,
  src,
  proto: d.proto,
  port: d.port,
  dst: d.ip,
});
const quarantine = (src: string): BlockEntry => ({
  scope: "container",
  family: src.includes(":") ? 6 : 4,
  src,
});

describe("decideBlock with the default rules", () => {
  interface Case {
    why: string;
    alert: Alert;
    ips: string[];
    scope: "destination" | "container" | null;
    entries?: BlockEntry[];
  }
  const cases: Case[] = [
    {
      // The core rule: a critical unexpected connection cuts exactly that destination, from every IPv4 of the container.
      why: "unexpected-outbound critical, IPv4 destination",
      alert: alert(),
      ips: [V4, V6, V4B],
      scope: "destination",
      entries: [dest(V4, EXT4), dest(V4B, EXT4)],
    },
    {
      // An IPv6 destination is cut from the container's IPv6 address only (ipset families cannot mix).
      why: "unexpected-outbound critical, IPv6 destination",
      alert: alert({ dst: EXT6 }),
      ips: [V4, V6],
      scope: "destination",
      entries: [dest(V6, EXT6)],
    },
    {
      // An IPv4-only container cannot reach an IPv6 destination through any entry we could add: no decision.
      why: "IPv4 container, IPv6 destination",
      alert: alert({ dst: EXT6 }),
      ips: [V4],
      scope: null,
    },
    {
      // And the other way round.
      why: "IPv6 container, IPv4 destination",
      alert: alert(),
      ips: [V6],
      scope: null,
    },
    {
      // Only critical unexpected-outbound blocks by default: a warning is for humans to look at.
      why: "unexpected-outbound warning",
      alert: alert({ severity: "warning" }),
      ips: [V4],
      scope: null,
    },
    {
      // Info never blocks either.
      why: "unexpected-outbound info",
      alert: alert({ severity: "info" }),
      ips: [V4],
      scope: null,
    },
    {
      // A port scan quarantines the whole container, on every address of both families.
      why: "connection-burst port-scan",
      alert: burst("port-scan"),
      ips: [V4, V6, V4B],
      scope: "container",
      entries: [quarantine(V4), quarantine(V6), quarantine(V4B)],
    },
    {
      // A host scan is quarantined the same way.
      why: "connection-burst host-scan",
      alert: burst("host-scan", { dst: undefined }),
      ips: [V4],
      scope: "container",
      entries: [quarantine(V4)],
    },
    {
      // Brute force has one victim: cut that destination only, the container keeps its other traffic.
      why: "connection-burst brute-force",
      alert: burst("brute-force", { dst: { ip: "203.0.113.9", port: 22, proto: "tcp" } }),
      ips: [V4],
      scope: "destination",
      entries: [dest(V4, { ip: "203.0.113.9", port: 22, proto: "tcp" })],
    },
    {
      // A plain burst (many connections to a known service) is not an attack shape: no block.
      why: "connection-burst burst",
      alert: burst("burst"),
      ips: [V4],
      scope: null,
    },
    {
      // A connection-burst alert without a shape cannot match a shape-filtered rule.
      why: "connection-burst without shape",
      alert: alert({ detector: "connection-burst", details: {} }),
      ips: [V4],
      scope: null,
    },
    {
      // A shape that is not a string (malformed details) must not match anything.
      why: "connection-burst with a non-string shape",
      alert: alert({ detector: "connection-burst", details: { shape: ["port-scan"] } }),
      ips: [V4],
      scope: null,
    },
    {
      // Detectors without a rule never block, however severe.
      why: "unknown detector",
      alert: alert({ detector: "unusual-listener" }),
      ips: [V4],
      scope: null,
    },
    {
      // A destination rule needs a destination: without one there is nothing to cut.
      why: "destination scope without dst",
      alert: alert({ dst: undefined }),
      ips: [V4],
      scope: null,
    },
    {
      // Without the container's IPs there is no source to block (destination scope).
      why: "no container IPs, destination scope",
      alert: alert(),
      ips: [],
      scope: null,
    },
    {
      // Same for a quarantine.
      why: "no container IPs, container scope",
      alert: burst("port-scan"),
      ips: [],
      scope: null,
    },
  ];

  it.each(cases)("$why", ({ alert: a, ips, scope, entries }) => {
    const d = decideBlock(a, DEFAULTS, ips, 0);
    if (scope === null) {
      expect(d).toBeNull();
      return;
    }
    expect(d).not.toBeNull();
    expect(d!.scope).toBe(scope);
    expect(d!.entries).toEqual(entries);
    expect(d!.durationSeconds).toBe(3600);
    expect(d!.reason).toBe(`${a.detector}: ${a.summary}`);
  });

  // Pure function: the caller's arrays are not touched (the blocker reuses them).
  it("does not mutate its inputs", () => {
    const ips = [V4, V6];
    const a = alert();
    const before = JSON.stringify(a);
    decideBlock(a, DEFAULTS, ips, 3);
    expect(ips).toEqual([V4, V6]);
    expect(JSON.stringify(a)).toBe(before);
  });
});

describe("decideBlock escalation", () => {
  const table: [repeats: number, seconds: number, why: string][] = [
    [0, 3600, "first block lasts durationSeconds"],
    [1, 7200, "one block in the last 24 h doubles it"],
    [2, 14_400, "two double it twice"],
    [3, 28_800, "three: 8x"],
    [4, 57_600, "four: 16x, still under the cap"],
    [5, 86_400, "five would be 115200: capped at maxDurationSeconds"],
    [6, 86_400, "beyond the cap it stays at the cap"],
    [64, 86_400, "repeats past 30 must not overflow the multiplication"],
    [1_000_000, 86_400, "a huge count is still the cap"],
    [Number.MAX_SAFE_INTEGER, 86_400, "even the largest safe integer"],
  ];
  // Each repeat doubles, the cap bounds it, and the result is always a finite integer ipset accepts.
  it.each(table)("repeats %i → %i s (%s)", (repeats, seconds) => {
    const d = decideBlock(alert(), DEFAULTS, [V4], repeats);
    expect(d?.durationSeconds).toBe(seconds);
    expect(Number.isSafeInteger(d?.durationSeconds)).toBe(true);
  });

  // A large maximum with a tiny base: 2^30 multiplications must stay finite and capped.
  it("caps at a custom maximum without overflow", () => {
    const cfg = blockingSchema.parse({ durationSeconds: 60, maxDurationSeconds: 2_000_000 });
    expect(decideBlock(alert(), cfg, [V4], 10)?.durationSeconds).toBe(61_440);
    expect(decideBlock(alert(), cfg, [V4], 15)?.durationSeconds).toBe(1_966_080);
    expect(decideBlock(alert(), cfg, [V4], 16)?.durationSeconds).toBe(2_000_000);
    expect(decideBlock(alert(), cfg, [V4], 1e9)?.durationSeconds).toBe(2_000_000);
  });

  // A misconfigured base above the cap never yields a block longer than the cap.
  it("never exceeds maxDurationSeconds even on the first block", () => {
    const cfg = blockingSchema.parse({ durationSeconds: 7200, maxDurationSeconds: 3600 });
    expect(decideBlock(alert(), cfg, [V4], 0)?.durationSeconds).toBe(3600);
  });

  // Quarantines escalate the same way.
  it("escalates container-scope blocks too", () => {
    expect(decideBlock(burst("port-scan"), DEFAULTS, [V4], 2)?.durationSeconds).toBe(14_400);
  });
});

describe("decideBlock with custom rules", () => {
  const cfg = (rules: unknown[]): BlockingConfig => blockingSchema.parse({ rules });

  // Rules are an ordered list: the first that matches decides the scope, later ones are not consulted.
  it("first matching rule wins", () => {
    const quarantineFirst = cfg([
      { detector: "unexpected-outbound", scope: "container" },
      { detector: "unexpected-outbound", scope: "destination" },
    ]);
    const destinationFirst = cfg([
      { detector: "unexpected-outbound", scope: "destination" },
      { detector: "unexpected-outbound", scope: "container" },
    ]);
    expect(decideBlock(alert(), quarantineFirst, [V4], 0)?.scope).toBe("container");
    expect(decideBlock(alert(), destinationFirst, [V4], 0)?.scope).toBe("destination");
  });

  // A rule that does not match (severity) falls through to the next one.
  it("skips a non-matching rule and uses the next", () => {
    const c = cfg([
      { detector: "unexpected-outbound", severities: ["critical"], scope: "container" },
      { detector: "unexpected-outbound", scope: "destination" },
    ]);
    expect(decideBlock(alert({ severity: "critical" }), c, [V4], 0)?.scope).toBe("container");
    expect(decideBlock(alert({ severity: "warning" }), c, [V4], 0)?.scope).toBe("destination");
  });

  const severities: [Severity, boolean, string][] = [
    ["info", false, "a severity outside the list never blocks"],
    ["warning", true, "a listed severity blocks"],
    ["critical", true, "every listed severity blocks"],
  ];
  // severities is an allow-list over the alert's severity.
  it.each(severities)("severities [warning, critical]: %s → %s (%s)", (severity, blocks) => {
    const c = cfg([
      { detector: "unexpected-outbound", severities: ["warning", "critical"], scope: "destination" },
    ]);
    expect(decideBlock(alert({ severity }), c, [V4], 0) !== null).toBe(blocks);
  });

  // Without a severities filter every severity matches.
  it("a rule without severities matches any severity", () => {
    const c = cfg([{ detector: "unexpected-outbound", scope: "destination" }]);
    for (const severity of ["info", "warning", "critical"] as const)
      expect(decideBlock(alert({ severity }), c, [V4], 0)).not.toBeNull();
  });

  const shapes: [string, "destination" | "container" | null, string][] = [
    ["burst", "destination", "a listed shape matches the first rule"],
    ["brute-force", "destination", "every listed shape matches"],
    ["port-scan", "container", "an unlisted shape falls to the next rule"],
    ["host-scan", null, "a shape no rule lists never blocks"],
  ];
  // shapes is an allow-list over details.shape.
  it.each(shapes)("shapes filter: %s → %s (%s)", (shape, scope) => {
    const c = cfg([
      { detector: "connection-burst", shapes: ["burst", "brute-force"], scope: "destination" },
      { detector: "connection-burst", shapes: ["port-scan"], scope: "container" },
    ]);
    expect(decideBlock(burst(shape), c, [V4], 0)?.scope ?? null).toBe(scope);
  });

  // A rule without shapes applies to any connection-burst alert, shaped or not.
  it("a rule without shapes ignores the shape", () => {
    const c = cfg([{ detector: "connection-burst", scope: "container" }]);
    expect(decideBlock(burst("burst"), c, [V4], 0)?.scope).toBe("container");
    expect(decideBlock(alert({ detector: "connection-burst" }), c, [V4], 0)?.scope).toBe("container");
  });

  // No rules at all: blocking is effectively off whatever the alert.
  it("an empty rule list never blocks", () => {
    expect(decideBlock(alert(), cfg([]), [V4], 0)).toBeNull();
  });
});

describe("decideBlock targetKey", () => {
  const key = (a: Alert, ips = [V4]) => decideBlock(a, DEFAULTS, ips, 0)?.targetKey;

  // Escalation follows the workload and target, not the container instance or the alert wording.
  it("is the same for another replica, fingerprint, summary or source port", () => {
    const base = key(alert());
    expect(base).toBe("shop/web|203.0.113.7:443/tcp");
    expect(
      key(
        alert({
          fingerprint: "ffffffffffffffff",
          container: {
            id: "beef",
            name: "shop-web-2",
            image: "shop/web:1.3",
            service: "web",
            project: "shop",
          },
          summary: "shop-web-2 connected again",
          src: { ip: V4B, port: 51000, proto: "tcp" },
        }),
        [V4B],
      ),
    ).toBe(base);
  });

  // Different workloads or different targets must escalate independently.
  it("differs per workload, IP, port and proto", () => {
    const keys = [
      key(alert()),
      key(alert({ workload: "shop/db" })),
      key(alert({ dst: { ...EXT4, ip: "203.0.113.8" } })),
      key(alert({ dst: { ...EXT4, port: 80 } })),
      key(alert({ dst: { ...EXT4, proto: "udp" } })),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  // A quarantine targets the container as a whole: its key ignores where the scan went.
  it("is workload|* for a container-scope block", () => {
    expect(key(burst("port-scan"))).toBe("shop/web|*");
    expect(key(burst("host-scan", { dst: { ip: "198.18.0.9", port: 1, proto: "udp" } }))).toBe("shop/web|*");
  });

  // Scope is part of the identity: a quarantine and a destination block never share a key.
  it("differs between the destination and container scope of the same workload", () => {
    expect(key(burst("brute-force"))).not.toBe(key(burst("port-scan")));
  });
});

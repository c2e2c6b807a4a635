/**
 * One incident, one alert (issue 14 §2): destinations of one host fold into its alert, many hosts
 * into one fan-out incident past alerts.fanOutAfter, and everything of the same window into an
 * active connection-burst incident. Every finding is counted by outcome.
 */
import { describe, expect, it } from "vitest";
import type { Alert, AlertDecider, AlertSink, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { MAX_DISTINCT_TARGETS, MAX_TARGET_SAMPLES } from "../../src/alerts/incident-tally.js";
import type { Finding } from "../../src/model/finding.js";
import { SHOP_WEB } from "../support/fixtures.js";

const T0 = 1_700_000_000_000;
const SEC = 1_000;
const MIN = 60_000;

/** An unexpected-outbound finding as the detector raises it: keyed by host, the port as its target. */
function reach(host: string, port: number, ts: number, extra: Partial<Finding> = {}): Finding {
  return {
    detector: "unexpected-outbound",
    kind: "unexpected",
    severity: "warning",
    key: host,
    container: SHOP_WEB,
    workload: "shop/web",
    summary: `shop-web-1 connected to ${host}:${port}/tcp, which nothing allows`,
    ts,
    dst: { ip: host, port, proto: "tcp" },
    target: { of: "ports", value: `${port}/tcp` },
    host,
    ...extra,
  };
}

function scan(ts: number, key = "host-scan:22/tcp", kind = "host-scan"): Finding {
  return {
    detector: "connection-burst",
    kind,
    severity: "warning",
    key,
    container: SHOP_WEB,
    workload: "shop/web",
    summary: "shop-web-1 probed 25 hosts on port 22/tcp within 5 min",
    ts,
    details: { shape: kind, count: 25, targets: [], windowMs: 5 * MIN },
  };
}

function setup(opts: ConstructorParameters<typeof AlertManager>[1] = {}) {
  const calls: { transition: AlertTransition; alert: Alert }[] = [];
  const sink: AlertSink = { onAlert: (alert, transition) => calls.push({ transition, alert }) };
  const mgr = new AlertManager([sink], { suppressMs: 10 * MIN, resolveAfterMs: 15 * MIN, ...opts });
  const lines = () => calls.map((c) => `${c.transition} ${c.alert.kind} ${c.alert.count}`);
  return { mgr, calls, lines };
}

describe("incidents: one alert per host", () => {
  it("folds more ports and repeats on one host into its alert, counting distinct ports", () => {
    const { mgr, calls } = setup();
    for (let i = 0; i < 30; i++) mgr.onFinding(reach("203.0.113.9", 1000 + (i % 20), T0 + i * SEC));
    expect(calls).toHaveLength(1);
    const [a] = mgr.active();
    expect(a).toMatchObject({ count: 30, targets: { of: "ports", distinct: 20, capped: false } });
    expect(a!.targets!.samples).toHaveLength(MAX_TARGET_SAMPLES);
    expect(a!.targets!.samples[0]).toBe("1000/tcp");
    expect(a!.summary).toContain("(30 times, 20 ports)");
    expect(mgr.stats().findings["unexpected-outbound"]).toEqual({
      alert: 1,
      updated: 0,
      suppressed: 29,
      folded: 0,
    });
  });

  it("bounds the distinct count, and says the count is a lower bound past the cap", () => {
    const { mgr } = setup();
    for (let i = 0; i < MAX_DISTINCT_TARGETS + 5; i++) mgr.onFinding(reach("203.0.113.9", i + 1, T0 + i));
    const [a] = mgr.active();
    expect(a!.targets).toMatchObject({ distinct: MAX_DISTINCT_TARGETS, capped: true });
    expect(a!.summary).toContain(`${MAX_DISTINCT_TARGETS}+ ports`);
  });
});

describe("incidents: fan-out", () => {
  it("alerts the first fanOutAfter hosts on their own, then one fan-out incident with counts and samples", () => {
    const { mgr, calls, lines } = setup({ fanOutAfter: 3 });
    for (let i = 0; i < 40; i++) mgr.onFinding(reach(`198.51.100.${i}`, 443, T0 + i * SEC));
    expect(lines()).toEqual([
      "fired unexpected 1",
      "fired unexpected 1",
      "fired unexpected 1",
      "fired fan-out 1",
    ]);
    const fanOut = mgr.active().find((a) => a.kind === "fan-out")!;
    expect(fanOut).toMatchObject({ count: 37, targets: { of: "destinations", distinct: 37 } });
    expect(fanOut.dst).toBeUndefined();
    expect(fanOut.targets!.samples.slice(0, 2)).toEqual(["198.51.100.3", "198.51.100.4"]);
    expect(fanOut.summary).toMatch(
      /^shop-web-1 connected to 37 more destinations that nothing allows, after 3/,
    );
    expect(calls[3]!.alert.fingerprint).toBe(fanOut.fingerprint);
    // Every finding is counted: 3 alerts, 37 folded into the fan-out.
    expect(mgr.stats().findings["unexpected-outbound"]).toMatchObject({ alert: 3, folded: 37 });
  });

  it("grows with at most one update per window, and resolves when it goes quiet", () => {
    const { mgr, lines } = setup({ fanOutAfter: 1 });
    // 40 hosts, each a few times, rotating every 5 s for 20 min.
    for (let i = 0; i < 240; i++) mgr.onFinding(reach(`198.51.100.${i % 40}`, 443, T0 + i * 5 * SEC));
    mgr.tick(T0 + 60 * MIN);
    expect(lines()).toEqual([
      "fired unexpected 1",
      "fired fan-out 1",
      "repeated unexpected 4", // its host again, 10 min after it opened
      "repeated fan-out 118", // 10 min after it opened
      "resolved unexpected 6",
      "resolved fan-out 234",
    ]);
  });

  it("keeps workloads apart, and opens the hosts on their own again once the fan-out resolved", () => {
    const { mgr, lines } = setup({ fanOutAfter: 1 });
    mgr.onFinding(reach("198.51.100.1", 443, T0));
    mgr.onFinding(reach("198.51.100.2", 443, T0 + 1));
    mgr.onFinding(reach("198.51.100.3", 443, T0 + 2, { workload: "shop/api" }));
    mgr.tick(T0 + 20 * MIN);
    mgr.onFinding(reach("198.51.100.4", 443, T0 + 21 * MIN));
    expect(lines()).toEqual([
      "fired unexpected 1",
      "fired fan-out 1",
      "fired unexpected 1",
      "resolved unexpected 1",
      "resolved fan-out 1",
      "resolved unexpected 1",
      "fired unexpected 1",
    ]);
  });

  it("never folds a critical finding: a denylisted host is its own alert", () => {
    const { mgr, lines } = setup({ fanOutAfter: 1 });
    mgr.onFinding(reach("198.51.100.1", 443, T0));
    mgr.onFinding(
      reach("198.51.100.66", 443, T0 + 1, { severity: "critical", kind: "denylisted", host: undefined }),
    );
    mgr.onFinding(reach("198.51.100.2", 443, T0 + 2));
    expect(lines()).toEqual(["fired unexpected 1", "fired denylisted 1", "fired fan-out 1"]);
  });
});

describe("incidents: a connection shape takes in its window", () => {
  it("folds the workload's new destinations and other shapes into the active shape incident", () => {
    const { mgr, lines } = setup({ fanOutAfter: 3 });
    mgr.onFinding(reach("198.51.100.1", 22, T0));
    mgr.onFinding(scan(T0 + SEC));
    for (let i = 2; i < 30; i++) mgr.onFinding(reach(`198.51.100.${i}`, 22, T0 + i * SEC));
    mgr.onFinding(scan(T0 + 40 * SEC, "burst", "burst"));
    // The host alerted before the scan keeps its own alert.
    mgr.onFinding(reach("198.51.100.1", 23, T0 + 41 * SEC));
    expect(lines()).toEqual(["fired unexpected 1", "fired host-scan 1"]);
    const shape = mgr.active().find((a) => a.kind === "host-scan")!;
    expect(shape).toMatchObject({ count: 30, folded: 29, targets: { of: "targets", distinct: 29 } });
    expect(shape.summary).toMatch(
      /^shop-web-1 ran a host sweep of 25 hosts on .*; folded in: 29 more findings/,
    );
    expect(mgr.stats().findings).toEqual({
      "unexpected-outbound": { alert: 1, updated: 0, suppressed: 1, folded: 28 },
      "connection-burst": { alert: 1, updated: 0, suppressed: 0, folded: 1 },
    });
  });

  it("takes in nothing past its window after its latest finding", () => {
    const { mgr, lines } = setup({ fanOutAfter: 3, resolveAfterMs: 60 * MIN });
    mgr.onFinding(scan(T0));
    mgr.onFinding(reach("198.51.100.1", 22, T0 + 5 * MIN));
    mgr.onFinding(reach("198.51.100.2", 22, T0 + 5 * MIN + 1));
    expect(lines()).toEqual(["fired host-scan 1", "fired unexpected 1"]);
  });

  it("asks the decide stage about each new target, even when the line is suppressed", () => {
    const asked: string[] = [];
    const decide: AlertDecider = {
      decide(alert, transition) {
        asked.push(`${transition} ${alert.kind} ${alert.dst?.ip ?? "-"}:${alert.dst?.port ?? "-"}`);
        return null;
      },
    };
    const { mgr } = setup({ decide });
    mgr.onFinding(reach("203.0.113.9", 443, T0, { severity: "critical", kind: "denylisted" }));
    mgr.onFinding(reach("203.0.113.9", 443, T0 + 1, { severity: "critical", kind: "denylisted" }));
    mgr.onFinding(reach("203.0.113.9", 80, T0 + 2, { severity: "critical", kind: "denylisted" }));
    mgr.onFinding(scan(T0 + 3, "port-scan:10.0.0.5", "port-scan"));
    mgr.onFinding({
      ...scan(T0 + 4, "brute-force:10.0.0.6:22/tcp", "brute-force"),
      dst: { ip: "10.0.0.6", port: 22, proto: "tcp" },
    });
    expect(asked).toEqual([
      "fired denylisted 203.0.113.9:443",
      "repeated denylisted 203.0.113.9:80",
      "fired port-scan -:-",
      "repeated brute-force 10.0.0.6:22",
    ]);
  });
});

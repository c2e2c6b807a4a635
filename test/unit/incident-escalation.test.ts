/**
 * One attack, one incident (issue 17): a beacon to a host the workload's active unexpected-outbound
 * incident is about folds into it and raises its severity; a DNS tunnel under that host's domain too.
 */
import { describe, expect, it } from "vitest";
import type { Alert, AlertAction, AlertDecider, AlertSink, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import type { Finding } from "../../src/model/finding.js";
import { SHOP_WEB } from "../support/fixtures.js";

const T0 = 1_700_000_000_000;
const SEC = 1_000;
const MIN = 60_000;

function outbound(host: string, ts: number, extra: Partial<Finding> = {}): Finding {
  return {
    detector: "unexpected-outbound",
    kind: "unexpected",
    severity: "warning",
    key: host,
    container: SHOP_WEB,
    workload: "shop/web",
    summary: `shop-web-1 connected to ${host}:4444/tcp, which nothing allows`,
    ts,
    dst: { ip: "198.51.100.23", port: 4444, proto: "tcp" },
    details: { denylisted: false, port: 4444 },
    target: { of: "ports", value: "4444/tcp" },
    host,
    ...extra,
  };
}

function beacon(host: string, ts: number, extra: Partial<Finding> = {}): Finding {
  return {
    detector: "beaconing",
    kind: "beacon",
    severity: "critical",
    key: `${host}:4444/tcp`,
    container: SHOP_WEB,
    workload: "shop/web",
    summary: `shop-web-1 beacons to ${host}:4444/tcp every 1 min (±2 %), 6 connections over 5 min, score 0.90`,
    ts,
    dst: { ip: "198.51.100.23", port: 4444, proto: "tcp" },
    details: { intervalMs: MIN, jitterPct: 2, connections: 6, spanMs: 5 * MIN, missedBeats: 0, score: 0.9 },
    host,
    ...extra,
  };
}

function tunnel(domain: string, ts: number, kind = "tunnel"): Finding {
  return {
    detector: "dns-abuse",
    kind,
    severity: "critical",
    key: `${kind}:${domain}`,
    container: SHOP_WEB,
    workload: "shop/web",
    summary: `shop-web-1 asked for 100 distinct names under ${domain}`,
    ts,
    details: { domain: kind === "tunnel" ? domain : null, distinct: 100, spanMs: 25 * SEC, encodedPct: 100 },
  };
}

function setup(decide?: AlertDecider) {
  const calls: { transition: AlertTransition; alert: Alert }[] = [];
  const sink: AlertSink = { onAlert: (alert, transition) => calls.push({ transition, alert }) };
  const mgr = new AlertManager([sink], {
    suppressMs: 10 * MIN,
    resolveAfterMs: 15 * MIN,
    ...(decide === undefined ? {} : { decide }),
  });
  const lines = () =>
    calls.map((c) => `${c.transition} ${c.alert.detector} ${c.alert.severity} ${c.alert.count}`);
  return { mgr, calls, lines };
}

describe("incident escalation: a beacon joins its host's incident", () => {
  it("folds into the active unexpected-outbound incident of the same host and raises it at once", () => {
    const { mgr, calls, lines } = setup();
    for (let i = 0; i < 6; i++) mgr.onFinding(outbound("c2.example", T0 + i * MIN));
    const a = mgr.onFinding(beacon("c2.example", T0 + 5 * MIN));
    expect(lines()).toEqual([
      "fired unexpected-outbound warning 1",
      "repeated unexpected-outbound critical 7",
    ]);
    expect(mgr.active()).toHaveLength(1);
    expect(a.summary).toBe(
      "shop-web-1 connected to c2.example:4444/tcp, which nothing allows (6 times); " +
        "beacons every 1 min (±2 %) to port 4444/tcp, 6 connections over 5 min, score 0.90",
    );
    expect(a.details).toMatchObject({ denylisted: false, beacon: { intervalMs: MIN, score: 0.9 } });
    expect(calls[1]!.alert.fingerprint).toBe(calls[0]!.alert.fingerprint);
    expect(mgr.stats().findings.beaconing).toEqual({ alert: 0, updated: 0, suppressed: 0, folded: 1 });
  });

  it("keeps the beacon in summary and details while the incident's own findings go on", () => {
    const { mgr } = setup();
    mgr.onFinding(outbound("c2.example", T0));
    mgr.onFinding(beacon("c2.example", T0 + 5 * MIN));
    const a = mgr.onFinding(outbound("c2.example", T0 + 6 * MIN));
    expect(a.severity).toBe("critical");
    expect(a.summary).toContain("(2 times); beacons every 1 min");
    expect(a.details).toMatchObject({ port: 4444, beacon: { connections: 6 } });
  });

  it("opens its own incident for a host no active incident is about", () => {
    const { mgr, lines } = setup();
    mgr.onFinding(outbound("c2.example", T0));
    mgr.onFinding(beacon("other.example", T0 + 5 * MIN));
    expect(lines()).toEqual(["fired unexpected-outbound warning 1", "fired beaconing critical 1"]);
    expect(mgr.stats().findings.beaconing?.alert).toBe(1);
  });

  it("opens its own incident once the host's incident resolved", () => {
    const { mgr, lines } = setup();
    mgr.onFinding(outbound("c2.example", T0));
    mgr.onFinding(beacon("c2.example", T0 + 20 * MIN));
    expect(lines()).toEqual([
      "fired unexpected-outbound warning 1",
      "resolved unexpected-outbound warning 1",
      "fired beaconing critical 1",
    ]);
  });

  it("only ever raises the severity", () => {
    const { mgr, lines } = setup();
    mgr.onFinding(outbound("c2.example", T0, { severity: "critical" }));
    const a = mgr.onFinding(beacon("c2.example", T0 + MIN, { severity: "info" }));
    expect(a.severity).toBe("critical");
    expect(a.summary).toContain("; beacons every");
    expect(lines()).toEqual([
      "fired unexpected-outbound critical 1",
      "repeated unexpected-outbound critical 2",
    ]);
  });

  it("tells the decide stage of the raise, as the incident and as the beacon, before any sink", () => {
    const seen: string[] = [];
    const decide: AlertDecider = {
      decide(alert, transition): AlertAction | null {
        seen.push(`${transition} ${alert.detector}/${alert.kind} ${alert.severity}`);
        return alert.detector === "beaconing" ? "blocked" : null;
      },
    };
    const { mgr, calls } = setup(decide);
    mgr.onFinding(outbound("c2.example", T0));
    mgr.onFinding(beacon("c2.example", T0 + 5 * MIN));
    expect(seen).toEqual([
      "fired unexpected-outbound/unexpected warning",
      "repeated unexpected-outbound/unexpected critical",
      "repeated beaconing/beacon critical",
    ]);
    expect(calls.map((c) => c.alert.action)).toEqual(["none", "blocked"]);
  });
});

describe("incident escalation: DNS abuse", () => {
  it("folds a tunnel under the domain of an active unexpected-outbound incident's host into it", () => {
    const { mgr, lines } = setup();
    mgr.onFinding(outbound("x1.cdn-sync.net", T0));
    const a = mgr.onFinding(tunnel("cdn-sync.net", T0 + MIN));
    expect(lines()).toEqual([
      "fired unexpected-outbound warning 1",
      "repeated unexpected-outbound critical 2",
    ]);
    expect(a.summary).toContain(
      "; asked for 100 distinct names under cdn-sync.net in 25 s (100 % look encoded)",
    );
    expect(a.details).toHaveProperty("dnsTunnel.domain", "cdn-sync.net");
  });

  it("keeps a tunnel under another domain and a DGA burst as incidents of their own", () => {
    const { mgr } = setup();
    mgr.onFinding(outbound("x1.cdn-sync.net", T0));
    mgr.onFinding(tunnel("sync.net", T0 + MIN));
    mgr.onFinding(tunnel("cdn-sync.net", T0 + MIN, "dga"));
    expect(mgr.active().map((a) => `${a.detector} ${a.count}`)).toEqual([
      "unexpected-outbound 1",
      "dns-abuse 1",
      "dns-abuse 1",
    ]);
  });
});

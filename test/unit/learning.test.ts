/**
 * Learning as a whole (policy + learner + detectors through Detection): what declares policy is
 * judged at once, learning never silences what is never normal, and an attack during learning is
 * not learned as normal.
 */
import { describe, expect, it } from "vitest";
import type { Alert, AlertSink } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import type { Baseline } from "../../src/baseline/baseline.js";
import { Detection } from "../../src/detection/detection.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { ConnectionEvent, ContainerRef, NetmonEvent } from "../../src/model/events.js";
import { CidrSet, parseCidr } from "../../src/net/cidr.js";
import { connectionEvent, containerInfo, listenerEvent, containerRef as ref } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";
import { policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const SEC = 1_000;
const MIN = 60 * SEC;

/** Declares nothing: learns for the shipped 10 minutes first. */
const WEB = ref("shop-web-1", { project: "shop", service: "web" });
/** Declares its egress by label: judged from its first packet. */
const API = ref("shop-api-1", { project: "shop", service: "api" });

function info(r: ContainerRef): ContainerInfo {
  return containerInfo(r, {
    imageId: `sha256:${"34".repeat(32)}`,
    labels: r === API ? { "netmon.egress": "203.0.113.10:443/tcp" } : {},
    startedAt: T0,
  });
}

interface World {
  detection: Detection;
  baseline: Baseline;
  alerts: { detector: string; kind: string; severity: string; container: string }[];
  lines: Record<string, unknown>[];
  feed: (evs: NetmonEvent[]) => void;
}

/** The shipped defaults (learnForSeconds 600, global mode monitor), a denylist of 192.0.2.66. */
function world(): World {
  const { log, lines } = captureLog({ base: { app: "netmon" } });
  const denylist = new CidrSet([parseCidr("192.0.2.66/32")!]);
  const { policy, config, baseline } = policyFromYaml("", [WEB, API].map(info), { denylist });
  const alerts: World["alerts"] = [];
  const sink: AlertSink = {
    onAlert(a: Alert, transition) {
      if (transition === "fired")
        alerts.push({
          detector: a.detector,
          kind: a.kind ?? "",
          severity: a.severity,
          container: a.container.name,
        });
    },
  };
  const manager = new AlertManager([sink], {
    suppressMs: config.alerts.suppressSeconds * 1000,
    resolveAfterMs: config.alerts.resolveAfterSeconds * 1000,
  });
  const detection = new Detection(
    config.detectors,
    policy,
    baseline,
    manager,
    log,
    config.alerts.resolveAfterSeconds * 1000,
  );
  const feed = (evs: NetmonEvent[]) => {
    for (const ev of evs) {
      detection.tick(ev.ts);
      detection.onEvent(ev);
    }
  };
  return { detection, baseline, alerts, lines, feed };
}

/** One TCP connection from `from`: the attempt, then its answer 1 ms later. */
function tcp(
  ts: number,
  from: ContainerRef,
  ip: string,
  port: number,
  outcome: "accepted" | "rejected" | "unanswered",
): ConnectionEvent[] {
  const o = { from, ip, port };
  return [
    connectionEvent({ ...o, ts }),
    connectionEvent({ ...o, ts: ts + 1, state: outcome, durationMs: 1 }),
  ];
}

const learned = (b: Baseline, w: string) => b.entries(w).map((e) => `${e.kind} ${e.entry}`);

describe("declared policy is judged at once", () => {
  it("a labelled workload's first undeclared connection alerts, and is not learned", () => {
    // The operator wrote a policy: no 10-minute grace for an attacker.
    const w = world();
    w.feed(tcp(T0, API, "203.0.113.10", 443, "accepted"));
    w.feed(tcp(T0 + 2 * SEC, API, "198.51.100.23", 4444, "accepted"));
    expect(w.alerts).toEqual([
      { detector: "unexpected-outbound", kind: "unexpected", severity: "warning", container: "shop-api-1" },
    ]);
    expect(learned(w.baseline, "shop/api")).toEqual([]);
  });

  it("an unlabelled workload learns silently, then is judged against what it learned", () => {
    // Nothing declared: the first 10 minutes are what is normal for it.
    const w = world();
    w.feed(tcp(T0, WEB, "198.51.100.23", 4444, "accepted"));
    expect(w.alerts).toEqual([]);
    w.feed(tcp(T0 + 11 * MIN, WEB, "198.51.100.23", 4444, "accepted"));
    w.feed(tcp(T0 + 12 * MIN, WEB, "198.51.100.24", 4444, "accepted"));
    expect(w.alerts.map((a) => a.container)).toEqual(["shop-web-1"]);
    expect(learned(w.baseline, "shop/web")).toEqual(["egress 198.51.100.23:4444/tcp"]);
  });
});

describe("learning never silences what is never normal", () => {
  it("a denylisted destination during learning is critical, and is not learned", () => {
    // A known-bad address is never normal, whatever the learning clock says.
    const w = world();
    w.feed(tcp(T0, WEB, "192.0.2.66", 443, "accepted"));
    expect(w.alerts).toEqual([
      { detector: "unexpected-outbound", kind: "denylisted", severity: "critical", container: "shop-web-1" },
    ]);
    expect(learned(w.baseline, "shop/web")).toEqual([]);
  });

  it("a 100-port scan during learning fires connection-burst and teaches nothing", () => {
    // Tried as a new operator would: refused ports, found ports and the attacker's listener stayed
    // out of the baseline.
    const w = world();
    w.feed(tcp(T0, WEB, "203.0.113.10", 443, "accepted"));
    for (let port = 1; port <= 100; port++) {
      const open = port === 80 || port === 99;
      w.feed(tcp(T0 + 10 * SEC + port * 100, WEB, "203.0.113.77", port, open ? "accepted" : "rejected"));
    }
    // The attacker then listens for a reverse shell, and something connects to it.
    w.feed([listenerEvent(WEB, { ts: T0 + 30 * SEC, port: 4444 })]);
    w.feed([
      connectionEvent({ ts: T0 + 31 * SEC, to: WEB, ip: "172.18.0.2", port: 4444, state: "accepted" }),
    ]);
    expect(w.alerts.map((a) => `${a.detector}/${a.kind}`)).toEqual(["connection-burst/port-scan"]);
    expect(learned(w.baseline, "shop/web")).toEqual(["egress 203.0.113.10:443/tcp"]);
  });
});

describe("learning is logged in event time", () => {
  it("start and end, with what was learned, even when the workload is quiet at the end", () => {
    // The operator sees when alerts start and what became normal; replay prints the same lines.
    const w = world();
    w.feed(tcp(T0, WEB, "203.0.113.10", 443, "accepted"));
    w.feed(tcp(T0 + SEC, WEB, "203.0.113.11", 443, "accepted"));
    w.detection.tick(T0 + 10 * MIN + 500);
    const learning = w.lines.filter((l) => String(l.msg).startsWith("workload learning"));
    expect(learning).toEqual([
      expect.objectContaining({
        msg: "workload learning started",
        workload: "shop/web",
        since: new Date(T0).toISOString(),
        until: new Date(T0 + 10 * MIN).toISOString(),
      }),
      expect.objectContaining({
        msg: "workload learning finished",
        workload: "shop/web",
        from: "learn",
        to: "monitor",
        at: new Date(T0 + 10 * MIN).toISOString(),
        learned: 2,
        sample: ["203.0.113.10:443/tcp", "203.0.113.11:443/tcp"],
      }),
    ]);
    // Later events do not log the end again.
    w.feed(tcp(T0 + 11 * MIN, WEB, "203.0.113.10", 443, "accepted"));
    expect(w.lines.filter((l) => l.msg === "workload learning finished")).toHaveLength(1);
  });

  it("a labelled workload logs no learning at all", () => {
    // Judged at once: there is no learning period to announce.
    const w = world();
    w.feed(tcp(T0, API, "203.0.113.10", 443, "accepted"));
    expect(w.lines.filter((l) => String(l.msg).startsWith("workload learning"))).toEqual([]);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { unexpectedOutbound } from "../../detectors/unexpected-outbound.js";
import type { Alert, AlertSink, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import type { Baseline } from "../../src/baseline/baseline.js";
import { Detection } from "../../src/detection/detection.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { DetectorInstance } from "../../src/model/detector-api.js";
import type { ConnectionEvent, ContainerRef, ListenerEvent, Proto } from "../../src/model/events.js";
import { connectionEvent, containerInfo, listenerEvent, containerRef as ref } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";
import { policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const SEC = 1_000;

const WEB = ref("shop-web-1", { project: "shop", service: "web" });
const WEB2 = ref("shop-web-2", { project: "shop", service: "web" });
// Two unrelated containers of one image: one workload ("nginx"), but the second one is switched off.
const PROXY = ref("proxy", { image: "nginx:1.25" });
const PROXY_OFF = ref("proxy-off", { image: "nginx:1.25" });

function info(r: ContainerRef): ContainerInfo {
  return containerInfo(r, {
    imageId: `sha256:${"12".repeat(32)}`,
    labels: r === PROXY_OFF ? { "netmon.mode": "off" } : {},
    exposedPorts: ["80/tcp"],
    startedAt: T0,
  });
}

interface Seen {
  transition: AlertTransition;
  detector: string;
  severity: string;
  workload: string;
  count: number;
  dst: string;
}

/** An in-memory sink keeping each transition in a compact, comparable form. */
function collector(): { sink: AlertSink; seen: Seen[] } {
  const seen: Seen[] = [];
  const sink: AlertSink = {
    onAlert(a: Alert, transition: AlertTransition) {
      seen.push({
        transition,
        detector: a.detector,
        severity: a.severity,
        workload: a.workload,
        count: a.count,
        dst: a.dst ? `${a.dst.ip}:${a.dst.port}/${a.dst.proto}` : "",
      });
    },
  };
  return { sink, seen };
}

interface World {
  detection: Detection;
  baseline: Baseline;
  seen: Seen[];
  lines: Record<string, unknown>[];
}

function world(learnForSeconds: number, extraSinks: AlertSink[] = []): World {
  const yaml = `
baseline:
  learnForSeconds: ${learnForSeconds}
alerts:
  suppressSeconds: 600
  resolveAfterSeconds: 900
`;
  const { log, lines } = captureLog({ base: { app: "netmon" } });
  const { policy, config, baseline } = policyFromYaml(yaml, [WEB, WEB2, PROXY, PROXY_OFF].map(info), {
    warn: (m) => log.warn(m),
  });
  const { sink, seen } = collector();
  const alerts = new AlertManager([sink, ...extraSinks], {
    suppressMs: config.alerts.suppressSeconds * 1000,
    resolveAfterMs: config.alerts.resolveAfterSeconds * 1000,
    onSinkError: (err) => log.error({ err: String(err) }, "alert sink failed"),
  });
  const detection = new Detection(config.detectors, policy, baseline, alerts, log);
  return { detection, baseline, seen, lines };
}

function attempt(
  ts: number,
  ip: string,
  port: number,
  o: { names?: string[]; from?: ContainerRef; proto?: Proto } = {},
): ConnectionEvent {
  return connectionEvent({ ts, ip, port, proto: o.proto, from: o.from ?? WEB, names: o.names });
}

/** An attempt and its answer: only a connection that succeeded is learned. */
function reached(
  ts: number,
  ip: string,
  port: number,
  o: { names?: string[]; from?: ContainerRef; proto?: Proto } = {},
): ConnectionEvent[] {
  const base = { ip, port, proto: o.proto, from: o.from ?? WEB, names: o.names };
  return [
    connectionEvent({ ...base, ts }),
    connectionEvent({ ...base, ts: ts + 2, state: "accepted", durationMs: 2 }),
  ];
}

function listen(ts: number, port: number, container: ContainerRef = WEB): ListenerEvent {
  return listenerEvent(container, { ts, port });
}

const modeLines = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.msg === "workload mode changed" || l.msg === "workload learning finished");

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Detection: learn, then monitor", () => {
  it("the learning period records; afterwards only new destinations and ports alert", () => {
    // The whole point of the baseline: what the workload did while learning is normal later.
    const { detection, baseline, seen } = world(60);
    const feed = (evs: ConnectionEvent[]) => {
      for (const ev of evs) detection.onEvent(ev);
    };
    feed(reached(T0, "203.0.113.10", 443, { names: ["api.example.com"] }));
    detection.onEvent(listen(T0 + 1 * SEC, 8080));
    feed(reached(T0 + 2 * SEC, "203.0.113.11", 22));
    // A new replica of the same workload learns into the same baseline.
    feed(reached(T0 + 3 * SEC, "203.0.113.12", 25, { from: WEB2 }));
    expect(seen).toEqual([]);
    expect(baseline.describe("shop/web")).toMatchObject({
      egress: ["203.0.113.11|22|tcp", "203.0.113.12|25|tcp", "api.example.com|443|tcp"],
      listen: ["8080/tcp"],
    });

    // Monitored now: everything learned passes, even the name at a new address.
    detection.onEvent(attempt(T0 + 61 * SEC, "203.0.113.99", 443, { names: ["api.example.com"] }));
    detection.onEvent(attempt(T0 + 62 * SEC, "203.0.113.11", 22));
    detection.onEvent(attempt(T0 + 62 * SEC, "203.0.113.12", 25));
    detection.onEvent(listen(T0 + 63 * SEC, 8080));
    detection.onEvent(listen(T0 + 63 * SEC, 80));
    expect(seen).toEqual([]);

    // New destination and new port: one alert each.
    detection.onEvent(attempt(T0 + 64 * SEC, "203.0.113.66", 443));
    detection.onEvent(listen(T0 + 65 * SEC, 9090));
    // A repeat within the suppression window folds into the active alert.
    detection.onEvent(attempt(T0 + 66 * SEC, "203.0.113.66", 443));
    expect(seen).toEqual([
      {
        transition: "fired",
        detector: "unexpected-outbound",
        severity: "warning",
        workload: "shop/web",
        count: 1,
        dst: "203.0.113.66:443/tcp",
      },
      {
        transition: "fired",
        detector: "unusual-listener",
        severity: "warning",
        workload: "shop/web",
        count: 1,
        dst: "0.0.0.0:9090/tcp",
      },
    ]);
    // Nothing new was learned once monitored.
    expect(baseline.describe("shop/web")?.egress).toHaveLength(3);

    // Quiet for resolveAfterSeconds: both resolve, the folded count is reported.
    detection.tick(T0 + 66 * SEC + 900 * SEC);
    expect(seen.slice(2).map((s) => [s.transition, s.detector, s.count])).toEqual([
      ["resolved", "unusual-listener", 1],
      ["resolved", "unexpected-outbound", 2],
    ]);

    const c = detection.counters();
    expect(c["unexpected-outbound"]).toMatchObject({ events: 15, errors: 0, findings: 2 });
    expect(c["unusual-listener"]).toMatchObject({ events: 15, errors: 0, findings: 1 });
    expect(c["connection-burst"]).toMatchObject({ events: 15, errors: 0 });
  });

  it("status() reports one line per detector", () => {
    // `netmon status` lists every detector, including ones that raised nothing.
    const { detection } = world(0);
    detection.onEvent(attempt(T0, "203.0.113.66", 443));
    const s = detection.status();
    expect(Object.keys(s).sort()).toEqual([
      "beaconing",
      "connection-burst",
      "dns-abuse",
      "unexpected-outbound",
      "unusual-listener",
    ]);
    expect(s["unexpected-outbound"]).toBe("judged 1 connections, raised 1 findings");
  });
});

describe("Detection: isolation", () => {
  it("a detector that throws is counted, logged a few times only, and the others still run", () => {
    // One buggy detector must not blind the others or flood the log.
    const broken: DetectorInstance = {
      onEvent: () => {
        throw new Error("boom");
      },
      status: () => "broken",
    };
    vi.spyOn(unexpectedOutbound, "create").mockReturnValue(broken);
    const { detection, seen, lines } = world(0);
    for (let i = 0; i < 7; i++) detection.onEvent(attempt(T0 + i, "203.0.113.66", 443));
    detection.onEvent(listen(T0 + 10, 9090));

    const c = detection.counters();
    // Counted on every event; the listener event is not delivered to it (it reads attempts only).
    expect(c["unexpected-outbound"]).toMatchObject({ events: 8, errors: 7, findings: 0 });
    expect(c["unusual-listener"]).toMatchObject({ events: 8, errors: 0, findings: 1 });
    expect(c["connection-burst"]).toMatchObject({ events: 8, errors: 0 });
    expect(seen.map((s) => [s.transition, s.detector])).toEqual([["fired", "unusual-listener"]]);

    const failures = lines.filter((l) => l.msg === "detector failed on an event");
    expect(failures).toHaveLength(5);
    expect(failures[0]).toMatchObject({
      level: "error",
      detector: "unexpected-outbound",
      err: "Error: boom",
    });
  });

  it("a detector whose onTick throws is counted and alerts still resolve", () => {
    // tick() drives resolution: a failing detector must not freeze alerts as active.
    const real = unexpectedOutbound.create;
    vi.spyOn(unexpectedOutbound, "create").mockImplementation((opts, ctx) => ({
      ...real(opts, ctx),
      onTick: () => {
        throw new Error("tick boom");
      },
    }));
    const { detection, seen } = world(0);
    detection.onEvent(attempt(T0, "203.0.113.66", 443));
    detection.tick(T0 + 900 * SEC);
    expect(detection.counters()["unexpected-outbound"]?.errors).toBe(1);
    expect(seen.map((s) => s.transition)).toEqual(["fired", "resolved"]);
  });

  it("a sink that throws is logged and the other sinks still hear the alert", () => {
    // A broken Alertmanager push must not stop the log line (or the blocker).
    const failing: AlertSink = {
      onAlert: () => {
        throw new Error("sink down");
      },
    };
    const { detection, seen, lines } = world(0, [failing]);
    detection.onEvent(attempt(T0, "203.0.113.66", 443));
    expect(seen.map((s) => s.transition)).toEqual(["fired"]);
    expect(lines.filter((l) => l.msg === "alert sink failed")).toEqual([
      expect.objectContaining({ level: "error", err: "Error: sink down" }),
    ]);
  });
});

describe("Detection: mode changes", () => {
  it("leaving the learning period is logged once per workload", () => {
    // Operators need to know when alerts start; once, not per event.
    const { detection, lines } = world(60);
    detection.onEvent(attempt(T0, "203.0.113.10", 443));
    detection.onEvent(attempt(T0 + 30 * SEC, "203.0.113.10", 443, { from: WEB2 }));
    expect(modeLines(lines)).toEqual([]);
    for (let i = 0; i < 5; i++) detection.onEvent(attempt(T0 + (60 + i) * SEC, "203.0.113.10", 443));
    detection.onEvent(attempt(T0 + 70 * SEC, "203.0.113.10", 443, { from: WEB2 }));
    detection.onEvent(listen(T0 + 71 * SEC, 8080, WEB2));
    const logged = modeLines(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: "info",
      workload: "shop/web",
      from: "learn",
      to: "monitor",
      at: new Date(T0 + 60 * SEC).toISOString(),
    });
    expect(detection.modeSwitches).toBe(1);
  });

  it("containers of one workload with different configured modes do not flood the log", () => {
    // A label can switch one container of a shared image off; alternating traffic must not log each event.
    const { detection, lines } = world(60);
    for (let i = 0; i < 20; i++) {
      detection.onEvent(attempt(T0 + i * 10 * SEC, "203.0.113.10", 443, { from: i % 2 ? PROXY : PROXY_OFF }));
    }
    // Only the monitored container's end of learning is logged, once.
    expect(modeLines(lines)).toEqual([
      expect.objectContaining({ workload: "nginx", from: "learn", to: "monitor" }),
    ]);
    expect(detection.modeSwitches).toBe(1);
  });

  it("the first sighting of a workload is not a mode change", () => {
    // Nothing changed: the workload simply appeared.
    const { detection, lines } = world(0);
    detection.onEvent(attempt(T0, "203.0.113.10", 443));
    detection.onEvent(listen(T0 + 1, 9090));
    expect(modeLines(lines)).toEqual([]);
    expect(detection.modeSwitches).toBe(0);
  });
});

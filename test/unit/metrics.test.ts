import { describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import type { CaptureStats } from "../../src/capture/source.js";
import { type MetricSources, NetmonMetrics } from "../../src/daemon/metrics.js";

function alert(container: string, detector = "unexpected-outbound"): Alert {
  return {
    fingerprint: `fp-${container}`,
    detector,
    severity: "warning",
    workload: container,
    container: { id: "a".repeat(64), name: container, image: "img", service: null, project: null },
    summary: "s",
    count: 1,
    firstSeen: Date.now(),
    lastSeen: Date.now(),
    action: "none",
    state: "active",
  };
}

function setup() {
  const state = {
    capture: [{ iface: "br-1", received: 10, dropped: 1, ifDropped: 2 }] as CaptureStats[],
    active: [alert("web-1")],
    docker: true,
    events: 5,
    findings: { "unexpected-outbound": { alert: 3, updated: 1, suppressed: 4, folded: 37 } } as Record<
      string,
      Record<string, number>
    >,
  };
  const sources: MetricSources = {
    captureStats: () => state.capture,
    flowsActive: () => 7,
    containersMonitored: () => 3,
    dockerConnected: () => state.docker,
    activeAlerts: () => state.active,
    detectorCounters: () => ({
      "unexpected-outbound": { events: state.events, errors: 0, findings: 1, seconds: 0.25 },
    }),
    suppressed: () => ({ "unexpected-outbound": 4 }),
    findings: () => state.findings,
    alertmanagerStats: () => null,
    blocksActive: () => 2,
    modeChanges: () => 1,
  };
  const metrics = new NetmonMetrics(sources, "1.2.3");
  const scrape = async (): Promise<string> => metrics.registry.metrics();
  return { state, metrics, scrape };
}

/** The value of one exposition line, e.g. sample(text, 'netmon_flows_active'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("netmon metrics", () => {
  // The contract names and labels from DESIGN.md, with values read from the sources at scrape time.
  it("exposes the contract series from its sources", async () => {
    const { scrape } = setup();
    const text = await scrape();
    expect(sample(text, `netmon_build_info{version="1.2.3",nodejs="${process.version}"}`)).toBe(1);
    expect(sample(text, "netmon_flows_active")).toBe(7);
    expect(sample(text, "netmon_containers_monitored")).toBe(3);
    expect(sample(text, "netmon_docker_up")).toBe(1);
    expect(sample(text, 'netmon_packets_captured_total{interface="br-1"}')).toBe(10);
    expect(sample(text, 'netmon_packets_dropped_total{interface="br-1"}')).toBe(3);
    expect(
      sample(
        text,
        'netmon_alerts_active{detector="unexpected-outbound",severity="warning",container="web-1"}',
      ),
    ).toBe(1);
    expect(sample(text, 'netmon_detector_events_total{detector="unexpected-outbound"}')).toBe(5);
    expect(sample(text, 'netmon_alerts_suppressed_total{detector="unexpected-outbound"}')).toBe(4);
    // Node's default metrics are there, unprefixed.
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  // A counter fed from totals must follow growth and never go backwards when the source restarts.
  it("pulled counters add only growth", async () => {
    const { state, scrape } = setup();
    await scrape();
    state.events = 9;
    expect(sample(await scrape(), 'netmon_detector_events_total{detector="unexpected-outbound"}')).toBe(9);
    state.events = 2; // the source restarted its count
    expect(sample(await scrape(), 'netmon_detector_events_total{detector="unexpected-outbound"}')).toBe(9);
  });

  // A resolved alert's series (the only one with a container name) disappears.
  it("alerts_active follows the active alerts", async () => {
    const { state, scrape } = setup();
    state.active = [];
    expect(await scrape()).not.toMatch(/netmon_alerts_active\{/);
  });

  // Only fired transitions count as new alerts; repeats and resolutions do not.
  it("alerts_total counts fired alerts", async () => {
    const { metrics, scrape } = setup();
    const a = alert("db-1", "connection-burst");
    metrics.onAlert(a, "fired");
    metrics.onAlert(a, "repeated");
    metrics.onAlert(a, "resolved");
    expect(
      sample(await scrape(), 'netmon_alerts_total{detector="connection-burst",severity="warning"}'),
    ).toBe(1);
  });

  // Every finding is counted by what became of it: folded ones are not lost in the alert count.
  it("findings_total counts every finding by detector and outcome, growing with its source", async () => {
    const { state, scrape } = setup();
    let text = await scrape();
    const series = (outcome: string) =>
      `netmon_findings_total{detector="unexpected-outbound",outcome="${outcome}"}`;
    expect([
      sample(text, series("alert")),
      sample(text, series("folded")),
      sample(text, series("suppressed")),
    ]).toEqual([3, 37, 4]);
    state.findings = { "unexpected-outbound": { alert: 3, updated: 1, suppressed: 4, folded: 40 } };
    text = await scrape();
    expect(sample(text, series("folded"))).toBe(40);
    expect(sample(text, series("updated"))).toBe(1);
  });

  // Docker down must be visible to the alert rules.
  it("docker_up drops to 0 when Docker is unreachable", async () => {
    const { state, scrape } = setup();
    state.docker = false;
    expect(sample(await scrape(), "netmon_docker_up")).toBe(0);
  });

  it("connection verdicts and docker events are counted by label", async () => {
    const { metrics, scrape } = setup();
    metrics.connection("outbound", "unexpected");
    metrics.connection("outbound", "unexpected");
    metrics.dockerEvent("container");
    const text = await scrape();
    expect(sample(text, 'netmon_connections_total{direction="outbound",verdict="unexpected"}')).toBe(2);
    expect(sample(text, 'netmon_docker_events_total{type="container"}')).toBe(1);
  });

  // The exposition text is a contract for scrapers and rules: pin it exactly for a known sequence.
  it("prints exactly the expected text for a known sequence of events", async () => {
    const { metrics } = setup();
    metrics.onAlert(alert("web-1"), "fired");
    metrics.onAlert({ ...alert("web-1"), severity: "critical" }, "fired");
    metrics.onAlert(alert("web-1"), "resolved");
    metrics.blockAction("add", "ok");
    expect(await metrics.registry.getSingleMetricAsString("netmon_alerts_total")).toBe(
      [
        "# HELP netmon_alerts_total Alerts fired (an incident opened), by detector and severity.",
        "# TYPE netmon_alerts_total counter",
        'netmon_alerts_total{detector="unexpected-outbound",severity="warning"} 1',
        'netmon_alerts_total{detector="unexpected-outbound",severity="critical"} 1',
      ].join("\n"),
    );
    expect(await metrics.registry.getSingleMetricAsString("netmon_block_actions_total")).toBe(
      [
        "# HELP netmon_block_actions_total Firewall actions by action (add, remove, expire, setup) and result (ok, error, dry-run, refused).",
        "# TYPE netmon_block_actions_total counter",
        'netmon_block_actions_total{action="add",result="ok"} 1',
      ].join("\n"),
    );
    expect(await metrics.registry.getSingleMetricAsString("netmon_blocks_active")).toBe(
      [
        "# HELP netmon_blocks_active Blocks netmon holds in the firewall now (or would, in dry-run).",
        "# TYPE netmon_blocks_active gauge",
        "netmon_blocks_active 2",
      ].join("\n"),
    );
  });
});

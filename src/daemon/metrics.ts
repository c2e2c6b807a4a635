import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Alert, AlertSink, AlertTransition } from "../alerts/alert.js";
import type { CaptureStats } from "../capture/source.js";
import type { DetectorCounters } from "../detection/detection.js";

/** What the metrics read at scrape time: cheap snapshots, never the hot path. */
export interface MetricSources {
  captureStats(): CaptureStats[];
  flowsActive(): number;
  /** DNS cache entries now, and live entries dropped to make room since start (optional for tests). */
  dnsCache?(): { entries: number; evictions: number };
  containersMonitored(): number;
  dockerConnected(): boolean;
  activeAlerts(): Alert[];
  detectorCounters(): Record<string, DetectorCounters>;
  suppressed(): Record<string, number>;
  /** Every finding by detector and outcome (alert, updated, suppressed, folded): AlertManager.stats().findings. */
  findings?(): Record<string, Record<string, number>>;
  /** Direct Alertmanager push counters per peer URL (null when no push is configured). */
  alertmanagerStats(): {
    peers: { peer: string; sent: number; failed: number; dropped: number; queued: number }[];
  } | null;
  blocksActive(): number;
  /** Workloads that changed mode (learn → monitor at the end of learning, or a label change). */
  modeChanges(): number;
}

/**
 * A counter fed from cumulative totals read at scrape time: only the growth since the last scrape
 * is added, so the series never goes backwards even when a source restarts its own count.
 */
function pulledCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => { labels: Record<string, string>; value: number }[],
): Counter {
  const last = new Map<string, number>();
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const { labels, value } of read()) {
        const key = JSON.stringify(labels);
        const delta = value - (last.get(key) ?? 0);
        last.set(key, value);
        if (delta > 0) this.inc(labels, delta);
        else if (delta === 0) this.inc(labels, 0); // make the series exist from the first scrape
      }
    },
  });
}

/** prom-client default metrics whose names fail `promtool check metrics`. */
const DEFAULT_METRICS_FAILING_LINT = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
] as const;

/**
 * netmon's metrics on a registry of their own (prefix netmon_, names and labels as in DESIGN.md),
 * plus Node's default process metrics. IPs and ports never become labels; container names appear
 * only on netmon_alerts_active, whose series go away with the alert.
 */
export class NetmonMetrics implements AlertSink {
  readonly registry = new Registry();
  private readonly alertsTotal: Counter;
  private readonly connections: Counter;
  /** Children by direction and verdict (a few): prom-client hashes the labels of every inc() otherwise. */
  private readonly connectionChildren = new Map<string, Counter.Internal>();
  private readonly dockerEvents: Counter;
  private readonly latency: Histogram;
  private readonly blockActions: Counter;
  private readonly seeded: Counter;

  /**
   * `constantLabels` go on every series of the registry, those registered later by other parts
   * (posture, blocking) included: `metrics.hostLabel` puts `host` here (off by default, since
   * Prometheus tells the hosts apart by `instance` already).
   */
  constructor(sources: MetricSources, version: string, constantLabels: Record<string, string> = {}) {
    const r = this.registry;
    r.setDefaultLabels(constantLabels);
    collectDefaultMetrics({ register: r });
    // prom-client also exports these three gauges with a `_total` suffix, which `promtool check
    // metrics` rejects (a gauge is not a counter); the same numbers stay in nodejs_active_handles,
    // nodejs_active_requests and nodejs_active_resources (by type).
    for (const name of DEFAULT_METRICS_FAILING_LINT) r.removeSingleMetric(name);
    new Gauge({
      name: "netmon_build_info",
      help: "Always 1; the labels say which netmon and Node.js run.",
      labelNames: ["version", "nodejs"],
      registers: [r],
    }).set({ version, nodejs: process.version }, 1);
    this.alertsTotal = new Counter({
      name: "netmon_alerts_total",
      help: "Alerts fired (an incident opened), by detector and severity.",
      labelNames: ["detector", "severity"],
      registers: [r],
    });
    new Gauge({
      name: "netmon_alerts_active",
      help: "Alerts active now, by detector, severity and container name.",
      labelNames: ["detector", "severity", "container"],
      registers: [r],
      collect() {
        this.reset();
        for (const a of sources.activeAlerts()) {
          this.inc({ detector: a.detector, severity: a.severity, container: a.container.name });
        }
      },
    });
    this.connections = new Counter({
      name: "netmon_connections_total",
      help: "Connection attempts seen, by direction and policy verdict (allowed, unexpected, denylisted, learning, unattributed).",
      labelNames: ["direction", "verdict"],
      registers: [r],
    });
    this.seeded = new Counter({
      name: "netmon_connections_seeded_total",
      help: "TCP connections found open in containers' /proc/<pid>/net/tcp{,6}, by outcome: seeded (judged as new), skipped-known (already tracked), skipped-peer-side (inbound from a container read on its own side), over-limit (past capture.seedEstablished.maxPerContainer).",
      labelNames: ["outcome"],
      registers: [r],
    });
    for (const outcome of ["seeded", "skipped-known", "skipped-peer-side", "over-limit"])
      this.seeded.inc({ outcome }, 0);
    this.dockerEvents = new Counter({
      name: "netmon_docker_events_total",
      help: "Docker events received, by type.",
      labelNames: ["type"],
      registers: [r],
    });
    this.latency = new Histogram({
      name: "netmon_detection_latency_seconds",
      help: "Time from the packet that completed a finding to the alert being raised.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    pulledCounter(
      r,
      "netmon_packets_captured_total",
      "Packets received by libpcap, by interface.",
      ["interface"],
      () => sources.captureStats().map((s) => ({ labels: { interface: s.iface }, value: s.received })),
    );
    pulledCounter(
      r,
      "netmon_packets_dropped_total",
      "Packets lost before netmon judged them (kernel buffer or netmon's own queue full, or interface drops), by interface.",
      ["interface"],
      () =>
        sources
          .captureStats()
          .map((s) => ({ labels: { interface: s.iface }, value: s.dropped + s.ifDropped })),
    );
    const perDetector = (field: keyof DetectorCounters) => () =>
      Object.entries(sources.detectorCounters()).map(([detector, c]) => ({
        labels: { detector },
        value: c[field],
      }));
    pulledCounter(
      r,
      "netmon_detector_events_total",
      "Events given to each detector.",
      ["detector"],
      perDetector("events"),
    );
    pulledCounter(
      r,
      "netmon_detector_errors_total",
      "Events on which a detector threw.",
      ["detector"],
      perDetector("errors"),
    );
    pulledCounter(
      r,
      "netmon_detector_duration_seconds_total",
      "Time spent in each detector (events and ticks), as node_exporter reports per collector.",
      ["detector"],
      perDetector("seconds"),
    );
    pulledCounter(
      r,
      "netmon_alerts_suppressed_total",
      "Findings folded into an active alert without a new log line, by detector.",
      ["detector"],
      () =>
        Object.entries(sources.suppressed()).map(([detector, value]) => ({ labels: { detector }, value })),
    );
    pulledCounter(
      r,
      "netmon_findings_total",
      "Findings raised, by detector and outcome: alert (opened an incident), updated (grew its incident, with a line), suppressed (grew it silently), folded (joined a fan-out or connection-shape incident).",
      ["detector", "outcome"],
      () =>
        Object.entries(sources.findings?.() ?? {}).flatMap(([detector, byOutcome]) =>
          Object.entries(byOutcome).map(([outcome, value]) => ({ labels: { detector, outcome }, value })),
        ),
    );
    // One series per Alertmanager peer (`peer` = its URL, password redacted): a dead peer of a
    // cluster shows on its own instead of vanishing in a sum the live peers keep growing.
    const push = (field: "sent" | "failed" | "dropped" | "queued") => () =>
      (sources.alertmanagerStats()?.peers ?? []).map((p) => ({ labels: { peer: p.peer }, value: p[field] }));
    pulledCounter(
      r,
      "netmon_alertmanager_sent_total",
      "Alerts delivered to Alertmanager by the direct push, by peer.",
      ["peer"],
      push("sent"),
    );
    pulledCounter(
      r,
      "netmon_alertmanager_failed_total",
      "Failed pushes to Alertmanager (each retried), by peer.",
      ["peer"],
      push("failed"),
    );
    pulledCounter(
      r,
      "netmon_alertmanager_dropped_total",
      "Alerts dropped from a peer's push queue (Alertmanager unreachable too long, or rejected), by peer.",
      ["peer"],
      push("dropped"),
    );
    const queued = push("queued");
    new Gauge({
      name: "netmon_alertmanager_queued",
      help: "Alerts waiting to be pushed to an Alertmanager peer (bounded by alertmanager.maxQueue).",
      labelNames: ["peer"],
      registers: [r],
      collect() {
        this.reset();
        for (const { labels, value } of queued()) this.set(labels, value);
      },
    });
    pulledCounter(
      r,
      "netmon_workload_mode_changes_total",
      "Workloads that changed mode (learn to monitor when learning ends, or a label change).",
      [],
      () => [{ labels: {}, value: sources.modeChanges() }],
    );
    new Gauge({
      name: "netmon_blocks_active",
      help: "Blocks netmon holds in the firewall now (or would, in dry-run).",
      registers: [r],
      collect() {
        this.set(sources.blocksActive());
      },
    });
    this.blockActions = new Counter({
      name: "netmon_block_actions_total",
      help: "Firewall actions by action (add, remove, expire, setup) and result (ok, error, dry-run, refused).",
      labelNames: ["action", "result"],
      registers: [r],
    });
    new Gauge({
      name: "netmon_flows_active",
      help: "Flows in the flow table.",
      registers: [r],
      collect() {
        this.set(sources.flowsActive());
      },
    });
    new Gauge({
      name: "netmon_dns_cache_entries",
      help: "Entries (container + address) in the cache of DNS answers seen on the wire.",
      registers: [r],
      collect() {
        this.set(sources.dnsCache?.().entries ?? 0);
      },
    });
    pulledCounter(
      r,
      "netmon_dns_cache_evictions_total",
      "Live DNS cache entries dropped to make room (dns.maxEntries): names lost before they expired.",
      [],
      () => [{ labels: {}, value: sources.dnsCache?.().evictions ?? 0 }],
    );
    new Gauge({
      name: "netmon_containers_monitored",
      help: "Running containers netmon knows.",
      registers: [r],
      collect() {
        this.set(sources.containersMonitored());
      },
    });
    new Gauge({
      name: "netmon_docker_up",
      help: "1 when the Docker API answers and its event stream is followed, else 0.",
      registers: [r],
      collect() {
        this.set(sources.dockerConnected() ? 1 : 0);
      },
    });
  }

  onAlert(alert: Alert, transition: AlertTransition): void {
    if (transition !== "fired") return;
    this.alertsTotal.inc({ detector: alert.detector, severity: alert.severity });
    const lagSeconds = (Date.now() - alert.lastSeen) / 1000;
    if (lagSeconds >= 0 && lagSeconds < 3600) this.latency.observe(lagSeconds);
  }

  connection(direction: string, verdict: string): void {
    const key = `${direction} ${verdict}`;
    let child = this.connectionChildren.get(key);
    if (child === undefined) {
      child = this.connections.labels({ direction, verdict });
      this.connectionChildren.set(key, child);
    }
    child.inc();
  }

  blockAction(action: string, result: string): void {
    this.blockActions.inc({ action, result });
  }

  connectionsSeeded(
    outcome: "seeded" | "skipped-known" | "skipped-peer-side" | "over-limit",
    count: number,
  ): void {
    if (count > 0) this.seeded.inc({ outcome }, count);
  }

  dockerEvent(type: string): void {
    this.dockerEvents.inc({ type: type.slice(0, 32) });
  }
}

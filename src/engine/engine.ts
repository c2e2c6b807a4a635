import type { AlertDecider, AlertSink } from "../alerts/alert.js";
import { AlertManager, alertManagerOptions } from "../alerts/alert-manager.js";
import { LogAlertSink } from "../alerts/log-sink.js";
import type { Baseline } from "../baseline/baseline.js";
import type { RawPacketHandler } from "../capture/source.js";
import type { NetmonConfig } from "../config/schema.js";
import { RateProfiles } from "../counting/rate-profiles.js";
import { loadDenylist } from "../detection/denylist.js";
import { Detection } from "../detection/detection.js";
import { Policy } from "../detection/policy.js";
import type { ProcConnection } from "../flows/proc-connection.js";
import type { TopologyGraph } from "../graph/model.js";
import { edgeVerdictOf } from "../graph/verdict.js";
import type { ContainerInfo, IpResolver } from "../inventory/types.js";
import { judgeAttempt } from "../model/detector-api.js";
import type { ListenerEvent, NetmonEvent } from "../model/events.js";
import type { CidrSet } from "../net/cidr.js";
import { runsDnsServer } from "../rules/dns-server-label.js";
import type { Logger } from "../util/logger.js";
import { logEvent } from "./event-log.js";
import { PacketClock } from "./packet-clock.js";
import { Pipeline } from "./pipeline.js";
import { connectionVerdictLabel } from "./verdict-label.js";

/** Something told every event after detection (the topology map, the posture auditor). */
export interface EventObserver {
  onEvent(ev: NetmonEvent): void;
}

export interface EngineOptions {
  config: NetmonConfig;
  /** Who held an IP when, and each container's details (labels, networks) for the policy. */
  containers: IpResolver & { get(id: string): ContainerInfo | undefined };
  baseline: Baseline;
  /** The detectors' rolling rate profiles, as the daemon loaded them; a new, empty store otherwise. */
  rateProfiles?: RateProfiles;
  log: Logger;
  /** Log every connection and listener event as one JSON line. */
  logEvents: boolean;
  /** The decide stage (the blocker): sets each alert's action before any sink hears of it. */
  decider?: AlertDecider | null;
  /** Passive alert sinks after the log sink, in this order (metrics, Alertmanager push). */
  sinks?: readonly AlertSink[];
  /** Told the direction and verdict of every connection attempt (netmon_connections_total). */
  onConnectionVerdict?: (direction: string, verdict: string) => void;
  /** The topology map: observes every connection event with its edge verdict. */
  graph?: Pick<TopologyGraph, "observe"> | null;
  /** Further observers of every event (the posture auditor), after detection and the map. */
  observers?: readonly EventObserver[];
}

/**
 * The one engine behind `netmon run` and `netmon replay`: packets → decode → DNS → flows → events;
 * each attempt judged once by the policy; then learner → detectors → alerts (decide, then sinks), the
 * map and the other observers, in that fixed order. Time is packet time for all of it: every
 * TICK_EVERY_MS of packet time the engine runs flow timeouts, DNS cache sweeps, detector ticks and
 * alert resolutions, so a replay logs the same lines, in the same order, as the daemon would have.
 */
export class Engine {
  readonly policy: Policy;
  readonly pipeline: Pipeline;
  readonly detection: Detection;
  readonly alerts: AlertManager;
  /** Rate profiles per workload and destination (connection-burst): outlive SIGHUP, saved by the daemon. */
  readonly rateProfiles: RateProfiles;
  readonly clock = new PacketClock();
  /** Events fanned out since start. */
  events = 0;
  /** Event time of the latest event (ms); -Infinity before any. */
  lastEventMs = Number.NEGATIVE_INFINITY;
  private readonly opts: EngineOptions;
  /** opts.observers, or none: read once, not an empty array made per event. */
  private readonly observers: readonly EventObserver[];
  private logEvents: boolean;

  constructor(opts: EngineOptions, denylist: CidrSet | null) {
    this.opts = opts;
    const { config, log } = opts;
    this.logEvents = opts.logEvents;
    this.observers = opts.observers ?? [];
    this.rateProfiles = opts.rateProfiles ?? new RateProfiles();
    this.policy = new Policy({
      config,
      containers: opts.containers,
      baseline: opts.baseline,
      denylist,
      warn: (m) => log.warn(m),
      rateProfiles: this.rateProfiles,
    });
    const logSink = new LogAlertSink(log, config.alerts.logLinesPerSecond, config.alerts.logLineBurst);
    this.alerts = new AlertManager([logSink, ...(opts.sinks ?? [])], {
      ...alertManagerOptions(config.alerts),
      decide: opts.decider ?? null,
      onSinkError: (err) => log.error({ err: String(err) }, "alert sink failed"),
    });
    // While a connection-burst alert of a container is active, nothing of it is learned.
    this.detection = new Detection(
      config.detectors,
      this.policy,
      opts.baseline,
      this.alerts,
      log,
      config.alerts.resolveAfterSeconds * 1000,
    );
    this.pipeline = new Pipeline(config, opts.containers, (ev) => this.onEvent(ev));
  }

  /** A packet handler for one capture interface ("file" in replay): the clock ticks on packet time. */
  handlerFor(iface: string): RawPacketHandler {
    const decode = this.pipeline.handlerFor(iface);
    const clock = this.clock;
    return (buf, start, caplen, wireLength, tsMs, linkType) => {
      if (clock.due(tsMs)) this.tick(tsMs);
      decode(buf, start, caplen, wireLength, tsMs, linkType);
    };
  }

  /**
   * A listener event from the /proc scan: through the same fan-out as connection events; the flow
   * tracker learns the port, to tell who answers in connections whose opening it did not see.
   */
  listener(ev: ListenerEvent): void {
    this.pipeline.listening.apply(ev);
    this.onEvent(ev);
  }

  /**
   * The connections a container had open before netmon watched it (its /proc/<pid>/net/tcp{,6}):
   * each one the flow table does not hold yet becomes a mid-stream flow with `source: "proc"`, its
   * attempt judged like any other. The clock first moves to `nowMs` (the daemon's wall clock behind
   * the capture, as its quiet-traffic tick), and the events take the engine's time, never packet
   * time of the past. Returns how many were seeded and how many the table already held.
   */
  seedConnections(connections: readonly ProcConnection[], nowMs: number): { seeded: number; known: number } {
    this.tick(nowMs);
    const ts = this.clock.now;
    const counts = { seeded: 0, known: 0 };
    if (!Number.isFinite(ts)) return counts;
    for (const c of connections) {
      if (this.pipeline.seed(c, ts)) counts.seeded++;
      else counts.known++;
    }
    return counts;
  }

  /**
   * Runs everything due by `nowMs`: flow timeouts and DNS sweeps, detector ticks, alert resolutions.
   * Packet time calls it; the daemon also calls it from the wall clock when no packet arrives.
   */
  tick(nowMs: number): void {
    if (!this.clock.advance(nowMs)) return;
    this.pipeline.tick(nowMs);
    this.detection.tick(nowMs);
  }

  /**
   * End of a replay: pending flows time out as they would have, then one last tick at the time of the
   * latest event, so what the daemon would have resolved by then is resolved.
   */
  finish(): void {
    this.pipeline.finish();
    if (Number.isFinite(this.lastEventMs)) this.tick(this.lastEventMs);
  }

  /** SIGHUP: a new (validated) config and denylist for the policy, the detectors and the event log. */
  reconfigure(config: NetmonConfig, denylist: CidrSet | null, logEvents: boolean): void {
    this.policy.update(config, denylist);
    this.detection.reconfigure(config.detectors);
    this.logEvents = logEvents;
  }

  private onEvent(ev: NetmonEvent): void {
    this.policy.eventStarted();
    try {
      this.fanOut(ev);
    } finally {
      this.policy.eventEnded();
    }
  }

  /** One event through every stage, in the fixed order (see the class comment). */
  private fanOut(ev: NetmonEvent): void {
    this.events++;
    if (ev.ts > this.lastEventMs) this.lastEventMs = ev.ts;
    // Judged here, like a verdict, so dns-abuse stays pure (its labels are read by the inventory).
    if (ev.kind === "dns" && runsDnsServer(this.opts.containers.get(ev.container.id))) ev.dnsServer = true;
    if (ev.kind === "connection" && ev.state === "attempt" && ev.src.container !== null) {
      ev.verdict = judgeAttempt(this.policy, ev.src.container, ev);
      // Names that let the attempt through outlive their answer while the client keeps using them.
      this.pipeline.judged(ev);
    }
    if (this.logEvents) logEvent(this.opts.log, ev);
    if (ev.kind === "connection" && ev.state === "attempt")
      this.opts.onConnectionVerdict?.(ev.direction, connectionVerdictLabel(ev.verdict));
    this.detection.onEvent(ev);
    const graph = this.opts.graph;
    if (graph && ev.kind === "connection")
      graph.observe(ev, ev.state === "attempt" ? edgeVerdictOf(ev.verdict) : undefined);
    for (const o of this.observers) o.onEvent(ev);
  }
}

/** Reads the configured denylist (logging what it skipped), or null when none is configured. */
export function loadConfiguredDenylist(config: NetmonConfig, log: Logger): CidrSet | null {
  if (config.policy.denylistFile === null) return null;
  const loaded = loadDenylist(config.policy.denylistFile);
  for (const e of loaded.errors) log.warn(e);
  log.info({ file: config.policy.denylistFile, entries: loaded.entries }, "denylist loaded");
  return loaded.set;
}

/** Builds the engine for `netmon run` and `netmon replay` alike (the denylist read from the config). */
export function buildEngine(opts: EngineOptions): Engine {
  return new Engine(opts, loadConfiguredDenylist(opts.config, opts.log));
}

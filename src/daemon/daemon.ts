// Long on purpose: the one place that wires every part of the daemon and owns its timers and handles.
import { accessSync, constants, mkdirSync, renameSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { AlertmanagerSink } from "../alerts/alertmanager-sink.js";
import type { Baseline } from "../baseline/baseline.js";
import { applyQueuedBaselineRequests } from "../baseline/baseline-requests.js";
import { BaselineFileError, loadBaseline, saveBaseline } from "../baseline/baseline-store.js";
import { Blocker } from "../block/blocker.js";
import { recordingRunner } from "../block/dry-run.js";
import { runCommand } from "../block/exec.js";
import { Firewall } from "../block/firewall.js";
import { CAPTURE_FILTER } from "../capture/bpf-filter.js";
import { CaptureManager } from "../capture/capture-manager.js";
import { sectionsNeedingRestart } from "../config/config-doc.js";
import { configSchema, type NetmonConfig } from "../config/schema.js";
import { loadRateProfilesKeepingCorruptFile, saveRateProfiles } from "../counting/rate-profiles-file.js";
import { buildEngine, type Engine, loadConfiguredDenylist } from "../engine/engine.js";
import { TICK_EVERY_MS } from "../engine/packet-clock.js";
import { containerDetails } from "../graph/details.js";
import { TopologyGraph } from "../graph/model.js";
import { hostAddressesOf } from "../graph/node-keys.js";
import { DockerInventory } from "../inventory/docker-inventory.js";
import { Inventory } from "../inventory/inventory.js";
import { ListenerScanner } from "../listeners/listener-scanner.js";
import { scheduleListenerScan } from "../listeners/listener-schedule.js";
import { PostureAuditor } from "../posture/auditor.js";
import { registerPostureMetrics } from "../posture/metrics.js";
import { explainDockerError, NetmonError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { CAP_NET_ADMIN, CAP_NET_RAW, hasCapability } from "./capabilities.js";
import { startHttpServer } from "./http-server.js";
import { NetmonMetrics } from "./metrics.js";

export interface DaemonOptions {
  config: NetmonConfig;
  version: string;
  log: Logger;
  /** Log every connection and listener event (`run --log-events`, or log.events in the config). */
  logEvents: boolean;
}

/** How often the daemon checks whether traffic is quiet enough for the wall clock to tick the engine. */
const FALLBACK_CHECK_MS = 250;
const RECONCILE_MS = 10_000;

/**
 * Wires the live pipeline: Docker inventory → captures on the bridges → decode/flows → events,
 * plus the scheduled listener scan. Owns every timer and handle, and releases them on stop().
 */
export class Daemon {
  readonly inventory = new Inventory();
  /** The one engine (shared with replay): pipeline, policy, detection, alerts, on packet time. */
  readonly engine: Engine;
  readonly docker: DockerInventory;
  readonly captures: CaptureManager;
  readonly baseline: Baseline;
  private readonly baselinePath: string;
  /** stateDir/rate-profiles.json: connection-burst's rate profiles, saved with the baseline. */
  private readonly rateProfilesPath: string;
  readonly metrics: NetmonMetrics;
  readonly posture: PostureAuditor;
  readonly push: AlertmanagerSink | null;
  readonly blocker: Blocker | null;
  /** Who talked to whom over the last 15 min: fed by every connection event, drawn by /ui and `netmon graph`. */
  readonly graph = new TopologyGraph();
  private http: Server | null = null;
  private readonly scanner: ListenerScanner;
  private timers: NodeJS.Timeout[] = [];
  private schedule: { stop(): void } | null = null;
  private stopped = false;

  constructor(private readonly opts: DaemonOptions) {
    const { config, log } = opts;
    this.baselinePath = join(config.stateDir, "baseline.json");
    this.baseline = this.loadBaselineKeepingCorruptFile();
    // What `netmon baseline forget|reset` queued while no daemon ran.
    applyQueuedBaselineRequests(config.stateDir, this.baseline, log, "start");
    this.blocker = this.createBlocker();
    const client = new Dockerode({ socketPath: config.docker.socketPath });
    this.docker = new DockerInventory(this.inventory, client, log, config.docker);
    this.posture = new PostureAuditor({
      docker: client,
      log,
      intervalMs: 5 * 60_000,
      baseline: this.baseline,
      learnForMs: () => this.opts.config.baseline.learnForSeconds * 1000,
    });
    const am = config.alertmanager;
    this.push =
      am.urls.length === 0
        ? null
        : new AlertmanagerSink({
            urls: am.urls,
            resendIntervalMs: am.resendIntervalSeconds * 1000,
            timeoutMs: am.timeoutSeconds * 1000,
            maxQueue: am.maxQueue,
            host: hostname(),
            log,
          });
    // The metrics read the engine lazily, at scrape time (it is built just below).
    this.metrics = new NetmonMetrics(
      {
        captureStats: () => this.captures.stats(),
        flowsActive: () => this.engine.pipeline.tracker.size,
        dnsCache: () => ({
          entries: this.engine.pipeline.dns.size,
          evictions: this.engine.pipeline.dns.evictions,
        }),
        containersMonitored: () => this.inventory.running().length,
        dockerConnected: () => this.docker.connected,
        // A removed container's alerts leave the metrics at once (they still resolve in the log).
        activeAlerts: () =>
          this.engine.alerts.active().filter((a) => this.inventory.get(a.container.id) !== undefined),
        detectorCounters: () => this.engine.detection.counters(),
        suppressed: () => this.engine.alerts.stats().suppressed,
        findings: () => this.engine.alerts.stats().findings,
        alertmanagerStats: () => this.push?.stats() ?? null,
        blocksActive: () => this.blocker?.active().length ?? 0,
        modeChanges: () => this.engine.detection.modeSwitches,
      },
      opts.version,
    );
    this.rateProfilesPath = join(config.stateDir, "rate-profiles.json");
    this.engine = buildEngine({
      config,
      containers: this.inventory,
      baseline: this.baseline,
      // A corrupt file is moved aside, never a reason not to start: rates are learned again.
      rateProfiles: loadRateProfilesKeepingCorruptFile(
        this.rateProfilesPath,
        (message, movedTo) => log.error({ movedTo }, message),
        Date.now(),
      ),
      log,
      logEvents: opts.logEvents,
      decider: this.blocker,
      // Passive sinks after the log line: metrics, then the Alertmanager push (DESIGN.md).
      sinks: this.push ? [this.metrics, this.push] : [this.metrics],
      onConnectionVerdict: (direction, verdict) => this.metrics.connection(direction, verdict),
      graph: this.graph,
      observers: [this.posture],
    });
    this.captures = new CaptureManager(
      { filter: CAPTURE_FILTER, ...config.capture },
      (iface) => this.engine.handlerFor(iface),
      log,
    );
    registerPostureMetrics(this.metrics.registry, () => this.posture.findings());
    this.docker.on("dockerEvent", (type) => this.metrics.dockerEvent(type));
    this.scanner = new ListenerScanner({
      readFile: (path) => readFile(path, "utf8"),
      maxSocketsPerContainer: config.listeners.maxPerContainer,
    });
  }

  /** Starts everything; throws a NetmonError (one clear line) when a prerequisite is missing. */
  async start(): Promise<void> {
    const { config, log } = this.opts;
    if (!hasCapability(CAP_NET_RAW)) {
      throw new NetmonError(
        "netmon needs CAP_NET_RAW to capture packets: run it as root or grant the capability (see systemd/netmon.service)",
      );
    }
    if (config.blocking.mode === "enforce" && !hasCapability(CAP_NET_ADMIN)) {
      throw new NetmonError("blocking.mode enforce needs CAP_NET_ADMIN: grant it, or use dry-run or off");
    }
    try {
      mkdirSync(config.stateDir, { recursive: true });
      accessSync(config.stateDir, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new NetmonError(
        `state directory ${config.stateDir} is not writable (${code}): set stateDir or fix its permissions`,
      );
    }
    if (config.http.enabled) {
      this.http = await startHttpServer(config.http.listen, config.http.port, {
        metrics: async () => ({
          contentType: this.metrics.registry.contentType,
          body: await this.metrics.registry.metrics(),
        }),
        readiness: () => this.readiness(),
        graph: {
          snapshot: () =>
            this.graph.snapshot(Date.now(), {
              alerts: this.engine.alerts.active(),
              blocks: this.blocker?.active() ?? [],
            }),
          container: (id) =>
            containerDetails(id, {
              containers: this.inventory,
              policy: this.engine.policy,
              baseline: this.baseline,
              alerts: this.engine.alerts,
              blocks: this.blocker,
              learnForMs: this.opts.config.baseline.learnForSeconds * 1000,
              now: Date.now,
            }),
        },
      });
    }
    try {
      await this.docker.start();
    } catch (err) {
      this.docker.stop();
      this.http?.close();
      throw new NetmonError(explainDockerError(config.docker.socketPath, err));
    }
    this.docker.on("changed", () => this.reconcileCaptures());
    // The host is the gateway of every Docker network (what containers see of it).
    this.graph.setHostAddresses(hostAddressesOf(this.inventory.all()));
    this.docker.on("changed", () => this.graph.setHostAddresses(hostAddressesOf(this.inventory.all())));
    if (this.blocker) {
      try {
        this.blocker.start();
      } catch (err) {
        this.docker.stop();
        this.http?.close();
        throw new NetmonError(`blocking (${config.blocking.mode}) cannot start: ${(err as Error).message}`);
      }
      this.docker.on("changed", () => this.blocker?.onInventoryChange());
    }
    this.docker.on("status", (up) =>
      log.info({ connected: up }, up ? "Docker reachable" : "Docker unreachable"),
    );
    if (config.capture.interfaces === "auto") this.reconcileCaptures();
    else this.captures.openOrThrow(config.capture.interfaces);

    this.schedule = scheduleListenerScan(config.listeners.schedule, () => this.scanListeners(), {
      onError: (err) => log.warn({ err: String(err) }, "listener scan failed"),
      onSkip: () => log.warn("listener scan still running at the next tick; skipped one"),
    });
    void this.scanListeners();
    this.posture.start();
    // Packet time drives the engine's clock; only when no packet has moved it for a tick's worth of
    // time does the wall clock stand in, a little behind so packets still in the kernel buffer are
    // never overtaken.
    const lagMs = config.capture.bufferTimeoutMs + 50;
    this.timers.push(
      setInterval(() => {
        const now = Date.now() - lagMs;
        if (now - this.engine.clock.now >= TICK_EVERY_MS) this.engine.tick(now);
      }, FALLBACK_CHECK_MS),
    );
    this.timers.push(
      setInterval(() => {
        applyQueuedBaselineRequests(config.stateDir, this.baseline, log, "save timer");
        this.saveBaseline();
        this.saveRateProfiles();
      }, config.baseline.saveIntervalSeconds * 1000),
    );
    this.timers.push(
      setInterval(() => {
        if (config.capture.interfaces === "auto") this.reconcileCaptures();
        this.inventory.index.prune(Date.now());
        this.blocker?.reconcile();
      }, RECONCILE_MS),
    );
    log.info({ detectors: this.engine.detection.status() }, "detectors ready");
    log.info(
      {
        containers: this.inventory.running().length,
        interfaces: this.captures.interfaces(),
        mode: config.mode,
      },
      "netmon started",
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.schedule?.stop();
    this.posture.stop();
    this.docker.stop();
    this.captures.closeAll();
    this.engine.tick(Date.now());
    this.saveBaseline();
    this.saveRateProfiles();
    this.blocker?.stop();
    await this.push?.close();
    this.http?.close();
    this.http?.closeAllConnections();
  }

  /**
   * SIGHUP: applies a new, already validated config. Policy, denylist, detector options and log
   * level change at once; what needs new sockets or files (capture, Docker, HTTP, state, blocking,
   * Alertmanager) is reported and waits for a restart. Throws (keeping the old config) when the
   * new denylist cannot be read.
   */
  reload(config: NetmonConfig): { applied: string[]; needRestart: string[] } {
    const running = this.opts.config;
    // The same reading (and warnings) as at start; throws, keeping the old config, when unreadable.
    const denylist = loadConfiguredDenylist(config, this.opts.log);
    const restartKeys = sectionsNeedingRestart();
    const differs = (k: keyof NetmonConfig) => JSON.stringify(running[k]) !== JSON.stringify(config[k]);
    // Compared with what runs, not with the last file read: a change that waits for a restart is
    // reported at every SIGHUP until then.
    const needRestart = restartKeys.filter(differs);
    const applied = (Object.keys(configSchema.shape) as (keyof NetmonConfig)[]).filter(
      (k) => !restartKeys.includes(k) && differs(k),
    );
    // What needs a restart keeps its running value until then.
    const effective: NetmonConfig = { ...config };
    for (const k of restartKeys) Object.assign(effective, { [k]: running[k] });
    this.engine.reconfigure(effective, denylist, this.opts.logEvents);
    applyQueuedBaselineRequests(running.stateDir, this.baseline, this.opts.log, "SIGHUP");
    this.opts.log.info({ detectors: this.engine.detection.status() }, "detectors reconfigured");
    this.opts.log.level = effective.log.level;
    this.opts.config = effective;
    return { applied, needRestart };
  }

  /** Ready = Docker answers and every wanted interface is being captured. */
  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (!this.docker.connected) reasons.push("Docker is unreachable");
    if (!this.captures.healthy()) reasons.push("capture failed on some interface");
    if (this.stopped) reasons.push("stopping");
    return { ready: reasons.length === 0, reasons };
  }

  private createBlocker(): Blocker | null {
    const { config, log } = this.opts;
    const mode = config.blocking.mode;
    if (mode === "off") return null;
    const dryRun = mode === "dry-run";
    return new Blocker({
      config: config.blocking,
      containers: this.inventory,
      firewall: new Firewall(dryRun ? recordingRunner(log) : runCommand, config.blocking.durationSeconds),
      dryRun,
      modeOf: (container, ts) => this.engine.policy.modeOf(container, ts),
      resolvers: config.policy.dnsResolvers,
      statePath: join(config.stateDir, "blocks.json"),
      log,
      onAction: (action, result) => this.metrics.blockAction(action, result),
    });
  }

  /**
   * A corrupt baseline must not stop the daemon, nor be overwritten: it is moved aside (and the
   * error logged) and learning starts again.
   */
  private loadBaselineKeepingCorruptFile(): Baseline {
    const { config, log } = this.opts;
    try {
      return loadBaseline(this.baselinePath, config.baseline.maxEntriesPerWorkload);
    } catch (err) {
      if (!(err instanceof BaselineFileError)) throw err;
      const aside = `${this.baselinePath}.corrupt-${Date.now()}`;
      try {
        renameSync(this.baselinePath, aside);
      } catch {
        throw new NetmonError(`${err.message}; cannot move it aside either`);
      }
      log.error({ movedTo: aside }, `${err.message}; starting a new baseline`);
      return loadBaseline(this.baselinePath, config.baseline.maxEntriesPerWorkload);
    }
  }

  private saveBaseline(): void {
    if (!this.baseline.dirty) return;
    try {
      saveBaseline(this.baselinePath, this.baseline);
    } catch (err) {
      this.opts.log.error({ path: this.baselinePath, err: String(err) }, "cannot save the baseline");
    }
  }

  private saveRateProfiles(): void {
    try {
      saveRateProfiles(this.rateProfilesPath, this.engine.rateProfiles);
    } catch (err) {
      this.opts.log.error({ path: this.rateProfilesPath, err: String(err) }, "cannot save the rate profiles");
    }
  }

  private reconcileCaptures(): void {
    if (this.stopped || this.opts.config.capture.interfaces !== "auto") return;
    this.captures.reconcile(this.inventory.activeBridges());
  }

  private async scanListeners(): Promise<void> {
    const targets = this.inventory
      .running()
      // A host-network container's /proc/<pid>/net is the host's: its sockets are not the container's.
      .filter((c) => c.pid > 0 && c.networkMode !== "host")
      .map((c) => ({ ref: c.ref, pid: c.pid }));
    const result = await this.scanner.scan(targets, Date.now());
    for (const ev of result.events) this.engine.listener(ev);
    for (const e of result.errors)
      this.opts.log.debug({ container: e.containerId, error: e.message }, "listener scan");
  }
}

// Long on purpose: the one place that wires every part of the daemon and owns its timers and handles.
import { renameSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import { externalBaseUrl } from "../alerts/alertmanager-payload.js";
import { AlertmanagerSink } from "../alerts/alertmanager-sink.js";
import type { Baseline } from "../baseline/baseline.js";
import { applyQueuedBaselineRequests } from "../baseline/baseline-requests.js";
import { BaselineFileError, loadBaseline, saveBaseline } from "../baseline/baseline-store.js";
import { type BlockMetrics, registerBlockMetrics } from "../block/block-metrics.js";
import { Blocker } from "../block/blocker.js";
import { recordingRunner } from "../block/dry-run.js";
import { runCommand } from "../block/exec.js";
import { Firewall } from "../block/firewall.js";
import { probeFirewall } from "../block/firewall-probe.js";
import { CAPTURE_FILTER } from "../capture/bpf-filter.js";
import { CaptureManager } from "../capture/capture-manager.js";
import { hostOf } from "../config/fleet-schema.js";
import { planReload } from "../config/reload-plan.js";
import type { NetmonConfig } from "../config/schema.js";
import { loadRateProfilesKeepingCorruptFile, saveRateProfiles } from "../counting/rate-profiles-file.js";
import { buildEngine, type Engine, loadConfiguredDenylist } from "../engine/engine.js";
import { EventFileWriter } from "../engine/event-file.js";
import { TICK_EVERY_MS } from "../engine/packet-clock.js";
import { ConnectionLedger } from "../explain/connection-ledger.js";
import { containerDetails } from "../graph/details.js";
import { TopologyGraph } from "../graph/model.js";
import { hostAddressesOf } from "../graph/node-keys.js";
import { DockerSocketClient } from "../inventory/docker-api.js";
import { DockerInventory } from "../inventory/docker-inventory.js";
import { Inventory } from "../inventory/inventory.js";
import type { ContainerInfo } from "../inventory/types.js";
import { ConnectionSeeder } from "../listeners/connection-seeder.js";
import { ListenerScanner, type ScanTarget } from "../listeners/listener-scanner.js";
import { scheduleListenerScan } from "../listeners/listener-schedule.js";
import { PostureAuditor } from "../posture/auditor.js";
import { registerPostureMetrics } from "../posture/metrics.js";
import { explainDockerError, NetmonError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { daemonExplainDeps, withConnections } from "./explain-routes.js";
import { startHttpServer } from "./http-server.js";
import { NetmonMetrics } from "./metrics.js";
import { checkPrerequisites } from "./prerequisites.js";
import { ProcessNaming } from "./process-naming.js";
import { startupLine } from "./startup-line.js";
import { StatusMetrics } from "./status-metrics.js";

export interface DaemonOptions {
  config: NetmonConfig;
  version: string;
  log: Logger;
  /** Log every connection and listener event (`run --log-events`, or log.events in the config). */
  logEvents: boolean;
  /** The config file in use; absent for the embedded defaults (named in the start-up line). */
  configPath?: string;
}

/** How often the daemon checks whether traffic is quiet enough for the wall clock to tick the engine. */
const FALLBACK_CHECK_MS = 250;
const RECONCILE_MS = 10_000;

/** A host-network container's /proc/<pid>/net is the host's: its sockets are not the container's. */
function hasOwnProcNet(c: ContainerInfo): boolean {
  return c.pid > 0 && c.networkMode !== "host";
}

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
  /** Workloads by mode, baseline size, config reload outcome. */
  readonly status: StatusMetrics;
  readonly posture: PostureAuditor;
  readonly push: AlertmanagerSink | null;
  /** log.events into log.eventsFile.path (rotated) instead of the log stream; null otherwise. */
  private readonly eventFile: EventFileWriter | null;
  readonly blocker: Blocker | null;
  /** netmon_block_backend_ok and netmon_block_repairs_total (blocking not off). */
  private blockMetrics: BlockMetrics | null = null;
  /** Who talked to whom over the last 15 min: fed by every connection event, drawn by /ui and `netmon graph`. */
  readonly graph = new TopologyGraph();
  /** Recent destinations per container with their verdicts: `netmon explain` and /api/container/<id>. */
  readonly ledger = new ConnectionLedger();
  private http: Server | null = null;
  private readonly scanner: ListenerScanner;
  /** Names the process behind listeners and connection alerts (processes.enabled). */
  private readonly processes: ProcessNaming;
  /** Connections open before netmon watched a container, read from /proc to seed the flow table. */
  private readonly seeder: ConnectionSeeder;
  private timers: NodeJS.Timeout[] = [];
  private schedule: { stop(): void } | null = null;
  private stopped = false;

  constructor(private readonly opts: DaemonOptions) {
    const { config, log } = opts;
    // The `host` setting, read once: the push, the events file and the metrics name the same host.
    const host = hostOf(config);
    // Before any file is touched: capabilities, then the state directory (README, Troubleshooting).
    checkPrerequisites(config);
    this.baselinePath = join(config.stateDir, "baseline.json");
    this.baseline = this.loadBaselineKeepingCorruptFile();
    // What `netmon baseline forget|reset` queued while no daemon ran.
    applyQueuedBaselineRequests(config.stateDir, this.baseline, log, "start");
    this.blocker = this.createBlocker();
    const client = new DockerSocketClient(config.docker.socketPath);
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
            host,
            baseUrl: externalBaseUrl(config.alerts.externalUrl, config.http.listen, config.http.port),
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
      config.metrics.hostLabel ? { host } : {},
    );
    this.rateProfilesPath = join(config.stateDir, "rate-profiles.json");
    const eventsPath = config.log.eventsFile.path;
    this.eventFile =
      opts.logEvents && eventsPath !== null
        ? new EventFileWriter({ ...config.log.eventsFile, path: eventsPath }, log, { host })
        : null;
    this.processes = new ProcessNaming(config.processes, this.metrics.registry, {
      pidOf: (id) => this.runningPid(id),
      annotate: (fingerprint, details) => this.engine.alerts.annotate(fingerprint, details),
    });
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
      logEvents: this.eventsToLogStream(),
      decider: this.blocker,
      // Passive sinks after the log line: metrics, then the Alertmanager push (DESIGN.md).
      sinks: [...(this.push ? [this.metrics, this.push] : [this.metrics]), ...this.processes.sinks],
      onConnectionVerdict: (direction, verdict) => this.metrics.connection(direction, verdict),
      graph: this.graph,
      observers: this.eventFile ? [this.posture, this.ledger, this.eventFile] : [this.posture, this.ledger],
    });
    this.captures = new CaptureManager(
      { filter: CAPTURE_FILTER, ...config.capture },
      (iface) => this.engine.handlerFor(iface),
      log,
    );
    registerPostureMetrics(this.metrics.registry, () => this.posture.findings());
    if (config.blocking.mode !== "off")
      this.blockMetrics = registerBlockMetrics(this.metrics.registry, config.blocking.mode);
    this.status = new StatusMetrics(this.metrics.registry, {
      running: () => this.inventory.running().map((c) => c.ref),
      workloadOf: (ref) => this.engine.policy.workloadOf(ref),
      modeOf: (ref, ts) => this.engine.policy.modeOf(ref, ts),
      baselineEntries: () => this.baselineEntryCounts(),
    });
    this.docker.on("dockerEvent", (type) => this.metrics.dockerEvent(type));
    this.scanner = new ListenerScanner({
      readFile: (path) => readFile(path, "utf8"),
      maxSocketsPerContainer: config.listeners.maxPerContainer,
      owners: this.processes.owners,
    });
    this.seeder = new ConnectionSeeder({
      readFile: (path) => readFile(path, "utf8"),
      maxPerContainer: config.capture.seedEstablished.maxPerContainer,
      readablePeer: (ip) => {
        const ref = this.inventory.index.lookup(ip, Date.now());
        const peer = ref === null ? undefined : this.inventory.get(ref.id);
        return peer?.running === true && hasOwnProcNet(peer);
      },
    });
  }

  /** Starts everything; throws a NetmonError (one clear line) when a prerequisite is missing. */
  async start(): Promise<void> {
    const { config, log } = this.opts;
    if (config.http.enabled) {
      const explain = daemonExplainDeps({
        engine: this.engine,
        inventory: this.inventory,
        baseline: this.baseline,
        ledger: this.ledger,
        config: () => this.opts.config,
      });
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
              running: (id) => this.inventory.get(id)?.running === true,
            }),
          container: (id) =>
            withConnections(
              containerDetails(id, {
                containers: this.inventory,
                policy: this.engine.policy,
                baseline: this.baseline,
                alerts: this.engine.alerts,
                blocks: this.blocker,
                learnForMs: this.opts.config.baseline.learnForSeconds * 1000,
                now: Date.now,
              }),
              explain.sources,
            ),
        },
        explain,
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
      // node-cron's own lines (a tick late because the event loop was busy) as JSON log lines, not
      // coloured text on stderr.
      logger: {
        info: (message) => log.info({ component: "node-cron" }, message),
        warn: (message) => log.warn({ component: "node-cron" }, message),
        error: (message, err) =>
          log.error({ component: "node-cron", err: String(err ?? "") }, String(message)),
        debug: (message, err) =>
          log.debug({ component: "node-cron", err: String(err ?? "") }, String(message)),
      },
    });
    this.background(this.scanListeners(), "listener scan failed");
    // Connections open before netmon watched a container: now, for each container that starts, and
    // for all again once Docker is back (what ran meanwhile was not watched).
    this.docker.on("changed", () => this.background(this.seedConnections(), "seeding from /proc failed"));
    this.docker.on("status", (up) => {
      if (!up) return;
      this.seeder.reset();
      this.background(this.seedConnections(), "seeding from /proc failed");
    });
    this.background(this.seedConnections(), "seeding from /proc failed");
    this.posture.start();
    // Packet time drives the engine's clock; only when no packet has moved it for a tick's worth of
    // time does the wall clock stand in, a little behind so packets still in the kernel buffer are
    // never overtaken.
    this.timers.push(
      setInterval(() => {
        const now = this.wallClockBehindCapture();
        // Never past packets still queued for the pipeline: they move the clock themselves.
        if (now - this.engine.clock.now >= TICK_EVERY_MS && this.captures.backlog() === 0)
          this.engine.tick(now);
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
    // Puts netmon's jump back when Docker or `firewall-cmd --reload` removed or pushed it down.
    if (this.blocker)
      this.timers.push(
        setInterval(() => this.blocker?.checkFirewall(), config.blocking.reconcileSeconds * 1000),
      );
    log.info({ detectors: this.engine.detection.status() }, "detectors ready");
    this.processes.announce(log);
    const line = startupLine(config, this.opts.configPath ?? null);
    log.info(
      {
        containers: this.inventory.running().length,
        interfaces: this.captures.interfaces(),
        mode: config.mode,
        ...line.fields,
      },
      line.msg,
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.schedule?.stop();
    this.processes.stop();
    this.posture.stop();
    this.docker.stop();
    this.captures.closeAll();
    this.engine.tick(Date.now());
    this.eventFile?.close();
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
    // What needs a restart keeps its running value until then, and is reported at every SIGHUP.
    const { effective, applied, needRestart } = planReload(running, config);
    this.engine.reconfigure(effective, denylist, this.eventsToLogStream());
    applyQueuedBaselineRequests(running.stateDir, this.baseline, this.opts.log, "SIGHUP");
    this.opts.log.info({ detectors: this.engine.detection.status() }, "detectors reconfigured");
    this.opts.log.level = effective.log.level;
    this.opts.config = effective;
    return { applied, needRestart };
  }

  /** Event lines go to the log stream unless they have a file of their own. */
  private eventsToLogStream(): boolean {
    return this.opts.logEvents && this.eventFile === null;
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
      // Read-only, run for real in dry-run too: it says whether enforce would work on this host.
      probe: () => probeFirewall(runCommand),
      onBackend: (report) => this.blockMetrics?.backend(report),
      onRepair: (reason) => this.blockMetrics?.repair(reason),
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

  private baselineEntryCounts(): { egress: number; listen: number } {
    const counts = { egress: 0, listen: 0 };
    for (const w of this.baseline.names()) for (const e of this.baseline.entries(w)) counts[e.kind]++;
    return counts;
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

  /** The wall clock a little behind capture, so packets still in the kernel buffer are never overtaken. */
  private wallClockBehindCapture(): number {
    return Date.now() - (this.opts.config.capture.bufferTimeoutMs + 50);
  }

  /** The containers whose /proc/<pid>/net is their own (the listener scan's and the seeder's). */
  private procTargets(): ScanTarget[] {
    return this.inventory
      .running()
      .filter(hasOwnProcNet)
      .map((c) => ({ ref: c.ref, pid: c.pid }));
  }

  /**
   * A running container's pid, else null. A shared namespace (host network) is fine here: a
   * 4-tuple is unique in it, so the socket's holder is the connection's even if not the container's.
   */
  private runningPid(id: string): number | null {
    const c = this.inventory.get(id);
    return c?.running && c.pid > 0 ? c.pid : null;
  }

  /** Work started without waiting for it: a failure is logged, never an unhandled rejection (which ends Node). */
  private background(work: Promise<void>, what: string): void {
    work.catch((err: unknown) =>
      this.opts.log.error({ err: err instanceof Error ? err.message : String(err) }, what),
    );
  }

  private async scanListeners(): Promise<void> {
    const targets = this.procTargets();
    const result = await this.scanner.scan(targets, Date.now());
    for (const ev of result.events) this.engine.listener(ev);
    this.engine.pipeline.listening.retain(new Set(targets.map((t) => t.ref.id)));
    for (const e of result.errors)
      this.opts.log.debug({ container: e.containerId, error: e.message }, "listener scan");
  }

  /** Seeds the flow table with the open connections of the containers not read yet (ConnectionSeeder). */
  private async seedConnections(): Promise<void> {
    const results = await this.seeder.readDue(this.procTargets());
    if (this.stopped) return;
    for (const r of results) {
      const container = r.target.ref.name;
      if (r.problem !== null) {
        this.opts.log.debug({ container, error: r.problem }, "open connections not read");
        continue;
      }
      const { seeded, known } = this.engine.seedConnections(r.connections, this.wallClockBehindCapture());
      this.metrics.connectionsSeeded("seeded", seeded);
      this.metrics.connectionsSeeded("skipped-known", known);
      this.metrics.connectionsSeeded("over-limit", r.overLimit);
      this.metrics.connectionsSeeded("skipped-peer-side", r.peerSide);
      if (seeded > 0 || r.overLimit > 0)
        this.opts.log.info(
          { container, seeded, known, overLimit: r.overLimit },
          "open connections seeded from /proc",
        );
    }
  }
}

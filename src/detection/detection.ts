import { performance } from "node:perf_hooks";
import { DETECTORS } from "../../detectors/index.js";
import type { AlertManager } from "../alerts/alert-manager.js";
import type { Baseline } from "../baseline/baseline.js";
import type { NetmonConfig } from "../config/schema.js";
import type { DetectorInstance } from "../model/detector-api.js";
import type { ContainerRef, NetmonEvent } from "../model/events.js";
import type { Finding } from "../model/finding.js";
import type { Mode } from "../model/mode.js";
import type { Logger } from "../util/logger.js";
import { type DetectorRoutes, routeDetectors } from "./detector-routes.js";
import { Learner } from "./learner.js";
import type { Policy } from "./policy.js";

/** How many learned entries the "workload learning finished" line names. */
const LEARNED_SAMPLE = 5;

/**
 * How often, in packet time, an event re-checks its container's mode. A mode changes at the end
 * of a learning period (checked exactly: see noteModeSoon) or on an inventory, baseline or config
 * change, which is then noted within this much packet time.
 */
const MODE_CHECK_MS = 1000;

/**
 * One event in this many is timed per detector, and its time counted this many times: reading the
 * clock twice per detector per event was a top cost of replay. The total stays an unbiased estimate
 * of each detector's share (netmon_detector_duration_seconds_total); ticks are timed every time.
 */
const TIME_EVERY_EVENTS = 16;

export interface DetectorCounters {
  events: number;
  errors: number;
  findings: number;
  /** Time spent in the detector (onEvent and onTick), in seconds. */
  seconds: number;
}

interface RunningDetector {
  name: string;
  instance: DetectorInstance;
  /** Its own counts; `events` is Detection's count of every event (see counters()). */
  counters: DetectorCounters;
}

/**
 * events → learner → detectors → alert manager. Detectors are isolated: one that throws is
 * counted and logged, and the others still run.
 */
export class Detection {
  private detectors: RunningDetector[];
  /** The detectors each kind of event goes to (DetectorModule.reads), in DETECTORS order. */
  private routes: DetectorRoutes<RunningDetector>;
  /** Events handed to detection: every detector counts them all, as when each was given every one. */
  private events = 0;
  private readonly learner: Learner;
  private readonly lastMode = new Map<string, Mode>();
  /** Keys of lastMode in their learning period, with a container of theirs: the tick ends them. */
  private readonly learning = new Map<string, ContainerRef>();
  /** Per container: the packet time from which an event checks its mode again. */
  private readonly modeCheckDue = new WeakMap<ContainerRef, number>();
  modeSwitches = 0;
  /** Events until the next timed one (see TIME_EVERY_EVENTS). */
  private untilTimed = 0;

  /**
   * @param burstQuietMs how long after a connection-burst finding the learner ignores that
   *   container (the engine passes alerts.resolveAfterSeconds: while its alert is active)
   */
  constructor(
    detectors: NetmonConfig["detectors"],
    private readonly policy: Policy,
    private readonly baseline: Baseline,
    readonly alerts: AlertManager,
    private readonly log: Logger,
    burstQuietMs?: number,
    /** 0 checks the mode on every event (the reference the tests compare against). */
    private readonly modeCheckMs = MODE_CHECK_MS,
  ) {
    this.learner = new Learner(policy, baseline, burstQuietMs);
    this.detectors = this.createDetectors(detectors, []);
    this.routes = routeDetectors(DETECTORS, this.detectors);
  }

  private createDetectors(config: NetmonConfig["detectors"], previous: RunningDetector[]): RunningDetector[] {
    const options = config as Record<string, unknown>;
    return DETECTORS.map((module) => ({
      name: module.name,
      // The config schema already checked these options; parsing again gives them their type.
      instance: (module.create as (o: unknown, c: Policy) => DetectorInstance)(
        module.options.parse(options[module.name] ?? {}),
        this.policy,
      ),
      counters: previous.find((p) => p.name === module.name)?.counters ?? {
        events: 0,
        errors: 0,
        findings: 0,
        seconds: 0,
      },
    }));
  }

  /**
   * SIGHUP: detectors start again with their new options (their in-flight state, such as a
   * half-full burst bucket, starts over); active alerts and counters are kept.
   */
  reconfigure(detectors: NetmonConfig["detectors"]): void {
    this.detectors = this.createDetectors(detectors, this.detectors);
    this.routes = routeDetectors(DETECTORS, this.detectors);
  }

  onEvent(ev: NetmonEvent): void {
    this.learner.onEvent(ev);
    if (ev.kind === "listener") this.noteModeSoon(ev.container, ev.ts, null);
    // A DNS response is no sighting of its own: the query's UDP flow already was one.
    else if (ev.kind === "connection") {
      if (ev.src.container) this.noteModeSoon(ev.src.container, ev.ts, ev.verdict?.mode ?? null);
      if (ev.dst.container) this.noteModeSoon(ev.dst.container, ev.ts, null);
    }
    this.events++;
    const readers = this.routes.of(ev);
    if (this.untilTimed-- > 0) {
      for (let i = 0; i < readers.length; i++) this.runOn(readers[i]!, ev);
      return;
    }
    this.untilTimed = TIME_EVERY_EVENTS - 1;
    // One clock reading per detector: each one's end is the next one's start.
    let started = performance.now();
    for (let i = 0; i < readers.length; i++) {
      const d = readers[i]!;
      this.runOn(d, ev);
      const ended = performance.now();
      d.counters.seconds += ((ended - started) / 1000) * TIME_EVERY_EVENTS;
      started = ended;
    }
  }

  private runOn(d: RunningDetector, ev: NetmonEvent): void {
    try {
      const findings = d.instance.onEvent(ev);
      for (let i = 0; i < findings.length; i++) this.found(d, findings[i]!);
    } catch (err) {
      this.fail(d, err);
    }
  }

  /** Packet time passed `nowMs` (or the clock, when traffic is quiet): detector ticks, then resolutions. */
  tick(nowMs: number): void {
    for (const d of this.detectors) {
      if (!d.instance.onTick) continue;
      const started = performance.now();
      try {
        for (const f of d.instance.onTick(nowMs)) this.found(d, f);
      } catch (err) {
        this.fail(d, err);
      }
      d.counters.seconds += (performance.now() - started) / 1000;
    }
    this.alerts.tick(nowMs);
    this.learner.tick(nowMs);
    // A learning period ends in event time even when the workload is quiet at that moment.
    for (const [key, container] of this.learning) {
      if (this.policy.modeOf(container, nowMs) !== "learn") this.noteMode(container, nowMs, null);
      else if (this.policy.learningPeriod(container) === null) this.learning.delete(key);
    }
  }

  private found(d: RunningDetector, f: Finding): void {
    d.counters.findings++;
    // A scan, brute force or flood is not normal: nothing of that container is learned meanwhile.
    if (f.detector === "connection-burst") this.learner.onBurst(f.container, f.ts);
    this.alerts.add(f);
  }

  counters(): Record<string, DetectorCounters> {
    return Object.fromEntries(this.detectors.map((d) => [d.name, { ...d.counters, events: this.events }]));
  }

  status(): Record<string, string> {
    return Object.fromEntries(this.detectors.map((d) => [d.name, d.instance.status()]));
  }

  private fail(d: RunningDetector, err: unknown): void {
    d.counters.errors++;
    // Logged for the first few errors only: a detector failing on every packet must not flood the log.
    if (d.counters.errors <= 5)
      this.log.error({ detector: d.name, err: String(err) }, "detector failed on an event");
  }

  /**
   * noteMode at most once per modeCheckMs of packet time per container (it resolves the policy
   * three times and builds a key: per event, that was a top cost of replay). The next check is
   * due no later than the end of the container's learning period, so that change is noted on the
   * same event as with a check on every event.
   */
  private noteModeSoon(container: ContainerRef, ts: number, known: Mode | null): void {
    const every = this.modeCheckMs;
    const due = this.modeCheckDue.get(container);
    // A clock that went back (packet times are not monotonic across files) checks at once.
    if (due !== undefined && ts < due && ts >= due - every) return;
    this.noteMode(container, ts, known);
    let next = ts + every;
    const until = this.policy.learningPeriod(container)?.until;
    if (until != null && until > ts && until < next) next = until;
    this.modeCheckDue.set(container, next);
  }

  /**
   * Logs and counts a workload leaving its learning period (or any other change of mode). Tracked per
   * workload and configured mode: containers of one workload may be configured differently (a label
   * on one container of a shared image), and alternating between them is not a change. `known` is the
   * mode the engine's verdict already holds, when there is one.
   */
  private noteMode(container: ContainerRef, ts: number, known: Mode | null): void {
    const workload = this.policy.workloadOf(container);
    const mode = known ?? this.policy.modeOf(container, ts);
    const key = `${workload}\u0000${this.policy.configuredMode(container)}`;
    const before = this.lastMode.get(key);
    if (before === mode) return;
    this.lastMode.set(key, mode);
    const period = this.policy.learningPeriod(container);
    // Learning starts at a workload's first sighting, and again after `baseline forget`.
    if (mode === "learn") {
      if (period !== null) this.learning.set(key, container);
      if (before !== undefined) this.modeSwitches++;
      this.log.info(
        {
          workload,
          ...(before === undefined ? {} : { from: before }),
          container: container.name,
          since: new Date(period?.since ?? ts).toISOString(),
          until: period === null ? null : new Date(period.until ?? ts).toISOString(),
          why: this.policy.modeSource(container, ts),
        },
        "workload learning started",
      );
      return;
    }
    if (before === undefined) return;
    this.modeSwitches++;
    this.learning.delete(key);
    const at = new Date(before === "learn" && period?.until != null ? period.until : ts).toISOString();
    if (before !== "learn") {
      this.log.info({ workload, from: before, to: mode, at }, "workload mode changed");
      return;
    }
    const learned = this.baseline.entries(workload);
    this.log.info(
      {
        workload,
        from: before,
        to: mode,
        at,
        learned: learned.length,
        sample: learned
          .slice(0, LEARNED_SAMPLE)
          .map((e) => (e.kind === "listen" ? `listen ${e.entry}` : e.entry)),
      },
      "workload learning finished",
    );
  }
}

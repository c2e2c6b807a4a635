import { Gauge, type Registry } from "prom-client";
import type { ContainerRef } from "../model/events.js";
import { type Mode, modeSchema } from "../model/mode.js";

/** What the status gauges read at scrape time. */
export interface StatusSources {
  /** Running containers (their workload and effective mode are judged at scrape time). */
  running(): ContainerRef[];
  workloadOf(container: ContainerRef): string;
  modeOf(container: ContainerRef, ts: number): Mode;
  /** Learned baseline entries by kind. */
  baselineEntries(): { egress: number; listen: number };
}

/**
 * Learning in plain sight: workloads by effective mode (no container names), baseline size, and
 * the config reload outcome under Prometheus' own names for the same thing.
 */
export class StatusMetrics {
  private readonly reloadOk: Gauge;
  private readonly reloadAt: Gauge;

  constructor(registry: Registry, sources: StatusSources, now: () => number = Date.now) {
    new Gauge({
      name: "netmon_workloads",
      help: "Workloads of running containers by effective mode (learn, monitor, enforce, off); a workload with containers in two modes counts in both.",
      labelNames: ["mode"],
      registers: [registry],
      collect() {
        const ts = now();
        const byMode = new Map<Mode, Set<string>>(modeSchema.options.map((m) => [m, new Set<string>()]));
        for (const ref of sources.running())
          byMode.get(sources.modeOf(ref, ts))?.add(sources.workloadOf(ref));
        for (const [mode, workloads] of byMode) this.set({ mode }, workloads.size);
      },
    });
    new Gauge({
      name: "netmon_baseline_entries",
      help: "Learned baseline entries, by kind (egress destinations, listening ports).",
      labelNames: ["kind"],
      registers: [registry],
      collect() {
        const { egress, listen } = sources.baselineEntries();
        this.set({ kind: "egress" }, egress);
        this.set({ kind: "listen" }, listen);
      },
    });
    this.reloadOk = new Gauge({
      name: "netmon_config_last_reload_successful",
      help: "1 when the last configuration load (start or SIGHUP) succeeded, 0 when it was rejected.",
      registers: [registry],
    });
    this.reloadAt = new Gauge({
      name: "netmon_config_last_reload_success_timestamp_seconds",
      help: "When the configuration was last loaded successfully (start or SIGHUP), in seconds since the epoch.",
      registers: [registry],
    });
    this.reload(true, now());
  }

  /** A configuration load: at start, and at every SIGHUP whether applied or rejected. */
  reload(ok: boolean, ts: number): void {
    this.reloadOk.set(ok ? 1 : 0);
    if (ok) this.reloadAt.set(ts / 1000);
  }
}

import type { Registry } from "prom-client";
import type { AlertSink } from "../alerts/alert.js";
import type { ProcessesConfig } from "../config/processes-schema.js";
import type { SocketOwners } from "../listeners/listener-scanner.js";
import type { Attribution } from "../processes/process-resolver.js";
import { ProcessResolver } from "../processes/process-resolver.js";
import type { Logger } from "../util/logger.js";
import { ProcessLookups, registerProcessLookupMetrics } from "./process-lookups.js";
import { type PtraceProbe, probePtrace, processAttribution } from "./process-permission.js";

export interface ProcessNamingDeps {
  /** The pid of a running container, else null (it exited). */
  pidOf(containerId: string): number | null;
  /** AlertManager.annotate of the running engine. */
  annotate(fingerprint: string, details: Attribution): void;
}

/**
 * The daemon's process attribution, on or off as `processes.enabled` and the capabilities say: the
 * listener scanner's `owners`, the alert sink that looks up connection alerts, the metric, and the
 * one start-up line when it is off or short of permission.
 */
export class ProcessNaming {
  /** For ListenerScanner: undefined when attribution is off (events then carry no `process`). */
  readonly owners: SocketOwners | undefined;
  /** Alert sinks to add after the others ([] when off). */
  readonly sinks: readonly AlertSink[];
  private readonly lookups: ProcessLookups | null;
  private readonly notice: ReturnType<typeof processAttribution>["notice"];

  constructor(
    config: ProcessesConfig,
    registry: Registry,
    deps: ProcessNamingDeps,
    probe: PtraceProbe = probePtrace(),
  ) {
    const decision = processAttribution(config, probe);
    this.notice = decision.notice;
    const resolver = new ProcessResolver();
    this.lookups = decision.enabled ? new ProcessLookups({ resolver, ...deps }) : null;
    this.owners = decision.enabled ? (pid, inodes) => resolver.owners(pid, inodes) : undefined;
    this.sinks = this.lookups === null ? [] : [this.lookups];
    registerProcessLookupMetrics(registry, resolver, this.lookups);
  }

  /** Says once, at start, when processes are not named or may not all be seen. */
  announce(log: Logger): void {
    if (this.notice === null) return;
    if (this.notice.level === "warn") log.warn(this.notice.msg);
    else log.info(this.notice.msg);
  }

  stop(): void {
    this.lookups?.stop();
  }
}

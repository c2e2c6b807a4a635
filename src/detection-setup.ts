import type { AlertSink } from "./alerts/alert.js";
import { LogAlertSink } from "./alerts/log-sink.js";
import type { Baseline } from "./baseline/baseline.js";
import { loadDenylist } from "./config/denylist.js";
import { Policy } from "./config/policy.js";
import type { NetmonConfig } from "./config/schema.js";
import { Detection } from "./detection.js";
import type { ContainerInfo } from "./inventory/types.js";
import type { Logger } from "./logger.js";

export interface DetectionSetup {
  detection: Detection;
  policy: Policy;
}

/**
 * Builds policy (config + labels + baseline + denylist) and detection with the alert log sink.
 * `leadingSinks` see each alert before the log sink (the blocker: the logged line then says what it did).
 */
export function setupDetection(
  config: NetmonConfig,
  containers: { get(id: string): ContainerInfo | undefined },
  baseline: Baseline,
  log: Logger,
  leadingSinks: AlertSink[] = [],
): DetectionSetup {
  let denylist = null;
  if (config.policy.denylistFile !== null) {
    const loaded = loadDenylist(config.policy.denylistFile);
    for (const e of loaded.errors) log.warn(e);
    log.info({ file: config.policy.denylistFile, entries: loaded.entries }, "denylist loaded");
    denylist = loaded.set;
  }
  const policy = new Policy({ config, containers, baseline, denylist, warn: (m) => log.warn(m) });
  const detection = new Detection(
    config,
    policy,
    baseline,
    [...leadingSinks, new LogAlertSink(log, config.alerts.logLinesPerSecond, config.alerts.logLineBurst)],
    log,
  );
  return { detection, policy };
}

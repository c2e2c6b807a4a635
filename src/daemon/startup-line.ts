import { externalBaseUrl } from "../alerts/alertmanager-payload.js";
import type { NetmonConfig } from "../config/schema.js";
import { formatDuration } from "../util/duration.js";

/** The learning rule in words, as the start-up line states it. */
export function learningRuleText(config: NetmonConfig): string {
  const seconds = config.baseline.learnForSeconds;
  if (config.mode === "learn") return "every workload learns (global mode learn): no alerts";
  if (config.mode === "off") return "detection is off (global mode off)";
  if (seconds === 0)
    return "workloads without netmon labels are judged at once (baseline.learnForSeconds: 0)";
  return `workloads without netmon labels learn for ${formatDuration(seconds * 1000)} first; labelled ones are judged at once`;
}

/**
 * The "netmon started" line: which config runs, where to look (/metrics, /ui), the global mode and
 * the learning rule, so the first line an operator reads says how netmon will judge.
 */
export function startupLine(
  config: NetmonConfig,
  configPath: string | null,
): { msg: string; fields: Record<string, string | null> } {
  const base = config.http.enabled
    ? externalBaseUrl(config.alerts.externalUrl, config.http.listen, config.http.port)
    : null;
  return {
    msg: "netmon started",
    fields: {
      config: configPath ?? "embedded defaults",
      metrics: base === null ? null : `${base}/metrics`,
      ui: base === null ? null : `${base}/ui`,
      learning: learningRuleText(config),
    },
  };
}

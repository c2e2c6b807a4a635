import { type AlertsConfig, alertsSchema } from "./alerts-config.js";

/** The alert manager's options (the incident logic; the Alertmanager push has its own: alertmanager-options.ts). */
export interface AlertManagerOptions {
  /**
   * Event time (ms) between two notifications of the same active alert. Findings in between are
   * folded into its count and counted as suppressed. Shorter: noisier logs; longer: staler counts.
   */
  suppressMs: number;
  /** Event time (ms) without a finding after which an active alert resolves. */
  resolveAfterMs: number;
  /** Most alerts held at once; beyond it the one quiet the longest resolves early (memory bound). */
  maxActive: number;
  /** Destination hosts of one workload alerted on their own at once; the next fold into one fan-out incident. */
  fanOutAfter: number;
  /** Where the runbooks live (a README): each alert's `runbook` is this URL and its heading's anchor. */
  runbookBaseUrl: string;
}

/** The manager's options from an `alerts:` config section (seconds → ms). */
export function alertManagerOptions(c: AlertsConfig): AlertManagerOptions {
  return {
    suppressMs: c.suppressSeconds * 1000,
    resolveAfterMs: c.resolveAfterSeconds * 1000,
    maxActive: c.maxActive,
    fanOutAfter: c.fanOutAfter,
    runbookBaseUrl: c.runbookBaseUrl,
  };
}

/** The schema's defaults: they are written once, in src/alerts/alerts-config.ts. */
export const ALERT_MANAGER_DEFAULTS: Readonly<AlertManagerOptions> = Object.freeze(
  alertManagerOptions(alertsSchema.parse({})),
);

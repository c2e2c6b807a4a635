import { join } from "node:path";
import type { Baseline } from "../baseline/baseline.js";
import { BaselineFileError, loadBaseline } from "../baseline/baseline-store.js";
import type { NetmonConfig } from "../config/schema.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { ConnectionEvent } from "../model/events.js";
import { type PolicySuggestion, suggestPolicy } from "../posture/suggest.js";
import { type LoggedAlert, readLoggedAlerts } from "../posture/suggest-alerts.js";
import { formatSuggestion, refusalOf } from "../posture/suggest-format.js";
import { NetmonError } from "../util/errors.js";
import { createLogger } from "../util/logger.js";
import { readEventsOrThrow } from "./audit.js";
import { listContainers } from "./containers.js";

export interface PolicySuggestOptions {
  /**
   * A log of `netmon run --log-events`: its alerts and failed connections are left out of the
   * suggestion, and the dry run replays its connection attempts.
   */
  events?: string;
  /** Dry-run window: the last N hours of the events file (default 24). */
  hours?: string;
  json?: boolean;
}

function loadOrThrow(config: NetmonConfig): { baseline: Baseline; path: string } {
  const path = join(config.stateDir, "baseline.json");
  try {
    return { baseline: loadBaseline(path, config.baseline.maxEntriesPerWorkload), path };
  } catch (err) {
    if (err instanceof BaselineFileError) throw new NetmonError(err.message);
    throw err;
  }
}

/**
 * `netmon policy suggest [workload]`: for one workload (or every workload of the baseline), the
 * labels, netmon.yaml rule and iptables rules that allow what it learned, with a dry run over the
 * connections of an events file.
 */
export async function policySuggestCommand(
  config: NetmonConfig,
  workload: string | undefined,
  opts: PolicySuggestOptions = {},
): Promise<string> {
  const hours = opts.hours === undefined ? 24 : Number(opts.hours);
  if (!Number.isFinite(hours) || hours <= 0) {
    throw new NetmonError(`--hours ${JSON.stringify(opts.hours)}: expected a positive number of hours`, 2);
  }
  const { baseline, path } = loadOrThrow(config);
  const names = workload === undefined ? baseline.names() : [workload];
  if (names.length === 0) throw new NetmonError(`no baseline yet in ${path}: nothing to suggest`);
  for (const n of names) {
    if (baseline.describe(n) === null) {
      const known = baseline.names();
      throw new NetmonError(
        `no baseline for workload ${JSON.stringify(n)} in ${path}${known.length > 0 ? ` (workloads: ${known.join(", ")})` : ""}`,
      );
    }
  }
  // Containers give the iptables rules their IPs; without Docker the rest still works.
  let containers: ContainerInfo[] = [];
  let dockerNote: string | null = null;
  try {
    containers = await listContainers(config, createLogger("silent"));
  } catch (err) {
    if (!(err instanceof NetmonError)) throw err;
    dockerNote = `${err.message}: the iptables rules name no container IPs`;
  }
  const sinceMs = Date.now() - hours * 3_600_000;
  let events: ConnectionEvent[] | undefined;
  let alerts: LoggedAlert[] | undefined;
  if (opts.events !== undefined) {
    // Attempts of the window for the dry run; outcomes of the whole file as evidence of what is normal.
    events = (
      await readEventsOrThrow(opts.events, (ev) =>
        ev.state === "attempt" ? ev.ts >= sinceMs : ev.state !== "closed",
      )
    ).events;
    alerts = await readAlertsOrThrow(opts.events);
  }
  const suggestions: PolicySuggestion[] = names.map((n) => {
    const s = suggestPolicy(baseline, n, containers, events, {
      config,
      sinceMs,
      ...(alerts ? { alerts } : {}),
    });
    if (dockerNote !== null) s.notes.push(dockerNote);
    return s;
  });
  // Rules that would cut what a workload declares are not printed at all.
  const refusals = suggestions.flatMap((s) => refusalOf(s, opts.events ?? null) ?? []);
  if (refusals.length > 0) throw new NetmonError(refusals.join("\n"));
  if (opts.json) return `${JSON.stringify(suggestions, null, 2)}\n`;
  return suggestions.map((s) => formatSuggestion(s, opts.events ?? null)).join("\n");
}

async function readAlertsOrThrow(path: string): Promise<LoggedAlert[]> {
  try {
    return await readLoggedAlerts(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new NetmonError(`${path}: cannot read the events file (${code})`);
  }
}

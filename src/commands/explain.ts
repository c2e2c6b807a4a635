import { existsSync } from "node:fs";
import { Baseline } from "../baseline/baseline.js";
import { BaselineFileError, loadBaseline } from "../baseline/baseline-store.js";
import type { NetmonConfig } from "../config/schema.js";
import { loadDenylist } from "../detection/denylist.js";
import { Policy } from "../detection/policy.js";
import { explain } from "../explain/explain.js";
import { formatExplain } from "../explain/format.js";
import type { ExplainReport, ExplainSources } from "../explain/report.js";
import { type ExplainQuery, explainParams, parseEgressQuery, parseListenQuery } from "../explain/target.js";
import { InventoryFileError, loadStaticInventory } from "../inventory/static-inventory.js";
import { NetmonError } from "../util/errors.js";
import { daemonFailure, errorOf, getDaemonJson } from "./daemon-api.js";

export interface ExplainCommandOptions {
  listen?: string;
  json?: boolean;
  /** The daemon's address (live). */
  url: string;
  /** Offline: a replay inventory (docker inspect JSON) and a saved baseline, with `config`. */
  replayInventory?: string;
  baseline?: string;
}

/** The arguments, checked: exactly one of DESTINATION and --listen. */
export function explainQueryOf(
  container: string,
  destination: string | undefined,
  listen: string | undefined,
): ExplainQuery {
  if ((destination === undefined) === (listen === undefined))
    throw new NetmonError(
      "give a DESTINATION[:PORT[/PROTO]] or --listen PORT[/PROTO], not both, not neither",
      2,
    );
  const parsed =
    destination !== undefined
      ? parseEgressQuery(container, destination)
      : parseListenQuery(container, listen ?? "");
  if (!parsed.ok) throw new NetmonError(parsed.error, 2);
  return parsed.value;
}

/** Offline sources: the replay inventory, the baseline file and the config, no DNS cache, no history. */
export function offlineSources(
  config: NetmonConfig,
  inventoryPath: string,
  baselinePath: string | undefined,
): ExplainSources {
  let inventory: ExplainSources["containers"];
  try {
    inventory = loadStaticInventory(inventoryPath).inventory;
  } catch (err) {
    if (err instanceof InventoryFileError) throw new NetmonError(err.message, 2);
    throw err;
  }
  const max = config.baseline.maxEntriesPerWorkload;
  if (baselinePath !== undefined && !existsSync(baselinePath))
    throw new NetmonError(`${baselinePath}: no such baseline file`, 2);
  let baseline: ExplainSources["baseline"];
  try {
    baseline = baselinePath === undefined ? new Baseline(max) : loadBaseline(baselinePath, max);
  } catch (err) {
    if (err instanceof BaselineFileError) throw new NetmonError(err.message, 2);
    throw err;
  }
  const file = config.policy.denylistFile;
  const denylist = file === null ? null : loadDenylist(file).set;
  const policy = new Policy({ config, containers: inventory, baseline, denylist, warn: () => {} });
  return { config, containers: inventory, policy, baseline, dns: null, recent: null, now: Date.now() };
}

async function askDaemon(url: string, q: ExplainQuery): Promise<ExplainReport> {
  const answer = await getDaemonJson(url, `/api/explain?${explainParams(q).toString()}`);
  if (answer.status === 200 && answer.body !== undefined) return answer.body as ExplainReport;
  const error = errorOf(answer);
  // The map's catch-all ("not found: try /api/graph") or the server's plain 404: an older daemon.
  const known = answer.body !== undefined && !error.startsWith("not found");
  // 400: the daemon found the question malformed; 404: it knows no such container. Both are bad input.
  if (known && (answer.status === 400 || answer.status === 404)) throw new NetmonError(error, 2);
  throw daemonFailure(answer, "explain API");
}

/**
 * `netmon explain CONTAINER DESTINATION[:PORT[/PROTO]]` or `CONTAINER --listen PORT[/PROTO]`: against
 * the running daemon (its HTTP API), or offline with --replay-inventory [--baseline] and the config.
 */
export async function explainCommand(
  config: NetmonConfig,
  container: string,
  destination: string | undefined,
  opts: ExplainCommandOptions,
): Promise<string> {
  const q = explainQueryOf(container, destination, opts.listen);
  let report: ExplainReport;
  if (opts.replayInventory !== undefined) {
    const out = explain(offlineSources(config, opts.replayInventory, opts.baseline), q);
    if (!out.ok) throw new NetmonError(out.error, 2);
    report = out.report;
  } else {
    if (opts.baseline !== undefined)
      throw new NetmonError(
        "--baseline is for offline use, with --replay-inventory (the daemon uses its own)",
        2,
      );
    report = await askDaemon(opts.url, q);
  }
  return opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatExplain(report);
}

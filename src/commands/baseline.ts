import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Baseline } from "../baseline/baseline.js";
import { parseEntry } from "../baseline/baseline.js";
import {
  appendBaselineRequest,
  applyBaselineRequest,
  BASELINE_REQUESTS_FILE,
  type BaselineRequest,
  parseBaselineRequests,
} from "../baseline/baseline-requests.js";
import { BaselineFileError, loadBaseline, saveBaseline } from "../baseline/baseline-store.js";
import type { NetmonConfig } from "../config/schema.js";
import { Policy } from "../detection/policy.js";
import type { ContainerInfo } from "../inventory/types.js";
import { NetmonError } from "../util/errors.js";
import { createLogger } from "../util/logger.js";
import { formatTable, listContainers } from "./containers.js";

export function baselinePath(config: NetmonConfig): string {
  return join(config.stateDir, "baseline.json");
}

export function requestsPath(config: NetmonConfig): string {
  return join(config.stateDir, BASELINE_REQUESTS_FILE);
}

/** The saved baseline (stateDir/baseline.json); a corrupt file is one clear error line. */
export function loadSaved(config: NetmonConfig): Baseline {
  try {
    return loadBaseline(baselinePath(config), config.baseline.maxEntriesPerWorkload);
  } catch (err) {
    if (err instanceof BaselineFileError) throw new NetmonError(err.message);
    throw err;
  }
}

/** `netmon baseline show [workload]`: what each workload learned, as text (or JSON). */
export function showBaseline(config: NetmonConfig, workload: string | undefined, json: boolean): string {
  const baseline = loadSaved(config);
  const names = workload === undefined ? baseline.names() : [workload];
  const learnForMs = config.baseline.learnForSeconds * 1000;
  const out = names.map((name) => {
    const w = baseline.describe(name);
    if (w === null)
      throw new NetmonError(`no baseline for workload ${JSON.stringify(name)} in ${baselinePath(config)}`);
    return { workload: name, learningUntil: new Date(w.firstSeen + learnForMs).toISOString(), ...w };
  });
  if (json) return `${JSON.stringify(out, null, 2)}\n`;
  if (out.length === 0) return `no baseline yet in ${baselinePath(config)}\n`;
  return out
    .map((w) =>
      [
        `${w.workload} (first seen ${new Date(w.firstSeen).toISOString()}, learning until ${w.learningUntil})`,
        `  egress: ${w.egress.length === 0 ? "-" : w.egress.map((e) => e.replaceAll("|", " ")).join(", ")}`,
        `  listen: ${w.listen.length === 0 ? "-" : w.listen.join(", ")}`,
      ].join("\n"),
    )
    .join("\n")
    .concat("\n");
}

/** What a baseline change printed: the result on stdout, and where it was queued on stderr. */
export interface BaselineChange {
  out: string;
  note: string;
}

export const QUEUED_NOTE =
  "queued for the running daemon: applied at its next baseline save (baseline.saveIntervalSeconds) or on SIGHUP, and logged; with no daemon running, at its next start";

/**
 * Applies a request to the saved file at once (what `show` and the next start read) and queues it
 * for a running daemon, whose in-memory copy is what judges traffic (and is saved over the file).
 */
function change(config: NetmonConfig, request: BaselineRequest): BaselineChange {
  const baseline = loadSaved(config);
  const result = applyBaselineRequest(baseline, request);
  if (baseline.dirty) saveBaseline(baselinePath(config), baseline);
  appendBaselineRequest(requestsPath(config), request);
  return { out: `${result}\n`, note: `${QUEUED_NOTE} (${requestsPath(config)})\n` };
}

/** `netmon baseline forget WORKLOAD [ENTRY]`: the whole workload learns again, or one entry is forgotten. */
export function forgetBaseline(
  config: NetmonConfig,
  workload: string,
  entry: string | undefined,
  now = new Date(),
): BaselineChange {
  if (entry !== undefined && parseEntry(entry) === null) {
    throw new NetmonError(
      `${JSON.stringify(entry)} is not an entry: use PORT/PROTO (a listening port) or DEST:PORT/PROTO (a destination), as baseline status prints them`,
    );
  }
  return change(config, {
    op: "forget",
    workload,
    ...(entry === undefined ? {} : { entry }),
    at: now.toISOString(),
  });
}

/** `netmon baseline reset [WORKLOAD]`: every workload learns again (one, given one: as forget). */
export function resetBaseline(
  config: NetmonConfig,
  workload: string | undefined,
  now = new Date(),
): BaselineChange {
  if (workload !== undefined) return forgetBaseline(config, workload, undefined, now);
  return change(config, { op: "reset", at: now.toISOString() });
}

/** One row of `netmon baseline status`: a workload (and the running containers that share a mode). */
export interface BaselineStatusRow {
  workload: string;
  containers: string[];
  /** The mode now; "-" for a workload with no running container. */
  mode: string;
  why: string;
  learningSince: string | null;
  learningUntil: string | null;
  /** Seconds of learning left, when learning by period. */
  learningLeftSeconds: number | null;
  entries: number;
  /** The oldest few entries, as `baseline forget` takes them. */
  sample: string[];
}

const SAMPLE = 3;
const iso = (ms: number | null | undefined): string | null =>
  ms == null ? null : new Date(ms).toISOString();

/**
 * The rows of `baseline status` from the config, the running containers (null: Docker was not
 * reachable) and the saved baseline, at wall-clock `now`. Pure: the command does the I/O.
 */
export function baselineStatusRows(
  config: NetmonConfig,
  containers: readonly ContainerInfo[] | null,
  baseline: Baseline,
  now: number,
): BaselineStatusRow[] {
  const byId = new Map((containers ?? []).map((c) => [c.ref.id, c]));
  const policy = new Policy({ config, containers: byId, baseline, denylist: null, warn: () => {} });
  const rows = new Map<string, BaselineStatusRow>();
  const entriesOf = (workload: string) => {
    const entries = baseline.entries(workload);
    return { entries: entries.length, sample: entries.slice(0, SAMPLE).map((e) => e.entry) };
  };
  for (const c of containers ?? []) {
    const workload = policy.workloadOf(c.ref);
    const mode = policy.modeOf(c.ref, now);
    const why = policy.modeSource(c.ref, now);
    const key = `${workload}\u0000${mode}\u0000${why}`;
    const row = rows.get(key);
    if (row !== undefined) {
      row.containers.push(c.ref.name);
      continue;
    }
    const period = policy.learningPeriod(c.ref);
    const learning = mode === "learn" && period !== null;
    rows.set(key, {
      workload,
      containers: [c.ref.name],
      mode,
      why,
      learningSince: learning ? iso(period.since) : null,
      learningUntil: learning ? iso(period.until) : null,
      learningLeftSeconds:
        learning && period.until !== null ? Math.max(0, Math.ceil((period.until - now) / 1000)) : null,
      ...entriesOf(workload),
    });
  }
  const shown = new Set([...rows.values()].map((r) => r.workload));
  for (const workload of baseline.names()) {
    if (shown.has(workload)) continue;
    const why = containers === null ? "Docker unreachable: mode unknown" : "no running container";
    rows.set(workload, {
      workload,
      containers: [],
      mode: "-",
      why,
      learningSince: null,
      learningUntil: null,
      learningLeftSeconds: null,
      ...entriesOf(workload),
    });
  }
  return [...rows.values()].sort(
    (a, b) => a.workload.localeCompare(b.workload) || a.mode.localeCompare(b.mode),
  );
}

function learningText(r: BaselineStatusRow): string {
  if (r.learningLeftSeconds === null) return r.mode === "learn" ? "for good" : "-";
  const left = r.learningLeftSeconds;
  const text = left >= 60 ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, "0")}s` : `${left}s`;
  return `since ${r.learningSince}, ${text} left`;
}

/** `netmon baseline status [--json]`: per workload, its mode, why, learning time left, entries. */
export function formatBaselineStatus(
  rows: readonly BaselineStatusRow[],
  pending: number,
  json: boolean,
): string {
  if (json) return `${JSON.stringify({ workloads: rows, pendingRequests: pending }, null, 2)}\n`;
  const table = [["WORKLOAD", "CONTAINERS", "MODE", "WHY", "LEARNING", "ENTRIES"]];
  for (const r of rows) {
    const entries =
      r.entries === 0
        ? "0"
        : `${r.entries} (${r.sample.join(", ")}${r.entries > r.sample.length ? ", ..." : ""})`;
    table.push([r.workload, r.containers.join(",") || "-", r.mode, r.why, learningText(r), entries]);
  }
  const lines = [rows.length === 0 ? "no workload seen and no baseline yet" : formatTable(table)];
  if (pending > 0) lines.push(`${pending} baseline request(s) queued, not yet applied by the daemon`);
  return `${lines.join("\n")}\n`;
}

/** The number of requests in the queue file (0 when there is none). */
export function pendingRequests(text: string | null): number {
  return text === null ? 0 : parseBaselineRequests(text).requests.length;
}

/**
 * `netmon baseline status`: asks Docker for the running containers (without it, the saved
 * workloads are listed with their mode unknown, and why on stderr), reads the saved baseline and
 * the request queue.
 */
export async function baselineStatusCommand(config: NetmonConfig, json: boolean): Promise<string> {
  const baseline = loadSaved(config);
  let containers: ContainerInfo[] | null;
  try {
    containers = await listContainers(config, createLogger("silent"));
  } catch (err) {
    if (!(err instanceof NetmonError)) throw err;
    process.stderr.write(`netmon: ${err.message}; modes unknown\n`);
    containers = null;
  }
  let queue: string | null = null;
  try {
    queue = readFileSync(requestsPath(config), "utf8");
  } catch {
    // No queue file: nothing pending.
  }
  const rows = baselineStatusRows(config, containers, baseline, Date.now());
  return formatBaselineStatus(rows, pendingRequests(queue), json);
}

import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { Logger } from "../util/logger.js";
import { type Baseline, parseEntry } from "./baseline.js";
import { exportDocumentSchema, importBaseline, importSummary } from "./baseline-export.js";

/**
 * Changes the operator asks of the baseline (`netmon baseline forget|reset|import`), queued one JSON line
 * each in stateDir/baseline-requests.jsonl for the daemon, which applies them on its baseline save
 * timer, on SIGHUP and at start. A file, not an HTTP endpoint: only who may write the state
 * directory may change what netmon considers normal.
 */
const requestSchema = z.discriminatedUnion("op", [
  z.strictObject({
    op: z.literal("forget"),
    workload: z.string().min(1).max(512),
    /** One entry as `baseline status` prints it; absent: the whole workload. */
    entry: z.string().min(1).max(600).optional(),
    /** When it was asked (ISO time), for the log. */
    at: z.string().max(64),
  }),
  z.strictObject({ op: z.literal("reset"), at: z.string().max(64) }),
  z.strictObject({
    op: z.literal("import"),
    /** Merge into the workloads' baselines instead of replacing them (`baseline import --merge`). */
    merge: z.boolean(),
    at: z.string().max(64),
    /** The whole checked document, checked again here: the queue file is input too. */
    document: exportDocumentSchema,
  }),
]);

export type BaselineRequest = z.infer<typeof requestSchema>;

export const BASELINE_REQUESTS_FILE = "baseline-requests.jsonl";

/** Appends one request (the CLI side). */
export function appendBaselineRequest(path: string, request: BaselineRequest): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${JSON.stringify(requestSchema.parse(request))}\n`, { mode: 0o600 });
}

/** The requests in a file's text, in order, and one error per line that is not one. */
export function parseBaselineRequests(text: string): { requests: BaselineRequest[]; errors: string[] } {
  const requests: BaselineRequest[] = [];
  const errors: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      errors.push(`line ${i + 1}: not JSON`);
      return;
    }
    const parsed = requestSchema.safeParse(raw);
    if (parsed.success) requests.push(parsed.data);
    else errors.push(`line ${i + 1}: ${parsed.error.issues[0]?.message ?? "not a request"}`);
  });
  return { requests, errors };
}

/**
 * Takes the pending requests out of the file: it is renamed first, so a request the CLI appends
 * meanwhile goes to a new file and waits for the next take instead of being lost. No file: none.
 */
export function takeBaselineRequests(path: string): { requests: BaselineRequest[]; errors: string[] } {
  const taking = `${path}.taking`;
  try {
    renameSync(path, taking);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { requests: [], errors: [] };
    throw err;
  }
  try {
    return parseBaselineRequests(readFileSync(taking, "utf8"));
  } finally {
    rmSync(taking, { force: true });
  }
}

/** What one request did, in a sentence for the log and the CLI. */
export function applyBaselineRequest(baseline: Baseline, request: BaselineRequest): string {
  // A forgotten workload learns again from its next event (its learning clock went with it).
  if (request.op === "reset") return `baseline reset: ${baseline.clear()} workloads forgotten`;
  if (request.op === "import")
    return importSummary(importBaseline(baseline, request.document, request.merge));
  const { workload, entry } = request;
  if (entry === undefined) {
    return baseline.reset(workload)
      ? `baseline of ${workload} reset`
      : `no baseline for workload ${workload}: nothing to forget`;
  }
  const parsed = parseEntry(entry);
  if (parsed === null) return `${entry}: not an entry (PORT/PROTO or DEST:PORT/PROTO); ignored`;
  return baseline.forgetEntry(workload, parsed.kind, parsed.key)
    ? `${workload}: ${entry} forgotten`
    : `${workload}: ${entry} was not learned; nothing to forget`;
}

/** The daemon side: takes the pending requests and applies them in order; one line per request. */
export function applyPendingBaselineRequests(path: string, baseline: Baseline): string[] {
  const { requests, errors } = takeBaselineRequests(path);
  return [
    ...errors.map((e) => `${path} ${e}; ignored`),
    ...requests.map((r) => applyBaselineRequest(baseline, r)),
  ];
}

/**
 * The daemon's hook (at start, on its baseline save timer, on SIGHUP): applies what
 * `netmon baseline forget|reset|import` queued in `stateDir` to the baseline that judges traffic, and logs
 * what each request did. A queue it cannot read is logged; its requests wait for the next try.
 */
export function applyQueuedBaselineRequests(
  stateDir: string,
  baseline: Baseline,
  log: Pick<Logger, "info" | "error">,
  trigger: string,
): void {
  const path = join(stateDir, BASELINE_REQUESTS_FILE);
  try {
    const results = applyPendingBaselineRequests(path, baseline);
    if (results.length > 0) log.info({ trigger, results }, "baseline requests applied");
  } catch (err) {
    log.error({ path, err: String(err) }, "cannot read the baseline requests");
  }
}

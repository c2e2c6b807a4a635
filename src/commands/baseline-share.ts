import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import {
  BaselineImportError,
  exportBaseline,
  importBaseline,
  importSummary,
  parseExportDocument,
} from "../baseline/baseline-export.js";
import { appendBaselineRequest } from "../baseline/baseline-requests.js";
import { saveBaseline } from "../baseline/baseline-store.js";
import type { NetmonConfig } from "../config/schema.js";
import { NetmonError } from "../util/errors.js";
import { type BaselineChange, baselinePath, loadSaved, QUEUED_NOTE, requestsPath } from "./baseline.js";

/**
 * `netmon baseline export [WORKLOAD…]` and `netmon baseline import FILE [--merge]`: learn on one
 * host, ship the result with the deploy repository, import it on the others. An import goes the
 * way of `forget` and `reset`: the saved file changes at once, and the request is queued for the
 * running daemon, which applies it on SIGHUP (`systemctl reload netmon`, as Prometheus and CrowdSec
 * reload) or at its next baseline save.
 */

/** Far above any real fleet's file (about 250,000 entries); refused before it is parsed. */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;

/** `baseline export`: the document of the given workloads (all when none), as indented JSON. */
export function exportBaselineCommand(
  config: NetmonConfig,
  workloads: readonly string[],
  now = new Date(),
): string {
  try {
    return `${JSON.stringify(exportBaseline(loadSaved(config), workloads, now), null, 2)}\n`;
  } catch (err) {
    if (err instanceof BaselineImportError)
      throw new NetmonError(`${err.message} in ${baselinePath(config)}`);
    throw err;
  }
}

/** Reads at most `max` bytes of a regular file; null when it holds more. */
function readBounded(path: string, max: number): string | null {
  const fd = openSync(path, "r");
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new NetmonError(`${path}: not a regular file`, 2);
    // One byte more than the file holds (or the limit): a file that grew while read is caught.
    const buf = Buffer.alloc(Math.min(max + 1, Math.max(stat.size + 1, 4096)));
    let len = 0;
    for (;;) {
      if (len === buf.length) return null;
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    return len > max ? null : buf.toString("utf8", 0, len);
  } finally {
    closeSync(fd);
  }
}

function readDocumentText(file: string): string {
  let text: string | null;
  try {
    text = readBounded(file, MAX_IMPORT_BYTES);
  } catch (err) {
    if (err instanceof NetmonError) throw err;
    throw new NetmonError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 2);
  }
  if (text === null)
    throw new NetmonError(`${file}: larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB; refused`, 2);
  return text;
}

/**
 * `baseline import FILE [--merge]`: the whole file is checked, then applied in memory; anything
 * wrong (the file, or a merge past baseline.maxEntriesPerWorkload) refuses all of it with exit 2
 * and the key path, before anything is written. The write is atomic.
 */
export function importBaselineCommand(
  config: NetmonConfig,
  file: string,
  merge: boolean,
  now = new Date(),
): BaselineChange {
  const text = readDocumentText(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NetmonError(
      `${file}: not JSON (${err instanceof Error ? err.message : String(err)}); nothing imported`,
      2,
    );
  }
  const max = config.baseline.maxEntriesPerWorkload;
  let doc: ReturnType<typeof parseExportDocument>;
  try {
    doc = parseExportDocument(raw, max);
  } catch (err) {
    if (!(err instanceof BaselineImportError)) throw err;
    throw new NetmonError(`${file}: ${err.message}; nothing imported`, 2);
  }
  const baseline = loadSaved(config);
  const result = importBaseline(baseline, doc, merge);
  const over = result.workloads.findIndex((w) => w.dropped > 0);
  if (over >= 0) {
    throw new NetmonError(
      `${file}: workloads.${over} (${JSON.stringify(doc.workloads[over]!.workload)}): merged with this host's baseline it would hold more than baseline.maxEntriesPerWorkload (${max}) entries; nothing imported`,
      2,
    );
  }
  saveBaseline(baselinePath(config), baseline);
  appendBaselineRequest(requestsPath(config), { op: "import", merge, at: now.toISOString(), document: doc });
  return { out: `${importSummary(result)}\n`, note: `${QUEUED_NOTE} (${requestsPath(config)})\n` };
}

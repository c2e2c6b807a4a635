import { z } from "zod";
import {
  type Baseline,
  type EntryKind,
  type EntryStats,
  entryText,
  parseEntry,
  type WorkloadSnapshot,
} from "./baseline.js";

/**
 * The shared-baseline document of `netmon baseline export` / `import` (README "Shared baselines"):
 * what workloads learned on one host, shipped with a deploy repository to others. Stable and
 * versioned; sorted, so that a re-export diffs cleanly. Input on import is hostile: the whole
 * document is checked before anything is applied, and every error names its key path.
 *
 *   { "format": "netmon-baseline", "version": 1, "exportedAt": ISO,
 *     "workloads": [ { "workload": "shop/web", "firstSeen": ISO,
 *                      "egress": [ { "entry": "api.example.com:443/tcp", "firstSeen": ISO, "lastSeen": ISO, "count": 3 } ],
 *                      "listen": [ { "entry": "8080/tcp", … } ] } ] }
 */

export const EXPORT_FORMAT = "netmon-baseline";
export const EXPORT_VERSION = 1;
/** Workloads in one document: far more than one host runs; bounds what an import can make netmon hold. */
export const MAX_EXPORT_WORKLOADS = 10_000;
/** Entries per workload and kind, whatever the config: the schema bound of baseline.maxEntriesPerWorkload. */
const MAX_ENTRIES_PER_KIND = 1_000_000;

const isoTime = z.iso.datetime().max(64);

/**
 * Workload identities as netmon makes them (Compose project/service, image repository, container
 * name): they start with a letter or digit, which also keeps out `__proto__` and friends.
 */
const workloadName = z
  .string()
  .max(512)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/,
    "not a workload identity (project/service, image repository or name)",
  );

const entrySchema = z
  .strictObject({
    entry: z
      .string()
      .min(1)
      .max(600)
      .regex(/^[\x21-\x7e]+$/, "not printable ASCII without spaces"),
    firstSeen: isoTime,
    lastSeen: isoTime,
    count: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  })
  .refine((e) => Date.parse(e.lastSeen) >= Date.parse(e.firstSeen), {
    message: "lastSeen is before firstSeen",
    path: ["lastSeen"],
  });

type ExportEntry = z.infer<typeof entrySchema>;

/** Refuses entries that are not of their list's kind, out-of-range ports, and duplicates. */
function checkEntries(kind: EntryKind, list: readonly ExportEntry[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((e, i) => {
    const parsed = parseEntry(e.entry);
    const port = parsed === null ? Number.NaN : Number(/(\d+)[|/][a-z]+$/.exec(parsed.key)?.[1]);
    let problem: string | null = null;
    if (parsed === null || parsed.kind !== kind) {
      problem = kind === "egress" ? "not a DEST:PORT/PROTO entry" : "not a PORT/PROTO entry";
    } else if (!(port >= 1 && port <= 65_535)) problem = "port out of range (1-65535)";
    else if (seen.has(parsed.key)) problem = "duplicate entry";
    else seen.add(parsed.key);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem, path: [kind, i, "entry"] });
  });
}

const workloadSchema = z
  .strictObject({
    workload: workloadName,
    firstSeen: isoTime,
    egress: z.array(entrySchema).max(MAX_ENTRIES_PER_KIND),
    listen: z.array(entrySchema).max(MAX_ENTRIES_PER_KIND),
  })
  .superRefine((w, ctx) => {
    checkEntries("egress", w.egress, ctx);
    checkEntries("listen", w.listen, ctx);
  });

export const exportDocumentSchema = z
  .strictObject({
    format: z.literal(EXPORT_FORMAT),
    version: z.literal(EXPORT_VERSION),
    exportedAt: isoTime.optional(),
    workloads: z.array(workloadSchema).max(MAX_EXPORT_WORKLOADS),
  })
  .superRefine((doc, ctx) => {
    const names = new Set<string>();
    doc.workloads.forEach((w, i) => {
      if (names.has(w.workload)) {
        ctx.addIssue({ code: "custom", message: "duplicate workload", path: ["workloads", i, "workload"] });
      }
      names.add(w.workload);
    });
  });

export type ExportDocument = z.infer<typeof exportDocumentSchema>;

/** Read first, so a file of another format or version says so instead of listing its differences. */
const headerSchema = z.looseObject({
  format: z.literal(EXPORT_FORMAT, { error: `not a netmon baseline export (format "${EXPORT_FORMAT}")` }),
  version: z.literal(EXPORT_VERSION, {
    error: (issue) =>
      `version ${JSON.stringify(issue.input)} is not read by this netmon (it reads version ${EXPORT_VERSION})`,
  }),
});

export class BaselineImportError extends Error {
  override name = "BaselineImportError";
}

/** 'workloads.2 ("shop/web").egress.0.entry: not a DEST:PORT/PROTO entry' */
function issueText(issue: z.core.$ZodIssue, raw: unknown): string {
  const parts = issue.path.map((p, i) => {
    const text = String(p);
    if (i !== 1 || issue.path[0] !== "workloads" || typeof p !== "number") return text;
    const name = (raw as { workloads?: { workload?: unknown }[] }).workloads?.[p]?.workload;
    // Quoted: the name is input, and must not break the one error line.
    return typeof name === "string" ? `${text} (${JSON.stringify(name.slice(0, 80))})` : text;
  });
  return `${parts.join(".") || "(top level)"}: ${issue.message}`;
}

/**
 * A checked document from parsed JSON. Throws a BaselineImportError naming the key path of the
 * first problem; `maxEntriesPerWorkload` is this host's learning cap (baseline.maxEntriesPerWorkload).
 */
export function parseExportDocument(raw: unknown, maxEntriesPerWorkload: number): ExportDocument {
  const header = headerSchema.safeParse(raw);
  if (!header.success) throw new BaselineImportError(issueText(header.error.issues[0]!, raw));
  const parsed = exportDocumentSchema.safeParse(raw);
  if (!parsed.success) throw new BaselineImportError(issueText(parsed.error.issues[0]!, raw));
  parsed.data.workloads.forEach((w, i) => {
    const n = w.egress.length + w.listen.length;
    if (n > maxEntriesPerWorkload) {
      throw new BaselineImportError(
        `workloads.${i} (${JSON.stringify(w.workload)}): ${n} entries, more than baseline.maxEntriesPerWorkload (${maxEntriesPerWorkload})`,
      );
    }
  });
  return parsed.data;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function exportEntries(kind: EntryKind, m: ReadonlyMap<string, Readonly<EntryStats>>): ExportEntry[] {
  return [...m]
    .map(([key, s]) => ({
      entry: entryText(kind, key),
      firstSeen: iso(s.firstSeen),
      lastSeen: iso(s.lastSeen),
      count: s.count,
    }))
    .sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
}

/** The document for the given workloads (every workload when none); throws naming a workload with no baseline. */
export function exportBaseline(baseline: Baseline, workloads: readonly string[], now: Date): ExportDocument {
  const names = workloads.length === 0 ? baseline.names() : [...new Set(workloads)].sort();
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: now.toISOString(),
    workloads: names.map((name) => {
      const w = baseline.snapshot(name);
      if (w === null) throw new BaselineImportError(`no baseline for workload ${JSON.stringify(name)}`);
      return {
        workload: name,
        firstSeen: iso(w.firstSeen),
        egress: exportEntries("egress", w.egress),
        listen: exportEntries("listen", w.listen),
      };
    }),
  };
}

function snapshotOf(w: ExportDocument["workloads"][number]): WorkloadSnapshot {
  const entries = (list: readonly ExportEntry[]) =>
    new Map(
      list.map((e) => [
        parseEntry(e.entry)!.key, // checked by the schema
        { firstSeen: Date.parse(e.firstSeen), lastSeen: Date.parse(e.lastSeen), count: e.count },
      ]),
    );
  return { firstSeen: Date.parse(w.firstSeen), egress: entries(w.egress), listen: entries(w.listen) };
}

/** What an import did: per workload of the document (in its order), the entries dropped by the cap. */
export interface ImportResult {
  workloads: { workload: string; dropped: number }[];
  merge: boolean;
}

/** Applies a checked document: each of its workloads replaces (or, with merge, is merged into) this baseline's. */
export function importBaseline(baseline: Baseline, doc: ExportDocument, merge: boolean): ImportResult {
  return {
    merge,
    workloads: doc.workloads.map((w) => ({
      workload: w.workload,
      dropped: baseline.importWorkload(w.workload, snapshotOf(w), merge),
    })),
  };
}

/** One sentence for the log and the CLI. */
export function importSummary(r: ImportResult): string {
  const names = r.workloads.map((w) => w.workload);
  const shown = names.length > 5 ? `${names.slice(0, 5).join(", ")}, …` : names.join(", ");
  const dropped = r.workloads.reduce((n, w) => n + w.dropped, 0);
  return `baseline import: ${names.length} workload(s) ${r.merge ? "merged" : "replaced"}${names.length > 0 ? ` (${shown})` : ""}${dropped > 0 ? `; ${dropped} entries over baseline.maxEntriesPerWorkload dropped` : ""}`;
}

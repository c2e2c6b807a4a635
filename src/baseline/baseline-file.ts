import { z } from "zod";

/**
 * The baseline file (stateDir/baseline.json). Version 2 keeps, per learned entry, when it was first
 * and last seen and how often; version 1 (entries only) is still read, and converted on load.
 */

const entrySchema = z.strictObject({
  /** "dest|port|proto" for egress, "port/proto" for listen. */
  entry: z.string().max(600),
  firstSeen: z.number().finite(),
  lastSeen: z.number().finite(),
  count: z.number().int().min(1),
});

const fileV2Schema = z.strictObject({
  version: z.literal(2),
  workloads: z.record(
    z.string().max(512),
    z.strictObject({
      firstSeen: z.number().finite(),
      egress: z.array(entrySchema).max(1_000_000),
      listen: z.array(entrySchema).max(65_536 * 2),
    }),
  ),
});

const fileV1Schema = z.strictObject({
  version: z.literal(1),
  workloads: z.record(
    z.string().max(512),
    z.strictObject({
      firstSeen: z.number().finite(),
      egress: z.array(z.string().max(600)).max(1_000_000),
      listen: z.array(z.string().max(16)).max(65_536 * 2),
    }),
  ),
});

/** Only the version is read first, so that the errors of a file name paths of its own version. */
const versionSchema = z.looseObject({ version: z.union([z.literal(1), z.literal(2)]) });

export type BaselineFile = z.infer<typeof fileV2Schema>;
export type BaselineFileEntry = z.infer<typeof entrySchema>;

/** "workloads.shop/web.firstSeen: expected number, received string" */
function firstIssue(error: z.ZodError): Error {
  const issue = error.issues[0]!;
  return new Error(`${issue.path.join(".") || "(top level)"}: ${issue.message}`);
}

/**
 * A checked version-2 file from parsed JSON of either version; throws an Error naming the key path
 * of the first problem. A version-1 entry becomes one seen once, when its workload was first seen.
 */
export function parseBaselineFile(raw: unknown): BaselineFile {
  const version = versionSchema.safeParse(raw);
  if (!version.success) throw firstIssue(version.error);
  if (version.data.version === 2) {
    const v2 = fileV2Schema.safeParse(raw);
    if (!v2.success) throw firstIssue(v2.error);
    return v2.data;
  }
  const v1 = fileV1Schema.safeParse(raw);
  if (!v1.success) throw firstIssue(v1.error);
  const workloads: BaselineFile["workloads"] = {};
  for (const [name, w] of Object.entries(v1.data.workloads)) {
    const once = (entry: string): BaselineFileEntry => ({
      entry,
      firstSeen: w.firstSeen,
      lastSeen: w.firstSeen,
      count: 1,
    });
    workloads[name] = { firstSeen: w.firstSeen, egress: w.egress.map(once), listen: w.listen.map(once) };
  }
  return { version: 2, workloads };
}

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomic } from "../util/atomic-write.js";
import { element } from "./commands.js";
import type { BlockEntry, BlockRecord } from "./types.js";

/** Short stable id of a kernel entry: what `netmon blocks remove ID` takes. */
export function blockId(e: BlockEntry): string {
  return createHash("sha256")
    .update(`${e.scope}|${e.family}|${element(e)}`)
    .digest("hex")
    .slice(0, 10);
}

const entrySchema = z.union([
  z.strictObject({
    scope: z.literal("destination"),
    family: z.union([z.literal(4), z.literal(6)]),
    src: z.string().max(64),
    proto: z.enum(["tcp", "udp"]),
    port: z.number().int().min(0).max(65535),
    dst: z.string().max(64),
  }),
  z.strictObject({
    scope: z.literal("container"),
    family: z.union([z.literal(4), z.literal(6)]),
    src: z.string().max(64),
  }),
]);

const fileSchema = z.strictObject({
  version: z.literal(1),
  blocks: z.array(
    z.strictObject({
      id: z.string().max(32),
      entry: entrySchema,
      container: z.string().max(256),
      workload: z.string().max(512),
      fingerprint: z.string().max(64),
      reason: z.string().max(2000),
      createdAt: z.number(),
      expiresAt: z.number(),
    }),
  ),
  /** workload|target → times blocked within the escalation window (for repeat offenders). */
  history: z.record(z.string().max(1200), z.array(z.number()).max(64)).default({}),
});

export interface BlockStateData {
  blocks: BlockRecord[];
  history: Record<string, number[]>;
}

/** Why each block exists (the kernel keeps only the entry and its timeout), saved atomically. */
export function loadBlockState(path: string): BlockStateData {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { blocks: [], history: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { blocks: [], history: {} };
  }
  // A corrupt file loses only the reasons: the kernel entries (and their timeouts) stay and are adopted.
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) return { blocks: [], history: {} };
  return { blocks: parsed.data.blocks, history: parsed.data.history };
}

export function saveBlockState(path: string, data: BlockStateData): void {
  writeFileAtomic(path, `${JSON.stringify({ version: 1, ...data })}\n`);
}

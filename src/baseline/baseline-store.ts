import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic-write.js";
import { Baseline } from "./baseline.js";

export class BaselineFileError extends Error {
  override name = "BaselineFileError";
}

/** Loads the baseline file; a missing file is an empty baseline, a corrupt one an error naming it. */
export function loadBaseline(path: string, maxEntries: number): Baseline {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Baseline(maxEntries);
    throw new BaselineFileError(`${path}: cannot read the baseline (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    return Baseline.fromJSON(JSON.parse(text), maxEntries);
  } catch (err) {
    throw new BaselineFileError(`${path}: not a valid baseline file (${(err as Error).message})`);
  }
}

/**
 * Writes the baseline atomically: a temporary file in the same directory, fsync, then rename, so
 * a crash leaves either the old or the new file, never half of one.
 */
export function saveBaseline(path: string, baseline: Baseline): void {
  writeFileAtomic(path, `${JSON.stringify(baseline.toJSON(), null, 1)}\n`);
  baseline.dirty = false;
}

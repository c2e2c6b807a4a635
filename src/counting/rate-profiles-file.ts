import { readFileSync, renameSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomic } from "../util/atomic-write.js";
import { RATE_PROFILES_DEFAULTS, RateProfiles, type RateProfilesOptions } from "./rate-profiles.js";

/** stateDir/rate-profiles.json: the engine's connection-rate profiles, saved next to the baseline. */

export class RateProfilesFileError extends Error {
  override name = "RateProfilesFileError";
}

const bucketIndex = z.number().int();
const fileSchema = z.object({
  version: z.literal(1),
  bucketMs: z.number().int().positive(),
  buckets: z.number().int().positive(),
  groups: z.record(z.string(), z.number().finite()),
  profiles: z.array(
    z.object({
      key: z.string(),
      group: z.string(),
      first: bucketIndex,
      closed: bucketIndex,
      counts: z.array(z.tuple([bucketIndex, z.number().int()])),
    }),
  ),
});

/** Loads the file; a missing one is an empty store, an unreadable or corrupt one an error naming it. */
export function loadRateProfiles(
  path: string,
  opts: RateProfilesOptions = RATE_PROFILES_DEFAULTS,
): RateProfiles {
  const store = new RateProfiles(opts);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return store;
    throw new RateProfilesFileError(`${path}: cannot read the rate profiles (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RateProfilesFileError(`${path}: not a valid rate profiles file (${(err as Error).message})`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new RateProfilesFileError(
      `${path}: not a valid rate profiles file (${parsed.error.issues[0]?.message})`,
    );
  }
  store.load(parsed.data);
  store.dirty = false;
  return store;
}

/**
 * Loads the file; a corrupt one is moved aside (`<path>.corrupt-<ms>`) and an empty store returned,
 * with `warn` told why: rate profiles are relearned, never a reason not to start. Throws only when
 * the corrupt file cannot be moved either (it would be overwritten otherwise).
 */
export function loadRateProfilesKeepingCorruptFile(
  path: string,
  warn: (message: string, movedTo: string) => void,
  nowMs: number,
): RateProfiles {
  try {
    return loadRateProfiles(path);
  } catch (err) {
    if (!(err instanceof RateProfilesFileError)) throw err;
    const aside = `${path}.corrupt-${nowMs}`;
    try {
      renameSync(path, aside);
    } catch {
      throw new RateProfilesFileError(`${err.message}; cannot move it aside either`);
    }
    warn(`${err.message}; starting new rate profiles`, aside);
    return new RateProfiles();
  }
}

/** Writes the store atomically (temporary file, fsync, rename) when it changed since the last save. */
export function saveRateProfiles(path: string, store: RateProfiles): void {
  if (!store.dirty) return;
  writeFileAtomic(path, `${JSON.stringify(store.toJSON())}\n`);
  store.dirty = false;
}

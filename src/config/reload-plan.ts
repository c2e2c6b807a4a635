import { nestedKeysNeedingRestart, sectionsNeedingRestart } from "./config-doc.js";
import { configSchema, type NetmonConfig } from "./schema.js";

export interface ReloadPlan {
  /** What runs after the reload: the new config, with every restart-only setting kept at its running value. */
  effective: NetmonConfig;
  /** Top-level sections whose change applies at once. */
  applied: string[];
  /** Sections and keys changed in the file that wait for a restart. */
  needRestart: string[];
}

type Tree = Record<string, unknown>;

function valueAt(config: NetmonConfig, path: readonly string[]): unknown {
  let v: unknown = config;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Tree)[k] : undefined;
  return v;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * SIGHUP: what a new, validated config changes. Compared with what runs, not with the last file
 * read, so a change that waits for a restart is reported at every SIGHUP until then. A restart-only
 * key inside a section that applies at once (log.eventsFile) keeps its running value; the rest of
 * its section applies.
 */
export function planReload(running: NetmonConfig, next: NetmonConfig): ReloadPlan {
  const effective = structuredClone(next);
  const needRestart: string[] = [];
  for (const k of sectionsNeedingRestart()) {
    if (!same(running[k], next[k])) needRestart.push(k);
    Object.assign(effective, { [k]: running[k] });
  }
  for (const path of nestedKeysNeedingRestart()) {
    const kept = valueAt(running, path);
    if (same(kept, valueAt(next, path))) continue;
    needRestart.push(path.join("."));
    const parent = valueAt(effective, path.slice(0, -1)) as Tree;
    parent[path.at(-1)!] = structuredClone(kept);
  }
  const applied = (Object.keys(configSchema.shape) as (keyof NetmonConfig)[]).filter(
    (k) => !same(running[k], effective[k]),
  );
  return { effective, applied, needRestart };
}

import { join } from "node:path";
import { BaselineFileError, loadBaseline, saveBaseline } from "../baseline/baseline-store.js";
import type { NetmonConfig } from "../config/schema.js";
import { NetmonError } from "../util/errors.js";

function baselinePath(config: NetmonConfig): string {
  return join(config.stateDir, "baseline.json");
}

function load(config: NetmonConfig) {
  try {
    return loadBaseline(baselinePath(config), config.baseline.maxEntriesPerWorkload);
  } catch (err) {
    if (err instanceof BaselineFileError) throw new NetmonError(err.message);
    throw err;
  }
}

/** `netmon baseline show [workload]`: what each workload learned, as text (or JSON). */
export function showBaseline(config: NetmonConfig, workload: string | undefined, json: boolean): string {
  const baseline = load(config);
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

/**
 * `netmon baseline reset <workload>`: forgets what it learned; it learns again from its next
 * event. A running daemon keeps its in-memory copy until restarted (stop it first).
 */
export function resetBaseline(config: NetmonConfig, workload: string): string {
  const baseline = load(config);
  if (!baseline.reset(workload))
    throw new NetmonError(`no baseline for workload ${JSON.stringify(workload)}`);
  saveBaseline(baselinePath(config), baseline);
  return `baseline of ${workload} reset\n`;
}

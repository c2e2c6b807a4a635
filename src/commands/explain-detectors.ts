import type { z } from "zod";
import { DETECTORS } from "../../detectors/index.js";
import type { NetmonConfig } from "../config/schema.js";
import { configKeys } from "../model/config-meta.js";

/**
 * `netmon check-config FILE --explain`: each detector with its help, the findings it can raise and
 * every option with the value this config gives it (marked when it is not the default) and its
 * meaning, so an operator sees what the detectors will do before starting the daemon.
 */
export function explainDetectors(config: NetmonConfig): string {
  const out: string[] = [];
  const given = config.detectors as Record<string, Record<string, unknown>>;
  for (const d of DETECTORS) {
    const schema = d.options as z.ZodType;
    const defaults = schema.parse({}) as Record<string, unknown>;
    const values = given[d.name] ?? defaults;
    out.push(`${d.name}: ${d.help}`);
    out.push("  findings:");
    for (const [kind, help] of Object.entries(d.findings)) out.push(`    ${d.name}/${kind}: ${help}`);
    out.push("  options:");
    for (const key of configKeys(schema)) {
      const value = JSON.stringify(values[key.key]);
      const changed =
        value === JSON.stringify(defaults[key.key]) ? "" : ` (default ${JSON.stringify(defaults[key.key])})`;
      out.push(`    ${key.key} = ${value}${changed}`);
      if (key.description) out.push(`      ${key.description}`);
    }
    out.push("");
  }
  return out.join("\n");
}

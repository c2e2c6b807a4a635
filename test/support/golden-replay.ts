/**
 * Replays one golden case (test/cases/make-cases.ts) through the real pipeline with its config.yaml
 * and returns the log lines it wrote: shared by the golden test and the incident-bound test.
 */
import { isAbsolute, join, resolve } from "node:path";
import { pino } from "pino";
import type { AlertLogFields } from "../../src/alerts/log-sink.js";
import { replayFile } from "../../src/commands/replay.js";
import { loadConfig } from "../../src/config/load.js";
import { CASES_DIR, type GeneratedCase } from "../cases/make-cases.js";

export interface LogLine {
  level: number;
  msg?: string;
  alert?: AlertLogFields;
}

/** The three kinds of line of an incident's life. */
export const INCIDENT_MSGS: ReadonlySet<string> = new Set(["alert", "alert updated", "alert resolved"]);

export function replayCase(c: GeneratedCase): { lines: LogLine[]; summary: ReturnType<typeof replayFile> } {
  const loaded = loadConfig(c.config);
  if (!loaded.ok) throw new Error(`${c.config}: ${loaded.errors.join("; ")}`);
  const config = loaded.config;
  // Relative paths in a case's config are relative to the case directory (see make-cases.ts).
  const deny = config.policy.denylistFile;
  if (deny !== null && !isAbsolute(deny)) config.policy.denylistFile = resolve(join(CASES_DIR, c.name), deny);
  const raw: string[] = [];
  const log = pino(
    { level: "info" },
    {
      write(line: string) {
        raw.push(line);
      },
    },
  );
  const summary = replayFile(c.pcap, { inventory: c.inventory }, config, log);
  return { lines: raw.map((l) => JSON.parse(l) as LogLine), summary };
}

/** The incident lines of a replay: opened, updated and resolved, in order. */
export function incidentLines(
  lines: readonly LogLine[],
): (LogLine & { msg: string; alert: AlertLogFields })[] {
  return lines.filter(
    (l): l is LogLine & { msg: string; alert: AlertLogFields } =>
      l.msg !== undefined && INCIDENT_MSGS.has(l.msg) && l.alert !== undefined,
  );
}

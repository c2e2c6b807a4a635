import { type LoggerOptions, pino } from "pino";
import type { Logger } from "../../src/util/logger.js";

export interface LogCapture {
  log: Logger;
  /** Every line written, parsed, in order. */
  lines: Record<string, unknown>[];
}

/** The `app` field and ISO time src/util/logger.ts puts on every line. */
export const NETMON_LOG_FORMAT: LoggerOptions = {
  base: { app: "netmon" },
  timestamp: pino.stdTimeFunctions.isoTime,
};

/**
 * A debug-level pino logger with the level written as its label (as in src/util/logger.ts) that keeps
 * each JSON line it writes. `options` adds to or overrides that (e.g. `base`, `timestamp`).
 */
export function captureLog(options: LoggerOptions = {}): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug", formatters: { level: (label) => ({ level: label }) }, ...options },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

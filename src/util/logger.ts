import { pino } from "pino";

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Write each line before returning (see createLogger). */
  sync?: boolean;
  /** File descriptor to write to (default 1, stdout). */
  fd?: number;
  /** The `host` setting (src/config/fleet-schema.ts): a top-level field of every line, next to `app`. */
  host?: string;
}

/**
 * Structured JSON logs on stdout (one line each). `sync` writes each line before returning:
 * replay runs as a tight loop and must not queue millions of lines in memory. `host` goes into
 * pino's `base`, so every line (start-up, alert, event, shutdown) names its host once, at the top
 * level, where a log pipeline (Loki, Elasticsearch) finds it without parsing the alert.
 */
export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  const destination = pino.destination({ fd: opts.fd ?? 1, sync: opts.sync ?? false });
  return pino(
    {
      level,
      base: opts.host === undefined ? { app: "netmon" } : { app: "netmon", host: opts.host },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

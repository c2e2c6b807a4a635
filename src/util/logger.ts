import { pino } from "pino";

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout (one line each). `sync` writes each line before returning:
 * replay runs as a tight loop and must not queue millions of lines in memory.
 */
export function createLogger(level: string, opts: { sync?: boolean; fd?: number } = {}): Logger {
  const destination = pino.destination({ fd: opts.fd ?? 1, sync: opts.sync ?? false });
  return pino(
    {
      level,
      base: { app: "netmon" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

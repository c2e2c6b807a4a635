import type { EventsFileConfig } from "../config/events-file-schema.js";
import type { NetmonEvent } from "../model/events.js";
import { NetmonError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { RotatingFile, type RotatingFileStats } from "../util/rotating-file.js";
import { eventRecord } from "./event-log.js";

/** Write errors are logged at most this often (ms); every lost line is counted. */
const WARN_EVERY_MS = 60_000;

/**
 * `log.eventsFile.path`: the event lines in a file of their own, for a log pipeline (Vector,
 * Promtail) to tail. Each line is `{"time","app","msg","event"}` plus `base` (e.g. `host`), the
 * same object the log stream carries, without pino's `level`. An engine observer: it sees every
 * event after detection, so attempts carry their verdict.
 */
export class EventFileWriter {
  private readonly file: RotatingFile;
  private readonly base: Record<string, unknown>;
  private lastWarnAt = Number.NEGATIVE_INFINITY;

  constructor(
    config: EventsFileConfig & { path: string },
    log: Logger,
    base: Record<string, unknown> = {},
    now: () => number = Date.now,
  ) {
    this.base = { app: "netmon", ...base };
    try {
      this.file = new RotatingFile({
        path: config.path,
        maxBytes: config.maxBytes,
        maxFiles: config.maxFiles,
        onError: (err, droppedLines) => {
          const t = now();
          if (t - this.lastWarnAt < WARN_EVERY_MS) return;
          this.lastWarnAt = t;
          log.warn(
            { file: config.path, err: err.message, droppedLines, dropped: this.file.stats().dropped },
            "events file: write failed; lines dropped",
          );
        },
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new NetmonError(`log.eventsFile.path: cannot write ${config.path}: ${why}`);
    }
  }

  onEvent(ev: NetmonEvent): void {
    const { msg, event } = eventRecord(ev);
    this.file.write(JSON.stringify({ time: new Date().toISOString(), ...this.base, msg, event }));
  }

  stats(): RotatingFileStats {
    return this.file.stats();
  }

  close(): void {
    this.file.close();
  }
}

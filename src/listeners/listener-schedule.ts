/** Runs the listener scan on a cron schedule (six fields, seconds first; the default elsewhere is every 15 s). */
import cron, { type Logger } from "node-cron";

export interface ListenerScheduleOptions {
  /** Receives what a run threw or rejected with; without it node-cron's logger reports it. */
  onError?: (err: unknown) => void;
  /** Called when a tick is skipped because the previous run has not finished. */
  onSkip?: () => void;
  /** Where node-cron's own messages go (overlap and missed-tick warnings); default: its console logger. */
  logger?: Logger;
}

/**
 * Starts the schedule; `stop()` ends it (a run in progress finishes, no new one starts).
 * Throws at once on an invalid expression, naming it, so a bad config fails at start-up.
 */
export function scheduleListenerScan(
  expression: string,
  run: () => Promise<void>,
  options: ListenerScheduleOptions = {},
): { stop(): void } {
  if (!cron.validate(expression)) {
    throw new Error(`invalid listener scan schedule "${expression}": ${whyInvalid(expression)}`);
  }
  const { onError, onSkip, logger } = options;
  const task = cron.schedule(
    expression,
    async () => {
      if (onError === undefined) return run();
      try {
        await run();
      } catch (err) {
        onError(err);
      }
    },
    // noOverlap: a scan slower than the period (slow /proc, hundreds of containers) skips ticks
    // instead of stacking concurrent scans.
    { noOverlap: true, name: "listener-scan", ...(logger ? { logger } : {}) },
  );
  if (onSkip) task.on("execution:overlap", () => onSkip());
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      // destroy (not just stop) also drops the task from node-cron's global registry.
      void Promise.resolve(task.destroy()).catch(() => undefined);
    },
  };
}

function whyInvalid(expression: string): string {
  try {
    const reasons = cron.validateDetailed(expression).errors.map((e) => e.message);
    return reasons.length > 0 ? reasons.join("; ") : "not a cron expression";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

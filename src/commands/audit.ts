import { join } from "node:path";
import type { Baseline } from "../baseline/baseline.js";
import { loadBaseline } from "../baseline/baseline-store.js";
import type { NetmonConfig } from "../config/schema.js";
import { DockerSocketClient } from "../inventory/docker-api.js";
import { type AuditOptions, type AuditReport, runAudit } from "../posture/audit.js";
import { readConnectionEvents } from "../posture/event-file.js";
import { formatAuditJson, formatAuditTable } from "../posture/format.js";
import { explainDockerError, NetmonError } from "../util/errors.js";

export interface AuditCommandOptions {
  json?: boolean;
  /** A log of `netmon run --log-events`: its accepted inbound connections feed the published-port check. */
  events?: string;
}

/** Reads an events file, turning a missing or unreadable file into one clear line. */
export async function readEventsOrThrow(
  path: string,
  keep: Parameters<typeof readConnectionEvents>[1],
): ReturnType<typeof readConnectionEvents> {
  try {
    return await readConnectionEvents(path, keep);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new NetmonError(`${path}: cannot read the events file (${code})`);
  }
}

/** The baseline for the internal-network check; an unreadable one only disables that check. */
function baselineOrNote(config: NetmonConfig, errors: string[]): Baseline | null {
  try {
    return loadBaseline(join(config.stateDir, "baseline.json"), config.baseline.maxEntriesPerWorkload);
  } catch (err) {
    errors.push(`internal-network check skipped: ${(err as Error).message}`);
    return null;
  }
}

/** `netmon audit [--json] [--events FILE]`: the posture of every running container, once. */
export async function auditCommand(config: NetmonConfig, opts: AuditCommandOptions = {}): Promise<string> {
  const notes: string[] = [];
  const auditOpts: AuditOptions = {
    baseline: baselineOrNote(config, notes),
    learnForMs: config.baseline.learnForSeconds * 1000,
  };
  if (opts.events !== undefined) {
    const read = await readEventsOrThrow(
      opts.events,
      // A pickup whose ports did not tell the server side has no listening port in `dst`.
      (ev) => ev.state === "accepted" && ev.dst.container !== null && ev.initiator !== "unknown",
    );
    auditOpts.observedListenHits = new Set(
      read.events.map((ev) => `${ev.dst.container!.id.slice(0, 12)}|${ev.dst.port}/${ev.proto}`),
    );
    auditOpts.observedSinceMs = read.firstTs ?? Date.now();
    auditOpts.observedUntilMs = read.lastTs ?? Date.now();
  }
  const client = new DockerSocketClient(config.docker.socketPath);
  let report: AuditReport;
  try {
    report = await runAudit(client, auditOpts);
  } catch (err) {
    throw new NetmonError(explainDockerError(config.docker.socketPath, err));
  }
  report.errors.push(...notes);
  return opts.json ? formatAuditJson(report) : formatAuditTable(report);
}

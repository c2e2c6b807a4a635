import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";
import type { Proto } from "../model/events.js";

/**
 * The alerts of a netmon log, read back for `policy suggest`: what raised an alert is never
 * suggested, and what a workload did during a scan or burst is not evidence of normal traffic.
 * Reads the `alert`, `alert updated` and `alert resolved` lines (src/alerts/log-sink.ts) loosely:
 * only the fields needed here are checked, so new fields in the line do not break the reader.
 */

const endpointSchema = z.looseObject({
  ip: z.string().max(64),
  port: z.number().int().min(0).max(65535),
  proto: z.enum(["tcp", "udp"]),
  names: z.array(z.string().max(256)).max(64).nullish(),
});

const alertSchema = z.looseObject({
  detector: z.string().max(64),
  fingerprint: z.string().max(128),
  summary: z.string().max(4096),
  workload: z.string().max(512),
  container: z.looseObject({ id: z.string().max(64), name: z.string().max(256) }),
  dst: endpointSchema.nullish(),
  targets: z.looseObject({ samples: z.array(z.string().max(512)).max(256) }).nullish(),
  firstSeen: z.string().max(64),
  lastSeen: z.string().max(64),
  details: z.looseObject({}).nullish(),
});

const ALERT_MSGS = new Set(["alert", "alert updated", "alert resolved"]);

export interface AlertEndpoint {
  ip: string;
  port: number;
  proto: Proto;
  names: string[];
}

/** One incident (every line of one fingerprint folded together). */
export interface LoggedAlert {
  fingerprint: string;
  detector: string;
  summary: string;
  workload: string;
  container: { id: string; name: string };
  /** Every dst its lines named (an incident's dst follows its latest finding). */
  dsts: AlertEndpoint[];
  /** Target samples ("ip:port/proto") and details.targets, as the lines gave them. */
  samples: string[];
  /** connection-burst's shape (details.shape): port-scan, host-scan, brute-force, burst, ... */
  shape: string | null;
  /** details.windowMs: how far before firstSeen the connections that made it began. */
  windowMs: number | null;
  firstSeen: number;
  lastSeen: number;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string" && s.length <= 512) : [];

/** One log line as an alert (not folded yet), or null when it is no alert line. */
export function parseAlertLine(line: string): LoggedAlert | null {
  if (!line.includes('"alert')) return null; // cheap pre-filter: most lines are something else
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  const msg = (raw as { msg?: unknown } | null)?.msg;
  if (typeof msg !== "string" || !ALERT_MSGS.has(msg)) return null;
  const parsed = alertSchema.safeParse((raw as { alert?: unknown }).alert);
  if (!parsed.success) return null;
  const a = parsed.data;
  const firstSeen = Date.parse(a.firstSeen);
  const lastSeen = Date.parse(a.lastSeen);
  if (!Number.isFinite(firstSeen) || !Number.isFinite(lastSeen)) return null;
  const details = (a.details ?? {}) as Record<string, unknown>;
  return {
    fingerprint: a.fingerprint,
    detector: a.detector,
    summary: a.summary,
    workload: a.workload,
    container: { id: a.container.id, name: a.container.name },
    dsts: a.dst ? [{ ip: a.dst.ip, port: a.dst.port, proto: a.dst.proto, names: a.dst.names ?? [] }] : [],
    samples: [...(a.targets?.samples ?? []), ...strings(details.targets)],
    shape: typeof details.shape === "string" ? details.shape : null,
    windowMs: typeof details.windowMs === "number" && details.windowMs >= 0 ? details.windowMs : null,
    firstSeen,
    lastSeen,
  };
}

/** Folds a line into the incident of its fingerprint. */
function fold(into: LoggedAlert, a: LoggedAlert): void {
  into.firstSeen = Math.min(into.firstSeen, a.firstSeen);
  if (a.lastSeen >= into.lastSeen) {
    into.lastSeen = a.lastSeen;
    into.summary = a.summary;
  }
  for (const d of a.dsts) {
    if (!into.dsts.some((x) => x.ip === d.ip && x.port === d.port && x.proto === d.proto)) into.dsts.push(d);
  }
  for (const s of a.samples)
    if (!into.samples.includes(s) && into.samples.length < 1024) into.samples.push(s);
  into.shape ??= a.shape;
  if (a.windowMs !== null) into.windowMs = Math.max(into.windowMs ?? 0, a.windowMs);
}

/** Alert lines (any order) → one record per incident, in first-seen order. */
export function foldAlertLines(lines: Iterable<LoggedAlert>): LoggedAlert[] {
  const byFingerprint = new Map<string, LoggedAlert>();
  for (const a of lines) {
    const known = byFingerprint.get(a.fingerprint);
    if (known === undefined)
      byFingerprint.set(a.fingerprint, { ...a, dsts: [...a.dsts], samples: [...a.samples] });
    else fold(known, a);
  }
  return [...byFingerprint.values()].sort((x, y) => x.firstSeen - y.firstSeen);
}

/** Streams the log and returns its incidents (at most maxAlerts lines read). Throws on a read error. */
export async function readLoggedAlerts(path: string, maxAlerts = 100_000): Promise<LoggedAlert[]> {
  const found: LoggedAlert[] = [];
  const stream = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.length > 1_000_000 || found.length >= maxAlerts) continue;
    const a = parseAlertLine(line);
    if (a !== null) found.push(a);
  }
  return foldAlertLines(found);
}

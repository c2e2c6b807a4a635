import type { Alert } from "../alerts/alert.js";
import type { Proto } from "../model/events.js";
import type { BlockingConfig, BlockRule } from "./block-config.js";
import type { BlockEntry } from "./types.js";

export interface BlockDecision {
  scope: BlockRule["scope"];
  /** One entry per IP of the container (a container on several networks has several). */
  entries: BlockEntry[];
  durationSeconds: number;
  reason: string;
  /** Identity of the target for escalation: same workload and target → longer next time. */
  targetKey: string;
}

function ruleFor(alert: Alert, rules: readonly BlockRule[]): BlockRule | null {
  const shape = alert.kind ?? (typeof alert.details?.shape === "string" ? alert.details.shape : undefined);
  for (const r of rules) {
    if (r.detector !== alert.detector) continue;
    if (r.severities && !r.severities.includes(alert.severity)) continue;
    if (r.shapes && (shape === undefined || !r.shapes.includes(shape as never))) continue;
    return r;
  }
  return null;
}

const familyOf = (ip: string): 4 | 6 => (ip.includes(":") ? 6 : 4);

/**
 * Maps an alert to a block decision, or null: pure (no I/O, no clock). `containerIps` are the
 * offending container's addresses; `repeats` how often this workload and target were blocked in
 * the last 24 h (each repeat doubles the duration, up to maxDurationSeconds).
 */
export function decideBlock(
  alert: Alert,
  cfg: BlockingConfig,
  containerIps: readonly string[],
  repeats: number,
): BlockDecision | null {
  const rule = ruleFor(alert, cfg.rules);
  if (rule === null || containerIps.length === 0) return null;
  const durationSeconds = Math.min(cfg.maxDurationSeconds, cfg.durationSeconds * 2 ** Math.min(repeats, 30));
  if (rule.scope === "container") {
    return {
      scope: "container",
      entries: containerIps.map((src) => ({ scope: "container", family: familyOf(src), src })),
      durationSeconds,
      reason: `${alert.detector}: ${alert.summary}`,
      targetKey: `${alert.workload}|*`,
    };
  }
  const dst = alert.dst;
  if (dst === undefined) return null;
  const proto: Proto = dst.proto;
  const f = familyOf(dst.ip);
  const entries: BlockEntry[] = containerIps
    .filter((src) => familyOf(src) === f)
    .map((src) => ({ scope: "destination", family: f, src, proto, port: dst.port, dst: dst.ip }));
  if (entries.length === 0) return null;
  return {
    scope: "destination",
    entries,
    durationSeconds,
    reason: `${alert.detector}: ${alert.summary}`,
    targetKey: `${alert.workload}|${dst.ip}:${dst.port}/${proto}`,
  };
}

import type { Mode } from "./mode.js";

/** Why a destination or a listening port is allowed, or null when nothing allows it. */
export type AllowedBy = "config" | "label" | "baseline" | "dns-name" | "dns-resolver" | "declared" | null;

export interface EgressVerdict {
  allowedBy: AllowedBy;
  /** The destination is on the denylist: critical whatever else allows it. */
  denylisted: boolean;
}

/**
 * The policy's judgement of one connection attempt, made once by the engine and handed to metrics,
 * the topology map and the detectors (ConnectionEvent.verdict). In mode `off` nothing is judged:
 * allowedBy is null and denylisted false.
 */
export interface ConnectionVerdict extends EgressVerdict {
  /** The initiating container's workload. */
  workload: string;
  /** Its effective mode at the attempt's time (learning ends by itself). */
  mode: Mode;
}

import type { Mode } from "./mode.js";

/** Why a destination or a listening port is allowed, or null when nothing allows it. */
export type AllowedBy = "config" | "label" | "baseline" | "dns-name" | "dns-resolver" | "declared" | null;

export interface EgressVerdict {
  allowedBy: AllowedBy;
  /** The destination is on the denylist: critical whatever else allows it. */
  denylisted: boolean;
  /**
   * Where the rule that allowed it is written, and the rule ("label netmon.egress: db:5432/tcp",
   * "policy.workloads[1].egress[0]: 10.0.0.0/8", "gateway of network app: 172.18.0.1:53"); null
   * when nothing allowed it or the baseline did (which entry is not tracked per attempt). Policy
   * precomputes the words per container, so a verdict costs nothing more. Absent from verdicts built
   * by hand (test fixtures, fake contexts).
   */
  allowedRule?: string | null;
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

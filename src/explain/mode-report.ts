import type { ContainerRef } from "../model/events.js";
import type { ExplainSources, ModeReport } from "./report.js";

/** The container's mode now and where it comes from, as the policy (and `baseline status`) say it. */
export function modeReportOf(src: Pick<ExplainSources, "policy" | "now">, ref: ContainerRef): ModeReport {
  return {
    configured: src.policy.configuredMode(ref),
    effective: src.policy.modeOf(ref, src.now),
    source: src.policy.modeSource(ref, src.now),
    learning: src.policy.learningPeriod(ref),
  };
}

import { Gauge, type Registry } from "prom-client";
import { CHECKS } from "./checks.js";
import type { PostureFinding } from "./types.js";

/**
 * netmon_posture_findings{check,severity}: current findings of the last posture audit. Every
 * check's possible severities start at 0, so alert rules see a series before the first finding.
 * Both labels are bounded (14 checks × 3 severities); container names stay out of it.
 */
export function registerPostureMetrics(registry: Registry, findings: () => readonly PostureFinding[]): Gauge {
  return new Gauge({
    name: "netmon_posture_findings",
    help: "Container hardening findings of the last posture audit, by check and severity.",
    labelNames: ["check", "severity"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of CHECKS) for (const severity of c.severities) this.set({ check: c.id, severity }, 0);
      for (const f of findings()) this.inc({ check: f.check, severity: f.severity });
    },
  });
}

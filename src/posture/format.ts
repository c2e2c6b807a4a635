import type { AuditReport } from "./audit.js";
import { type PostureFinding, SEVERITIES } from "./types.js";

/** "3 findings on 2 containers: 1 critical, 2 info". */
export function auditSummary(findings: readonly PostureFinding[], containers: number): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  if (findings.length === 0) return `no findings on ${plural(containers, "container")}`;
  const counts = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return `${plural(findings.length, "finding")} on ${plural(containers, "container")}: ${counts.join(", ")}`;
}

/**
 * The audit for people: one row per finding (severity, container, check, what is wrong) with its
 * fix on the line below, then a summary line and whatever could not be audited.
 */
export function formatAuditTable(report: Pick<AuditReport, "findings" | "containers" | "errors">): string {
  const rows = report.findings.map((f) => [f.severity, f.container.name, f.check, f.summary, f.fix] as const);
  const head = ["SEVERITY", "CONTAINER", "CHECK", "FINDING"] as const;
  const width = (i: 0 | 1 | 2) => Math.max(head[i].length, ...rows.map((r) => r[i].length));
  const w = [width(0), width(1), width(2)] as const;
  const indent = w[0] + w[1] + w[2] + 6;
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(w[0])}  ${b.padEnd(w[1])}  ${c.padEnd(w[2])}  ${d}`.trimEnd();
  const out: string[] = [];
  if (rows.length > 0) {
    out.push(line(...head));
    for (const r of rows) {
      out.push(line(r[0], r[1], r[2], r[3]));
      out.push(`${" ".repeat(indent)}fix: ${r[4]}`);
    }
    out.push("");
  }
  out.push(auditSummary(report.findings, report.containers));
  for (const e of report.errors) out.push(`not audited: ${e}`);
  return `${out.join("\n")}\n`;
}

/** The audit for tools: the report as one JSON document. */
export function formatAuditJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

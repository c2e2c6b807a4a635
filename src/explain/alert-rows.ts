import type { Alert } from "../alerts/alert.js";

/** One active incident as `netmon alerts` lists it (and /api/alerts serves it). */
export interface AlertRow {
  fingerprint: string;
  container: string;
  workload: string;
  detector: string;
  kind: string | null;
  severity: string;
  summary: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
  action: string;
}

const RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** The active incidents, most severe first, then the most recent. */
export function alertRows(alerts: readonly Alert[]): AlertRow[] {
  return alerts
    .filter((a) => a.state === "active")
    .map((a) => ({
      fingerprint: a.fingerprint,
      container: a.container.name,
      workload: a.workload,
      detector: a.detector,
      kind: a.kind ?? null,
      severity: a.severity,
      summary: a.summary,
      firstSeen: a.firstSeen,
      lastSeen: a.lastSeen,
      count: a.count,
      action: a.action,
    }))
    .sort((a, b) => (RANK[a.severity] ?? 3) - (RANK[b.severity] ?? 3) || b.lastSeen - a.lastSeen);
}

const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A table like `cscli alerts list`: one line per incident, then its summary indented. */
export function formatAlertRows(rows: readonly AlertRow[]): string {
  if (rows.length === 0) return "no active alerts\n";
  const header = ["CONTAINER", "DETECTOR", "SEVERITY", "FIRST SEEN", "LAST SEEN", "COUNT", "ACTION"];
  const cells = rows.map((r) => [
    r.container,
    r.kind === null ? r.detector : `${r.detector}/${r.kind}`,
    r.severity,
    time(r.firstSeen),
    time(r.lastSeen),
    String(r.count),
    r.action,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const out = [line(header)];
  for (const [i, r] of rows.entries()) out.push(line(cells[i] ?? []), `  ${r.summary}`);
  return `${out.join("\n")}\n`;
}

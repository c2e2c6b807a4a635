import type { Evidence, ExplainReport } from "./report.js";

const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function evidenceLine(e: Evidence): string {
  const mark = e.match === "match" ? "✓" : "~";
  const seen = e.seen ? ` (seen ${time(e.seen.first)} … ${time(e.seen.last)}, ${e.seen.count}×)` : "";
  return `  ${mark} ${e.source}: ${e.text} — ${e.why}${seen}`;
}

function destinationLine(r: ExplainReport): string {
  const t = r.target;
  if (r.kind === "listen") return `listen:      ${t.port}/${t.proto}`;
  const host = t.ip === null ? "(address unknown)" : t.ip.includes(":") ? `[${t.ip}]` : t.ip;
  const port = t.port === null ? "" : `:${t.port}/${t.proto}`;
  const extra = [
    ...(t.container ? [`container ${t.container}`] : []),
    ...(t.names.length > 0 ? [`names ${t.names.join(", ")}`] : []),
  ];
  return `destination: ${host}${port}${extra.length > 0 ? ` (${extra.join("; ")})` : ""}`;
}

/** `netmon explain`'s human form: one block per part, the verdict and enforce lines last. */
export function formatExplain(r: ExplainReport): string {
  const c = r.container;
  const lines = [
    `container:   ${c.name} (${c.id.slice(0, 12)}, image ${c.image})`,
    `workload:    ${c.workload}`,
    `mode:        ${r.mode.effective}${r.mode.effective !== r.mode.configured ? ` (configured ${r.mode.configured})` : ""} — ${r.mode.source}`,
  ];
  const l = r.mode.learning;
  if (l !== null)
    lines.push(
      `learning:    ${l.since === null ? "not seen yet: learns from its first sighting" : `since ${time(l.since)} until ${time(l.until ?? l.since)}`}`,
    );
  lines.push(destinationLine(r), "");
  if (r.evidence.length === 0)
    lines.push("matches:     none (no rule, label, DNS name or baseline entry is close)");
  else lines.push("matches (✓ matches, ~ nearly):", ...r.evidence.map(evidenceLine));
  lines.push("", `verdict:     ${r.verdict.text}`);
  if (r.verdict.denylisted) lines.push("denylist:    the destination is on policy.denylistFile");
  lines.push(`enforce:     ${r.enforce.text}`);
  if (r.enforce.alert !== null)
    lines.push(`  alert: ${r.enforce.alert.detector}/${r.enforce.alert.kind} (${r.enforce.alert.severity})`);
  if (r.enforce.rule !== null) lines.push(`  by ${r.enforce.rule}:`);
  for (const cmd of r.enforce.commands) lines.push(`    ${cmd}`);
  if (r.enforce.chain.length > 0) {
    lines.push("  matched by netmon's chain (set up at start):");
    for (const rule of r.enforce.chain) lines.push(`    ${rule}`);
  }
  for (const why of r.enforce.refused) lines.push(`  refused: ${why}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join("\n")}\n`;
}

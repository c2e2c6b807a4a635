import type { DryRunItem, PolicySuggestion } from "./suggest.js";

function items(list: readonly DryRunItem[], indent: string): string[] {
  return list.map((i) => {
    const who = [
      i.container ? `container ${i.container}` : null,
      i.names.length > 0 ? i.names.join(", ") : null,
    ]
      .filter((x) => x !== null)
      .join("; ");
    return `${indent}${i.dst}${who ? ` (${who})` : ""} ×${i.count}, first ${i.first}, last ${i.last}`;
  });
}

/**
 * `netmon policy suggest` for people: every section is either a comment (#) or text to paste, so
 * the iptables part can be copied as it stands.
 */
export function formatSuggestion(s: PolicySuggestion, eventsSource: string | null): string {
  const out: string[] = [];
  const c = s.containers;
  out.push(
    `# ===== ${s.workload}: learned ${s.learned.egress} egress and ${s.learned.listen} listen entries (first seen ${s.learned.firstSeen}); ${c.length} running container${c.length === 1 ? "" : "s"}${c.length > 0 ? `: ${c.map((x) => x.name).join(", ")}` : ""}`,
  );
  for (const n of s.notes) out.push(`# note: ${n}`);
  for (const o of s.omitted) out.push(`# left out: ${o.entry.replaceAll("|", " ")} (${o.reason})`);
  out.push("", "# --- Compose labels (netmon.egress / netmon.listen)", s.compose);
  if (s.dockerRun !== "") out.push("", "# --- docker run", s.dockerRun);
  out.push("", "# --- or in netmon.yaml (no label size limit)", s.configYaml);
  out.push(
    "",
    "# --- iptables (DOCKER-USER): default-deny egress, what it was seen doing allowed",
    ...s.iptablesRules,
  );
  out.push("", "# --- undo", ...s.iptablesUndo);
  out.push("");
  const d = s.dryRun;
  if (eventsSource === null) {
    out.push(
      "# --- dry run: no observed connections given (--events FILE, a log of netmon run --log-events)",
    );
  } else {
    const since = d.sinceMs === null ? "" : ` since ${new Date(d.sinceMs).toISOString()}`;
    out.push(
      `# --- dry run over ${d.observed} connection attempts of ${s.workload}${since} (${eventsSource})`,
    );
    out.push(`#   with the labels, netmon would alert on ${d.labels.wouldAlert.length} destination(s)`);
    out.push(...items(d.labels.wouldAlert, "#     "));
    out.push(`#   the iptables rules would block ${d.iptables.wouldBlock.length} destination(s)`);
    out.push(...items(d.iptables.wouldBlock, "#     "));
    if (d.iptables.unfiltered.length > 0) {
      out.push(`#   not allowed by the rules but not filtered by DOCKER-USER either (the host itself):`);
      out.push(...items(d.iptables.unfiltered, "#     "));
    }
  }
  return `${out.join("\n")}\n`;
}

import type { BrokenItem, DryRunItem, PolicySuggestion } from "./suggest.js";

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

/** What declares a connection, in words. */
const DECLARED_BY: Record<string, string> = {
  label: "label netmon.egress",
  config: "netmon.yaml (policy.egress / policy.workloads)",
  "dns-name": "a DNS-name rule (label or netmon.yaml)",
};

const broken = (b: BrokenItem): string =>
  `${b.from} → ${b.dst}${b.names.length > 0 ? ` (${b.names.join(", ")})` : b.container ? ` (container ${b.container})` : ""} ×${b.count}, last ${b.last}, allowed by ${DECLARED_BY[b.allowedBy] ?? b.allowedBy}`;

/**
 * Why the iptables rules must not be printed: the dry run found connections the workload declares
 * that they would refuse. Null when there are none.
 */
export function refusalOf(s: PolicySuggestion, eventsSource: string | null): string | null {
  const list = s.dryRun.iptables.brokenDeclared;
  if (list.length === 0) return null;
  return [
    `refusing to print the iptables rules of ${s.workload}: they would refuse ${list.length} declared destination(s) it connected to${eventsSource ? ` in ${eventsSource}` : ""}:`,
    ...list.map((b) => `  ${broken(b)}`),
    "  iptables cannot follow DNS names or containers that are not running: allow these by address (a CIDR rule), or rely on netmon's labels alone",
  ].join("\n");
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
  const who = c[0]?.name ?? "its containers";
  out.push(
    "",
    `# --- label changes for ${who} (- as set now, + to set: what it declares is kept)`,
    ...s.labelDiff,
  );
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

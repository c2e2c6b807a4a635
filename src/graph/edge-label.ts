import type { GraphEdge } from "./snapshot-types.js";

/** Port ranges longer than this are cut at a range boundary in a label (the panel lists them all). */
const MAX_LABEL_PORTS = 28;

function shortRanges(ranges: string): string {
  if (ranges.length <= MAX_LABEL_PORTS) return ranges;
  const cut = ranges.lastIndexOf(", ", MAX_LABEL_PORTS);
  return `${ranges.slice(0, cut > 0 ? cut : MAX_LABEL_PORTS)}, …`;
}

/**
 * What an edge says on the map, `times` being "×" (page) or "x" (DOT, Mermaid): "tcp/5432 ×2",
 * "tcp/80, 443 ×12 (3 failed)", "port scan: 100 ports (tcp/1-100), 0 open",
 * "sweep of tcp/22: 50 hosts, 0 open".
 */
export function edgeText(
  e: Pick<
    GraphEdge,
    "kind" | "portRanges" | "portCount" | "morePorts" | "openPorts" | "connections" | "failed" | "targets"
  >,
  times = "×",
): string {
  if (e.kind === "sweep")
    return `sweep of ${e.portRanges}: ${e.targets?.length ?? 0} hosts, ${e.openPorts} open`;
  if (e.kind === "port-scan") {
    const ranges = e.portRanges.length <= MAX_LABEL_PORTS ? ` (${e.portRanges})` : "";
    return `port scan: ${e.portCount}${e.morePorts ? "+" : ""} ports${ranges}, ${e.openPorts} open`;
  }
  let text = `${shortRanges(e.portRanges)} ${times}${e.connections}`;
  if (e.failed > 0) text += ` (${e.failed} failed)`;
  return text;
}

import { z } from "zod";
import { edgeText } from "./edge-label.js";
import type { EdgeVerdict, GraphEdge, GraphNode, GraphSnapshot } from "./snapshot-types.js";

/** Red for unexpected and blocked edges, everywhere the map is drawn (page, DOT, Mermaid). */
export const RED = "#d62728";

export const VERDICT_COLORS: Readonly<Record<EdgeVerdict, string>> = Object.freeze({
  blocked: RED,
  unexpected: RED,
  "allowed-baseline": "#1f77b4",
  "allowed-policy": "#2ca02c",
  learning: "#999999",
  unjudged: "#999999",
});

export type GraphFormat = "dot" | "mermaid" | "json";
export const GRAPH_FORMATS: readonly GraphFormat[] = ["dot", "mermaid", "json"];

/** "tcp/443 x3", "port scan: 100 ports (tcp/1-100), 0 open", plus the verdict when it is one to notice (readable without colour too). */
export function edgeLabel(e: GraphEdge): string {
  let text = edgeText(e, "x");
  if (e.verdict === "unexpected" || e.verdict === "blocked") text += ` ${e.verdict}`;
  return text;
}

function windowText(s: GraphSnapshot): string {
  if (s.windowMs === null) return "all connections";
  const min = s.windowMs / 60_000;
  return Number.isInteger(min)
    ? `connections in the last ${min} min`
    : `connections in the last ${s.windowMs} ms`;
}

/** Anything a name may carry that would end a line or be invisible. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ");
}

/** A DOT double-quoted string: names are hostile input, so only `\\` and `\"` survive as escapes. */
export function dotString(text: string): string {
  return `"${oneLine(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const MERMAID_ENTITIES: Record<string, string> = {
  "#": "#35;",
  '"': "#quot;",
  "&": "#amp;",
  "<": "#lt;",
  ">": "#gt;",
  "`": "#96;",
  "|": "#124;",
  "\\": "#92;",
};

/** Text inside a Mermaid quoted label: every character Mermaid (or the HTML it renders) could interpret becomes an entity code. */
export function mermaidText(text: string): string {
  return oneLine(text).replace(/[#"&<>`|\\]/g, (c) => MERMAID_ENTITIES[c] ?? c);
}

function byParent(s: GraphSnapshot): { top: GraphNode[]; children: Map<string, GraphNode[]> } {
  const children = new Map<string, GraphNode[]>();
  const top: GraphNode[] = [];
  for (const n of s.nodes) {
    if (n.kind === "project") continue;
    if (n.parent === undefined) top.push(n);
    else {
      const list = children.get(n.parent) ?? [];
      list.push(n);
      children.set(n.parent, list);
    }
  }
  return { top, children };
}

function dotNode(n: GraphNode): string {
  const attrs = [`label=${dotString(n.label)}`];
  if (n.kind === "external") attrs.push("shape=ellipse");
  if (n.kind === "host") attrs.push("shape=hexagon");
  if (n.kind === "sweep") attrs.push("shape=folder");
  if (n.gone) attrs.push('style="rounded,dashed"');
  if ((n.alerts ?? 0) > 0) attrs.push(`color=${dotString(RED)}`, "penwidth=2");
  return `${dotString(n.id)} [${attrs.join(", ")}];`;
}

/** Graphviz DOT: Compose projects as clusters, red unexpected (solid) and blocked (dashed) edges. */
export function toDot(s: GraphSnapshot): string {
  const lines = [
    `// netmon: ${windowText(s)}, at ${new Date(s.at).toISOString()}`,
    "digraph netmon {",
    "  rankdir=LR;",
    '  graph [fontname="Helvetica", fontsize=11];',
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  const { top, children } = byParent(s);
  const projects = s.nodes.filter((n) => n.kind === "project");
  projects.forEach((p, i) => {
    lines.push(`  subgraph cluster_${i} {`, `    label=${dotString(p.label)};`);
    for (const n of children.get(p.id) ?? []) lines.push(`    ${dotNode(n)}`);
    lines.push("  }");
  });
  for (const n of top) lines.push(`  ${dotNode(n)}`);
  for (const e of s.edges) {
    const color = VERDICT_COLORS[e.verdict];
    const attrs = [
      `label=${dotString(edgeLabel(e))}`,
      `color=${dotString(color)}`,
      `fontcolor=${dotString(color)}`,
    ];
    if (e.verdict === "unexpected") attrs.push("penwidth=2");
    if (e.verdict === "blocked") attrs.push("penwidth=2", "style=dashed");
    if (e.verdict === "learning") attrs.push("style=dotted");
    lines.push(`  ${dotString(e.source)} -> ${dotString(e.target)} [${attrs.join(", ")}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** Mermaid flowchart: node ids are n0, n1… (names only ever appear inside quoted, entity-encoded labels). */
export function toMermaid(s: GraphSnapshot): string {
  const ids = new Map<string, string>();
  const idOf = (nodeId: string): string => {
    let id = ids.get(nodeId);
    if (id === undefined) {
      id = `n${ids.size}`;
      ids.set(nodeId, id);
    }
    return id;
  };
  const node = (n: GraphNode): string => {
    const label = `"${mermaidText(n.label)}"`;
    const id = idOf(n.id);
    if (n.kind === "external") return `${id}([${label}])`;
    if (n.kind === "host") return `${id}{{${label}}}`;
    if (n.kind === "sweep") return `${id}[/${label}/]`;
    return `${id}[${label}]`;
  };
  const lines = ["flowchart LR", `  %% netmon: ${windowText(s)}, at ${new Date(s.at).toISOString()}`];
  const { top, children } = byParent(s);
  const projects = s.nodes.filter((n) => n.kind === "project");
  projects.forEach((p, i) => {
    lines.push(`  subgraph p${i} ["${mermaidText(p.label)}"]`);
    for (const n of children.get(p.id) ?? []) lines.push(`    ${node(n)}`);
    lines.push("  end");
  });
  for (const n of top) lines.push(`  ${node(n)}`);
  const styles: string[] = [];
  s.edges.forEach((e, i) => {
    const arrow = e.verdict === "blocked" ? "-.->" : e.verdict === "unexpected" ? "==>" : "-->";
    lines.push(`  ${idOf(e.source)} ${arrow}|"${mermaidText(edgeLabel(e))}"| ${idOf(e.target)}`);
    styles.push(`  linkStyle ${i} stroke:${VERDICT_COLORS[e.verdict]}`);
  });
  lines.push(...styles);
  const alerting = s.nodes.filter((n) => (n.alerts ?? 0) > 0).map((n) => idOf(n.id));
  if (alerting.length > 0) {
    lines.push(`  classDef alert stroke:${RED},stroke-width:2px`, `  class ${alerting.join(",")} alert`);
  }
  return `${lines.join("\n")}\n`;
}

export function toJson(s: GraphSnapshot): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}

export function formatGraph(s: GraphSnapshot, format: GraphFormat): string {
  if (format === "dot") return toDot(s);
  if (format === "mermaid") return toMermaid(s);
  return toJson(s);
}

const verdictSchema = z.enum([
  "blocked",
  "unexpected",
  "allowed-baseline",
  "allowed-policy",
  "learning",
  "unjudged",
]);

/** Keys in the order snapshot() writes them, so `netmon graph --format json` prints what the daemon sent. */
const nodeSchema = z.object({
  id: z.string(),
  kind: z.enum(["workload", "project", "external", "host", "sweep"]),
  label: z.string(),
  lastSeen: z.number(),
  parent: z.string().optional(),
  project: z.string().optional(),
  workload: z.string().optional(),
  alerts: z.number().optional(),
  severity: z.enum(["info", "warning", "critical"]).optional(),
  group: z.enum(["dns", "net"]).optional(),
  containers: z
    .array(
      z.object({ id: z.string(), name: z.string(), image: z.string(), gone: z.literal(true).optional() }),
    )
    .optional(),
  gone: z.literal(true).optional(),
});

const portSchema = z.object({
  proto: z.enum(["tcp", "udp"]),
  port: z.number().int(),
  connections: z.number(),
  failed: z.number(),
  open: z.boolean(),
  verdict: verdictSchema,
});

const edgeSchema = z.object({
  id: z.string(),
  source: z.string(),
  target: z.string(),
  kind: z.enum(["connections", "port-scan", "sweep"]),
  label: z.string(),
  ports: z.array(portSchema),
  portRanges: z.string(),
  portCount: z.number(),
  morePorts: z.boolean(),
  openPorts: z.number(),
  connections: z.number(),
  failed: z.number(),
  verdicts: z.partialRecord(verdictSchema, z.number()),
  firstSeen: z.number(),
  lastSeen: z.number(),
  verdict: verdictSchema,
  targets: z.array(z.string()).optional(),
});

const snapshotSchema = z.object({
  version: z.literal(2, { error: "not a map this netmon reads (version 2): is the daemon another version?" }),
  at: z.number(),
  windowMs: z.number().nullable(),
  nodes: z.array(nodeSchema),
  edges: z.array(edgeSchema),
  stats: z.object({
    observed: z.number(),
    evictedNodes: z.number(),
    evictedEdges: z.number(),
    expiredEdges: z.number(),
    maxNodes: z.number(),
    maxEdges: z.number(),
  }),
});

/** Checks a snapshot read from elsewhere (the daemon's /api/graph); throws an Error naming the first problem. */
export function parseGraphSnapshot(raw: unknown): GraphSnapshot {
  const r = snapshotSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  return r.data as GraphSnapshot;
}

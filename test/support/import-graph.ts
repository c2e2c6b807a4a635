/**
 * Layout checks on the source tree: import cycles between files, cycles between folders, and long
 * files that do not say why they are long. test/unit/layout.test.ts runs them; by hand:
 *
 *   npm run build && node dist/test/support/import-graph.js [repo root, default: the current directory]
 *
 * prints every finding and exits 1 when there is one.
 *
 * Paths are POSIX paths relative to the repo root ("src/config/schema.ts"). Imports are read with the
 * TypeScript parser: `import ... from`, `import "..."`, `export ... from` and `import x = require()`.
 * Only relative specifiers make edges, and only to files that were walked; `./x.js` resolves to `./x.ts`.
 * An edge is type-only when every import between the two files is erased at compile time (`import type`,
 * or named bindings that are all `type`): it is still a layering edge, but it is reported as such.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

/** The folders whose files are checked: the shipped code, not the tests. */
export const CHECKED_DIRS = ["src", "detectors"] as const;
/** A file longer than this must say in its first comment lines why it is long. */
export const MAX_LINES = 400;
/** How many lines from the top of a file the "why it is long" comment may start in. */
export const REASON_WITHIN_LINES = 5;
const REASON_WORD = /\b(long|lines)\b/i;
/** Enumerating elementary cycles is exponential in the worst case: stop listing after this many. */
const MAX_CYCLES = 500;

export interface ImportSpecifier {
  specifier: string;
  typeOnly: boolean;
}

export interface ImportEdge {
  target: string;
  typeOnly: boolean;
}

/** file → the walked files it imports (one edge per target). */
export type ImportGraph = ReadonlyMap<string, readonly ImportEdge[]>;

/** A cycle as a chain that ends where it starts: [a, b, c, a]. */
export interface FileCycle {
  chain: readonly string[];
  /** The edges of the chain that are type-only, as "from → to". */
  typeOnlyEdges: readonly string[];
}

export interface FolderEdge {
  from: string;
  to: string;
  typeOnly: boolean;
  /** The file imports that make this folder edge, as "from → to". */
  via: readonly string[];
}

/** A strongly connected set of folders: its elementary cycles and the folder edges inside it. */
export interface FolderCycle {
  folders: readonly string[];
  cycles: readonly (readonly string[])[];
  edges: readonly FolderEdge[];
}

export interface LongFile {
  file: string;
  lines: number;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // `import "x"` runs x
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.every((e) => e.isTypeOnly)
  );
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly);
}

/** The module specifiers of a file's top-level import and re-export statements. */
export function importSpecifiers(fileName: string, text: string): ImportSpecifier[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ImportSpecifier[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      found.push({ specifier: statement.moduleSpecifier.text, typeOnly: isTypeOnlyImport(statement) });
    } else if (
      ts.isExportDeclaration(statement) &&
      statement.moduleSpecifier !== undefined &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      found.push({ specifier: statement.moduleSpecifier.text, typeOnly: isTypeOnlyExport(statement) });
    } else if (
      ts.isImportEqualsDeclaration(statement) &&
      ts.isExternalModuleReference(statement.moduleReference) &&
      ts.isStringLiteral(statement.moduleReference.expression)
    ) {
      found.push({ specifier: statement.moduleReference.expression.text, typeOnly: statement.isTypeOnly });
    }
  }
  return found;
}

/** The walked file a relative specifier names, or null (a package, or a file outside the walked set). */
export function resolveSpecifier(
  from: string,
  specifier: string,
  exists: (file: string) => boolean,
): string | null {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const candidates = base.endsWith(".js")
    ? [`${base.slice(0, -3)}.ts`]
    : base.endsWith(".ts")
      ? [base]
      : [`${base}.ts`, `${base}/index.ts`];
  return candidates.find(exists) ?? null;
}

/** The import graph of in-memory sources (file → text); an edge is type-only if all its imports are. */
export function buildImportGraph(sources: ReadonlyMap<string, string>): ImportGraph {
  const graph = new Map<string, ImportEdge[]>();
  const exists = (file: string) => sources.has(file);
  for (const [file, text] of sources) {
    const byTarget = new Map<string, boolean>();
    for (const { specifier, typeOnly } of importSpecifiers(file, text)) {
      const target = resolveSpecifier(file, specifier, exists);
      if (target !== null) byTarget.set(target, (byTarget.get(target) ?? true) && typeOnly);
    }
    graph.set(
      file,
      [...byTarget].map(([target, typeOnly]) => ({ target, typeOnly })),
    );
  }
  return graph;
}

/** Every `.ts` file under the given folders of `root`, keyed by its POSIX path relative to `root`. */
export function readSources(root: string, dirs: readonly string[] = CHECKED_DIRS): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        sources.set(rel, readFileSync(path.join(root, rel), "utf8"));
      }
    }
  };
  for (const dir of dirs) walk(dir);
  return new Map([...sources].sort(([a], [b]) => a.localeCompare(b)));
}

type Successors = ReadonlyMap<string, readonly string[]>;

/** Tarjan's strongly connected components; each component and the list are sorted. */
export function stronglyConnected(succ: Successors): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of succ.get(v) ?? []) {
      if (!succ.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    components.push(component.sort());
  };
  for (const v of [...succ.keys()].sort()) if (!index.has(v)) visit(v);
  return components.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/**
 * Every elementary cycle (Johnson's algorithm), each as a chain starting and ending at its smallest node,
 * at most `limit` of them. A node's cycles are searched only among the nodes that sort after it.
 */
export function elementaryCycles(succ: Successors, limit = MAX_CYCLES): string[][] {
  const nodes = [...succ.keys()].sort();
  const cycles: string[][] = [];
  for (let i = 0; i < nodes.length && cycles.length < limit; i++) {
    const start = nodes[i]!;
    const later = new Set(nodes.slice(i));
    const sub = new Map([...later].map((v) => [v, (succ.get(v) ?? []).filter((w) => later.has(w))]));
    const component = new Set(stronglyConnected(sub).find((c) => c.includes(start)));
    const blocked = new Set<string>();
    const blockedBy = new Map<string, Set<string>>();
    const trail: string[] = [];
    const unblock = (v: string): void => {
      blocked.delete(v);
      const waiting = blockedBy.get(v) ?? new Set<string>();
      blockedBy.delete(v);
      for (const w of waiting) if (blocked.has(w)) unblock(w);
    };
    const circuit = (v: string): boolean => {
      let closed = false;
      trail.push(v);
      blocked.add(v);
      const next = (sub.get(v) ?? []).filter((w) => component.has(w));
      for (const w of next) {
        if (cycles.length >= limit) break;
        if (w === start) {
          cycles.push([...trail, start]);
          closed = true;
        } else if (!blocked.has(w) && circuit(w)) {
          closed = true;
        }
      }
      if (closed) unblock(v);
      else for (const w of next) blockedBy.set(w, (blockedBy.get(w) ?? new Set()).add(v));
      trail.pop();
      return closed;
    };
    circuit(start);
  }
  return cycles;
}

function successorsOf(graph: ImportGraph): Map<string, string[]> {
  return new Map([...graph].map(([file, edges]) => [file, edges.map((e) => e.target)]));
}

/** Every elementary import cycle between files, with the type-only edges of each. */
export function findFileCycles(graph: ImportGraph, limit = MAX_CYCLES): FileCycle[] {
  const typeOnly = (from: string, to: string) =>
    graph.get(from)?.find((e) => e.target === to)?.typeOnly ?? false;
  return elementaryCycles(successorsOf(graph), limit).map((chain) => ({
    chain,
    typeOnlyEdges: chain.slice(1).flatMap((to, i) => {
      const from = chain[i]!;
      return typeOnly(from, to) ? [`${from} → ${to}`] : [];
    }),
  }));
}

/** The layering group of a file: its folder, except that each file directly in src/ is its own group. */
export function folderOf(file: string): string {
  const dir = path.posix.dirname(file);
  return dir === "src" ? file : dir;
}

/** The folder graph: one edge per pair of different folders that some file import connects. */
export function folderEdges(graph: ImportGraph): FolderEdge[] {
  const edges = new Map<string, { from: string; to: string; typeOnly: boolean; via: string[] }>();
  for (const [file, imports] of graph) {
    for (const { target, typeOnly } of imports) {
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      const key = `${from}\n${to}`;
      const edge = edges.get(key) ?? { from, to, typeOnly: true, via: [] };
      edge.typeOnly &&= typeOnly;
      edge.via.push(`${file} → ${target}${typeOnly ? " (type)" : ""}`);
      edges.set(key, edge);
    }
  }
  return [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

/** The cycles between folders: strongly connected sets of more than one folder. */
export function findFolderCycles(graph: ImportGraph): FolderCycle[] {
  const edges = folderEdges(graph);
  const succ = new Map<string, string[]>();
  for (const file of graph.keys()) succ.set(folderOf(file), []);
  for (const e of edges) succ.get(e.from)!.push(e.to);
  const cycles = elementaryCycles(succ);
  return stronglyConnected(succ)
    .filter((folders) => folders.length > 1)
    .map((folders) => ({
      folders,
      cycles: cycles.filter((c) => folders.includes(c[0]!)),
      edges: edges.filter((e) => folders.includes(e.from) && folders.includes(e.to)),
    }));
}

function lineCount(text: string): number {
  if (text === "") return 0;
  const lines = text.split("\n").length;
  return text.endsWith("\n") ? lines - 1 : lines;
}

/**
 * Whether a comment that starts in the first `REASON_WITHIN_LINES` lines holds the word "long" or
 * "lines". Comments are found by the TypeScript parser, so "// long" inside a string does not count.
 */
export function saysWhyLong(fileName: string, text: string): boolean {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const starts = source.getLineStarts();
  const limit = starts[REASON_WITHIN_LINES] ?? text.length + 1;
  const seen = new Set<number>();
  const inComments = (pos: number): boolean =>
    (ts.getLeadingCommentRanges(text, pos) ?? []).some((c) => {
      if (c.pos >= limit || seen.has(c.pos)) return false;
      seen.add(c.pos);
      return REASON_WORD.test(text.slice(c.pos, c.end));
    });
  // Comments are trivia before tokens: look before every token that starts in the first lines.
  const visit = (node: ts.Node): boolean => {
    if (node.pos >= limit) return false;
    const children = node.getChildren(source);
    return children.length === 0 ? inComments(node.pos) : children.some(visit);
  };
  return visit(source) || inComments(source.endOfFileToken.pos);
}

/** The files over `maxLines` lines that do not say why near their top. */
export function findLongFiles(sources: ReadonlyMap<string, string>, maxLines = MAX_LINES): LongFile[] {
  return [...sources]
    .map(([file, text]) => ({ file, text, lines: lineCount(text) }))
    .filter(({ file, text, lines }) => lines > maxLines && !saysWhyLong(file, text))
    .map(({ file, lines }) => ({ file, lines }));
}

export function formatFileCycle(cycle: FileCycle): string {
  const chain = cycle.chain.join(" → ");
  const edges = cycle.chain.length - 1;
  if (cycle.typeOnlyEdges.length === 0) return chain;
  if (cycle.typeOnlyEdges.length === edges) return `${chain}  [type-only cycle]`;
  return `${chain}  [type-only edges: ${cycle.typeOnlyEdges.join(", ")}]`;
}

export function formatFolderCycle(cycle: FolderCycle): string {
  const chains = cycle.cycles.map((c) => `  cycle: ${c.join(" → ")}`);
  const edges = cycle.edges.map(
    (e) => `  edge ${e.from} → ${e.to}${e.typeOnly ? " (type-only)" : ""}: ${e.via.join(", ")}`,
  );
  return [`{ ${cycle.folders.join(", ")} }`, ...chains, ...edges].join("\n");
}

export function formatLongFile(long: LongFile): string {
  return `${long.file}: ${long.lines} lines, no comment in its first ${REASON_WITHIN_LINES} lines saying why (with "long" or "lines")`;
}

/** Every layout finding under `root`, one block of text per finding, in three sections. */
export function layoutReport(root: string) {
  const sources = readSources(root);
  const graph = buildImportGraph(sources);
  return {
    fileCycles: findFileCycles(graph).map(formatFileCycle),
    folderCycles: findFolderCycles(graph).map(formatFolderCycle),
    longFiles: findLongFiles(sources).map(formatLongFile),
  };
}

function main(): void {
  const report = layoutReport(path.resolve(process.argv[2] ?? "."));
  const sections = [
    ["File import cycles", report.fileCycles],
    ["Folder cycles", report.folderCycles],
    [`Files over ${MAX_LINES} lines that do not say why`, report.longFiles],
  ] as const;
  for (const [title, findings] of sections) {
    console.log(`${title}: ${findings.length}`);
    for (const f of findings) console.log(`- ${f}`);
  }
  if (sections.some(([, findings]) => findings.length > 0)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();

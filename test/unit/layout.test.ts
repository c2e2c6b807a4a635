/**
 * The layout of the shipped code (every .ts file under src/ and detectors/, not test/):
 *
 * - No import cycle between files. Static `import … from`, `import "…"` and `export … from` with a
 *   relative specifier make an edge (`./x.js` is `./x.ts`). `import type` counts: a type cycle is still
 *   a layering cycle. Each cycle is listed as a chain a → b → c → a, with its type-only edges named.
 * - No cycle between folders. A file's group is its folder (src/config, detectors, …); each file
 *   directly in src/ is a group of its own ("src/cli.ts"). Every strongly connected set of more than
 *   one group is listed with its cycles and the file imports behind each folder edge.
 * - A file over 400 lines says why near its top: a line or block comment that starts in the file's
 *   first 5 lines contains the word "long" or "lines" (whole word, any case), e.g.
 *   `// Long on purpose: one table of all checks, read top to bottom.` Put it above the imports.
 *
 * The checker lives in test/support/import-graph.ts (`node dist/test/support/import-graph.js` prints
 * the same findings); the synthetic graphs below show it finds what it should.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  buildImportGraph,
  findFileCycles,
  findFolderCycles,
  findLongFiles,
  folderOf,
  type ImportGraph,
  layoutReport,
  saysWhyLong,
} from "../support/import-graph.js";

/** A graph from `file → targets`; a target written "type:x.ts" is a type-only edge. */
function graphOf(edges: Record<string, readonly string[]>): ImportGraph {
  const graph = new Map(
    Object.keys(edges).map((file) => [file, [] as { target: string; typeOnly: boolean }[]]),
  );
  for (const [file, targets] of Object.entries(edges)) {
    for (const t of targets) {
      const target = t.replace(/^type:/, "");
      if (!graph.has(target)) graph.set(target, []);
      graph.get(file)!.push({ target, typeOnly: t.startsWith("type:") });
    }
  }
  return graph;
}

const chains = (graph: ImportGraph) => findFileCycles(graph).map((c) => c.chain.join(" → "));

/** A file of `count` lines, the given ones first. */
function fileOf(count: number, ...head: string[]): string {
  const body = Array.from({ length: count - head.length }, (_, i) => `export const v${i} = ${i};`);
  return `${[...head, ...body].join("\n")}\n`;
}

describe("import graph checker on synthetic graphs", () => {
  it("finds a file cycle as a chain that closes on its first file", () => {
    const graph = graphOf({ "src/a.ts": ["src/b.ts"], "src/b.ts": ["src/c.ts"], "src/c.ts": ["src/a.ts"] });
    expect(chains(graph)).toEqual(["src/a.ts → src/b.ts → src/c.ts → src/a.ts"]);
  });

  it("finds no cycle in a graph without one, even with shared dependencies", () => {
    const graph = graphOf({
      "src/a.ts": ["src/b.ts", "src/c.ts"],
      "src/b.ts": ["src/d.ts"],
      "src/c.ts": ["src/d.ts"],
    });
    expect(chains(graph)).toEqual([]);
  });

  it("lists every cycle, including ones that share files and a file importing itself", () => {
    const graph = graphOf({
      "src/a.ts": ["src/b.ts", "src/c.ts"],
      "src/b.ts": ["src/a.ts"],
      "src/c.ts": ["src/b.ts"],
      "src/d.ts": ["src/d.ts"],
    });
    expect(chains(graph).sort()).toEqual([
      "src/a.ts → src/b.ts → src/a.ts",
      "src/a.ts → src/c.ts → src/b.ts → src/a.ts",
      "src/d.ts → src/d.ts",
    ]);
  });

  it("names the type-only edges of a cycle", () => {
    const graph = graphOf({ "src/a.ts": ["type:src/b.ts"], "src/b.ts": ["src/a.ts"] });
    expect(findFileCycles(graph)).toEqual([
      { chain: ["src/a.ts", "src/b.ts", "src/a.ts"], typeOnlyEdges: ["src/a.ts → src/b.ts"] },
    ]);
  });

  it("reads import, import type, side-effect import and re-export edges, resolving .js to .ts", () => {
    const sources = new Map([
      [
        "src/x/a.ts",
        [
          'import type { B } from "./b.js";',
          'import { type C, c } from "../y/c.js";',
          'import "../y/d.js";',
          'import { z } from "zod";',
          'export { e } from "./e.js";',
          'export type { F } from "./f.js";',
          "const s = \"import { q } from './q.js'\";",
        ].join("\n"),
      ],
      ["src/x/b.ts", 'import { type A } from "./a.js";'],
      ["src/y/c.ts", ""],
      ["src/y/d.ts", ""],
      ["src/x/e.ts", ""],
      ["src/x/f.ts", ""],
      ["src/x/q.ts", ""],
    ]);
    const graph = buildImportGraph(sources);
    expect(graph.get("src/x/a.ts")).toEqual([
      { target: "src/x/b.ts", typeOnly: true },
      { target: "src/y/c.ts", typeOnly: false },
      { target: "src/y/d.ts", typeOnly: false },
      { target: "src/x/e.ts", typeOnly: false },
      { target: "src/x/f.ts", typeOnly: true },
    ]);
    expect(findFileCycles(graph)).toEqual([
      {
        chain: ["src/x/a.ts", "src/x/b.ts", "src/x/a.ts"],
        typeOnlyEdges: ["src/x/a.ts → src/x/b.ts", "src/x/b.ts → src/x/a.ts"],
      },
    ]);
  });

  it("groups files by folder, each file directly in src/ on its own", () => {
    expect(["src/config/schema.ts", "detectors/index.ts", "src/cli.ts"].map(folderOf)).toEqual([
      "src/config",
      "detectors",
      "src/cli.ts",
    ]);
  });

  it("finds a folder cycle that no file cycle shows, with the imports behind it", () => {
    const graph = graphOf({
      "src/a/x.ts": ["src/b/y.ts"],
      "src/b/y.ts": ["type:src/a/z.ts"],
      "src/a/z.ts": [],
      "src/one.ts": ["src/two.ts"],
      "src/two.ts": [],
    });
    expect(chains(graph)).toEqual([]);
    expect(findFolderCycles(graph)).toEqual([
      {
        folders: ["src/a", "src/b"],
        cycles: [["src/a", "src/b", "src/a"]],
        edges: [
          { from: "src/a", to: "src/b", typeOnly: false, via: ["src/a/x.ts → src/b/y.ts"] },
          { from: "src/b", to: "src/a", typeOnly: true, via: ["src/b/y.ts → src/a/z.ts (type)"] },
        ],
      },
    ]);
  });

  it("finds a folder cycle through a file directly in src/, and none among imports inside one folder", () => {
    const graph = graphOf({
      "src/one.ts": ["src/a/x.ts"],
      "src/a/x.ts": ["src/a/y.ts"],
      "src/a/y.ts": ["src/one.ts"],
      "src/b/p.ts": ["src/b/q.ts"],
      "src/b/q.ts": [],
    });
    expect(findFolderCycles(graph).map((c) => c.folders)).toEqual([["src/a", "src/one.ts"]]);
  });

  it("flags a long file unless a comment in its first lines says why", () => {
    const sources = new Map([
      ["src/plain.ts", fileOf(401)],
      ["src/short.ts", fileOf(400)],
      ["src/line-comment.ts", fileOf(401, "// Long on purpose: one table of every check.")],
      [
        "src/block-comment.ts",
        fileOf(401, 'import "./x.js";', "", "/**", " * Kept in one file: 500 lines of data.", " */"),
      ],
      ["src/too-late.ts", fileOf(401, "", "", "", "", "", "// long on purpose")],
      ["src/no-word.ts", fileOf(401, "// One table of every check.")],
      ["src/in-string.ts", fileOf(401, 'export const s = "// long on purpose";')],
      ["src/longer.ts", fileOf(401, "// longer than usual")],
    ]);
    expect(findLongFiles(sources)).toEqual([
      { file: "src/plain.ts", lines: 401 },
      { file: "src/too-late.ts", lines: 401 },
      { file: "src/no-word.ts", lines: 401 },
      { file: "src/in-string.ts", lines: 401 },
      { file: "src/longer.ts", lines: 401 },
    ]);
  });

  it("sees a reason comment that sits after the imports but starts in the first lines", () => {
    expect(
      saysWhyLong("a.ts", 'import { a } from "./a.js";\n\n// Many lines: the whole page.\nexport {};\n'),
    ).toBe(true);
  });
});

describe("layout of src/ and detectors/", () => {
  const report = layoutReport(fileURLToPath(new URL("../../", import.meta.url)));

  it("has no import cycle between files", () => {
    expect(report.fileCycles.join("\n"), "file import cycles (a → b: a imports b)").toBe("");
  });

  it("has no import cycle between folders", () => {
    expect(report.folderCycles.join("\n"), "folder cycles (groups that import each other)").toBe("");
  });

  it("has no file over 400 lines that does not say why", () => {
    expect(report.longFiles.join("\n"), "long files without a reason comment").toBe("");
  });
});

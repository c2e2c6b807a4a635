import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import {
  fetchGraphSnapshot,
  graphCommand,
  graphFormatFromPath,
  graphUrlFromConfig,
  parseGraphFormat,
  writeGraphFile,
} from "../../src/commands/graph.js";
import { parseConfigText } from "../../src/config/load.js";
import {
  dotString,
  formatGraph,
  mermaidText,
  parseGraphSnapshot,
  toDot,
  toJson,
  toMermaid,
} from "../../src/graph/format.js";
import { TopologyGraph } from "../../src/graph/model.js";
import type { EdgeVerdict, GraphSnapshot } from "../../src/graph/snapshot-types.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";

/** Graphviz is installed by .ci/run: missing there it is a failure, on a developer machine a skip. */
function graphvizReady(): boolean {
  if (existsSync("/usr/bin/dot")) return true;
  if (process.env.CI === "true") throw new Error("/usr/bin/dot missing in CI (apt-get install graphviz)");
  console.warn("skipping the Graphviz test: /usr/bin/dot not installed (apt-get install graphviz)");
  return false;
}

const T0 = Date.UTC(2026, 0, 1);

const WEB: ContainerRef = {
  id: "a1",
  name: "shop-web-1",
  image: "shop/web:1.4",
  service: "web",
  project: "shop",
};
const DB: ContainerRef = {
  id: "b2",
  name: "shop-db-1",
  image: "postgres:16",
  service: "db",
  project: "shop",
};
/** Compose labels are free text: everything a formatter could choke on or a renderer could interpret. */
const EVIL: ContainerRef = {
  id: "c3",
  name: "evil",
  image: "evil:1",
  service: 'x"];<script>|`#1;\\n',
  project: 'p"}\ncluster',
};

function attempt(src: ContainerRef, dst: ContainerRef | null, ip: string, port: number, names?: string[]) {
  const ev: ConnectionEvent = {
    kind: "connection",
    ts: T0,
    proto: "tcp",
    state: "attempt",
    src: { ip: "172.18.0.2", port: 40_000, container: src },
    dst: { ip, port, container: dst },
    direction: dst === null ? "outbound" : "internal",
    packets: 1,
    iface: "br-0123456789ab",
  };
  if (names !== undefined) ev.dst.names = names;
  return ev;
}

/** web → db (policy), web → api.stripe.com (baseline), web → 198.51.100.23:4444 (unexpected), web has an alert. */
function small(): GraphSnapshot {
  const g = new TopologyGraph();
  const add = (ev: ConnectionEvent, v: EdgeVerdict) => g.observe(ev, v);
  add(attempt(WEB, DB, "172.18.0.3", 5432), "allowed-policy");
  add(attempt(WEB, DB, "172.18.0.3", 5432), "allowed-policy");
  add(attempt(WEB, null, "203.0.113.7", 443, ["api.stripe.com"]), "allowed-baseline");
  add(attempt(WEB, null, "198.51.100.23", 4444), "unexpected");
  const alert = { workload: "shop/web", severity: "warning", state: "active" } as Alert;
  return g.snapshot(T0, { alerts: [alert] });
}

/** An attacker in the stack tries 100 ports of the database: every one refused. */
function portScan(): GraphSnapshot {
  const g = new TopologyGraph();
  for (let port = 1; port <= 100; port++) {
    g.observe({ ...attempt(EVIL, DB, "172.18.0.3", port), ts: T0 + port }, "unexpected");
    g.observe({ ...attempt(EVIL, DB, "172.18.0.3", port), ts: T0 + port + 1, state: "rejected" });
  }
  g.observe(attempt(WEB, DB, "172.18.0.3", 5432), "allowed-policy");
  return g.snapshot(T0 + 1000);
}

/** The width and height an SVG of Graphviz declares, in points. */
function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg width="(\d+)pt" height="(\d+)pt"/.exec(svg);
  if (m === null) throw new Error(`no size in ${svg.slice(0, 300)}`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

function hostile(): GraphSnapshot {
  const g = new TopologyGraph();
  g.observe(attempt(EVIL, null, "198.51.100.24", 4444), "blocked");
  return g.snapshot(T0);
}

describe("DOT", () => {
  it("prints projects as clusters, red unexpected edges and the alerting workload", () => {
    expect(toDot(small())).toBe(
      [
        "// netmon: connections in the last 15 min, at 2026-01-01T00:00:00.000Z",
        "digraph netmon {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=11];',
        '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        "  subgraph cluster_0 {",
        '    label="shop";',
        '    "workload:shop/db" [label="db"];',
        '    "workload:shop/web" [label="web", color="#d62728", penwidth=2];',
        "  }",
        '  "dns:api.stripe.com" [label="api.stripe.com", shape=ellipse];',
        '  "net:198.51.100.0/24" [label="198.51.100.0/24", shape=ellipse];',
        '  "workload:shop/web" -> "dns:api.stripe.com" [label="tcp/443 x1", color="#1f77b4", fontcolor="#1f77b4"];',
        '  "workload:shop/web" -> "net:198.51.100.0/24" [label="tcp/4444 x1 unexpected", color="#d62728", fontcolor="#d62728", penwidth=2];',
        '  "workload:shop/web" -> "workload:shop/db" [label="tcp/5432 x2", color="#2ca02c", fontcolor="#2ca02c"];',
        "}",
        "",
      ].join("\n"),
    );
  });

  it("keeps hostile names inside their quotes (blocked edges dashed)", () => {
    expect(toDot(hostile())).toBe(
      [
        "// netmon: connections in the last 15 min, at 2026-01-01T00:00:00.000Z",
        "digraph netmon {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=11];',
        '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        "  subgraph cluster_0 {",
        '    label="p\\"} cluster";',
        '    "workload:p\\"} cluster/x\\"];<script>|`#1;\\\\n" [label="x\\"];<script>|`#1;\\\\n"];',
        "  }",
        '  "net:198.51.100.0/24" [label="198.51.100.0/24", shape=ellipse];',
        '  "workload:p\\"} cluster/x\\"];<script>|`#1;\\\\n" -> "net:198.51.100.0/24" [label="tcp/4444 x1 blocked", color="#d62728", fontcolor="#d62728", penwidth=2, style=dashed];',
        "}",
        "",
      ].join("\n"),
    );
  });

  it("dotString escapes backslash and quote, and flattens control characters", () => {
    expect(dotString('a"b\\c\nd\u0000e\u2028f')).toBe('"a\\"b\\\\c d e f"');
  });

  // Graphviz is not a prerequisite: this runs where it is installed (apt-get install graphviz).
  it.runIf(graphvizReady())("Graphviz parses both and draws the hostile name as text", () => {
    for (const s of [small(), hostile()]) {
      const svg = execFileSync("/usr/bin/dot", ["-Tsvg"], { input: toDot(s), encoding: "utf8" });
      expect(svg).toContain("<svg");
    }
    const svg = execFileSync("/usr/bin/dot", ["-Tsvg"], { input: toDot(hostile()), encoding: "utf8" });
    expect(svg).toContain("x&quot;];&lt;script&gt;|`#1;\\n");
    expect(svg).not.toContain("<script");
  });
});

describe("a port scan", () => {
  it("is one edge saying how many ports, not one arc per port", () => {
    const dot = toDot(portScan());
    const arcs = dot.split("\n").filter((l) => l.includes(" -> "));
    expect(arcs).toHaveLength(2);
    expect(arcs.find((l) => l.includes("port scan"))).toContain(
      'label="port scan: 100 ports (tcp/1-100), 0 open unexpected", color="#d62728"',
    );
    expect(toMermaid(portScan())).toContain('==>|"port scan: 100 ports (tcp/1-100), 0 open unexpected"|');
  });

  // It was a 447×4561 px column of 100 arcs.
  it.runIf(graphvizReady())("renders as a picture of bounded size", () => {
    const svg = execFileSync("/usr/bin/dot", ["-Tsvg"], { input: toDot(portScan()), encoding: "utf8" });
    const size = svgSize(svg);
    expect(size.width).toBeLessThan(800);
    expect(size.height).toBeLessThan(400);
  });
});

describe("Mermaid", () => {
  it("prints a flowchart with projects as subgraphs and red unexpected links", () => {
    expect(toMermaid(small())).toBe(
      [
        "flowchart LR",
        "  %% netmon: connections in the last 15 min, at 2026-01-01T00:00:00.000Z",
        '  subgraph p0 ["shop"]',
        '    n0["db"]',
        '    n1["web"]',
        "  end",
        '  n2(["api.stripe.com"])',
        '  n3(["198.51.100.0/24"])',
        '  n1 -->|"tcp/443 x1"| n2',
        '  n1 ==>|"tcp/4444 x1 unexpected"| n3',
        '  n1 -->|"tcp/5432 x2"| n0',
        "  linkStyle 0 stroke:#1f77b4",
        "  linkStyle 1 stroke:#d62728",
        "  linkStyle 2 stroke:#2ca02c",
        "  classDef alert stroke:#d62728,stroke-width:2px",
        "  class n1 alert",
        "",
      ].join("\n"),
    );
  });

  it("entity-encodes everything Mermaid or its HTML labels could interpret", () => {
    expect(toMermaid(hostile())).toBe(
      [
        "flowchart LR",
        "  %% netmon: connections in the last 15 min, at 2026-01-01T00:00:00.000Z",
        '  subgraph p0 ["p#quot;} cluster"]',
        '    n0["x#quot;];#lt;script#gt;#124;#96;#35;1;#92;n"]',
        "  end",
        '  n1(["198.51.100.0/24"])',
        '  n0 -.->|"tcp/4444 x1 blocked"| n1',
        "  linkStyle 0 stroke:#d62728",
        "",
      ].join("\n"),
    );
    expect(mermaidText("a&b\nc")).toBe("a#amp;b c");
  });
});

describe("JSON", () => {
  it("round-trips through the checked parser", () => {
    const s = small();
    expect(parseGraphSnapshot(JSON.parse(toJson(s)))).toEqual(s);
    expect(formatGraph(s, "json")).toBe(toJson(s));
    expect(formatGraph(s, "dot")).toBe(toDot(s));
    expect(formatGraph(s, "mermaid")).toBe(toMermaid(s));
  });

  it("the parser names what is wrong", () => {
    expect(() => parseGraphSnapshot({ version: 2 })).toThrow(/^at: /);
    // A daemon of another version says so, instead of a list of missing fields.
    expect(() => parseGraphSnapshot({ ...small(), version: 1 })).toThrow(
      /^version: not a map this netmon reads/,
    );
    const bad = JSON.parse(toJson(small())) as { edges: { verdict: string }[] };
    bad.edges[0]!.verdict = "fine";
    expect(() => parseGraphSnapshot(bad)).toThrow(/^edges\.0\.verdict: /);
  });
});

describe("netmon graph (command helpers)", () => {
  let server: Server;
  let base = "";
  let answer: { status: number; body: string } = { status: 200, body: "" };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== "/api/graph") res.writeHead(404).end();
      else res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  it("parses --format, and the format from a file name", () => {
    expect(parseGraphFormat(undefined)).toBe("dot");
    expect(parseGraphFormat("Mermaid")).toBe("mermaid");
    expect(() => parseGraphFormat("png")).toThrow(/unknown graph format "png": use dot, mermaid or json/);
    expect(graphFormatFromPath("out.dot")).toBe("dot");
    expect(graphFormatFromPath("out.gv")).toBe("dot");
    expect(graphFormatFromPath("OUT.MMD")).toBe("mermaid");
    expect(graphFormatFromPath("out.mermaid")).toBe("mermaid");
    expect(graphFormatFromPath("out.json")).toBe("json");
  });

  it("reaches the daemon where its config says it listens", () => {
    const url = (yaml: string) => {
      const r = parseConfigText(yaml, "t.yaml");
      if (!r.ok) throw new Error(r.errors.join("\n"));
      return graphUrlFromConfig(r.config);
    };
    expect(url("")).toBe("http://127.0.0.1:9797");
    expect(url("http:\n  listen: 0.0.0.0\n  port: 9000")).toBe("http://127.0.0.1:9000");
    expect(url('http:\n  listen: "::1"')).toBe("http://[::1]:9797");
  });

  it("prints the running daemon's map in the asked format", async () => {
    answer = { status: 200, body: toJson(small()) };
    expect(await graphCommand({ url: base })).toBe(toDot(small()));
    expect(await graphCommand({ url: base, format: "mermaid" })).toBe(toMermaid(small()));
    expect(await graphCommand({ url: `${base}/`, format: "json" })).toBe(toJson(small()));
  });

  it("fails with one clear line when the daemon is not there or answers nonsense", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(fetchGraphSnapshot(`http://127.0.0.1:${port}`)).rejects.toThrow(
      `cannot reach the netmon daemon at http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
    answer = { status: 200, body: "{}" };
    await expect(fetchGraphSnapshot(base)).rejects.toThrow(/did not answer a topology map: version: /);
    answer = { status: 500, body: '{"error":"boom"}' };
    await expect(fetchGraphSnapshot(base)).rejects.toThrow(/answered HTTP 500: \{"error":"boom"\}/);
    await expect(fetchGraphSnapshot("not a url")).rejects.toMatchObject({ exitCode: 2 });
    await expect(fetchGraphSnapshot("file:///etc/passwd")).rejects.toMatchObject({ exitCode: 2 });
  });

  it("writes a replay's map in the format its file name asks for", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-graph-"));
    writeGraphFile(join(dir, "out.dot"), small());
    writeGraphFile(join(dir, "out.mmd"), small());
    writeGraphFile(join(dir, "forced.dot"), small(), "json");
    expect(readFileSync(join(dir, "out.dot"), "utf8")).toBe(toDot(small()));
    expect(readFileSync(join(dir, "out.mmd"), "utf8")).toBe(toMermaid(small()));
    expect(readFileSync(join(dir, "forced.dot"), "utf8")).toBe(toJson(small()));
    expect(() => writeGraphFile(join(dir, "missing", "x.dot"), small())).toThrow(
      `cannot write the graph to ${join(dir, "missing", "x.dot")} (ENOENT)`,
    );
  });
});

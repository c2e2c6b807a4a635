import { existsSync, readFileSync } from "node:fs";
import { RED, VERDICT_COLORS } from "./format.js";
import { EDGE_VERDICTS } from "./snapshot-types.js";

/**
 * The topology page: static HTML, and the script and styles in src/graph/ui/ (no data is ever put
 * into them on the server; only the colours of format.ts, so the page, DOT and Mermaid agree).
 * Served with a strict Content-Security-Policy (scripts and styles from the daemon only; the graph
 * library is served by the daemon too, so the page works offline).
 */

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netmon topology</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/app.css" id="__________cytoscape_stylesheet">
</head>
<body data-state="loading">
<header>
  <h1>netmon</h1>
  <span id="summary">loading…</span>
  <span id="status" role="status"></span>
  <ul id="legend" aria-label="legend">
    <li><span class="swatch v-allowed-policy"></span>allowed by policy</li>
    <li><span class="swatch v-allowed-baseline"></span>allowed by baseline</li>
    <li><span class="swatch v-learning"></span>learning / not judged</li>
    <li><span class="swatch v-unexpected"></span>unexpected</li>
    <li><span class="swatch v-blocked"></span>blocked</li>
  </ul>
</header>
<main>
  <div id="cy" aria-label="connection map"></div>
  <aside id="panel" data-state="empty" aria-live="polite"></aside>
</main>
<script src="/ui/cytoscape.min.js"></script>
<script src="/ui/app.js"></script>
</body>
</html>
`;

/**
 * src/graph/ui/<name>: next to this module when it runs from src (tests), else from the src tree
 * next to dist/ (`npm start`, the service install and the Docker image, which copy src/graph/ui).
 */
function readUiAsset(name: string): string {
  const candidates = [
    new URL(`./ui/${name}`, import.meta.url),
    new URL(`../../../src/graph/ui/${name}`, import.meta.url),
  ];
  const found = candidates.find((url) => existsSync(url));
  if (found === undefined) {
    throw new Error(
      `graph page asset ${name} not found (looked for ${candidates.map((u) => u.pathname).join(", ")})`,
    );
  }
  return readFileSync(found, "utf8");
}

/** Read once at start; a missing file fails only the page's own routes (the daemon goes on monitoring). */
function loadOnce(build: () => string): () => string {
  let value: string | undefined;
  let error: unknown;
  try {
    value = build();
  } catch (err) {
    error = err;
  }
  return () => {
    if (value === undefined) throw error;
    return value;
  };
}

const script = loadOnce(() => {
  const theme = { red: RED, verdicts: VERDICT_COLORS };
  return `var NETMON_THEME = ${JSON.stringify(theme)};\n${readUiAsset("graph-ui.js")}`;
});

const styles = loadOnce(() => {
  const vars = [`--red: ${RED};`, ...EDGE_VERDICTS.map((v) => `--verdict-${v}: ${VERDICT_COLORS[v]};`)];
  return `:root { ${vars.join(" ")} }\n${readUiAsset("graph-ui.css")}`;
});

/** The page (static: every piece of data is fetched and inserted as text by the script). */
export function renderPage(): string {
  return PAGE_HTML;
}

/** The browser script, served as /ui/app.js; throws when its file is missing. */
export function pageScript(): string {
  return script();
}

/** The styles, served as /ui/app.css; throws when their file is missing. */
export function pageStyles(): string {
  return styles();
}

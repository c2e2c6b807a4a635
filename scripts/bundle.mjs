// The last step of `npm run build`, after tsc: bundles the compiled CLI (dist/src/cli.js) into
// dist/bundle/netmon.js, the artefact that `bin`, the Docker image and the systemd unit run. Each
// lazily imported command (import() in src/cli.ts) becomes a chunk of its own (code splitting), so
// a command still loads only what it uses, from a few files instead of ~200: Node resolves, reads
// and compiles far fewer modules at start-up (an empty `netmon replay`: 0.50 s → 0.30 s of CPU).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const OUT = root("dist/bundle");

// Bundled CommonJS packages (commander, pino, prom-client) call require(); an ES module has none.
const BANNER = [
  'import { createRequire as __netmonCreateRequire } from "node:module";',
  "const require = __netmonCreateRequire(import.meta.url);",
].join("\n");

rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: { netmon: root("dist/src/cli.js") },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Loaded from node_modules at run time: pcap is a native addon.
  external: ["pcap"],
  banner: { js: BANNER },
  sourcemap: true,
  logLevel: "warning",
});

// The topology page reads its script and styles from ./ui/ next to its module (src/graph/page.ts);
// chunks sit directly in OUT, so OUT/ui is that folder for the bundle.
mkdirSync(`${OUT}/ui`, { recursive: true });
for (const name of ["graph-ui.js", "graph-ui.css"]) {
  copyFileSync(root(`src/graph/ui/${name}`), `${OUT}/ui/${name}`);
}

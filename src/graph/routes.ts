import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import type { ContainerDetails } from "./details.js";
import { pageScript, pageStyles, renderPage } from "./page.js";
import type { GraphSnapshot } from "./snapshot-types.js";

export interface GraphRouteDeps {
  /** The current map (TopologyGraph.snapshot with the active alerts and blocks). */
  snapshot(): GraphSnapshot;
  /** One container's details (containerDetails()), or null when unknown. */
  container(id: string): ContainerDetails | null;
  /** The cytoscape bundle; default: read once from the installed cytoscape package. */
  cytoscapeJs?: () => Buffer;
}

export interface RouteResult {
  status: number;
  contentType: string;
  /** Extra headers (security and caching); content-type is in contentType. */
  headers: Record<string, string>;
  body: string | Buffer;
}

/** The page may load scripts, styles and data from the daemon only; nothing may frame it. */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const COMMON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
});

let cytoscapeBundle: Buffer | null = null;

/** node_modules/cytoscape/dist/cytoscape.min.js, read once (it is ~430 KB). */
export function loadCytoscapeBundle(): Buffer {
  if (cytoscapeBundle === null) {
    const path = createRequire(import.meta.url).resolve("cytoscape/dist/cytoscape.min.js");
    cytoscapeBundle = readFileSync(path);
  }
  return cytoscapeBundle;
}

function result(
  status: number,
  contentType: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
) {
  return { status, contentType, headers: { ...COMMON_HEADERS, ...extra }, body };
}

/** The page's script or styles; 500 with the reason when its file was not found at start. */
function asset(contentType: string, read: () => string): RouteResult {
  try {
    return result(200, contentType, read());
  } catch (err) {
    return result(500, "text/plain; charset=utf-8", `cannot read the page asset: ${String(err)}\n`);
  }
}

function json(status: number, value: unknown): RouteResult {
  return result(status, "application/json; charset=utf-8", `${JSON.stringify(value)}\n`);
}

const MAX_ID = 256;

/**
 * True for a Host header naming the daemon by address (any IP literal, with or without a port) or
 * as "localhost". A web page elsewhere could otherwise read the map and the container details
 * through DNS rebinding (its own name pointed at 127.0.0.1): such a request carries its name.
 */
export function isDirectHost(host: string | undefined): boolean {
  if (host === undefined) return true; // HTTP/1.0 without Host: not a browser
  let name = host.trim().toLowerCase();
  if (name.startsWith("[")) {
    const end = name.indexOf("]");
    return end > 0 && isIP(name.slice(1, end)) === 6 && /^(:\d+)?$/.test(name.slice(end + 1));
  }
  const colon = name.lastIndexOf(":");
  if (colon >= 0) {
    if (!/^\d+$/.test(name.slice(colon + 1))) return false;
    name = name.slice(0, colon);
  }
  return name === "localhost" || isIP(name) === 4;
}

/**
 * The topology routes of the local HTTP server, as a pure function of the path (query string
 * already removed; the server answers GET and HEAD only):
 *
 *   /ui, /ui/                 the page
 *   /ui/app.js, /ui/app.css   its script and styles
 *   /ui/cytoscape.min.js      the graph library, served by the daemon (no CDN: works offline)
 *   /api/graph                the map as JSON (GraphSnapshot)
 *   /api/container/<id>       one container's details (full id, name, or unique id prefix ≥ 12)
 *
 * Null for any other path (not ours: the server goes on to its own routes or 404). A failing
 * dependency is a 500 with the reason, never a thrown exception. Given the request's Host header,
 * a request naming the daemon by anything but an address or "localhost" is refused (403): DNS
 * rebinding protection, since a browser lets any site talk to 127.0.0.1.
 */
export function handleGraphRoute(
  path: string,
  deps: GraphRouteDeps,
  request: { host?: string } = {},
): RouteResult | null {
  const ours = path === "/ui" || path.startsWith("/ui/") || path === "/api" || path.startsWith("/api/");
  if (!ours) return null;
  if (!isDirectHost(request.host)) {
    return result(
      403,
      "text/plain; charset=utf-8",
      "forbidden: open the page by the daemon's address (http://127.0.0.1:PORT/ui), not by a host name\n",
    );
  }
  if (path === "/ui" || path === "/ui/") {
    return result(200, "text/html; charset=utf-8", renderPage(), {
      "content-security-policy": UI_CSP,
      "x-frame-options": "DENY",
    });
  }
  if (path === "/ui/app.js") return asset("text/javascript; charset=utf-8", pageScript);
  if (path === "/ui/app.css") return asset("text/css; charset=utf-8", pageStyles);
  if (path === "/ui/cytoscape.min.js") {
    try {
      const body = (deps.cytoscapeJs ?? loadCytoscapeBundle)();
      // The bundle only changes with an upgrade of netmon: let the browser keep it for a while.
      return result(200, "text/javascript; charset=utf-8", body, { "cache-control": "max-age=3600" });
    } catch (err) {
      return result(500, "text/plain; charset=utf-8", `cannot read the cytoscape bundle: ${String(err)}\n`);
    }
  }
  if (path === "/api/graph") {
    try {
      return json(200, deps.snapshot());
    } catch (err) {
      return json(500, { error: `cannot build the graph: ${String(err)}` });
    }
  }
  if (path.startsWith("/api/container/")) {
    const raw = path.slice("/api/container/".length);
    let id: string;
    try {
      id = decodeURIComponent(raw);
    } catch {
      return json(400, { error: "malformed container id" });
    }
    if (id === "" || id.length > MAX_ID || id.includes("/"))
      return json(400, { error: "malformed container id" });
    try {
      const details = deps.container(id);
      return details === null ? json(404, { error: "no such container" }) : json(200, details);
    } catch (err) {
      return json(500, { error: `cannot describe the container: ${String(err)}` });
    }
  }
  if (path.startsWith("/ui/")) return result(404, "text/plain; charset=utf-8", "not found\n");
  return json(404, { error: "not found: try /api/graph" });
}

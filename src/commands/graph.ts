import { writeFileSync } from "node:fs";
import type { NetmonConfig } from "../config/schema.js";
import { formatGraph, GRAPH_FORMATS, type GraphFormat, parseGraphSnapshot } from "../graph/format.js";
import type { GraphSnapshot } from "../graph/snapshot-types.js";
import { NetmonError } from "../util/errors.js";
import { DEFAULT_DAEMON_URL, getDaemonBody } from "./daemon-api.js";

export const DEFAULT_GRAPH_URL = DEFAULT_DAEMON_URL;

/** `--format`: dot (default), mermaid or json; anything else is a usage error (exit 2). */
export function parseGraphFormat(text: string | undefined): GraphFormat {
  const f = (text ?? "dot").toLowerCase();
  if ((GRAPH_FORMATS as readonly string[]).includes(f)) return f as GraphFormat;
  throw new NetmonError(`unknown graph format ${JSON.stringify(text)}: use dot, mermaid or json`, 2);
}

/** The format a file name asks for: .mmd/.mermaid → mermaid, .json → json, anything else (.dot, .gv) → dot. */
export function graphFormatFromPath(path: string): GraphFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith(".mmd") || lower.endsWith(".mermaid")) return "mermaid";
  if (lower.endsWith(".json")) return "json";
  return "dot";
}

/** The daemon's local address from its config: http.listen and http.port (a wildcard listen is reached on loopback). */
export function graphUrlFromConfig(config: NetmonConfig): string {
  let host = config.http.listen;
  if (host === "0.0.0.0" || host === "") host = "127.0.0.1";
  if (host === "::") host = "::1";
  if (host.includes(":")) host = `[${host}]`;
  return `http://${host}:${config.http.port}`;
}

/** GET <base>/api/graph from a running daemon, checked; a NetmonError (exit 1) naming the address when it fails. */
export async function fetchGraphSnapshot(baseUrl: string, timeoutMs = 5000): Promise<GraphSnapshot> {
  const body = await getDaemonBody(baseUrl, "/api/graph", "topology map", timeoutMs);
  try {
    return parseGraphSnapshot(body);
  } catch (err) {
    throw new NetmonError(
      `${new URL("/api/graph", baseUrl).href} did not answer a topology map: ${(err as Error).message}`,
    );
  }
}

/** `netmon graph [--format dot|mermaid|json] [--url URL]`: the running daemon's map, as text for stdout. */
export async function graphCommand(opts: { format?: string; url?: string }): Promise<string> {
  const format = parseGraphFormat(opts.format);
  const snapshot = await fetchGraphSnapshot(opts.url ?? DEFAULT_GRAPH_URL);
  return formatGraph(snapshot, format);
}

/** `netmon replay … --graph FILE`: writes the map in the format the file name asks for (or `format`). */
export function writeGraphFile(path: string, snapshot: GraphSnapshot, format?: GraphFormat): void {
  try {
    writeFileSync(path, formatGraph(snapshot, format ?? graphFormatFromPath(path)));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new NetmonError(`cannot write the graph to ${path} (${code})`);
  }
}

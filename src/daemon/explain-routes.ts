import type { Alert } from "../alerts/alert.js";
import { alertRows } from "../explain/alert-rows.js";
import { type ConnectionAllowance, connectionAllowances } from "../explain/connection-rules.js";
import { explain } from "../explain/explain.js";
import type { ExplainSources } from "../explain/report.js";
import { parseExplainParams } from "../explain/target.js";
import { isDirectHost, type RouteResult } from "../graph/routes.js";

export interface ExplainRouteDeps {
  /** The daemon's state at the time of the request (policy, inventory, baseline, DNS cache, ledger). */
  sources(): ExplainSources;
  /** The alert manager's active incidents. */
  alerts(): readonly Alert[];
}

const HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
});

function json(status: number, value: unknown): RouteResult {
  return {
    status,
    contentType: "application/json; charset=utf-8",
    headers: { ...HEADERS },
    body: `${JSON.stringify(value)}\n`,
  };
}

/** A query string longer than any real question: refused before it is parsed. */
const MAX_QUERY = 2048;

/**
 * The read-only triage routes (`netmon explain`, `netmon alerts`), as a pure function of the URL
 * (path and query; the server answers GET and HEAD only):
 *
 *   /api/explain?container=C&dst=DEST[:PORT[/PROTO]]   why a connection is allowed or not
 *   /api/explain?container=C&listen=PORT[/PROTO]        why a listening port is
 *   /api/alerts                                          the active incidents
 *
 * Null for any other path. Bad input is a 400 naming what is wrong, an unknown container a 404, a
 * failing dependency a 500 with the reason; a Host header naming the daemon by anything but an
 * address or "localhost" is refused (DNS rebinding, as for the map).
 */
export function handleExplainRoute(
  url: string,
  deps: ExplainRouteDeps,
  request: { host?: string } = {},
): RouteResult | null {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  if (path !== "/api/explain" && path !== "/api/alerts") return null;
  if (!isDirectHost(request.host))
    return json(403, { error: "forbidden: ask the daemon by its address (127.0.0.1), not by a host name" });
  const query = q < 0 ? "" : url.slice(q + 1);
  if (query.length > MAX_QUERY) return json(400, { error: `query longer than ${MAX_QUERY} characters` });
  if (path === "/api/alerts") {
    try {
      return json(200, { alerts: alertRows(deps.alerts()) });
    } catch (err) {
      return json(500, { error: `cannot list the alerts: ${String(err)}` });
    }
  }
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return json(400, { error: "malformed query string" });
  }
  const parsed = parseExplainParams(params);
  if (!parsed.ok) return json(400, { error: parsed.error });
  try {
    const out = explain(deps.sources(), parsed.value);
    return out.ok ? json(200, out.report) : json(404, { error: out.error });
  } catch (err) {
    return json(500, { error: `cannot explain: ${String(err)}` });
  }
}

/**
 * /api/container/<id> with its recent connections, each naming the rule or label that allowed it
 * (or saying nothing did): the map's details (src/graph/details.ts) plus this, so the map's code
 * stays the map's.
 */
export function withConnections<D extends { id: string }>(
  details: D | null,
  sources: () => ExplainSources,
): (D & { connections: ConnectionAllowance[] }) | null {
  if (details === null) return null;
  return { ...details, connections: connectionAllowances(sources(), details.id) };
}

/** What the routes read of the running daemon. */
export interface DaemonExplainState {
  engine: {
    policy: ExplainSources["policy"];
    alerts: { active(): readonly Alert[] };
    pipeline: { dns: NonNullable<ExplainSources["dns"]> };
  };
  inventory: ExplainSources["containers"];
  baseline: ExplainSources["baseline"];
  ledger: NonNullable<ExplainSources["recent"]>;
  /** The configuration in force (it changes on SIGHUP). */
  config(): ExplainSources["config"];
}

/** The routes' view of the running daemon, read at each request. */
export function daemonExplainDeps(d: DaemonExplainState): ExplainRouteDeps {
  return {
    sources: () => ({
      config: d.config(),
      containers: d.inventory,
      policy: d.engine.policy,
      baseline: d.baseline,
      dns: d.engine.pipeline.dns,
      recent: d.ledger,
      now: Date.now(),
    }),
    alerts: () => d.engine.alerts.active(),
  };
}

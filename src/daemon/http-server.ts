import { createServer, type Server } from "node:http";
import { type GraphRouteDeps, handleGraphRoute } from "../graph/routes.js";
import { NetmonError } from "../util/errors.js";
import { type ExplainRouteDeps, handleExplainRoute } from "./explain-routes.js";

export interface HttpHandlers {
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Ready when Docker is reachable and capture runs; otherwise the reasons why not. */
  readiness(): { ready: boolean; reasons: string[] };
  /** The topology page and its data (/ui, /ui/*, /api/graph, /api/container/<id>); absent: not served. */
  graph?: GraphRouteDeps;
  /** `netmon explain` and `netmon alerts` (/api/explain, /api/alerts); absent: not served. */
  explain?: ExplainRouteDeps;
}

/**
 * The local HTTP endpoint: /metrics (Prometheus), /healthz (the process answers), /readyz
 * (Docker reachable and capture running). Read-only: anything else is 404, any method but GET/HEAD 405.
 */
export function startHttpServer(host: string, port: number, handlers: HttpHandlers): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const r = handlers.readiness();
      res
        .writeHead(r.ready ? 200 : 503, { "content-type": "text/plain" })
        .end(r.ready ? "ready\n" : `not ready: ${r.reasons.join("; ")}\n`);
    } else if (path === "/metrics") {
      handlers.metrics().then(
        (m) => res.writeHead(200, { "content-type": m.contentType }).end(m.body),
        (err: unknown) =>
          res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(err)}\n`),
      );
    } else {
      const request = { host: req.headers.host };
      const routed =
        (handlers.explain ? handleExplainRoute(req.url ?? "/", handlers.explain, request) : null) ??
        (handlers.graph ? handleGraphRoute(path ?? "/", handlers.graph, request) : null);
      if (routed !== null) {
        res
          .writeHead(routed.status, { "content-type": routed.contentType, ...routed.headers })
          .end(req.method === "HEAD" ? undefined : routed.body);
        return;
      }
      res
        .writeHead(404, { "content-type": "text/plain" })
        .end("not found: try /metrics, /healthz, /readyz, /ui, /api/graph\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "the port is already in use" : (err.code ?? err.message);
      reject(
        new NetmonError(`cannot serve metrics on ${host}:${port}: ${why} (set http.port or http.listen)`),
      );
    });
    server.listen(port, host, () => resolve(server));
  });
}

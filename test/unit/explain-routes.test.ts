import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import {
  type ExplainRouteDeps,
  handleExplainRoute,
  withConnections,
} from "../../src/daemon/explain-routes.js";
import { startHttpServer } from "../../src/daemon/http-server.js";
import { ConnectionLedger } from "../../src/explain/connection-ledger.js";
import { alertOf, bridgeNetwork, containerInfo, containerRef, FIXTURE_TS } from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

const WEB = containerInfo(containerRef("web"), {
  labels: { "netmon.egress": "10.0.0.0/8:443/tcp" },
  networks: [bridgeNetwork()],
});

function deps(): ExplainRouteDeps {
  const byId = new Map([[WEB.ref.id, WEB]]);
  const containers = { get: (id: string) => byId.get(id), all: () => [WEB] };
  const baseline = new Baseline();
  const { policy, config } = policyFromYaml("mode: monitor\n", containers, { baseline });
  return {
    sources: () => ({
      config,
      containers,
      policy,
      baseline,
      dns: null,
      recent: new ConnectionLedger(),
      now: FIXTURE_TS,
    }),
    alerts: () => [
      alertOf({ severity: "warning", lastSeen: FIXTURE_TS + 5 }),
      alertOf({ fingerprint: "b", detector: "unusual-listener", severity: "critical" }),
    ],
  };
}

const body = (r: ReturnType<typeof handleExplainRoute>) => JSON.parse(String(r?.body));

describe("explain routes", () => {
  it("answers /api/explain with the report, 400 naming the bad input, 404 for an unknown container", () => {
    const d = deps();
    const ok = handleExplainRoute("/api/explain?container=web&dst=10.1.2.3:443", d);
    expect(ok?.status).toBe(200);
    expect(body(ok).verdict).toMatchObject({ allowed: true, by: "label netmon.egress: 10.0.0.0/8:443/tcp" });
    const bad = handleExplainRoute("/api/explain?container=web&dst=10.1.2.3:99999", d);
    expect(bad?.status).toBe(400);
    expect(body(bad).error).toContain("not a port 1-65535");
    expect(handleExplainRoute("/api/explain?container=web", d)?.status).toBe(400);
    expect(handleExplainRoute(`/api/explain?container=web&dst=${"a".repeat(3000)}`, d)?.status).toBe(400);
    const unknown = handleExplainRoute("/api/explain?container=nope&listen=80", d);
    expect(unknown?.status).toBe(404);
    expect(body(unknown).error).toContain('no container "nope"');
  });

  it("lists the active alerts, most severe first", () => {
    const r = handleExplainRoute("/api/alerts", deps());
    expect(r?.status).toBe(200);
    expect(
      body(r).alerts.map((a: { detector: string; severity: string }) => [a.detector, a.severity]),
    ).toEqual([
      ["unusual-listener", "critical"],
      ["unexpected-outbound", "warning"],
    ]);
  });

  // DNS rebinding: a page elsewhere must not read the policy through the browser.
  it("refuses a request naming the daemon by a host name; other paths are not its own", () => {
    expect(handleExplainRoute("/api/alerts", deps(), { host: "evil.example:9797" })?.status).toBe(403);
    expect(handleExplainRoute("/api/graph", deps())).toBeNull();
  });

  it("a dependency that throws is a 500 with the reason", () => {
    const d = {
      ...deps(),
      alerts: () => {
        throw new Error("boom");
      },
    };
    const r = handleExplainRoute("/api/alerts", d);
    expect(r?.status).toBe(500);
    expect(body(r).error).toBe("cannot list the alerts: Error: boom");
  });

  it("/api/container/<id> details gain the container's connections", () => {
    expect(withConnections(null, deps().sources)).toBeNull();
    expect(withConnections({ id: WEB.ref.id }, deps().sources)).toEqual({ id: WEB.ref.id, connections: [] });
  });
});

describe("explain routes on the local HTTP server", () => {
  const servers: { close(): void }[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it("serves /api/explain and /api/alerts; HEAD has no body; POST is refused", async () => {
    const server = await startHttpServer("127.0.0.1", 0, {
      metrics: async () => ({ contentType: "text/plain", body: "" }),
      readiness: () => ({ ready: true, reasons: [] }),
      explain: deps(),
    });
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await fetch(`${base}/api/explain?container=web&listen=80/tcp`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const report = (await r.json()) as { verdict: { allowed: boolean } };
    expect(report.verdict.allowed).toBe(false);
    const list = (await (await fetch(`${base}/api/alerts`)).json()) as { alerts: unknown[] };
    expect(list.alerts).toHaveLength(2);
    expect(await (await fetch(`${base}/api/alerts`, { method: "HEAD" })).text()).toBe("");
    expect((await fetch(`${base}/api/alerts`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });
});

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { Baseline } from "../../src/baseline/baseline.js";
import type { BlockRecord } from "../../src/block/types.js";
import {
  type ContainerDetails,
  type ContainerDetailsSources,
  containerDetails,
} from "../../src/graph/details.js";
import { TopologyGraph } from "../../src/graph/model.js";
import { pageScript, renderPage } from "../../src/graph/page.js";
import { type GraphRouteDeps, handleGraphRoute, UI_CSP } from "../../src/graph/routes.js";
import type { EdgeVerdict, GraphSnapshot } from "../../src/graph/snapshot-types.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";
import { bridgeNetwork, connectionEvent, containerInfo } from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

const T0 = 1_767_225_600_000;
const HOSTILE = '<img src=x onerror="globalThis.__pwned=1">';

const WEB: ContainerRef = {
  id: "a".repeat(64),
  name: "shop-web-1",
  image: "shop/web:1.4",
  service: "web",
  project: "shop",
};
const DB: ContainerRef = {
  id: "b".repeat(64),
  name: "shop-db-1",
  image: "postgres:16",
  service: "db",
  project: "shop",
};
/** Names and labels are whatever whoever started the container wrote. */
const EVIL: ContainerRef = {
  id: "c".repeat(64),
  name: "evil",
  image: "evil:1",
  service: HOSTILE,
  project: HOSTILE,
};

function info(ref: ContainerRef, labels: Record<string, string> = {}): ContainerInfo {
  return containerInfo(ref, {
    imageId: `sha256:${"ab".repeat(32)}`,
    labels: {
      ...(ref.project ? { "com.docker.compose.project": ref.project } : {}),
      ...(ref.service ? { "com.docker.compose.service": ref.service } : {}),
      ...labels,
    },
    networks: [bridgeNetwork({ networkName: "shop_default", networkId: "n1" })],
    pid: 1,
    exposedPorts: ["8080/tcp"],
    publishedPorts: [{ containerPort: 8080, proto: "tcp", hostIp: "127.0.0.1", hostPort: 8080 }],
    startedAt: T0,
  });
}

function attempt(
  src: ContainerRef,
  dst: ContainerRef | null,
  ip: string,
  port: number,
  ts = T0,
): ConnectionEvent {
  return connectionEvent({ ts, from: src, to: dst, ip, port });
}

/** A daemon's worth of state: inventory, policy, baseline, alerts, blocks, the graph. */
function world() {
  const infos = new Map<string, ContainerInfo>(
    [
      info(WEB, { "netmon.egress": "db:5432/tcp", "secret.token": "hunter2", "netmon.listen": HOSTILE }),
      info(DB),
      info(EVIL, { "netmon.egress": HOSTILE }),
    ].map((i) => [i.ref.id, i]),
  );
  const containers = { get: (id: string) => infos.get(id), all: () => [...infos.values()] };
  const baseline = new Baseline();
  baseline.recordEgress("shop/web", "api.stripe.com", 443, "tcp", T0 - 3_600_000);
  baseline.recordListen("shop/web", 8080, "tcp", T0 - 3_600_000);
  const { policy } = policyFromYaml("baseline:\n  learnForSeconds: 600\n", containers, {
    baseline,
    warn: () => {},
    source: "t.yaml",
  });
  const alerts = new AlertManager();
  alerts.onFinding({
    detector: "unexpected-outbound",
    severity: "warning",
    key: "198.51.100.23:4444/tcp",
    container: WEB,
    workload: "shop/web",
    summary: `shop-web-1 connected to 198.51.100.23:4444/tcp, which no rule allows ${HOSTILE}`,
    ts: T0,
    dst: { ip: "198.51.100.23", port: 4444, proto: "tcp" },
  });
  const blocks: BlockRecord[] = [
    {
      id: "blk1",
      entry: {
        scope: "destination",
        family: 4,
        src: "172.18.0.2",
        proto: "tcp",
        port: 4444,
        dst: "198.51.100.23",
      },
      container: "shop-web-1",
      workload: "shop/web",
      fingerprint: "f",
      reason: "unexpected-outbound",
      createdAt: T0,
      expiresAt: T0 + 600_000,
    },
  ];
  const graph = new TopologyGraph();
  graph.setHostAddresses(["172.18.0.1"]);
  const observe = (ev: ConnectionEvent, v: EdgeVerdict) => graph.observe(ev, v);
  observe(attempt(WEB, DB, "172.18.0.3", 5432), "allowed-policy");
  observe(
    {
      ...attempt(WEB, null, "203.0.113.7", 443),
      dst: { ...attempt(WEB, null, "203.0.113.7", 443).dst, names: ["api.stripe.com"] },
    },
    "allowed-baseline",
  );
  observe(attempt(WEB, null, "198.51.100.23", 4444), "unexpected");
  observe(attempt(EVIL, null, "172.18.0.1", 53), "allowed-policy");
  const sources: ContainerDetailsSources = {
    containers,
    policy,
    baseline,
    alerts,
    blocks: { active: () => blocks },
    learnForMs: 600_000,
    now: () => T0,
  };
  /** Which containers run, for the map's "gone" marks (undefined: not told). */
  const running = ((id: string) => containers.get(id)?.running === true) as
    | ((id: string) => boolean)
    | undefined;
  return { graph, sources, alerts, blocks, policy, running };
}

describe("containerDetails", () => {
  it("tells identity, mode, netmon and Compose labels only, declared ports, baseline, alerts and blocks", () => {
    const { sources } = world();
    const d = containerDetails(WEB.id, sources)!;
    expect(d).toMatchObject({
      id: WEB.id,
      name: "shop-web-1",
      workload: "shop/web",
      project: "shop",
      service: "web",
      running: true,
      networks: [{ name: "shop_default", ipv4: "172.18.0.2", ipv6: null }],
      mode: { configured: "monitor", effective: "monitor", learningUntil: T0 - 3_600_000 + 600_000 },
      labels: {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "web",
        "netmon.egress": "db:5432/tcp",
        "netmon.listen": HOSTILE,
      },
      otherLabels: 1,
      policy: { egress: "db:5432/tcp", listen: HOSTILE, declaredPorts: ["8080/tcp"] },
      baseline: { egress: ["api.stripe.com|443|tcp"], listen: ["8080/tcp"], dropped: 0 },
      blocks: [{ id: "blk1", block: "172.18.0.2 -> 198.51.100.23:4444/tcp", reason: "unexpected-outbound" }],
    });
    // A secret in an unrelated label never leaves the daemon.
    expect(JSON.stringify(d)).not.toContain("hunter2");
    expect(d.policy.warnings).toEqual([expect.stringContaining("label netmon.listen is malformed")]);
    expect(d.alerts).toEqual([
      expect.objectContaining({
        detector: "unexpected-outbound",
        severity: "warning",
        container: "shop-web-1",
        count: 1,
        dst: { ip: "198.51.100.23", port: 4444, proto: "tcp" },
      }),
    ]);
  });

  it("finds a container by full id, name or unique id prefix of 12 or more; null otherwise", () => {
    const { sources } = world();
    expect(containerDetails("shop-db-1", sources)?.id).toBe(DB.id);
    expect(containerDetails("b".repeat(12), sources)?.id).toBe(DB.id);
    expect(containerDetails("b".repeat(11), sources)).toBeNull();
    expect(containerDetails("nope", sources)).toBeNull();
    expect(containerDetails(DB.id, sources)?.alerts).toEqual([]);
    expect(containerDetails(DB.id, sources)?.baseline).toBeNull();
  });
});

describe("handleGraphRoute", () => {
  function deps(over: Partial<GraphRouteDeps> = {}): GraphRouteDeps {
    const { graph, sources, alerts, blocks } = world();
    return {
      snapshot: () => graph.snapshot(T0, { alerts: alerts.active(), blocks }),
      container: (id) => containerDetails(id, sources),
      ...over,
    };
  }

  it("serves the page with a strict CSP, its script and styles, and the bundled cytoscape", () => {
    const page = handleGraphRoute("/ui", deps())!;
    expect(page).toMatchObject({ status: 200, contentType: "text/html; charset=utf-8" });
    expect(page.headers["content-security-policy"]).toBe(UI_CSP);
    expect(UI_CSP).toContain("script-src 'self'");
    expect(UI_CSP).not.toContain("unsafe");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.body).toBe(renderPage());
    expect(handleGraphRoute("/ui/", deps())?.body).toBe(renderPage());
    expect(page.body).toContain('<script src="/ui/cytoscape.min.js"></script>');
    const js = handleGraphRoute("/ui/app.js", deps())!;
    expect(js).toMatchObject({
      status: 200,
      contentType: "text/javascript; charset=utf-8",
      body: pageScript(),
    });
    expect(handleGraphRoute("/ui/app.css", deps())?.contentType).toBe("text/css; charset=utf-8");
    const cy = handleGraphRoute("/ui/cytoscape.min.js", deps())!;
    expect(cy.status).toBe(200);
    const file = createRequire(import.meta.url).resolve("cytoscape/dist/cytoscape.min.js");
    expect(Buffer.compare(cy.body as Buffer, readFileSync(file))).toBe(0);
  });

  it("the page script builds no markup from data", () => {
    // Names and labels are hostile: text goes in as text nodes only.
    expect(pageScript()).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
    expect(renderPage()).not.toMatch(/<script>|\son[a-z]+=/);
  });

  it("serves the map and container details as JSON", () => {
    const g = handleGraphRoute("/api/graph", deps())!;
    expect(g).toMatchObject({ status: 200, contentType: "application/json; charset=utf-8" });
    const snap = JSON.parse(g.body as string) as GraphSnapshot;
    const cut = snap.edges.find((e) => e.ports.some((p) => p.port === 4444))!;
    expect(cut.verdict).toBe("blocked");
    expect(cut.ports.map((p) => `${p.port} ${p.verdict}`)).toEqual(["4444 blocked"]);
    expect(snap.nodes.find((n) => n.id === "workload:shop/web")?.alerts).toBe(1);
    const c = handleGraphRoute(`/api/container/${WEB.id}`, deps())!;
    expect(c.status).toBe(200);
    expect((JSON.parse(c.body as string) as ContainerDetails).name).toBe("shop-web-1");
    expect(handleGraphRoute("/api/container/shop%2Dweb%2D1", deps())?.status).toBe(200);
  });

  it("answers 404, 400 and 500 for what it cannot serve, and null for paths that are not its own", () => {
    expect(handleGraphRoute("/api/container/nope", deps())?.status).toBe(404);
    expect(handleGraphRoute("/api/container/", deps())?.status).toBe(400);
    expect(handleGraphRoute("/api/container/%E0%A4%A", deps())?.status).toBe(400);
    expect(handleGraphRoute(`/api/container/${"x".repeat(300)}`, deps())?.status).toBe(400);
    expect(handleGraphRoute("/api/container/a/b", deps())?.status).toBe(400);
    expect(handleGraphRoute("/api/other", deps())?.status).toBe(404);
    expect(handleGraphRoute("/ui/other.js", deps())?.status).toBe(404);
    const boom = () => {
      throw new Error("boom");
    };
    expect(handleGraphRoute("/api/graph", deps({ snapshot: boom }))).toMatchObject({
      status: 500,
      body: '{"error":"cannot build the graph: Error: boom"}\n',
    });
    expect(handleGraphRoute("/api/container/x", deps({ container: boom }))?.status).toBe(500);
    expect(handleGraphRoute("/ui/cytoscape.min.js", deps({ cytoscapeJs: boom }))?.status).toBe(500);
    for (const p of ["/", "/metrics", "/healthz", "/uix", "/apix"])
      expect(handleGraphRoute(p, deps())).toBeNull();
  });

  // A browser lets any web site send requests to 127.0.0.1; with DNS rebinding it could read the
  // answers too, but its requests then carry its own host name.
  it("refuses requests that name the daemon by a host name (DNS rebinding)", () => {
    const ok = [
      "127.0.0.1:9797",
      "127.0.0.1",
      "localhost:9797",
      "LOCALHOST",
      "[::1]:9797",
      "[::1]",
      "10.1.2.3:80",
    ];
    for (const host of ok) expect(handleGraphRoute("/api/graph", deps(), { host })?.status, host).toBe(200);
    expect(handleGraphRoute("/api/graph", deps(), {})?.status).toBe(200);
    const bad = [
      "evil.example:9797",
      "evil.example",
      "127.0.0.1.nip.io",
      "[::1]x",
      "127.0.0.1:80:80",
      "localhost:x",
      "",
    ];
    for (const host of bad) {
      for (const path of ["/ui", "/api/graph", `/api/container/${WEB.id}`, "/ui/cytoscape.min.js"])
        expect(handleGraphRoute(path, deps(), { host })?.status, `${host} ${path}`).toBe(403);
    }
    // Not ours: the server's other routes decide for themselves.
    expect(handleGraphRoute("/metrics", deps(), { host: "evil.example" })).toBeNull();
  });
});

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Chromium is a test prerequisite: missing under CI=true fails the file, elsewhere it is skipped with the reason. */
function chromiumReady(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} missing in CI (apt-get install chromium)`);
  console.warn(`skipping the browser test: ${CHROMIUM} not installed (apt-get install chromium)`);
  return false;
}

/** Evaluates an expression in the page (a string: the test is compiled without the DOM types). */
function evaluate<T>(page: Page, expr: string): Promise<T> {
  return page.evaluate(expr) as Promise<T>;
}

/** Polls an expression (page.waitForFunction would eval inside the page, which its CSP forbids). */
async function waitUntil(page: Page, expr: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await evaluate<boolean>(page, expr))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A real click on a node. The map may re-lay out between reading the node's position and the click
 * (auto-refresh, a loaded machine), so the click is retried until `until` appears.
 */
async function clickNode(page: Page, id: string, until?: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const at = await evaluate<{ x: number; y: number }>(
      page,
      `(() => { const p = window.cy.getElementById(${JSON.stringify(id)}).renderedPosition();
        const r = document.getElementById("cy").getBoundingClientRect(); return { x: r.left + p.x, y: r.top + p.y }; })()`,
    );
    await page.mouse.click(at.x, at.y);
    if (until === undefined) return;
    const ok = await page
      .waitForSelector(until, { timeout: 4_000 })
      .then(() => true)
      .catch(() => false);
    if (ok) return;
  }
}

describe.runIf(chromiumReady())(
  "the page in headless Chromium (in-process server, fake daemon state)",
  () => {
    let browser: Browser;
    let server: Server;
    let base = "";
    let w = world();
    let failGraph = false;
    const requests: string[] = [];

    beforeAll(async () => {
      const d: GraphRouteDeps = {
        snapshot: () => {
          if (failGraph) throw new Error("daemon busy");
          return w.graph.snapshot(T0, { alerts: w.alerts.active(), running: w.running });
        },
        container: (id) => containerDetails(id, w.sources),
      };
      // The same contract as src/daemon/http-server.ts: GET/HEAD only, query string stripped.
      server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405).end();
        const r = handleGraphRoute((req.url ?? "/").split("?")[0]!, d, { host: req.headers.host });
        if (r === null) return void res.writeHead(404).end();
        res.writeHead(r.status, { "content-type": r.contentType, ...r.headers }).end(r.body);
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      await browser?.close();
      server?.closeAllConnections();
      server?.close();
    });

    it("draws the map, red where unexpected, shows a container's alert and policy on click, refreshes", async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`${base}/ui?refresh=1`);
      await page.waitForSelector("body[data-state=ready]", { timeout: 20_000 });

      const nodes = await evaluate<string[]>(page, "window.cy.nodes().map((n) => n.id()).sort()");
      expect(nodes).toEqual([
        "dns:api.stripe.com",
        "host",
        "net:198.51.100.0/24",
        `project:${HOSTILE}`,
        "project:shop",
        `workload:${HOSTILE}/${HOSTILE}`,
        "workload:shop/db",
        "workload:shop/web",
      ]);
      const edges = await evaluate<{ target: string; verdict: string; color: string }[]>(
        page,
        `window.cy.edges().map((e) => ({ target: e.target().id(), verdict: e.data("verdict"), color: e.style("line-color") }))
        .sort((a, b) => a.target < b.target ? -1 : 1)`,
      );
      expect(edges).toEqual([
        { target: "dns:api.stripe.com", verdict: "allowed-baseline", color: "rgb(31,119,180)" },
        { target: "host", verdict: "allowed-policy", color: "rgb(44,160,44)" },
        { target: "net:198.51.100.0/24", verdict: "unexpected", color: "rgb(214,39,40)" },
        { target: "workload:shop/db", verdict: "allowed-policy", color: "rgb(44,160,44)" },
      ]);
      // Compose projects are parents; the alerting workload has a red border.
      expect(
        await evaluate<string>(page, 'window.cy.getElementById("workload:shop/web").parent().id()'),
      ).toBe("project:shop");
      expect(
        await evaluate<string>(page, 'window.cy.getElementById("workload:shop/web").style("border-color")'),
      ).toBe("rgb(214,39,40)");

      await clickNode(page, "workload:shop/web", `#panel[data-state=loaded][data-container="${WEB.id}"]`);
      await page.waitForSelector(`#panel[data-state=loaded][data-container="${WEB.id}"]`, {
        timeout: 15_000,
      });
      const panel = (await page.locator("#panel").textContent()) ?? "";
      expect(panel).toContain("Active alerts (1)");
      // Alerts first, then the connections grouped by peer, then the rest of the details.
      expect(panel.indexOf("Active alerts")).toBeLessThan(panel.indexOf("Connections"));
      expect(panel.indexOf("Connections")).toBeLessThan(panel.indexOf("Policy"));
      expect(await page.locator("#panel li.peer").count()).toBe(3);
      expect(panel).toContain("shop-web-1 connected to 198.51.100.23:4444/tcp");
      expect(panel).toContain("unexpected-outbound");
      expect(panel).toContain("netmon.egress");
      expect(panel).toContain("db:5432/tcp");
      expect(panel).toContain("api.stripe.com 443/tcp"); // baseline
      expect(panel).toContain("1 other label not shown");
      expect(panel).not.toContain("hunter2");
      // Hostile text is shown as text, and nothing in it ran.
      expect(panel).toContain(HOSTILE);
      expect(await page.locator("#panel img").count()).toBe(0);

      await clickNode(
        page,
        `workload:${HOSTILE}/${HOSTILE}`,
        `#panel[data-state=loaded][data-container="${EVIL.id}"]`,
      );
      await page.waitForSelector(`#panel[data-state=loaded][data-container="${EVIL.id}"]`, {
        timeout: 15_000,
      });
      expect((await page.locator("#panel h2").textContent()) ?? "").toBe(HOSTILE);
      expect(await evaluate<unknown>(page, "globalThis.__pwned")).toBeUndefined();
      expect(await page.locator("img").count()).toBe(0);

      // Auto-refresh: a new connection appears without a reload, the selection stays.
      const updates = Number(await page.getAttribute("body", "data-updates"));
      w.graph.observe(attempt(DB, null, "192.0.2.10", 443, T0 + 1000), "unexpected");
      await waitUntil(
        page,
        `window.cy.getElementById("net:192.0.2.0/24").nonempty() && Number(document.body.dataset.updates) > ${updates}`,
        15_000,
      );
      expect(
        await evaluate<boolean>(
          page,
          `window.cy.getElementById(${JSON.stringify(`workload:${HOSTILE}/${HOSTILE}`)}).selected()`,
        ),
      ).toBe(true);

      // A failing daemon is reported, and the page recovers by itself.
      failGraph = true;
      await page.waitForSelector("body[data-state=error]", { timeout: 15_000 });
      expect((await page.locator("#status").textContent()) ?? "").toContain(
        "cannot read the map from netmon (HTTP 500)",
      );
      failGraph = false;
      await page.waitForSelector("body[data-state=ready]", { timeout: 15_000 });

      mkdirSync(ARTIFACTS, { recursive: true });
      await clickNode(page, "workload:shop/web", `#panel[data-state=loaded][data-container="${WEB.id}"]`);
      await page.waitForSelector(`#panel[data-state=loaded][data-container="${WEB.id}"]`, {
        timeout: 15_000,
      });
      await page.screenshot({ path: `${ARTIFACTS}topology-unit.png` });

      // Read-only: the page only ever asked with GET, and only for its own routes.
      expect(requests.filter((r) => !r.startsWith("GET "))).toEqual([]);
      // The only complaint is the 500 the test caused: no CSP violation, no script error.
      expect(problems.filter((p) => !p.includes("status of 500"))).toEqual([]);
      await page.close();
    }, 60_000);

    it("an alert's generatorURL (/ui?container=<id>) opens the map on that container", async () => {
      w = world();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${base}/ui?refresh=1&container=${WEB.id.slice(0, 12)}`);
      await page.waitForSelector(`#panel[data-state=loaded][data-container="${WEB.id}"]`, {
        timeout: 20_000,
      });
      expect((await page.locator("#panel").textContent()) ?? "").toContain("Active alerts (1)");
      await page.close();
    }, 60_000);

    it("works with no traffic yet", async () => {
      w = { ...world(), graph: new TopologyGraph() };
      const page = await browser.newPage();
      await page.goto(`${base}/ui`);
      await page.waitForSelector("body[data-state=ready]", { timeout: 20_000 });
      expect(await evaluate<number>(page, "window.cy.elements().length")).toBe(0);
      expect((await page.locator("#summary").textContent()) ?? "").toContain(
        "0 endpoints, 0 edges (0 unexpected or blocked), 0 connections",
      );
      await page.close();
    }, 60_000);

    /** Opens the page on `graph`, no container marked gone unless `running` says so. */
    async function openMap(graph: TopologyGraph, running?: (id: string) => boolean): Promise<Page> {
      w = { ...world(), graph, running };
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on("pageerror", (e) => {
        throw e;
      });
      await page.goto(`${base}/ui?refresh=1`);
      await page.waitForSelector("body[data-state=ready]", { timeout: 20_000 });
      return page;
    }

    /** The smallest node on screen (px) and the edge labels there are to draw. */
    const READABILITY = `(() => {
      const nodes = window.cy.nodes().filter((n) => !n.isParent());
      return {
        minNodePx: Math.min(...nodes.map((n) => Math.min(n.renderedWidth(), n.renderedHeight()))),
        edgeLabels: window.cy.edges().filter((e) => e.data("label")).length,
        nodes: nodes.length,
        edges: window.cy.edges().length,
      };
    })()`;

    type Readability = { minNodePx: number; edgeLabels: number; nodes: number; edges: number };

    // It was 100 parallel arcs with 100 labels, every node shrunk to a dot.
    it("a 100-port scan is one labelled edge, the nodes stay readable, and a refresh moves no known node", async () => {
      const g = new TopologyGraph();
      for (let port = 1; port <= 100; port++) {
        g.observe(attempt(EVIL, DB, "172.18.0.3", port, T0 - 60_000 + port), "unexpected");
        g.observe({ ...attempt(EVIL, DB, "172.18.0.3", port, T0 - 59_000 + port), state: "rejected" });
      }
      g.observe(attempt(WEB, DB, "172.18.0.3", 5432), "allowed-policy");
      const page = await openMap(g);
      const r = await evaluate<Readability>(page, READABILITY);
      expect(r).toMatchObject({ nodes: 3, edges: 2, edgeLabels: 2 });
      expect(r.minNodePx).toBeGreaterThanOrEqual(20);
      const scanLabel = await evaluate<string>(
        page,
        `window.cy.edges().filter((e) => e.data("kind") === "port-scan").map((e) => e.data("label")).join()`,
      );
      expect(scanLabel).toBe("port scan: 100 ports (tcp/1-100), 0 open");
      expect((await page.locator("#summary").textContent()) ?? "").toContain(
        "3 endpoints, 2 edges (1 unexpected or blocked), 101 connections",
      );

      // A new destination appears: only it is placed, the known nodes stay where they were.
      const POSITIONS = `JSON.stringify(window.cy.nodes().filter((n) => !n.isParent()).map((n) => [n.id(), Math.round(n.position("x")), Math.round(n.position("y"))]))`;
      const before = JSON.parse(await evaluate<string>(page, POSITIONS)) as [string, number, number][];
      const updates = Number(await page.getAttribute("body", "data-updates"));
      g.observe(attempt(DB, null, "192.0.2.10", 443, T0 + 1000), "unexpected");
      await waitUntil(
        page,
        `window.cy.getElementById("net:192.0.2.0/24").nonempty() && Number(document.body.dataset.updates) > ${updates}`,
        15_000,
      );
      const after = new Map(
        (JSON.parse(await evaluate<string>(page, POSITIONS)) as [string, number, number][]).map((p) => [
          p[0],
          p,
        ]),
      );
      for (const p of before) expect(after.get(p[0]), p[0]).toEqual(p);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}topology-port-scan.png` });
      await page.close();
    }, 60_000);

    it("a stack of 50 containers stays readable; a container that is gone is marked so", async () => {
      const stack = Array.from(
        { length: 50 },
        (_, i): ContainerRef => ({
          id: `${i}`.padStart(64, "d"),
          name: `stack-svc${i}-1`,
          image: "stack/svc:1",
          service: `svc${i}`,
          project: "stack",
        }),
      );
      const g = new TopologyGraph();
      stack.forEach((c, i) => {
        const next = stack[(i + 1) % stack.length]!;
        g.observe(attempt(c, next, `172.19.0.${((i + 1) % 50) + 2}`, 8080, T0 - 1000 + i), "allowed-policy");
        if (i > 0) g.observe(attempt(c, stack[0]!, "172.19.0.2", 5432, T0 - 500 + i), "allowed-policy");
      });
      const gone = stack[7]!;
      const page = await openMap(g, (id) => id !== gone.id);
      const r = await evaluate<Readability>(page, READABILITY);
      // One edge per pair: svc49 → svc0 carries both 8080 and 5432.
      expect(r).toMatchObject({ nodes: 50, edges: 98 });
      expect(r.minNodePx).toBeGreaterThanOrEqual(12);
      expect(r.edgeLabels).toBeLessThanOrEqual(r.edges);
      // No node sits on another.
      const overlaps = await evaluate<number>(
        page,
        `(() => { const bs = window.cy.nodes().filter((n) => !n.isParent()).map((n) => n.boundingBox({ includeLabels: false }));
          let n = 0; for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) {
            const a = bs[i], b = bs[j]; if (a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2) n++; }
          return n; })()`,
      );
      expect(overlaps).toBe(0);
      const goneNode = `workload:stack/svc7`;
      expect(await evaluate<string>(page, `window.cy.getElementById("${goneNode}").data("display")`)).toBe(
        "svc7 (gone)",
      );
      await evaluate(page, `window.netmonUi.select({ type: "node", id: "${goneNode}" })`);
      await page.waitForSelector("#panel[data-state=workload]", { timeout: 10_000 });
      const panel = (await page.locator("#panel").textContent()) ?? "";
      expect(panel).toContain("gone: none of its containers runs");
      expect(panel).toContain(`${gone.name} (${gone.id.slice(0, 12)}) \u2014 gone`);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}topology-stack-50.png` });
      await page.close();
    }, 60_000);
  },
);

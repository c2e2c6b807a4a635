import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, createInternalNetwork, docker, e2eReady, runContainer, uniqueName } from "./support/docker.js";
import { type LogLine, NetmonProcess } from "./support/netmon-process.js";

const CHROMIUM = "/usr/bin/chromium";
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

/** Chromium is a prerequisite of this file: missing under CI=true fails it, elsewhere it is skipped with the reason. */
function chromiumReady(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} missing in CI (apt-get install chromium)`);
  console.warn(`skipping the topology e2e: ${CHROMIUM} not installed (apt-get install chromium)`);
  return false;
}

const dockerReady = e2eReady();
const browserReady = chromiumReady();
const NET = 80;
const API_IP = `198.18.${NET}.10`;
const OTHER_IP = `198.18.${NET}.20`;
const PROJECT = "topo";
const RED = "rgb(214,39,40)";
const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;

/** Compose labels: each container is its own workload, all in one project (they share the test image). */
function service(name: string, extra: string[] = []): string[] {
  return [
    "--init",
    "--label",
    `com.docker.compose.project=${PROJECT}`,
    "--label",
    `com.docker.compose.service=${name}`,
    ...extra,
  ];
}

/**
 * Only this file's containers and network: other e2e files (maybe running elsewhere on this
 * dockerd) are left alone. Names come from uniqueName("topo-…").
 */
function cleanupOwn(): void {
  const mine = "netmon-e2e-topo-";
  const containers = docker("ps", "-aq", "--filter", `name=${mine}`).split("\n").filter(Boolean);
  if (containers.length > 0) docker("rm", "-f", ...containers);
  for (const n of docker("network", "ls", "-q", "--filter", `name=${mine}`).split("\n").filter(Boolean))
    docker("network", "rm", n);
}

function evaluate<T>(page: Page, expr: string): Promise<T> {
  return page.evaluate(expr) as Promise<T>;
}

/** Polls an expression in the page (page.waitForFunction evals inside the page, which its CSP forbids). */
async function waitUntil(page: Page, expr: string, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await evaluate<boolean>(page, expr))) {
    if (Date.now() > deadline) {
      const seen = await evaluate<unknown>(
        page,
        "window.cy ? window.cy.edges().map((e) => e.id() + ' ' + e.data('verdict')) : null",
      );
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; edges: ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const edgeSelector = (source: string, target: string) =>
  `window.cy.edges().filter((e) => e.source().id() === ${JSON.stringify(source)} && e.target().id() === ${JSON.stringify(target)})`;

describe.runIf(dockerReady && browserReady)(
  "the topology page of a running netmon, in headless Chromium",
  () => {
    let netmon: NetmonProcess;
    let browser: Browser;
    const names = {
      api: uniqueName("topo-api"),
      other: uniqueName("topo-other"),
      web: uniqueName("topo-web"),
    };
    const node = {
      project: `project:${PROJECT}`,
      api: `workload:${PROJECT}/api`,
      other: `workload:${PROJECT}/other`,
      web: `workload:${PROJECT}/web`,
    };
    let base = "";
    let webId = "";

    beforeAll(async () => {
      cleanupOwn();
      const net = createInternalNetwork(uniqueName("topo-net"), NET);
      runContainer(names.api, net.name, "httpd -f -p 8080 -h /www", service("api", ["--ip", API_IP]));
      runContainer(names.other, net.name, "httpd -f -p 8080 -h /www", service("other", ["--ip", OTHER_IP]));
      netmon = new NetmonProcess(
        [
          `stateDir: ${join(tmpdir(), `netmon-e2e-topology-${process.pid}`)}`,
          "baseline:",
          "  learnForSeconds: 0",
        ].join("\n"),
        [],
      );
      netmon.start();
      base = `http://127.0.0.1:${netmon.httpPort}`;
      await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
      const bridge = `br-${net.id.slice(0, 12)}`;
      await netmon.waitFor(
        (l) => l.msg === "capture started" && l.iface === bridge,
        10_000,
        `capture on ${bridge}`,
      );
      // web may reach api:8080 (its label), not other:8080. It keeps both going, so the map stays populated.
      // (No `wget -T`: it crashes in the busybox-static build of the test image.)
      webId = runContainer(
        names.web,
        net.name,
        `sleep 1; for i in $(seq 300); do wget -q -O /dev/null http://${API_IP}:8080/; wget -q -O /dev/null http://${OTHER_IP}:8080/; sleep 1; done`,
        service("web", ["--label", "netmon.egress=api:8080/tcp"]),
      );
      await netmon.waitFor(
        (l: LogLine) =>
          l.msg === "alert" &&
          (l.alert as { detector: string; container: { name: string } }).detector === "unexpected-outbound" &&
          (l.alert as { container: { name: string } }).container.name === names.web,
        30_000,
        "unexpected-outbound for web",
      );
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      await browser?.close();
      await netmon?.stop();
      cleanupOwn();
    });

    it("draws the containers, a red edge for the unexpected connection, and the alert of a clicked container", async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      await page.goto(`${base}/ui?refresh=1`);
      await page.waitForSelector("body[data-state=ready]", { timeout: 45_000 });
      await waitUntil(
        page,
        `${edgeSelector(node.web, node.api)}.nonempty() && ${edgeSelector(node.web, node.other)}.nonempty()`,
        20_000,
        "both of web's edges",
      );

      const nodes = await evaluate<string[]>(page, "window.cy.nodes().map((n) => n.id())");
      expect(nodes).toEqual(expect.arrayContaining([node.project, node.api, node.other, node.web]));
      expect(
        await evaluate<string>(page, `window.cy.getElementById(${JSON.stringify(node.web)}).parent().id()`),
      ).toBe(node.project);
      const edge = (target: string) =>
        evaluate<{ verdict: string; color: string; label: string }>(
          page,
          `(() => { const e = ${edgeSelector(node.web, target)}[0];
          return { verdict: e.data("verdict"), color: e.style("line-color"), label: e.data("label") }; })()`,
        );
      const unexpected = await edge(node.other);
      expect(unexpected.verdict).toBe("unexpected");
      expect(unexpected.color).toBe(RED);
      expect(unexpected.label).toMatch(/^tcp\/8080 ×\d+/);
      const allowed = await edge(node.api);
      expect(allowed.verdict).toBe("allowed-policy");
      expect(allowed.color).not.toBe(RED);

      // A real click on the web node opens its details, with its alert and its policy. The map refreshes
      // every second and may move the node between reading its position and clicking: retry a few times.
      const loaded = `#panel[data-state=loaded][data-container="${webId}"]`;
      for (let attempt = 0; attempt < 5; attempt++) {
        const at = await evaluate<{ x: number; y: number }>(
          page,
          `(() => { const p = window.cy.getElementById(${JSON.stringify(node.web)}).renderedPosition();
          const r = document.getElementById("cy").getBoundingClientRect(); return { x: r.left + p.x, y: r.top + p.y }; })()`,
        );
        await page.mouse.click(at.x, at.y);
        const ok = await page
          .waitForSelector(loaded, { timeout: 4_000 })
          .then(() => true)
          .catch(() => false);
        if (ok) break;
      }
      await page.waitForSelector(loaded, { timeout: 5_000 });
      const panel = (await page.locator("#panel").textContent()) ?? "";
      expect(panel).toContain(names.web);
      expect(panel).toMatch(/Active alerts \([1-9]\d*\)/);
      expect(panel).toContain("unexpected-outbound");
      expect(panel).toContain(OTHER_IP); // the alert's summary names the destination
      expect(panel).toContain(names.other);
      expect(panel).toContain("netmon.egress");
      expect(panel).toContain("api:8080/tcp");

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "topology.png") });
      expect(problems).toEqual([]);
      await page.close();
    }, 90_000);

    it("serves the page offline: every request stays on the daemon", async () => {
      const page = await browser.newPage();
      const hosts = new Set<string>();
      page.on("request", (r) => {
        hosts.add(new URL(r.url()).host);
      });
      await page.goto(`${base}/ui`);
      await page.waitForSelector("body[data-state=ready]", { timeout: 45_000 });
      expect([...hosts]).toEqual([`127.0.0.1:${netmon.httpPort}`]);
      const res = await fetch(`${base}/ui`);
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect((await fetch(`${base}/api/graph`, { method: "POST" })).status).toBe(405);
      await page.close();
    });

    it("netmon graph prints the same map as DOT and Mermaid", () => {
      const run = (format: string) => {
        const r = spawnSync(process.execPath, [CLI, "graph", "--format", format, "--url", base], {
          encoding: "utf8",
          timeout: 15_000,
        });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        return r.stdout;
      };
      const dot = run("dot");
      expect(dot).toMatch(/^digraph netmon \{$/m);
      expect(dot).toMatch(
        new RegExp(
          `"${node.web}" -> "${node.other}" \\[label="tcp/8080 x\\d+[^"]* unexpected", color="#d62728"`,
        ),
      );
      expect(dot).toMatch(
        new RegExp(`"${node.web}" -> "${node.api}" \\[label="tcp/8080 x\\d+[^"]*", color="#2ca02c"`),
      );
      const mermaid = run("mermaid");
      expect(mermaid).toMatch(/^flowchart LR$/m);
      expect(mermaid).toMatch(/==>\|"tcp\/8080 x\d+[^"]* unexpected"\|/);
    });
  },
);

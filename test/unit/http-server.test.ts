import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startHttpServer } from "../../src/daemon/http-server.js";

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

const handlers = (ready: boolean) => ({
  metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "netmon_up 1\n" }),
  readiness: () => ({ ready, reasons: ready ? [] : ["Docker is unreachable"] }),
});

describe("local HTTP endpoint", () => {
  // Each route answers what the operator and Prometheus expect.
  it("serves /metrics, /healthz, /readyz and 404 elsewhere", async () => {
    const server = await startHttpServer("127.0.0.1", 0, handlers(true));
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await (await fetch(`${base}/metrics`)).text()).toBe("netmon_up 1\n");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).text()).toBe("ready\n");
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });

  // Not ready must be a 503 with the reason, so a probe and a human both understand it.
  it("/readyz is 503 with the reasons when not ready", async () => {
    const server = await startHttpServer("127.0.0.1", 0, handlers(false));
    servers.push(server);
    const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("not ready: Docker is unreachable\n");
  });

  // A taken port is a one-line error naming the address and the setting to change.
  it("a port already in use is a clear error", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    servers.push(blocker);
    const port = (blocker.address() as AddressInfo).port;
    await expect(startHttpServer("127.0.0.1", port, handlers(true))).rejects.toThrow(
      `cannot serve metrics on 127.0.0.1:${port}: the port is already in use (set http.port or http.listen)`,
    );
  });
});

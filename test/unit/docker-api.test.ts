import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DockerApiError, DockerSocketClient } from "../../src/inventory/docker-api.js";
import { explainDockerError } from "../../src/util/errors.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A stand-in dockerd: an HTTP server on a Unix socket of its own. */
async function fakeDockerd(handler: Handler): Promise<{ socket: string; requests: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "netmon-docker-api-"));
  const socket = join(dir, "docker.sock");
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { socket, requests };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
};

describe("DockerSocketClient", () => {
  it("asks the Engine API paths the inventory needs and parses their JSON", async () => {
    const d = await fakeDockerd((req, res) => {
      if (req.url === "/_ping") res.end("OK");
      else if (req.url === "/containers/json") json(res, 200, [{ Id: "abc" }]);
      else if (req.url === "/networks") json(res, 200, [{ Id: "n1" }]);
      else if (req.url === "/containers/abc/json") json(res, 200, { Id: "abc", Name: "/web" });
      else if (req.url === "/images/sha256%3Aff/json") json(res, 200, { Config: { Labels: { a: "b" } } });
      else json(res, 404, { message: "page not found" });
    });
    const c = new DockerSocketClient(d.socket);
    expect(await c.ping()).toBe("OK");
    expect(await c.listContainers()).toEqual([{ Id: "abc" }]);
    expect(await c.listNetworks()).toEqual([{ Id: "n1" }]);
    expect(await c.getContainer("abc").inspect()).toEqual({ Id: "abc", Name: "/web" });
    expect(await c.getImage("sha256:ff").inspect()).toEqual({ Config: { Labels: { a: "b" } } });
  });

  it("turns an error answer into a DockerApiError with the status and dockerd's message", async () => {
    const d = await fakeDockerd((_req, res) =>
      json(res, 404, { message: "No such container: nope\nsecond line" }),
    );
    const err = await new DockerSocketClient(d.socket)
      .getContainer("nope")
      .inspect()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect((err as DockerApiError).statusCode).toBe(404);
    // dockerode's wording, as the audit report and the log lines printed it before.
    expect(String(err)).toBe("Error: (HTTP code 404) no such container - No such container: nope");
  });

  it("refuses unreadable JSON, a list that is not one, and an answer past its size bound, saying which", async () => {
    const d = await fakeDockerd((req, res) => {
      if (req.url === "/info") res.end("{not json");
      else if (req.url === "/networks") json(res, 200, { not: "a list" });
      else res.end("x".repeat(5000));
    });
    const c = new DockerSocketClient(d.socket, 1000);
    await expect(c.info()).rejects.toThrow("Docker answered GET /info with unreadable JSON");
    await expect(c.listNetworks()).rejects.toThrow(
      "Docker answered GET /networks with something other than a list",
    );
    await expect(c.listContainers()).rejects.toThrow(
      "Docker's answer to GET /containers/json is larger than 1000 bytes",
    );
  });

  it("keeps the events stream open and sends the filters as the API wants them", async () => {
    const d = await fakeDockerd((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify({ Type: "container", Action: "start" })}\n`);
    });
    const stream = await new DockerSocketClient(d.socket).getEvents({ filters: { type: ["container"] } });
    const first = await new Promise<string>((resolve) =>
      stream.once("data", (b: Buffer) => resolve(String(b))),
    );
    expect(JSON.parse(first)).toEqual({ Type: "container", Action: "start" });
    expect(d.requests).toEqual([`GET /events?filters=${encodeURIComponent('{"type":["container"]}')}`]);
    (stream as IncomingMessage).destroy();
  });

  it("keeps the socket's own error code, so start-up explains a missing or refused socket", async () => {
    const missing = join(tmpdir(), "netmon-no-such-dir", "docker.sock");
    const err = await new DockerSocketClient(missing).ping().catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect(explainDockerError(missing, err)).toContain("does not exist: start dockerd");
  });
});

import { type IncomingMessage, request } from "node:http";

/**
 * The few Docker Engine API calls netmon makes, over the local socket with node:http.
 *
 * Written here rather than taken from dockerode: requiring dockerode cost the daemon 300–450 ms of
 * CPU at every start (measured 2026-12-02 with --cpu-prof: ssh2, @grpc/grpc-js and protobufjs,
 * for SSH transports and BuildKit sessions netmon never uses), most of its time to ready. These
 * calls are plain GETs and one HEAD on the Unix socket; answers are bounded and checked like any
 * outside input (the callers parse them with their schemas).
 */

/**
 * An error answer of dockerd, with its HTTP status (404: no such container/image). Its text is
 * dockerode's ("(HTTP code 404) no such container - No such container: abc"), as the audit report
 * and the log lines printed it before.
 */
export class DockerApiError extends Error {
  constructor(
    readonly statusCode: number,
    reason: string,
    detail: string,
  ) {
    super(`(HTTP code ${statusCode}) ${reason}${detail === "" ? "" : ` - ${detail}`}`);
    this.name = "Error";
  }
}

/** dockerode's words for a status, by the kind of object the path names. */
function reasonOf(status: number, path: string): string {
  if (status === 404) {
    const kind = /^\/(containers|images|networks)\//.exec(path)?.[1];
    return kind === undefined ? "not found" : `no such ${kind.slice(0, -1)}`;
  }
  if (status === 400) return "bad parameter";
  if (status === 409) return "conflict";
  if (status === 500) return "server error";
  return "unexpected";
}

/** Largest answer read (a host with thousands of containers lists a few MiB). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface DockerContainerApi {
  inspect(): Promise<unknown>;
  /** HEAD /containers/{id}/archive?path=…: the answer's headers (the path's stat), no body. */
  infoArchive(opts: { path: string }): Promise<IncomingMessage>;
  /** GET /containers/{id}/archive?path=…: a tar stream of the path. */
  getArchive(opts: { path: string }): Promise<IncomingMessage>;
}

/** What the inventory, the posture audit and `netmon containers` ask of Docker. */
export interface DockerApi {
  ping(): Promise<unknown>;
  /** The events stream (newline-separated JSON), open until closed by either side. */
  getEvents(opts: { filters: Record<string, string[]> }): Promise<NodeJS.ReadableStream>;
  listContainers(): Promise<unknown[]>;
  listNetworks(): Promise<unknown[]>;
  info(): Promise<unknown>;
  getContainer(id: string): DockerContainerApi;
  getImage(id: string): { inspect(): Promise<unknown> };
}

export class DockerSocketClient implements DockerApi {
  constructor(
    private readonly socketPath: string,
    private readonly maxBodyBytes = MAX_BODY_BYTES,
  ) {}

  ping(): Promise<unknown> {
    return this.text("GET", "/_ping");
  }

  getEvents(opts: { filters: Record<string, string[]> }): Promise<NodeJS.ReadableStream> {
    return this.open("GET", `/events?filters=${encodeURIComponent(JSON.stringify(opts.filters))}`);
  }

  listContainers(): Promise<unknown[]> {
    return this.list("/containers/json");
  }

  listNetworks(): Promise<unknown[]> {
    return this.list("/networks");
  }

  info(): Promise<unknown> {
    return this.json("/info");
  }

  getContainer(id: string): DockerContainerApi {
    const base = `/containers/${encodeURIComponent(id)}`;
    const archive = (path: string) => `${base}/archive?path=${encodeURIComponent(path)}`;
    return {
      inspect: () => this.json(`${base}/json`),
      infoArchive: async ({ path }) => this.open("HEAD", archive(path)),
      getArchive: async ({ path }) => this.open("GET", archive(path)),
    };
  }

  getImage(id: string): { inspect(): Promise<unknown> } {
    return { inspect: () => this.json(`/images/${encodeURIComponent(id)}/json`) };
  }

  private async list(path: string): Promise<unknown[]> {
    const body = await this.json(path);
    if (!Array.isArray(body)) throw new Error(`Docker answered GET ${path} with something other than a list`);
    return body;
  }

  private async json(path: string): Promise<unknown> {
    const text = await this.text("GET", path);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`Docker answered GET ${path} with unreadable JSON`);
    }
  }

  private async text(method: string, path: string): Promise<string> {
    return readBody(await this.open(method, path), `${method} ${path}`, this.maxBodyBytes);
  }

  /** The answer once its status is known: 2xx as a stream, anything else as a DockerApiError. */
  private open(method: string, path: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, method, path, headers: { host: "docker" } },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(res);
            return;
          }
          readBody(res, `${method} ${path}`, this.maxBodyBytes).then(
            (text) => reject(new DockerApiError(status, reasonOf(status, path), errorMessageOf(text))),
            reject,
          );
        },
      );
      req.on("error", reject);
      req.end();
    });
  }
}

function readBody(res: IncomingMessage, what: string, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        reject(new Error(`Docker's answer to ${what} is larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

/** dockerd's error answers are {"message": "..."}; one line of it, bounded. */
function errorMessageOf(text: string): string {
  let message = text;
  try {
    const parsed: unknown = JSON.parse(text);
    const m = (parsed as { message?: unknown } | null)?.message;
    if (typeof m === "string") message = m;
  } catch {
    // not JSON: the text as it is
  }
  return message.split("\n")[0]!.slice(0, 300);
}

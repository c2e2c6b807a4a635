import { posix } from "node:path";
import { firstFileInTar } from "./tar.js";

/**
 * What the audit needs from the Docker API: a structural subset, so
 * DockerSocketClient fits as is and tests can hand in a fake.
 */
export interface PostureContainerApi {
  inspect(): Promise<unknown>;
  /** HEAD /containers/{id}/archive?path=…: stats a path in the container's filesystem, runs nothing in it. */
  infoArchive(opts: { path: string }): Promise<unknown>;
  /** GET /containers/{id}/archive?path=…: a tar stream of the path. */
  getArchive(opts: { path: string }): Promise<NodeJS.ReadableStream>;
}

export interface PostureDockerClient {
  listContainers(): Promise<unknown[]>;
  listNetworks(): Promise<unknown[]>;
  info(): Promise<unknown>;
  getContainer(id: string): PostureContainerApi;
}

const statusOf = (err: unknown): number | undefined =>
  typeof err === "object" && err !== null ? (err as { statusCode?: number }).statusCode : undefined;

/** The X-Docker-Container-Path-Stat header of a HEAD archive answer, decoded; null when absent. */
function pathStat(res: unknown): { linkTarget: string } | null {
  if (typeof res !== "object" || res === null) return null;
  const r = res as { headers?: Record<string, unknown>; resume?: () => void };
  r.resume?.(); // a HEAD answer has no body; let the socket go back to the pool
  const header = r.headers?.["x-docker-container-path-stat"];
  if (typeof header !== "string" || header.length > 8192) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
    const link = (parsed as { linkTarget?: unknown }).linkTarget;
    return { linkTarget: typeof link === "string" ? link : "" };
  } catch {
    return null;
  }
}

/**
 * Whether `path` exists in the container's filesystem (following up to 4 symbolic links, so a
 * dangling /bin/sh does not count). Asks dockerd to stat the path: nothing runs in the container.
 * 404 = absent; other errors are thrown.
 */
export async function pathExists(container: PostureContainerApi, path: string): Promise<boolean> {
  let current = path;
  for (let hop = 0; hop < 5; hop++) {
    let res: unknown;
    try {
      res = await container.infoArchive({ path: current });
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
    const stat = pathStat(res);
    if (stat === null || stat.linkTarget === "") return true;
    current = posix.resolve(posix.dirname(current), stat.linkTarget);
  }
  return true; // a long chain of links: count it as present rather than loop
}

/** The first of `paths` present in the container, or null. */
export async function firstPresent(
  container: PostureContainerApi,
  paths: readonly string[],
): Promise<string | null> {
  for (const p of paths) if (await pathExists(container, p)) return p;
  return null;
}

const MAX_FILE = 1024 * 1024;

/** Reads one small file of the container (e.g. /etc/passwd) through the archive API; null when absent or too big. */
export async function readContainerFile(
  container: PostureContainerApi,
  path: string,
): Promise<string | null> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await container.getArchive({ path });
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > MAX_FILE + 4096) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return null;
    }
    chunks.push(b);
  }
  return firstFileInTar(Buffer.concat(chunks))?.toString("utf8") ?? null;
}

import { NetmonError } from "../util/errors.js";

/** Where `netmon run` serves its local API by default (http.listen, http.port). */
export const DEFAULT_DAEMON_URL = "http://127.0.0.1:9797";

/** One answer of the daemon's local API. */
export interface DaemonAnswer {
  status: number;
  /** The parsed JSON body; undefined when the body is not JSON (the server's own plain 404). */
  body: unknown;
  /** The body as sent. */
  text: string;
  url: string;
}

/**
 * GET <base><pathAndQuery> from the running daemon, whatever the status. A bad --url is a usage
 * error (exit 2); a daemon that cannot be reached a NetmonError (exit 1) naming the address.
 */
export async function getDaemonJson(
  baseUrl: string,
  pathAndQuery: string,
  timeoutMs = 5000,
): Promise<DaemonAnswer> {
  let url: URL;
  try {
    url = new URL(pathAndQuery, baseUrl);
  } catch {
    throw new NetmonError(`--url ${JSON.stringify(baseUrl)} is not a URL (e.g. ${DEFAULT_DAEMON_URL})`, 2);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new NetmonError(`--url ${JSON.stringify(baseUrl)} must be http:// or https://`, 2);
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "application/json" },
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new NetmonError(
      `cannot reach the netmon daemon at ${url.origin} (${cause}): is \`netmon run\` running with http.enabled? (set --url, or http.listen/http.port with --config)`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, url: url.href };
}

/** The error text of a JSON error answer ({ error: "…" }), or the status. */
export function errorOf(answer: DaemonAnswer): string {
  const b = answer.body as { error?: unknown } | null | undefined;
  return typeof b?.error === "string" ? b.error : `HTTP ${answer.status}`;
}

/** A 404 from the map's catch-all or the server itself: the daemon predates this route. */
export function tooOld(answer: DaemonAnswer, what: string): NetmonError {
  return new NetmonError(`${answer.url} answered 404: the daemon has no ${what} (older than this netmon?)`);
}

/** Any answer but a JSON 200, as one line naming the address (exit 1). */
export function daemonFailure(answer: DaemonAnswer, what: string): NetmonError {
  if (answer.status === 404) return tooOld(answer, what);
  if (answer.status === 200)
    return new NetmonError(`${answer.url} answered HTTP 200 without JSON: ${answer.text.slice(0, 200)}`);
  return new NetmonError(`${answer.url} answered HTTP ${answer.status}: ${answer.text.trim().slice(0, 200)}`);
}

/** GET a JSON document (`what`, for the messages) from the running daemon: its body, or a NetmonError. */
export async function getDaemonBody(
  baseUrl: string,
  pathAndQuery: string,
  what: string,
  timeoutMs = 5000,
): Promise<unknown> {
  const answer = await getDaemonJson(baseUrl, pathAndQuery, timeoutMs);
  if (answer.status !== 200 || answer.body === undefined) throw daemonFailure(answer, what);
  return answer.body;
}

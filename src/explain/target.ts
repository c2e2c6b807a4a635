import type { Proto } from "../model/events.js";
import { normalizeIp } from "../net/ip-format.js";
import { normalizeHostName } from "../rules/egress-rule.js";
import { parseProto } from "../rules/listen-rule.js";

/**
 * The arguments of `netmon explain`, checked: they come from a command line or an HTTP query, so
 * every bad value is a message naming what is wrong, never an exception or a guess.
 *
 *   CONTAINER DESTINATION[:PORT[/PROTO]]   DESTINATION = IP ([v6]:port with a port), container or DNS name
 *   CONTAINER --listen PORT[/PROTO]
 */

export type ExplainQuery =
  | {
      kind: "egress";
      container: string;
      /** The destination as given, lower-cased when it is a name. */
      destination: string;
      /** Canonical IP when the destination is an address, else null (a container or DNS name). */
      ip: string | null;
      /** Null: no port given (rules and entries of the host are listed, no verdict). */
      port: number | null;
      proto: Proto;
    }
  | { kind: "listen"; container: string; port: number; proto: Proto };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Longer than any container name, DNS name or address: bounds the work on hostile input. */
const MAX_ARG = 300;

function checkText(what: string, text: string): string | null {
  if (text === "") return `${what} is empty`;
  if (text.length > MAX_ARG) return `${what} is ${text.length} characters long (at most ${MAX_ARG})`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
  if (/[\u0000-\u001f\u007f\s]/.test(text))
    return `${what} ${JSON.stringify(text)} contains spaces or control characters`;
  return null;
}

/** "443", "443/tcp", "53/udp" (proto tcp when omitted). */
export function parsePortArg(what: string, text: string): Parsed<{ port: number; proto: Proto }> {
  const m = /^(\d{1,5})(?:\/([A-Za-z]+))?$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[1]);
  if (m === null || port < 1 || port > 65535)
    return { ok: false, error: `${what} ${JSON.stringify(text)} is not a port 1-65535 (e.g. 443 or 53/udp)` };
  const proto = m[2] === undefined ? "tcp" : parseProto(m[2]);
  if (proto === null)
    return { ok: false, error: `${what} ${JSON.stringify(text)}: proto must be tcp or udp` };
  return { ok: true, value: { port, proto } };
}

/** Splits DEST[:PORT[/PROTO]]: a bracketed IPv6 may take a port, a bare one never does (as egress rules). */
function splitDestination(text: string): { host: string; port: string | null } | string {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return 'missing "]" (IPv6 with a port: [fd00::1]:443)';
    const rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return `unexpected ${JSON.stringify(rest)} after "]"`;
    return { host: text.slice(1, close), port: rest === "" ? null : rest.slice(1) };
  }
  const colons = text.split(":").length - 1;
  if (colons >= 2) return { host: text, port: null };
  if (colons === 1) {
    const at = text.indexOf(":");
    return { host: text.slice(0, at), port: text.slice(at + 1) };
  }
  // "10.0.0.1/udp" or "api/tcp" without a port.
  if (text.includes("/")) return "a proto needs a port (DEST:53/udp)";
  return { host: text, port: null };
}

export function parseEgressQuery(container: string, destination: string): Parsed<ExplainQuery> {
  const bad = checkText("container", container) ?? checkText("destination", destination);
  if (bad !== null) return { ok: false, error: bad };
  const split = splitDestination(destination);
  if (typeof split === "string")
    return { ok: false, error: `destination ${JSON.stringify(destination)}: ${split}` };
  let port: number | null = null;
  let proto: Proto = "tcp";
  if (split.port !== null) {
    const p = parsePortArg(`destination ${JSON.stringify(destination)}: port`, split.port);
    if (!p.ok) return p;
    ({ port, proto } = p.value);
  }
  const ip = normalizeIp(split.host);
  // Digits and dots can only be meant as an IPv4 address.
  if (ip === null && (/^[\d.]+$/.test(split.host) || split.host.includes(":")))
    return { ok: false, error: `destination ${JSON.stringify(split.host)} is not a valid IP address` };
  if (ip === null && normalizeHostName(split.host) === null)
    return {
      ok: false,
      error: `destination ${JSON.stringify(split.host)} is neither an IP address nor a container or DNS name`,
    };
  return {
    ok: true,
    value: { kind: "egress", container, destination: ip ?? split.host.toLowerCase(), ip, port, proto },
  };
}

export function parseListenQuery(container: string, port: string): Parsed<ExplainQuery> {
  const bad = checkText("container", container) ?? checkText("--listen", port);
  if (bad !== null) return { ok: false, error: bad };
  const p = parsePortArg("--listen", port);
  return p.ok ? { ok: true, value: { kind: "listen", container, ...p.value } } : p;
}

/** The query as the HTTP API takes it: ?container=…&dst=… or ?container=…&listen=…. */
export function parseExplainParams(params: URLSearchParams): Parsed<ExplainQuery> {
  const container = params.get("container");
  const dst = params.get("dst");
  const listen = params.get("listen");
  if (container === null) return { ok: false, error: "missing container=" };
  if ((dst === null) === (listen === null))
    return { ok: false, error: "give exactly one of dst= and listen=" };
  return dst !== null ? parseEgressQuery(container, dst) : parseListenQuery(container, listen ?? "");
}

/** The query as a URL query string, for the CLI to ask the daemon. */
export function explainParams(q: ExplainQuery): URLSearchParams {
  const params = new URLSearchParams({ container: q.container });
  if (q.kind === "listen") params.set("listen", `${q.port}/${q.proto}`);
  else {
    const host = q.ip?.includes(":") && q.port !== null ? `[${q.ip}]` : q.destination;
    params.set("dst", q.port === null ? host : `${host}:${q.port}/${q.proto}`);
  }
  return params;
}

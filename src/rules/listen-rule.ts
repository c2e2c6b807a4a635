import type { Proto } from "../model/events.js";

/**
 * Listening-port rules, as in a container label: comma-separated `port[/proto]` items, e.g.
 * "80, 443/tcp, 8000-8010/tcp, 53/udp". No proto means both TCP and UDP. The port and proto
 * grammar here is shared with the egress rules.
 */

/** Inclusive port range; a single port is { from: p, to: p }. */
export interface PortRange {
  from: number;
  to: number;
}

export interface ListenRule {
  ports: PortRange;
  proto: Proto | null;
  /** The item as written (trimmed), for messages. */
  text: string;
}

/** Caps on one label value: labels are written by whoever builds the image, so bound the work. */
export const MAX_LIST_CHARS = 4096;
export const MAX_LIST_ITEMS = 256;

/** "443" or "8000-8100" (1–65535, from ≤ to); an error message when invalid. */
export function parsePortRange(text: string): PortRange | string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (m === null) return `bad port "${text}" (expected 1-65535 or a range like 8000-8100)`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  for (const p of [from, to]) {
    if (p < 1 || p > 65535) return `bad port "${text}": ${p} is outside 1-65535`;
  }
  if (from > to) return `bad port "${text}": range is reversed (${from} > ${to})`;
  return { from, to };
}

/** "tcp" or "udp", any case; null otherwise. */
export function parseProto(text: string): Proto | null {
  const p = text.toLowerCase();
  return p === "tcp" || p === "udp" ? p : null;
}

/** `port[/proto]` (ports as in parsePortRange); an error message when invalid. */
export function parsePortProto(text: string): { ports: PortRange; proto: Proto | null } | string {
  const slash = text.indexOf("/");
  const ports = parsePortRange(slash < 0 ? text : text.slice(0, slash));
  if (typeof ports === "string") return ports;
  if (slash < 0) return { ports, proto: null };
  const protoText = text.slice(slash + 1);
  const proto = parseProto(protoText);
  if (proto === null) return `bad proto "${protoText}" (expected tcp or udp)`;
  return { ports, proto };
}

export function parseListenRule(text: string): { ok: true; rule: ListenRule } | { ok: false; error: string } {
  const t = text.trim();
  if (t === "") return { ok: false, error: "empty listen rule" };
  const pp = parsePortProto(t);
  if (typeof pp === "string") return { ok: false, error: `listen rule "${t}": ${pp}` };
  return { ok: true, rule: { ...pp, text: t } };
}

/**
 * Splits a comma list under the label caps; empty items are skipped. Returns an error (and no
 * items) when a cap is exceeded: a truncated allowlist would be misleading.
 */
export function splitList(text: string, what: string): { items: string[]; error: string | null } {
  if (text.length > MAX_LIST_CHARS) {
    return { items: [], error: `${what} too long: ${text.length} characters (at most ${MAX_LIST_CHARS})` };
  }
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length > MAX_LIST_ITEMS) {
    return { items: [], error: `${what} has ${items.length} items (at most ${MAX_LIST_ITEMS})` };
  }
  return { items, error: null };
}

/** Parses each item with `parseOne`: the valid rules, and one error per bad item. */
export function collectRules<R>(
  items: readonly string[],
  parseOne: (text: string) => { ok: true; rule: R } | { ok: false; error: string },
): { rules: R[]; errors: string[] } {
  const rules: R[] = [];
  const errors: string[] = [];
  for (const item of items) {
    const r = parseOne(item);
    if (r.ok) rules.push(r.rule);
    else errors.push(r.error);
  }
  return { rules, errors };
}

/** Comma list of listen rules; valid items are kept when others are bad. */
export function parseListenList(text: string): { rules: ListenRule[]; errors: string[] } {
  const { items, error } = splitList(text, "listen rule list");
  if (error !== null) return { rules: [], errors: [error] };
  return collectRules(items, parseListenRule);
}

export function portInRange(range: PortRange | null, port: number): boolean {
  return range === null || (port >= range.from && port <= range.to);
}

export function listenMatches(rule: ListenRule, port: number, proto: Proto): boolean {
  return (rule.proto === null || rule.proto === proto) && portInRange(rule.ports, port);
}

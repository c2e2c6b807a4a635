import type { Proto } from "../model/events.js";
import type { PortRange } from "../rules/listen-rule.js";

/**
 * Port lists for `policy suggest`: sorted numerically and folded into ranges of consecutive ports
 * (the label grammar's `8000-8010`), never widened: a range holds only ports that were learned.
 */

/** Destinations (an IP, a DNS name or a container name) with a port range and proto. */
export interface PortSpan {
  dest: string;
  proto: Proto;
  ports: PortRange;
}

/** Folds (dest, port, proto) into spans: per dest and proto, consecutive ports become one range. */
export function foldPorts(items: readonly { dest: string; port: number; proto: Proto }[]): PortSpan[] {
  const groups = new Map<string, { dest: string; proto: Proto; ports: Set<number> }>();
  for (const i of items) {
    const key = `${i.dest}|${i.proto}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { dest: i.dest, proto: i.proto, ports: new Set() };
      groups.set(key, g);
    }
    g.ports.add(i.port);
  }
  const spans: PortSpan[] = [];
  for (const g of groups.values()) {
    const ports = [...g.ports].sort((a, b) => a - b);
    let from = ports[0];
    if (from === undefined) continue;
    let to = from;
    for (const p of ports.slice(1)) {
      if (p === to + 1) {
        to = p;
        continue;
      }
      spans.push({ dest: g.dest, proto: g.proto, ports: { from, to } });
      from = p;
      to = p;
    }
    spans.push({ dest: g.dest, proto: g.proto, ports: { from, to } });
  }
  return spans.sort(
    (a, b) =>
      (a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0) ||
      a.ports.from - b.ports.from ||
      a.proto.localeCompare(b.proto),
  );
}

/** "443" or "8000-8010", as the label grammar writes a port range. */
export const portRangeText = (r: PortRange): string => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`);

/** "203.0.113.7:443/tcp", "[2001:db8::7]:443/tcp", "db:5432-5433/tcp". */
export function spanRule(s: PortSpan): string {
  const host = s.dest.includes(":") ? `[${s.dest}]` : s.dest;
  return `${host}:${portRangeText(s.ports)}/${s.proto}`;
}

/** Listening ports folded the same way: "8080/tcp", "9000-9003/tcp". */
export function foldListen(items: readonly { port: number; proto: Proto }[]): string[] {
  return foldPorts(items.map((i) => ({ dest: "", port: i.port, proto: i.proto }))).map(
    (s) => `${portRangeText(s.ports)}/${s.proto}`,
  );
}

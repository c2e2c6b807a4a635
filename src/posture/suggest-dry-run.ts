import type { ConnectionEvent, ContainerRef } from "../model/events.js";
import type { Declarations } from "./suggest-declared.js";
import { type Allow, allows } from "./suggest-iptables.js";

/**
 * The dry run of `policy suggest` over logged connection attempts: what netmon would alert on
 * with the merged labels, what the iptables rules would refuse, and — the safety check — which
 * of those refused connections the workload already declares (they must be none).
 */

/** One destination of the dry run, with how often it was seen. */
export interface DryRunItem {
  /** "ip:port/proto" ("[ip]:port/proto" for IPv6). */
  dst: string;
  /** DNS names the container resolved for it (from the wire). */
  names: string[];
  /** The container at that address, if any. */
  container: string | null;
  count: number;
  first: string;
  last: string;
}

/** A declared connection the iptables rules would refuse: the reason to refuse to print them. */
export interface BrokenItem extends DryRunItem {
  /** The workload's container that made it. */
  from: string;
  /** What declares it (label, config, dns-name). */
  allowedBy: string;
}

export interface DryRunReport {
  /** Connection attempts of the workload in the window. */
  observed: number;
  sinceMs: number | null;
  /** What netmon would alert on (unexpected-outbound) with the merged labels and no baseline. */
  labels: { wouldAlert: DryRunItem[] };
  /**
   * What the iptables rules would refuse. `unfiltered`: destinations they do not allow but do not
   * see either — the host itself (its gateway address): DOCKER-USER only filters forwarded traffic.
   */
  iptables: { wouldBlock: DryRunItem[]; unfiltered: DryRunItem[]; brokenDeclared: BrokenItem[] };
}

export interface DryRunInput {
  observed: readonly ConnectionEvent[] | undefined;
  sinceMs: number | undefined;
  /** Whether the event's source is one of the workload's containers; its current ref when running. */
  ownRef(ref: ContainerRef): ContainerRef | null;
  resolvers: ReadonlySet<string>;
  gateways: ReadonlySet<string>;
  /** What is declared now, and what would be with the merged labels. */
  declared: Declarations;
  merged: Declarations;
  allow: readonly Allow[];
}

const hostPort = (ip: string, port: number, proto: string): string =>
  `${ip.includes(":") ? `[${ip}]` : ip}:${port}/${proto}`;

function aggregate<T extends DryRunItem>(
  items: Map<string, T>,
  ev: ConnectionEvent,
  extra: Omit<T, keyof DryRunItem>,
): void {
  const key = hostPort(ev.dst.ip, ev.dst.port, ev.proto);
  const names = ev.dst.names ?? [];
  const at = new Date(ev.ts).toISOString();
  const item = items.get(key);
  if (item === undefined) {
    const fresh: DryRunItem = {
      dst: key,
      names: [...new Set(names)].slice(0, 8),
      container: ev.dst.container?.name ?? null,
      count: 1,
      first: at,
      last: at,
    };
    items.set(key, { ...fresh, ...extra } as T);
    return;
  }
  item.count++;
  if (at < item.first) item.first = at;
  if (at > item.last) item.last = at;
  for (const n of names) if (item.names.length < 8 && !item.names.includes(n)) item.names.push(n);
}

export function dryRunOf(p: DryRunInput): DryRunReport {
  const alert = new Map<string, DryRunItem>();
  const block = new Map<string, DryRunItem>();
  const unfiltered = new Map<string, DryRunItem>();
  const broken = new Map<string, BrokenItem>();
  let count = 0;
  for (const ev of p.observed ?? []) {
    if (ev.kind !== "connection" || ev.state !== "attempt" || ev.src.container === null) continue;
    if (p.sinceMs !== undefined && ev.ts < p.sinceMs) continue;
    const ref = p.ownRef(ev.src.container);
    if (ref === null) continue;
    count++;
    const dst = ev.dst;
    if (dst.port === 53 && p.resolvers.has(dst.ip)) continue;
    const target = {
      ip: dst.ip,
      port: dst.port,
      proto: ev.proto,
      names: dst.names ?? [],
      container: dst.container,
    };
    if (p.merged.egressAllowedBy(target, ref) === null) aggregate(alert, ev, {});
    if (allows(p.allow, dst.ip, dst.port, ev.proto)) continue;
    if (p.gateways.has(dst.ip)) {
      aggregate(unfiltered, ev, {});
      continue;
    }
    aggregate(block, ev, {});
    const by = p.declared.egressAllowedBy(target, ref);
    if (by !== null) aggregate(broken, ev, { from: ev.src.container.name, allowedBy: by });
  }
  const list = <T extends DryRunItem>(m: Map<string, T>) => [...m.values()].sort((a, b) => b.count - a.count);
  return {
    observed: count,
    sinceMs: p.sinceMs ?? null,
    labels: { wouldAlert: list(alert) },
    iptables: { wouldBlock: list(block), unfiltered: list(unfiltered), brokenDeclared: list(broken) },
  };
}

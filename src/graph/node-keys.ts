import type { ContainerInfo } from "../inventory/types.js";
import type { ContainerRef, Endpoint } from "../model/events.js";
import { workloadOf } from "../model/workload.js";
import { ipToWords, wordsToIp } from "../net/ip-format.js";
import type { GraphNode, NodeKind } from "./snapshot-types.js";

/** What identifies a node: its id and label, and what it groups (computed once per container, DNS name or address). */
export type NodeKey = Readonly<
  Pick<GraphNode, "id" | "label" | "workload" | "project" | "group"> & {
    kind: Exclude<NodeKind, "project" | "sweep">;
  }
>;

const HOST_KEY: NodeKey = Object.freeze({ id: "host", kind: "host", label: "host" });

/** Entries in each of the name and address caches before they start over (bounded memory). */
const KEY_CACHE_SIZE = 4096;

const scratch = new Uint32Array(4);

function remember(cache: Map<string, NodeKey>, k: string, v: NodeKey): Map<string, NodeKey> {
  const out = cache.size >= KEY_CACHE_SIZE ? new Map<string, NodeKey>() : cache;
  out.set(k, v);
  return out;
}

/** Node ids join into edge keys with NUL: a name may not carry one. */
function clean(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\ufffd") : text;
}

/** The id of the parent node that groups a Compose project's workloads. */
export function projectNodeId(project: string): string {
  return `project:${project}`;
}

/**
 * The external group of an address: its /24 (IPv4, also IPv4-mapped IPv6) or /64 (IPv6), as CIDR
 * text; the address itself when it does not parse.
 */
export function networkOf(ip: string): string {
  const v = ipToWords(ip, scratch);
  if (v === 4 || (v === 6 && scratch[0] === 0 && scratch[1] === 0 && scratch[2] === 0xffff)) {
    const w = scratch[3]! >>> 0;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.0/24`;
  }
  if (v === 6) {
    scratch[2] = 0;
    scratch[3] = 0;
    return `${wordsToIp(scratch, 6)}/64`;
  }
  return ip;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

/** The host's addresses as containers see them: the gateway of every network a container is on. */
export function hostAddressesOf(containers: Iterable<ContainerInfo>): string[] {
  const out = new Set<string>();
  for (const c of containers) for (const n of c.networks) if (n.gateway) out.add(n.gateway);
  return [...out].sort();
}

/**
 * The node an endpoint belongs to: a container's workload (labelled by its Compose service inside
 * its project), else the DNS name the container resolved, else the host (its addresses, loopback)
 * or the address's /24 or /64. Cached, so a lookup per connection event allocates nothing once warm.
 */
export class NodeKeys {
  private hostAddresses = new Set<string>();
  private refKeys = new WeakMap<ContainerRef, NodeKey>();
  private nameKeys = new Map<string, NodeKey>();
  private ipKeys = new Map<string, NodeKey>();

  /** The host's own addresses (network gateways); loopback always counts as the host. */
  setHostAddresses(ips: Iterable<string>): void {
    this.hostAddresses = new Set(ips);
    this.ipKeys = new Map();
  }

  of(ep: Endpoint): NodeKey {
    const c = ep.container;
    if (c !== null) {
      // The inventory hands out one ContainerRef per container version: computed once per container.
      let key = this.refKeys.get(c);
      if (key === undefined) {
        const workload = workloadOf(c);
        const base = { id: `workload:${clean(workload)}`, kind: "workload" as const, workload };
        key =
          c.project && c.service
            ? { ...base, label: c.service, project: c.project }
            : { ...base, label: workload };
        this.refKeys.set(c, key);
      }
      return key;
    }
    const name = ep.names?.[0];
    if (name !== undefined && name !== "" && !this.hostAddresses.has(ep.ip) && !isLoopback(ep.ip)) {
      let key = this.nameKeys.get(name);
      if (key === undefined) {
        const lower = name.toLowerCase();
        key = { id: `dns:${clean(lower)}`, kind: "external", label: lower, group: "dns" };
        this.nameKeys = remember(this.nameKeys, name, key);
      }
      return key;
    }
    let key = this.ipKeys.get(ep.ip);
    if (key === undefined) {
      if (this.hostAddresses.has(ep.ip) || isLoopback(ep.ip)) key = HOST_KEY;
      else {
        const net = networkOf(ep.ip);
        key = { id: `net:${clean(net)}`, kind: "external", label: net, group: "net" };
      }
      this.ipKeys = remember(this.ipKeys, ep.ip, key);
    }
    return key;
  }
}

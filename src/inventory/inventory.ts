import type { ContainerRef } from "../model/events.js";
import { IpIndex, type IpIndexOptions, type TenureSpan } from "./ip-index.js";
import type { ContainerInfo, IpResolver } from "./types.js";

function addressesOf(info: ContainerInfo): string[] {
  const ips: string[] = [];
  for (const n of info.networks) {
    if (n.ipv4) ips.push(n.ipv4);
    if (n.ipv6) ips.push(n.ipv6);
  }
  return ips;
}

/**
 * The containers we know and who held which IP when. Fed by the live Docker client or by a
 * replay inventory file; read by the flow tracker (lookup) and the listener scan (running).
 */
export class Inventory implements IpResolver {
  readonly index: IpIndex;
  private readonly containers = new Map<string, ContainerInfo>();

  constructor(indexOptions: Partial<IpIndexOptions> = {}) {
    this.index = new IpIndex(indexOptions);
  }

  /**
   * Records a container as it is now. IPs it no longer has are released at `atMs`; new IPs are
   * held from its start time (first sight) or from `atMs` (a network connected later).
   */
  upsert(info: ContainerInfo, atMs: number): void {
    const previous = this.containers.get(info.ref.id);
    const before = new Set(previous?.running ? addressesOf(previous) : []);
    const now = info.running ? addressesOf(info) : [];
    // A stopped container released its IPs when it finished (before the release at atMs below,
    // which would otherwise close the tenures first and make this a no-op).
    if (!info.running && info.finishedAt !== null) this.index.endContainer(info.ref.id, info.finishedAt);
    for (const ip of before) if (!now.includes(ip)) this.index.end(ip, info.ref.id, atMs);
    const from = previous?.running ? atMs : info.startedAt || atMs;
    for (const ip of now) this.index.add(ip, info.ref, before.has(ip) ? from : Math.min(from, atMs));
    this.containers.set(info.ref.id, info);
  }

  /**
   * Records a container together with the whole span it held its IPs (null: it never ran), as a
   * replay inventory knows it. Unlike upsert/stopped, the attribution this gives does not depend
   * on the order containers are recorded in (see IpIndex.addTenure).
   */
  recordTenure(info: ContainerInfo, span: TenureSpan | null): void {
    if (span !== null) for (const ip of addressesOf(info)) this.index.addTenure(ip, info.ref, span);
    this.containers.set(info.ref.id, info);
  }

  /** The container stopped (die) at `atMs`: it keeps its record but releases its IPs. */
  stopped(id: string, atMs: number): void {
    const c = this.containers.get(id);
    this.index.endContainer(id, atMs);
    if (c) this.containers.set(id, { ...c, running: false, pid: 0, finishedAt: atMs });
  }

  /** The container is gone for good (destroy, or vanished while Docker was unreachable). */
  remove(id: string, atMs: number): void {
    this.index.endContainer(id, atMs);
    this.containers.delete(id);
  }

  get(id: string): ContainerInfo | undefined {
    return this.containers.get(id);
  }

  all(): ContainerInfo[] {
    return [...this.containers.values()];
  }

  running(): ContainerInfo[] {
    return this.all().filter((c) => c.running);
  }

  /** Host bridge interfaces that carry at least one running container. */
  activeBridges(): Set<string> {
    const set = new Set<string>();
    for (const c of this.containers.values()) {
      if (!c.running) continue;
      for (const n of c.networks) if (n.bridge) set.add(n.bridge);
    }
    return set;
  }

  lookup(ip: string, tsMs: number): ContainerRef | null {
    return this.index.lookup(ip, tsMs);
  }
}

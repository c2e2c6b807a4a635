import { type Cidr, CidrSet, parseCidr } from "../net/cidr.js";
import type { BlockEntry } from "./types.js";

/**
 * Addresses that are never blocked, whatever an alert says: the configured list, the gateways of
 * the containers' networks and the DNS resolvers they use, loopback. A block that would touch one
 * is refused (and logged) instead.
 */
export class NeverBlock {
  private readonly set = new CidrSet();

  constructor(cidrs: Iterable<string>) {
    for (const c of ["127.0.0.0/8", "::1/128", ...cidrs]) {
      const parsed = parseCidr(c);
      if (parsed) this.set.add(parsed);
    }
  }

  /** Adds an address; true when it was new. */
  add(ip: string): boolean {
    const parsed = parseCidr(ip);
    return parsed !== null && this.set.add(parsed);
  }

  cidrs(): Cidr[] {
    return [...this.set];
  }

  /** Why the entry may not be blocked, or null. */
  refuse(e: BlockEntry): string | null {
    if (this.set.has(e.src)) return `${e.src} is on the never-block list`;
    if (e.scope === "destination" && this.set.has(e.dst)) return `${e.dst} is on the never-block list`;
    return null;
  }
}

/** At most `perMinute` new blocks in any sliding minute (wall clock: this guards the real firewall). */
export class BlockRateLimit {
  private readonly times: number[] = [];

  constructor(private readonly perMinute: number) {}

  take(nowMs: number): boolean {
    while (this.times.length > 0 && this.times[0]! <= nowMs - 60_000) this.times.shift();
    if (this.times.length >= this.perMinute) return false;
    this.times.push(nowMs);
    return true;
  }
}

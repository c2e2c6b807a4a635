/**
 * Remembers which names a client resolved to which addresses, so a later connection to
 * that address can be reported with the names the client used. Keyed by scope (the asking
 * container id, or the client IP) + address text. Time comes only from the callers'
 * packet timestamps, so replay behaves like live capture.
 */
import type { DnsMessage, DnsRecord } from "./dns-parser.js";

export interface DnsCacheOptions {
  /** Scope+address entries kept; the least recently refreshed are evicted beyond this. */
  maxEntries: number;
  /** Lower bound on how long an answer is kept (ms), so TTL 0 answers still label the connection. */
  minTtlMs: number;
  /** Upper bound (ms), so a huge TTL cannot pin an address to a name after the address is reused. */
  maxTtlMs: number;
  /** Names kept per entry (default 32): wildcard domains could otherwise grow one entry without bound. */
  maxNamesPerIp?: number;
}

/** Names followed from one question through CNAMEs; bounds crafted chains and loops. */
const MAX_CHAIN_NAMES = 16;
const DEFAULT_MAX_NAMES_PER_IP = 32;

/** name → expiry (ms). Map order = least recently refreshed first. */
type Entry = Map<string, number>;

export class DnsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly minTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly maxNamesPerIp: number;
  private evicted = 0;

  /** maxEntries and the TTL bounds come from the validated `dns:` config section (schema.ts checks them). */
  constructor(opts: DnsCacheOptions) {
    const maxNames = opts.maxNamesPerIp ?? DEFAULT_MAX_NAMES_PER_IP;
    if (!Number.isInteger(maxNames) || maxNames < 1) {
      throw new RangeError("DnsCache: maxNamesPerIp must be a positive integer");
    }
    this.maxEntries = opts.maxEntries;
    this.minTtlMs = opts.minTtlMs;
    this.maxTtlMs = opts.maxTtlMs;
    this.maxNamesPerIp = maxNames;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Live entries dropped to make room (expired ones dropped on the way do not count). */
  get evictions(): number {
    return this.evicted;
  }

  record(scope: string, msg: DnsMessage, nowMs: number): void {
    // Queries, errors (NXDOMAIN, SERVFAIL…) and non-QUERY opcodes carry no usable answers.
    if (!msg.isResponse || msg.opcode !== 0 || msg.rcode !== 0 || msg.answers.length === 0) return;

    const cnames = new Map<string, string[]>();
    for (const rr of msg.answers) {
      if (rr.type !== "CNAME") continue;
      const targets = cnames.get(rr.name);
      if (targets) targets.push(rr.data);
      else cnames.set(rr.name, [rr.data]);
    }

    for (const q of msg.questions) {
      // Only addresses reachable from the question count: an unrelated A record in the
      // answer section must not attach the asked name to a third party's address.
      const parent = chainFrom(q.name, cnames);
      for (const rr of msg.answers) {
        if (rr.type === "CNAME" || !parent.has(rr.name)) continue;
        this.add(scope, rr, pathTo(rr.name, parent), nowMs);
      }
    }
  }

  /** Unexpired names for scope+ip, sorted; [] when none. `ip` must be canonical text (as wordsToIp gives). */
  namesFor(scope: string, ip: string, nowMs: number): string[] {
    const key = keyOf(scope, ip);
    const entry = this.entries.get(key);
    if (!entry) return [];
    const out: string[] = [];
    for (const [name, expiresAt] of entry) {
      if (expiresAt > nowMs) out.push(name);
      else entry.delete(name);
    }
    if (entry.size === 0) this.entries.delete(key);
    return out.sort();
  }

  /** Drops expired names and empty entries; returns how many entries were removed. */
  sweep(nowMs: number): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      for (const [name, expiresAt] of entry) if (expiresAt <= nowMs) entry.delete(name);
      if (entry.size === 0) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private add(scope: string, rr: DnsRecord, names: string[], nowMs: number): void {
    const ttlMs = Math.min(this.maxTtlMs, Math.max(this.minTtlMs, rr.ttl * 1000));
    const expiresAt = nowMs + ttlMs;
    const key = keyOf(scope, rr.data);
    let entry = this.entries.get(key);
    if (entry) {
      // Re-insert so Map order stays "least recently refreshed first" for eviction.
      this.entries.delete(key);
    } else {
      this.makeRoom(nowMs);
      entry = new Map();
    }
    this.entries.set(key, entry);
    for (const name of names) {
      const old = entry.get(name);
      if (old !== undefined) entry.delete(name);
      // A shorter TTL in a later answer never cuts short what an earlier one allowed.
      entry.set(name, old !== undefined && old > expiresAt ? old : expiresAt);
      if (entry.size > this.maxNamesPerIp) {
        const oldest = entry.keys().next();
        if (!oldest.done) entry.delete(oldest.value);
      }
    }
  }

  private makeRoom(nowMs: number): void {
    while (this.entries.size >= this.maxEntries) {
      const first = this.entries.entries().next();
      if (first.done) return;
      const [key, entry] = first.value;
      this.entries.delete(key);
      if (hasLiveName(entry, nowMs)) this.evicted++;
    }
  }
}

function keyOf(scope: string, ip: string): string {
  return `${scope}\u0000${ip}`;
}

function hasLiveName(entry: Entry, nowMs: number): boolean {
  for (const expiresAt of entry.values()) if (expiresAt > nowMs) return true;
  return false;
}

/**
 * Breadth-first walk from `start` along CNAMEs, at most MAX_CHAIN_NAMES names; the visited
 * set makes loops harmless. Returns name → the name it was reached from (null for start).
 */
function chainFrom(start: string, cnames: Map<string, string[]>): Map<string, string | null> {
  const parent = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  for (let i = 0; i < queue.length && parent.size < MAX_CHAIN_NAMES; i++) {
    const from = queue[i]!;
    for (const to of cnames.get(from) ?? []) {
      if (parent.has(to)) continue;
      parent.set(to, from);
      queue.push(to);
      if (parent.size >= MAX_CHAIN_NAMES) break;
    }
  }
  return parent;
}

/** The names from the question down to `name` (inclusive), via the parent links. */
function pathTo(name: string, parent: Map<string, string | null>): string[] {
  const path: string[] = [];
  let cur: string | null | undefined = name;
  // parent links form a tree rooted at the question, so this ends within parent.size steps.
  while (cur !== undefined && cur !== null && path.length < parent.size) {
    path.push(cur);
    cur = parent.get(cur);
  }
  return path;
}

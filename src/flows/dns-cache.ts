/**
 * Remembers which names a client resolved to which addresses, so a later connection to
 * that address can be reported with the names the client used. Keyed by scope (the asking
 * container id, or the client IP) + address text. Time comes only from the callers'
 * packet timestamps, so replay behaves like live capture.
 *
 * Clients keep using an address long after the answer's TTL (NTP daemons, connection pools,
 * JVMs caching forever), so a name outlives its answer in two ways:
 * - while the scope has connections open to the address (flowStarted / flowEnded), every name
 *   of it stays: at most openHoldMs after the last start, since the flow tracker forgets a
 *   silent connection without telling anyone;
 * - a name that let a connection through (retain(), called by the engine once the policy has
 *   judged the attempt) is kept retainMs after its last use by any connection to the address,
 *   and so is that name on the other addresses of the same answer (clients fail over to them
 *   from their own cache).
 */
import type { ConnectionState } from "../model/events.js";
import { type AgedEntry, ScopedEntries } from "./dns-entries.js";
import type { DnsMessage, DnsRecord } from "./dns-parser.js";

export interface DnsCacheOptions {
  /** Scope+address entries kept; the least recently refreshed or used are evicted beyond this. */
  maxEntries: number;
  /** Lower bound on how long an answer is kept (ms), so TTL 0 answers still label the connection. */
  minTtlMs: number;
  /** Upper bound (ms), so a huge TTL cannot pin an address to a name after the address is reused. */
  maxTtlMs: number;
  /** Names kept per entry (default 32): wildcard domains could otherwise grow one entry without bound. */
  maxNamesPerIp?: number;
  /** How long (ms) a retained name lives after its last use (default 0: answers only live their TTL). */
  retainMs?: number;
  /**
   * The longest (ms) open connections hold an address's names without a new start (default 0: no
   * hold). The flow tracker's idle timeout: a connection it forgot ends without an event.
   */
  openHoldMs?: number;
}

/** Names followed from one question through CNAMEs; bounds crafted chains and loops. */
const MAX_CHAIN_NAMES = 16;
const DEFAULT_MAX_NAMES_PER_IP = 32;

/** One name as one answer gave it; shared by the addresses of that answer. */
interface NameState {
  /** Until when (ms) the answer, or its retention after the last use, keeps the name. */
  expiresAt: number;
  /** It let a connection through: it lives on until retainMs after each later use. */
  retained: boolean;
  /** When the latest answer giving the name was seen (ms), and its TTL as sent (s): for inspect(). */
  seenAt: number;
  ttlSeconds: number;
}

/** One name of a scope+address as inspect() reports it: what an operator asks "why is it named so". */
export interface DnsNameInfo {
  name: string;
  /** When the latest answer giving this name for the address was seen (ms, packet time). */
  seenAt: number;
  /** That answer's TTL as sent (seconds). */
  ttlSeconds: number;
  /** When that answer ran out (ms): seenAt + its TTL within dns.minTtl/maxTtl. */
  answerExpiresAt: number;
  /** Until when (ms) the cache keeps the name without an open connection: the answer, or its retention. */
  expiresAt: number;
  /** It let a connection through, so each later use of the address keeps it retainMs longer. */
  retained: boolean;
  /** Connections from the scope to the address are open: they keep every name while they are. */
  heldOpen: boolean;
  /** Whether namesFor gives it now. */
  live: boolean;
}

/** The names one scope resolved for one address, and that scope's connections open to it. */
interface Entry extends AgedEntry<Entry> {
  /** name → state. Map order = least recently refreshed first. */
  names: Map<string, NameState>;
  /**
   * namesFor's answer while `names` keeps the same members (null once one joins or leaves): every
   * connection event asks, and sorting a fresh copy each time was the replay's largest DNS cost.
   */
  sorted: string[] | null;
  /**
   * No name expires before then (ms): a lower bound, since expiresAt only ever grows (every write
   * is a max), so lookups and sweeps skip the pass over the names until it is reached.
   */
  nextExpiry: number;
  /** Connections started and not yet ended; best effort (an end may come without its start). */
  open: number;
  /** The open connections hold the names until then at most (ms). */
  openUntil: number;
}

export class DnsCache {
  /** Age order = least recently refreshed or used first, for eviction. */
  private readonly entries = new ScopedEntries<Entry>();
  private readonly maxEntries: number;
  private readonly minTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly maxNamesPerIp: number;
  private readonly retainMs: number;
  private readonly openHoldMs: number;
  private evicted = 0;

  /** The bounds come from the validated `dns:` and `flows:` config sections (schema.ts checks them). */
  constructor(opts: DnsCacheOptions) {
    const maxNames = opts.maxNamesPerIp ?? DEFAULT_MAX_NAMES_PER_IP;
    if (!Number.isInteger(maxNames) || maxNames < 1) {
      throw new RangeError("DnsCache: maxNamesPerIp must be a positive integer");
    }
    this.maxEntries = opts.maxEntries;
    this.minTtlMs = opts.minTtlMs;
    this.maxTtlMs = opts.maxTtlMs;
    this.maxNamesPerIp = maxNames;
    this.retainMs = opts.retainMs ?? 0;
    this.openHoldMs = opts.openHoldMs ?? 0;
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

    // The addresses of one answer share each name's state: a client that was let through to one
    // of them may fail over to another from the same answer without a new lookup.
    const shared = new Map<string, NameState>();
    for (const q of msg.questions) {
      // Only addresses reachable from the question count: an unrelated A record in the
      // answer section must not attach the asked name to a third party's address.
      const parent = chainFrom(q.name, cnames);
      for (const rr of msg.answers) {
        if (rr.type === "CNAME" || !parent.has(rr.name)) continue;
        this.add(scope, rr, pathTo(rr.name, parent), nowMs, shared);
      }
    }
  }

  /**
   * Live names for scope+ip, sorted; [] when none. `ip` must be canonical text (as wordsToIp gives).
   * The array is frozen and shared by every caller until the names change: read it, never change it.
   */
  namesFor(scope: string, ip: string, nowMs: number): string[] {
    return this.liveNames(scope, ip, nowMs)?.sorted ?? NO_NAMES;
  }

  /**
   * namesFor, then, when there are names, the connection's flowStarted ("attempt"), flowActive
   * ("accepted") or flowEnded (rejected, unanswered, closed): one lookup for both, as the pipeline
   * does for every connection event (an address without names has no connection bookkeeping).
   */
  namesForConnection(scope: string, ip: string, state: ConnectionState, nowMs: number): string[] {
    const entry = this.liveNames(scope, ip, nowMs);
    if (entry === undefined) return NO_NAMES;
    const names = entry.sorted;
    this.useEntry(entry, nowMs);
    if (state === "attempt") this.opened(entry, nowMs);
    else if (state !== "accepted" && entry.open > 0) entry.open--;
    return names;
  }

  /**
   * Every name the cache still holds for scope+ip, expired ones not yet swept included, with when it
   * was seen, its TTL and what keeps it; sorted by name. Read-only: it neither drops, moves nor
   * extends anything (namesFor and the flow calls do), so asking never changes what the engine sees.
   */
  inspect(scope: string, ip: string, nowMs: number): DnsNameInfo[] {
    const entry = this.entries.get(scope, ip);
    if (entry === undefined) return [];
    // settleOpen without its writes: a hold that ran out ended at openUntil, its last use.
    const heldOpen = entry.open > 0 && nowMs < entry.openUntil;
    const settled = entry.open > 0 && !heldOpen;
    const out: DnsNameInfo[] = [];
    for (const [name, state] of entry.names) {
      const expiresAt =
        settled && state.retained
          ? Math.max(state.expiresAt, entry.openUntil + this.retainMs)
          : state.expiresAt;
      out.push({
        name,
        seenAt: state.seenAt,
        ttlSeconds: state.ttlSeconds,
        answerExpiresAt: state.seenAt + this.ttlMsOf(state.ttlSeconds),
        expiresAt,
        retained: state.retained,
        heldOpen,
        live: heldOpen || expiresAt > nowMs,
      });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A connection from scope to ip started: its names stay while it is open. No-op for an unknown ip. */
  flowStarted(scope: string, ip: string, nowMs: number): void {
    const entry = this.use(scope, ip, nowMs);
    if (entry !== undefined) this.opened(entry, nowMs);
  }

  /** A connection from scope to ip was answered or is still in use: retained names count it as a use. */
  flowActive(scope: string, ip: string, nowMs: number): void {
    this.use(scope, ip, nowMs);
  }

  /** A connection from scope to ip ended (closed, refused, unanswered). */
  flowEnded(scope: string, ip: string, nowMs: number): void {
    const entry = this.use(scope, ip, nowMs);
    if (entry !== undefined && entry.open > 0) entry.open--;
  }

  /**
   * `names` let a connection from scope to ip through (a host-name rule or the baseline matched
   * them): they stay retainMs after this use, and after every later use of the address.
   */
  retain(scope: string, ip: string, names: readonly string[], nowMs: number): void {
    const entry = this.entries.get(scope, ip);
    if (entry === undefined) return;
    for (const name of names) {
      const state = entry.names.get(name);
      if (state === undefined) continue;
      state.retained = true;
      state.expiresAt = Math.max(state.expiresAt, nowMs + this.retainMs);
    }
  }

  /** Drops expired names and empty entries; returns how many entries were removed. */
  sweep(nowMs: number): number {
    let removed = 0;
    for (let entry = this.entries.oldest(); entry !== null; ) {
      const next = this.entries.next(entry);
      this.dropExpired(entry, nowMs);
      if (entry.names.size === 0) {
        this.entries.delete(entry);
        removed++;
      }
      entry = next;
    }
    return removed;
  }

  /**
   * The entry of scope+ip with its expired names dropped and its sorted names computed; undefined (and
   * the entry gone) when it has none left.
   */
  private liveNames(scope: string, ip: string, nowMs: number): (Entry & { sorted: string[] }) | undefined {
    const entry = this.entries.get(scope, ip);
    if (entry === undefined) return undefined;
    this.dropExpired(entry, nowMs);
    if (entry.names.size === 0) {
      this.entries.delete(entry);
      return undefined;
    }
    // Frozen (typed string[] for ConnectionEvent.dst.names): a caller changing it would throw, not
    // silently rename the address for every later event.
    entry.sorted ??= Object.freeze([...entry.names.keys()].sort()) as string[];
    return entry as Entry & { sorted: string[] };
  }

  /** A connection started on the entry: it holds the names openHoldMs at most without a new start. */
  private opened(entry: Entry, nowMs: number): void {
    entry.open++;
    entry.openUntil = Math.max(entry.openUntil, nowMs + this.openHoldMs);
  }

  /** One use of scope+ip by a connection: moved to the young end, retained names extended. */
  private use(scope: string, ip: string, nowMs: number): Entry | undefined {
    const entry = this.entries.get(scope, ip);
    if (entry !== undefined) this.useEntry(entry, nowMs);
    return entry;
  }

  private useEntry(entry: Entry, nowMs: number): void {
    this.settleOpen(entry, nowMs);
    for (const state of entry.names.values()) {
      // A use never revives a name that has already gone.
      const live = entry.open > 0 || state.expiresAt > nowMs;
      if (state.retained && live) state.expiresAt = Math.max(state.expiresAt, nowMs + this.retainMs);
    }
    this.entries.touch(entry);
  }

  /**
   * Open connections not heard of for openHoldMs were forgotten by the flow tracker: they end
   * then, which is their last use.
   */
  private settleOpen(entry: Entry, nowMs: number): void {
    if (entry.open === 0 || nowMs < entry.openUntil) return;
    entry.open = 0;
    for (const state of entry.names.values()) {
      if (state.retained) state.expiresAt = Math.max(state.expiresAt, entry.openUntil + this.retainMs);
    }
  }

  private dropExpired(entry: Entry, nowMs: number): void {
    this.settleOpen(entry, nowMs);
    // Open connections keep every name, whatever its answer said.
    if (entry.open > 0 || nowMs < entry.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [name, state] of entry.names) {
      if (state.expiresAt <= nowMs) {
        entry.names.delete(name);
        entry.sorted = null;
      } else if (state.expiresAt < next) next = state.expiresAt;
    }
    entry.nextExpiry = next;
  }

  private add(
    scope: string,
    rr: DnsRecord,
    names: string[],
    nowMs: number,
    shared: Map<string, NameState>,
  ): void {
    const expiresAt = nowMs + this.ttlMsOf(rr.ttl);
    let entry = this.entries.get(scope, rr.data);
    if (entry) {
      // To the young end, so the age order stays "least recently refreshed first" for eviction.
      this.entries.touch(entry);
    } else {
      this.makeRoom(nowMs);
      entry = {
        scope,
        ip: rr.data,
        older: null,
        newer: null,
        names: new Map(),
        sorted: null,
        nextExpiry: Number.POSITIVE_INFINITY,
        open: 0,
        openUntil: 0,
      };
      this.entries.add(entry);
    }
    for (const name of names) {
      let state = shared.get(name);
      if (state === undefined) {
        state = { expiresAt, retained: false, seenAt: nowMs, ttlSeconds: rr.ttl };
        shared.set(name, state);
      } else if (expiresAt > state.expiresAt) {
        state.expiresAt = expiresAt;
        state.ttlSeconds = rr.ttl;
      }
      const old = entry.names.get(name);
      if (old !== undefined) {
        entry.names.delete(name);
        // A shorter TTL in a later answer never cuts short what an earlier one allowed, nor forgets
        // that the name let a connection through.
        state.expiresAt = Math.max(state.expiresAt, old.expiresAt);
        state.retained ||= old.retained;
      } else entry.sorted = null;
      entry.names.set(name, state);
      if (state.expiresAt < entry.nextExpiry) entry.nextExpiry = state.expiresAt;
      if (entry.names.size > this.maxNamesPerIp) {
        const oldest = entry.names.keys().next();
        if (!oldest.done) entry.names.delete(oldest.value);
      }
    }
  }

  /** How long an answer with this TTL keeps its names (ms), within the configured bounds. */
  private ttlMsOf(ttlSeconds: number): number {
    return Math.min(this.maxTtlMs, Math.max(this.minTtlMs, ttlSeconds * 1000));
  }

  private makeRoom(nowMs: number): void {
    while (this.entries.size >= this.maxEntries) {
      const entry = this.entries.oldest();
      if (entry === null) return;
      this.entries.delete(entry);
      if (this.isLive(entry, nowMs)) this.evicted++;
    }
  }

  private isLive(entry: Entry, nowMs: number): boolean {
    this.settleOpen(entry, nowMs);
    if (entry.open > 0) return true;
    for (const state of entry.names.values()) if (state.expiresAt > nowMs) return true;
    return false;
  }
}

/** namesFor's answer for an address without names: one shared frozen array, not one per event. */
const NO_NAMES = Object.freeze([]) as unknown as string[];

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

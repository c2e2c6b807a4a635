/**
 * The DNS cache's entries by scope, then address, in one age order (least recently refreshed or used
 * first, for eviction). It replaces one Map keyed by `scope + "\0" + ip`: every connection event
 * built that key and hashed it afresh (most lookups miss), and every use deleted and re-inserted it
 * to move it to the young end. Here a lookup hashes the scope and address strings the flow already
 * holds (V8 keeps a string's hash), and a move is four pointer writes on the age list.
 */

/** What an entry carries to be found and ordered: its keys and its neighbours in age order. */
export interface AgedEntry<E> {
  readonly scope: string;
  readonly ip: string;
  older: E | null;
  newer: E | null;
}

export class ScopedEntries<E extends AgedEntry<E>> {
  private readonly byScope = new Map<string, Map<string, E>>();
  private oldestEntry: E | null = null;
  private newestEntry: E | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(scope: string, ip: string): E | undefined {
    return this.byScope.get(scope)?.get(ip);
  }

  /** The least recently added or touched entry, or null when empty. */
  oldest(): E | null {
    return this.oldestEntry;
  }

  /** The entry after `entry` in age order (younger), or null: iterate with it, deleting on the way. */
  next(entry: E): E | null {
    return entry.newer;
  }

  /** A new entry (none held for its scope and address), at the young end. */
  add(entry: E): void {
    let ips = this.byScope.get(entry.scope);
    if (ips === undefined) {
      ips = new Map();
      this.byScope.set(entry.scope, ips);
    }
    ips.set(entry.ip, entry);
    this.count++;
    this.link(entry);
  }

  /** A held entry refreshed or used: to the young end. */
  touch(entry: E): void {
    if (entry === this.newestEntry) return;
    this.unlink(entry);
    this.link(entry);
  }

  delete(entry: E): void {
    const ips = this.byScope.get(entry.scope);
    if (ips === undefined || ips.get(entry.ip) !== entry) return;
    ips.delete(entry.ip);
    // Scopes are client IPs too: an emptied one must not stay behind.
    if (ips.size === 0) this.byScope.delete(entry.scope);
    this.count--;
    this.unlink(entry);
  }

  private link(entry: E): void {
    entry.older = this.newestEntry;
    entry.newer = null;
    if (this.newestEntry !== null) this.newestEntry.newer = entry;
    else this.oldestEntry = entry;
    this.newestEntry = entry;
  }

  private unlink(entry: E): void {
    if (entry.older !== null) entry.older.newer = entry.newer;
    else this.oldestEntry = entry.newer;
    if (entry.newer !== null) entry.newer.older = entry.older;
    else this.newestEntry = entry.older;
    entry.older = null;
    entry.newer = null;
  }
}

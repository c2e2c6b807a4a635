/**
 * A cache of a pure function's results with a hard size bound: when full it starts again empty
 * (cheaper than LRU bookkeeping on a hot path, and a working set smaller than the bound stays hot).
 * Only for functions whose result depends on the key alone.
 */
export class BoundedMemo<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: string, compute: () => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined) return hit;
    const value = compute();
    if (this.map.size >= this.maxEntries) this.map.clear();
    this.map.set(key, value);
    return value;
  }

  get size(): number {
    return this.map.size;
  }
}

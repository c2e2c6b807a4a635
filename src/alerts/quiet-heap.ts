import type { Alert } from "./alert.js";

/** What the heap orders: an incident's alert, and the seq of its current node (older ones are stale). */
export interface HeapEntry {
  readonly alert: Alert;
  heapSeq: number;
}

/** Min-heap node ordered by (lastSeen, seq): the root is the alert quiet the longest. */
interface HeapNode<E> {
  lastSeen: number;
  seq: number;
  entry: E;
}

function before<E>(a: HeapNode<E>, b: HeapNode<E>): boolean {
  return a.lastSeen < b.lastSeen || (a.lastSeen === b.lastSeen && a.seq < b.seq);
}

/**
 * Active incidents by how long they have been quiet, for resolution and eviction. Lazy deletion:
 * a node is pushed whenever lastSeen grows, and stale nodes are skipped when they come up.
 */
export class QuietHeap<E extends HeapEntry> {
  private heap: HeapNode<E>[] = [];
  private seq = 0;

  /** `liveCount()` is the number of active entries, to know when stale nodes outnumber them. */
  constructor(private readonly liveCount: () => number) {}

  /** (Re)files the entry at its current lastSeen. */
  push(entry: E): void {
    const node: HeapNode<E> = { lastSeen: entry.alert.lastSeen, seq: this.seq++, entry };
    entry.heapSeq = node.seq;
    const h = this.heap;
    h.push(node);
    this.siftUp(h.length - 1);
    // Every lastSeen bump leaves a stale node: rebuild before they outnumber the live ones.
    if (h.length > 2 * this.liveCount() + 64) this.compact();
  }

  /** The live entry quiet the longest, without removing it. */
  peek(): E | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      if (this.isLive(top)) return top.entry;
      this.pop();
    }
  }

  /** Removes and returns the live entry quiet the longest. */
  take(): E | undefined {
    const e = this.peek();
    if (e !== undefined) this.pop();
    return e;
  }

  private isLive(node: HeapNode<E>): boolean {
    return node.entry.heapSeq === node.seq && node.entry.alert.state === "active";
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last !== undefined && h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
  }

  private compact(): void {
    this.heap = this.heap.filter((n) => this.isLive(n));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const node = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(node, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = node;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const node = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r]!, h[l]!) ? r : l;
      const c = h[child]!;
      if (!before(c, node)) break;
      h[i] = c;
      i = child;
    }
    h[i] = node;
  }
}

import type { FlowRecord } from "./flow-record.js";

const MIN_HEADS = 1024;

/**
 * The flow table's hash buckets: one array of chain heads (records linked by `chain`), its length a
 * power of two between one and four times the records it holds, so it grows with a burst and
 * shrinks back after it. Cheaper than a Map (8 bytes or so per flow, not 35), and the tracker
 * already compares every field of a chained record. Records of any hash may share a chain.
 */
export class FlowBuckets {
  private heads: (FlowRecord | null)[] = new Array<FlowRecord | null>(MIN_HEADS).fill(null);
  private mask = MIN_HEADS - 1;
  private count = 0;

  /** The first record of the chain `hash` falls in (follow `chain` for the others). */
  first(hash: number): FlowRecord | null {
    return this.heads[hash & this.mask]!;
  }

  add(rec: FlowRecord): void {
    const i = rec.hash & this.mask;
    rec.chain = this.heads[i]!;
    this.heads[i] = rec;
    if (++this.count > this.heads.length) this.resize(this.heads.length * 2);
  }

  /** Unlinks `rec` (which it holds). */
  delete(rec: FlowRecord): void {
    const i = rec.hash & this.mask;
    let prev: FlowRecord | null = this.heads[i]!;
    if (prev === rec) this.heads[i] = rec.chain;
    else {
      while (prev !== null && prev.chain !== rec) prev = prev.chain;
      if (prev === null) return;
      prev.chain = rec.chain;
    }
    rec.chain = null;
    const n = this.heads.length;
    if (--this.count < n / 4 && n > MIN_HEADS) this.resize(n / 2);
  }

  private resize(length: number): void {
    const old = this.heads;
    const heads = new Array<FlowRecord | null>(length).fill(null);
    const mask = length - 1;
    for (let head of old) {
      while (head !== null) {
        const next = head.chain;
        const i = head.hash & mask;
        head.chain = heads[i]!;
        heads[i] = head;
        head = next;
      }
    }
    this.heads = heads;
    this.mask = mask;
  }
}

/**
 * The times of the flow records of one tracker, three doubles per record in one Float64Array.
 * Packet timestamps are fractional milliseconds near 2^40: as object fields each would be a boxed
 * number (16 bytes plus the pointer); here a record's three cost 24 bytes. A record holds its slot
 * for its whole life (in the table and on the free list) and gives it back when it is dropped; after
 * a burst the tracker moves the records left to a smaller slab, so the memory goes back down.
 */
export const TIME_FIRST = 0;
export const TIME_LAST = 1;
export const TIME_DUE = 2;
const TIMES_PER_SLOT = 3;

/** Slots the smallest slab holds. */
const MIN_SLOTS = 256;

export class FlowTimes {
  /** Replaced when it grows: always read through the slab, never kept. */
  at: Float64Array;
  /** First index of each slot given back, to hand out again. */
  private readonly released: number[] = [];
  private used = 0;

  constructor(slots = MIN_SLOTS) {
    this.at = new Float64Array(TIMES_PER_SLOT * Math.max(MIN_SLOTS, slots));
  }

  /** A slot for a new record: the index of its first time (add TIME_FIRST, TIME_LAST, TIME_DUE). */
  acquire(): number {
    const back = this.released.pop();
    if (back !== undefined) return back;
    if (this.used === this.at.length) {
      // By half, not double: at 100k flows the slack is what a whole field would cost.
      const grown = new Float64Array(TIMES_PER_SLOT * Math.ceil((this.at.length / TIMES_PER_SLOT) * 1.5));
      grown.set(this.at);
      this.at = grown;
    }
    const slot = this.used;
    this.used += TIMES_PER_SLOT;
    return slot;
  }

  /** The slot of a record that is dropped (never of one still in use or on a free list). */
  release(slot: number): void {
    this.released.push(slot);
  }

  /**
   * Whether a slab for `held` records (after a burst has gone) would be over four times smaller:
   * the caller then moves every record it holds to `new FlowTimes(2 * held)` (FlowRecord.moveTo).
   */
  oversizedFor(held: number): boolean {
    const slots = this.at.length / TIMES_PER_SLOT;
    return slots > MIN_SLOTS && slots > 4 * held;
  }
}

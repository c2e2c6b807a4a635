import type { FlowRecord } from "./flow-record.js";

/** Width of one timer-wheel bucket (ms of packet time). */
const BUCKET_MS = 1000;

interface Slot {
  recs: FlowRecord[];
  /** Per entry: the record's timerGen when it was put there (a record moved on leaves a stale one). */
  gens: number[];
}

/**
 * The flow tracker's timeouts on a timer wheel: each flow sits in the bucket of the earliest time
 * its timeout may hold, so a sweep looks at the flows due by then instead of every flow. Entries are
 * never searched for: a flow scheduled again (or removed) bumps its timerGen, and its old entry is
 * skipped when its bucket comes due. The tracker checks each collected flow's timeout exactly.
 */
export class FlowTimers {
  private readonly slots = new Map<number, Slot>();
  /** Entries for buckets already collected: the next collect takes them whatever its time. */
  private carry: Slot = { recs: [], gens: [] };
  private readonly spare: Slot[] = [];
  /** Buckets up to this one have been collected. */
  private done = Number.NEGATIVE_INFINITY;
  private readonly keys: number[] = [];

  /** `rec`'s timeout is checked at `due` (never later than it may hold): any earlier entry is void. */
  schedule(rec: FlowRecord, due: number): void {
    rec.timerGen++;
    rec.timerDue = due;
    // A millisecond early: a check that rounds the other way is then not a bucket late.
    const b = Math.floor((due - 1) / BUCKET_MS);
    let slot = this.carry;
    if (!(b <= this.done)) {
      const found = this.slots.get(b);
      if (found !== undefined) slot = found;
      else {
        slot = this.spare.pop() ?? { recs: [], gens: [] };
        this.slots.set(b, slot);
      }
    }
    slot.recs.push(rec);
    slot.gens.push(rec.timerGen);
  }

  /** `rec` leaves the table: its entry is void. */
  cancel(rec: FlowRecord): void {
    rec.timerGen++;
    rec.timerDue = Number.POSITIVE_INFINITY;
  }

  /**
   * Appends to `out` every flow whose entry is due by `nowMs` (its bucket reached), each once; their
   * entries are used up (timerDue Infinity): the caller schedules each again or removes it.
   */
  collect(nowMs: number, out: FlowRecord[]): void {
    const carried = this.carry;
    this.carry = this.spare.pop() ?? { recs: [], gens: [] };
    this.take(carried, out);
    const last = Math.floor(nowMs / BUCKET_MS);
    const keys = this.keys;
    keys.length = 0;
    if (last - this.done <= this.slots.size) {
      for (let b = this.done + 1; b <= last; b++) if (this.slots.has(b)) keys.push(b);
    } else {
      for (const b of this.slots.keys()) if (b <= last) keys.push(b);
    }
    // Schedules from here on for buckets up to `last` go to the carry (end of input: Infinity
    // collects every bucket and moves nothing).
    if (Number.isFinite(last) && last > this.done) this.done = last;
    for (const b of keys) {
      const slot = this.slots.get(b)!;
      this.slots.delete(b);
      this.take(slot, out);
    }
  }

  private take(slot: Slot, out: FlowRecord[]): void {
    const { recs, gens } = slot;
    for (let i = 0; i < recs.length; i++) {
      const rec = recs[i]!;
      if (rec.timerGen !== gens[i] || rec.timerDue === Number.POSITIVE_INFINITY) continue;
      rec.timerDue = Number.POSITIVE_INFINITY;
      out.push(rec);
    }
    recs.length = 0;
    gens.length = 0;
    this.spare.push(slot);
  }
}

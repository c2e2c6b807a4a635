/** How far packet time moves between two engine ticks (ms). */
export const TICK_EVERY_MS = 1_000;

/**
 * The engine's one clock: packet time. A tick is due at every TICK_EVERY_MS of packet time that
 * passes (checked on each packet: one comparison); the daemon may also push the clock forward from
 * the wall clock when no packet arrives. Time never goes backwards: a late packet or a fallback
 * behind packet time ticks nothing.
 */
export class PacketClock {
  /** The latest time the engine ticked at (ms); -Infinity before the first tick. */
  now = Number.NEGATIVE_INFINITY;
  private next = Number.NEGATIVE_INFINITY;

  /** True when `ts` reaches the next tick; the caller then ticks at `ts`. */
  due(ts: number): boolean {
    return ts >= this.next;
  }

  /** Records a tick at `ts`; false when `ts` is not after the last tick (nothing to do). */
  advance(ts: number): boolean {
    if (!(ts > this.now)) return false;
    this.now = ts;
    this.next = (Math.floor(ts / TICK_EVERY_MS) + 1) * TICK_EVERY_MS;
    return true;
  }
}

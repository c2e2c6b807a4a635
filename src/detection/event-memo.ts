import type { ContainerRef } from "../model/events.js";

/**
 * What was resolved for the (at most two) containers of the event being handled: an event names
 * its source and its destination, and the engine, the learner and each detector ask the policy
 * about them again and again (eight times for an attempt). Only while an event is handled
 * (start … end): nothing changes the inventory or the config in the middle of one, so the answer
 * cannot change; outside of one (ticks, explain, status) nothing is remembered.
 */
export class EventMemo<V> {
  private active = false;
  private refA: ContainerRef | null = null;
  private valueA: V | null = null;
  private refB: ContainerRef | null = null;
  private valueB: V | null = null;

  start(): void {
    this.active = true;
  }

  end(): void {
    this.active = false;
    this.refA = null;
    this.valueA = null;
    this.refB = null;
    this.valueB = null;
  }

  /** The value remembered for `ref` in this event, or null. */
  get(ref: ContainerRef): V | null {
    if (ref === this.refA) return this.valueA;
    if (ref === this.refB) return this.valueB;
    return null;
  }

  /** Remembers `value` for `ref` until the event ends (the older of two is forgotten for a third). */
  set(ref: ContainerRef, value: V): void {
    if (!this.active) return;
    this.refB = this.refA;
    this.valueB = this.valueA;
    this.refA = ref;
    this.valueA = value;
  }
}

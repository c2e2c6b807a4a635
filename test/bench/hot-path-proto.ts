/**
 * Prototypes of hot-path changes not yet in src/, measured by `replay-worker.js proto`
 * (PROTO=names) and the `hotpath` part of run.js against the stock path (benchmarks only: src/ is
 * unchanged). The worker prints events and alerts so a run can be compared with the stock one.
 *
 * DNS names once per flow: Pipeline.onConnection looks the names up for every event (attempt,
 * accepted, closed…); here they are looked up at the attempt and kept on the flow record. Not a
 * pure drop-in: a DNS answer that arrives after the attempt no longer reaches the flow's later
 * events (the bench's "same events + alerts" column shows whether that changes anything).
 *
 * Landed in src/ (issue 18) and removed from here: the pcap record header and the decoder with
 * byte arithmetic (src/capture/bytes.ts), DecodedPacket.reset() without TypedArray.fill, CidrSet.has
 * without the four-word scratch, Detection's mode check once a second per container. The timer
 * wheel prototype for FlowTracker.advance was dropped: it patched FlowTracker internals (create,
 * newest, record states) that have changed since, so it no longer ran.
 */

import { Pipeline } from "../../src/engine/pipeline.js";
import { FlowTracker } from "../../src/flows/flow-tracker.js";
import type { ConnectionEvent } from "../../src/model/events.js";

interface DnsInternals {
  namesFor(scope: string, ip: string, ts: number): string[];
  flowStarted(scope: string, ip: string, ts: number): void;
  flowActive(scope: string, ip: string, ts: number): void;
  flowEnded(scope: string, ip: string, ts: number): void;
}

/** Applies the names-once-per-flow prototype to the classes (process-wide). */
export function applyNamesPatch(): void {
  // Names once per flow: the tracker tells which record an event belongs to.
  const ft = FlowTracker.prototype as unknown as { emitEvent: (this: FlowTracker, ...a: unknown[]) => void };
  const stockEmit = ft.emitEvent;
  let current: { names?: string[] } | null = null;
  ft.emitEvent = function (this: FlowTracker, ...a: unknown[]): void {
    current = a[0] as { names?: string[] };
    stockEmit.apply(this, a);
    current = null;
  };
  const pl = Pipeline.prototype as unknown as {
    onConnection: (this: Pipeline, ev: ConnectionEvent) => void;
  };
  pl.onConnection = function (this: Pipeline, ev: ConnectionEvent): void {
    const rec = current;
    const dns = this.dns as unknown as DnsInternals;
    const scope = ev.src.container?.id ?? ev.src.ip;
    let names: string[];
    if (ev.state === "attempt" || rec === null || rec.names === undefined) {
      names = dns.namesFor(scope, ev.dst.ip, ev.ts);
      if (rec !== null) rec.names = names;
    } else names = rec.names;
    if (names.length > 0) {
      ev.dst.names = names;
      // As Pipeline.onConnection does: the names' lifetime follows the flow.
      if (ev.state === "attempt") dns.flowStarted(scope, ev.dst.ip, ev.ts);
      else if (ev.state === "accepted") dns.flowActive(scope, ev.dst.ip, ev.ts);
      else dns.flowEnded(scope, ev.dst.ip, ev.ts);
    }
    (this as unknown as { sink: (e: ConnectionEvent) => void }).sink(ev);
  };
}

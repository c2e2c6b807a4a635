/**
 * The flow tracker's timeouts as they ran before the timer wheel: every sweep walks the whole age
 * list, oldest first, and acts on each flow whose timeout holds. The reference the wheel is
 * compared against (test/unit/flow-timers.test.ts); it reaches into the tracker's internals.
 */
import { PROTO_TCP } from "../../src/capture/packet.js";
import { FLOW_ATTEMPT, FLOW_CLOSED, FLOW_UNANSWERED, type FlowRecord } from "../../src/flows/flow-record.js";
import type { FlowTracker, FlowTrackerOptions } from "../../src/flows/flow-tracker.js";

const SYN_RETRY_WINDOW_MS = 130_000;
const CLOSED_LINGER_MS = 5_000;

interface TrackerInternals {
  opts: FlowTrackerOptions;
  oldest: FlowRecord | null;
  nextSweep: number;
  sweepEveryMs: number;
  halfCloseMs: number;
  expired: number;
  emitEvent(
    rec: FlowRecord,
    state: string,
    ts: number,
    durationMs: number | undefined,
    corrects: boolean,
  ): void;
  finish(rec: FlowRecord, ts: number): void;
  remove(rec: FlowRecord): void;
}

/** Replaces `tracker.advance` with the walk over every flow. */
export function sweepEveryFlow(tracker: FlowTracker): void {
  const t = tracker as unknown as TrackerInternals;
  tracker.advance = (nowMs: number): void => {
    t.nextSweep = nowMs + t.sweepEveryMs;
    const o = t.opts;
    let rec = t.oldest;
    while (rec !== null) {
      const next = rec.newer;
      if (rec.proto === PROTO_TCP) {
        if (rec.state === FLOW_ATTEMPT) {
          if (nowMs - rec.firstTs >= o.tcpUnansweredMs) {
            rec.state = FLOW_UNANSWERED;
            t.emitEvent(rec, "unanswered", rec.firstTs + o.tcpUnansweredMs, o.tcpUnansweredMs, false);
          }
        } else if (rec.state === FLOW_UNANSWERED) {
          if (nowMs - rec.firstTs >= Math.max(SYN_RETRY_WINDOW_MS, o.tcpUnansweredMs)) t.remove(rec);
        } else if (rec.state === FLOW_CLOSED) {
          if (nowMs - rec.lastTs >= CLOSED_LINGER_MS) t.remove(rec);
        } else if (rec.finA || rec.finB) {
          if (nowMs - rec.lastTs >= t.halfCloseMs) t.finish(rec, rec.lastTs + t.halfCloseMs);
        } else if (nowMs - rec.lastTs >= o.tcpEstablishedIdleMs) {
          t.expired++;
          t.remove(rec);
        }
      } else if (nowMs - rec.lastTs >= o.udpIdleMs) {
        const endTs = rec.lastTs + o.udpIdleMs;
        if (rec.state === FLOW_ATTEMPT) t.emitEvent(rec, "unanswered", endTs, endTs - rec.firstTs, false);
        else t.emitEvent(rec, "closed", endTs, rec.lastTs - rec.firstTs, false);
        t.remove(rec);
      }
      rec = next;
    }
  };
}

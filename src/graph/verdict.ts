import { type DetectorContext, egressTargetOf } from "../detector-api.js";
import type { ConnectionEvent } from "../events.js";
import type { EdgeVerdict } from "./model.js";

/**
 * The map's verdict on a connection attempt, asked of the same policy the detectors use (so an
 * "unexpected" edge is exactly what unexpected-outbound alerts on): learning or unjudged when the
 * initiator is not judged, unexpected when nothing allows it or the destination is denylisted,
 * allowed-baseline when only the learned baseline allows it, allowed-policy otherwise. "blocked"
 * is added by TopologyGraph.snapshot() from the active blocks.
 */
export function edgeVerdictOf(ctx: DetectorContext, ev: ConnectionEvent): EdgeVerdict {
  const src = ev.src.container;
  if (src === null) return "unjudged";
  const mode = ctx.modeOf(src, ev.ts);
  if (mode === "learn") return "learning";
  if (mode === "off") return "unjudged";
  const v = ctx.egress(src, egressTargetOf(ev));
  if (v.denylisted || v.allowedBy === null) return "unexpected";
  return v.allowedBy === "baseline" ? "allowed-baseline" : "allowed-policy";
}

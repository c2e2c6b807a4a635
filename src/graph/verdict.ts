import type { ConnectionVerdict } from "../model/detector-api.js";
import type { EdgeVerdict } from "./snapshot-types.js";

/**
 * The map's verdict on a connection attempt, from the engine's one verdict (so an "unexpected" edge is
 * exactly what unexpected-outbound alerts on): learning or unjudged when the initiator is not judged
 * (or is no container), unexpected when nothing allows it or the destination is denylisted,
 * allowed-baseline when only the learned baseline allows it, allowed-policy otherwise. "blocked"
 * is added by TopologyGraph.snapshot() from the active blocks.
 */
export function edgeVerdictOf(v: ConnectionVerdict | undefined): EdgeVerdict {
  if (v === undefined || v.mode === "off") return "unjudged";
  if (v.mode === "learn") return "learning";
  if (v.denylisted || v.allowedBy === null) return "unexpected";
  return v.allowedBy === "baseline" ? "allowed-baseline" : "allowed-policy";
}

import type { ConnectionVerdict } from "../model/detector-api.js";
import type { EdgeVerdict } from "./snapshot-types.js";

/**
 * The map's verdict on a connection attempt, from the engine's one verdict (so an "unexpected" edge is
 * exactly what unexpected-outbound alerts on): unjudged when the initiator is not judged (or is no
 * container); unexpected when the destination is denylisted (alerting even while learning) or, once
 * learning is over, nothing allows it; allowed-policy when a config rule, label, DNS-name rule or the
 * DNS resolver allows it, learning or not (what a label allows is no guess); allowed-baseline when
 * only the learned baseline does, after learning; learning for the rest of a learning workload's
 * traffic. "blocked" is added by TopologyGraph.snapshot() from the active blocks.
 */
export function edgeVerdictOf(v: ConnectionVerdict | undefined): EdgeVerdict {
  if (v === undefined || v.mode === "off") return "unjudged";
  if (v.denylisted) return "unexpected";
  const byRule = v.allowedBy !== null && v.allowedBy !== "baseline";
  if (v.mode === "learn") return byRule ? "allowed-policy" : "learning";
  if (v.allowedBy === null) return "unexpected";
  return byRule ? "allowed-policy" : "allowed-baseline";
}

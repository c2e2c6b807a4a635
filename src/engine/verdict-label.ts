import type { ConnectionVerdict } from "../model/detector-api.js";

/**
 * The `verdict` label of netmon_connections_total: allowed / unexpected / denylisted for attempts
 * being judged; learning, off or unattributed (no container started it) otherwise.
 */
export function connectionVerdictLabel(v: ConnectionVerdict | undefined): string {
  if (v === undefined) return "unattributed";
  if (v.mode === "learn") return "learning";
  if (v.mode === "off") return "off";
  return v.denylisted ? "denylisted" : v.allowedBy !== null ? "allowed" : "unexpected";
}

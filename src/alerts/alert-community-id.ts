import type { FindingEndpoint } from "../model/finding.js";
import { flowCommunityId } from "../net/community-id.js";

/**
 * The Community ID v1 of the flow an alert is about (its latest finding's `src` → `dst`), so a SIEM
 * joins the alert with Zeek's or Suricata's record of the same connection. Undefined when the alert
 * names no single flow: no `src` or `dst` (a listener, a fan-out), port 0 on either side (a scan or
 * brute force stands for many source ports), or the two sides disagree on the protocol.
 */
export function alertCommunityId(alert: {
  src?: FindingEndpoint;
  dst?: FindingEndpoint;
}): string | undefined {
  const { src, dst } = alert;
  if (src === undefined || dst === undefined) return undefined;
  if (src.port === 0 || dst.port === 0 || src.proto !== dst.proto) return undefined;
  return flowCommunityId({ proto: dst.proto, src, dst }) ?? undefined;
}

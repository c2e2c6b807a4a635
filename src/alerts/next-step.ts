import type { ContainerRef, Proto } from "../model/events.js";
import type { Finding } from "../model/finding.js";
import { normalizeHostName, parseEgressRule } from "../rules/egress-rule.js";
import { BoundedMemo } from "../util/bounded-memo.js";
import type { ShapeFacts } from "./shape-sentence.js";

/** The detector whose findings are connection shapes (its options name the thresholds). */
const SHAPE_DETECTOR = "connection-burst";

import { LABEL_EGRESS, LABEL_LISTEN } from "../rules/label-policy.js";

/**
 * A finding with its next step: the exact label, `policy.workloads` rule or config key that allows
 * the legitimate case, or null when nothing should (a denylisted destination). Declared here
 * rather than on Finding (src/model/finding.ts) so the alert manager reads it without every
 * detector having to set it; the alert carries it as `alert.fix`.
 */
export interface FindingNextStep extends Finding {
  fix?: string | null;
}

/** The fix a finding names (null when it names none). */
export function fixOf(f: Finding): string | null {
  return (f as FindingNextStep).fix ?? null;
}

/** What an egress fix names a destination by. */
export interface FixDestination {
  ip: string;
  port: number;
  proto: Proto;
  /** The destination container, when it is one: its Compose service (stable across replicas), else its name. */
  container: ContainerRef | null;
  /** DNS names the container resolved to that IP. */
  names?: readonly string[];
}

/** Rules by destination: asked for every finding, and a flood's findings name few destinations. */
const rules = new BoundedMemo<string>(4096);

/**
 * The `netmon.egress` rule that allows exactly this destination and port: the destination
 * container's service, else its name, else the DNS name the client used, else the IP (IPv6 in
 * brackets). Every spelling is checked against the label grammar; a name it refuses falls back to
 * the IP, so the printed rule always parses.
 */
export function egressRuleFor(d: FixDestination): string {
  // Parsing the candidate rules for every finding was a tenth of the daemon's CPU under a flood.
  const service = d.container?.service ?? null;
  const name = d.container?.name ?? null;
  const dnsName = d.names?.[0] ?? null;
  const memoKey = JSON.stringify([service, name, dnsName, d.ip, d.port, d.proto]);
  return rules.get(memoKey, () => ruleFor(d, [service, name, dnsName]));
}

function ruleFor(d: FixDestination, candidates: readonly (string | null)[]): string {
  const portProto = `${d.port}/${d.proto}`;
  for (const c of candidates) {
    if (c === null) continue;
    const host = normalizeHostName(c);
    if (host === null) continue;
    const rule = `${host}:${portProto}`;
    if (parseEgressRule(rule).ok) return rule;
  }
  return d.ip.includes(":") ? `[${d.ip}]:${portProto}` : `${d.ip}:${portProto}`;
}

/** `netmon.egress=cache:6379/tcp`: the label to put on the client container. */
export function egressLabelFix(d: FixDestination): string {
  return `${LABEL_EGRESS}=${egressRuleFor(d)}`;
}

/** `netmon.listen=8080/tcp`: the label to put on the listening container. */
export function listenLabelFix(port: number, proto: Proto): string {
  return `${LABEL_LISTEN}=${port}/${proto}`;
}

/** `detectors.connection-burst.portScanThreshold: 101`: a config key and the value that spares the case. */
export function detectorOptionFix(detector: string, option: string, value: number | boolean): string {
  return `detectors.${detector}.${option}: ${value}`;
}

/**
 * A scan's fix: its threshold raised just past the ports or hosts it counted, so the same scan
 * would not fire again. Null for the other shapes (their fix depends on the destination or rate).
 */
export function scanThresholdFix(facts: ShapeFacts): string | null {
  const slow = facts.slow === true;
  if (facts.shape === "port-scan") {
    return detectorOptionFix(
      SHAPE_DETECTOR,
      slow ? "slowPortScanThreshold" : "portScanThreshold",
      facts.count + 1,
    );
  }
  if (facts.shape === "host-scan") {
    return detectorOptionFix(
      SHAPE_DETECTOR,
      slow ? "slowHostScanThreshold" : "hostScanThreshold",
      facts.count + 1,
    );
  }
  return null;
}

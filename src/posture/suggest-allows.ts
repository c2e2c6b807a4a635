import type { Declarations } from "./suggest-declared.js";
import { type Allow, allowOf } from "./suggest-iptables.js";
import { type PortSpan, spanRule } from "./suggest-ports.js";

/**
 * Rules as iptables allows for `policy suggest`: networks as they are, container names as their
 * IPs now, DNS names (and containers not running) as rules iptables cannot express.
 */

export interface Allows {
  allow: Allow[];
  unexpressed: { rule: string; declared: boolean }[];
}

export type ByName = ReadonlyMap<string, { name: string; ips: string[] }>;

/** Suggested spans as iptables allows: addresses as they are, container names as their IPs now. */
export function allowsOfSpans(spans: readonly PortSpan[], byName: ByName): Allows {
  const allow: Allow[] = [];
  const unexpressed: { rule: string; declared: boolean }[] = [];
  for (const s of spans) {
    const rule = spanRule(s);
    const direct = allowOf(s.dest, s.proto, s.ports);
    if (direct !== null) {
      allow.push(direct);
      continue;
    }
    const peer = byName.get(s.dest);
    if (peer === undefined || peer.ips.length === 0) {
      unexpressed.push({ rule, declared: false });
      continue;
    }
    peer.ips.forEach((ip, i) => {
      const comment =
        i === 0
          ? `${rule}: container ${peer.name}, at ${peer.ips.join(", ")} now (its IP changes when it is re-created: suggest again then)`
          : null;
      const a = allowOf(ip, s.proto, s.ports, comment);
      if (a !== null) allow.push(a);
    });
  }
  return { allow, unexpressed };
}

/** Declared rules as iptables allows (before anything else): networks, and containers by their IPs. */
export function allowsOfDeclared(d: Declarations, byName: ByName): Allows {
  const allow: Allow[] = [];
  const unexpressed: { rule: string; declared: boolean }[] = [];
  for (const { rule, source } of d.egressRules) {
    if (rule.kind === "cidr") {
      allow.push({
        cidr: rule.cidr,
        proto: rule.proto,
        ports: rule.ports,
        comment: `declared: ${rule.text} (${source})`,
      });
      continue;
    }
    const peer = rule.kind === "host" ? byName.get(rule.host) : undefined;
    if (peer === undefined || peer.ips.length === 0) {
      unexpressed.push({ rule: `${rule.text} (${source})`, declared: true });
      continue;
    }
    peer.ips.forEach((ip, i) => {
      const comment =
        i === 0
          ? `declared: ${rule.text} (${source}): container ${peer.name}, at ${peer.ips.join(", ")} now`
          : null;
      const a = allowOf(ip, rule.proto, rule.ports, comment);
      if (a !== null) allow.push(a);
    });
  }
  return { allow, unexpressed };
}

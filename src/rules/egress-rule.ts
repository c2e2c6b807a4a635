import type { Proto } from "../model/events.js";
import { type Cidr, parseCidr } from "../net/cidr.js";
import { collectRules, type PortRange, parsePortProto, portInRange, splitList } from "./listen-rule.js";

/**
 * Egress (outbound destination) rules: comma-separated in a container label, one per list item
 * in the YAML config. Each rule is a destination with an optional port and proto:
 *
 *   192.0.2.0/24   192.0.2.7:443   10.0.0.0/8:8000-8100/tcp   fd00::/8   [fd00::/8]:443/tcp
 *   api.example.com:443            *.example.com:443/tcp
 *
 * - IPv6 with a port must be bracketed; a bare IPv6 rule has no port (so "fd00::1:443" is the
 *   address fd00::1:443, any port — the grammar cannot tell, which is why brackets are required).
 * - No port = every port; no proto = TCP and UDP. A proto needs a port ("host:53/udp").
 * - Host names are compared lower-case without a trailing dot, against the names the container
 *   resolved (DNS answers seen on the wire), never against the IP.
 * - "*.example.com" matches a.example.com and a.b.example.com but NOT example.com itself, as
 *   most firewalls and Cilium's toFQDNs matchPattern do; list both to allow both.
 */

interface RuleCommon {
  /** null = every port. */
  ports: PortRange | null;
  /** null = TCP and UDP. */
  proto: Proto | null;
  /** The rule as written (trimmed), for messages and alerts. */
  text: string;
}

export type EgressRule =
  | ({ kind: "cidr"; cidr: Cidr } & RuleCommon)
  | ({ kind: "host"; host: string } & RuleCommon)
  | ({ kind: "wildcard" /** ".example.com" */; suffix: string } & RuleCommon);

export type EgressRuleResult = { ok: true; rule: EgressRule } | { ok: false; error: string };

/** A destination as the detectors see it; `names` are lower-case with no trailing dot (as DnsCache gives). */
export interface EgressDestination {
  ip: string;
  port: number;
  proto: Proto;
  names: readonly string[];
}

const MAX_NAME = 253;
const LABEL = /^[a-z0-9_-]{1,63}$/;

/** Lower-cased host name without one trailing dot, or null when it is not a valid name. */
export function normalizeHostName(text: string): string | null {
  let h = text.toLowerCase();
  if (h.endsWith(".")) h = h.slice(0, -1);
  if (h.length === 0 || h.length > MAX_NAME) return null;
  for (const label of h.split(".")) if (!LABEL.test(label)) return null;
  return h;
}

export function parseEgressRule(text: string): EgressRuleResult {
  const t = text.trim();
  const fail = (why: string): EgressRuleResult => ({ ok: false, error: `egress rule "${t}": ${why}` });
  if (t === "") return { ok: false, error: "empty egress rule" };

  let target: string;
  let portSpec: string | null = null;
  if (t.startsWith("[")) {
    const close = t.indexOf("]");
    if (close < 0) return fail('missing "]" (bracketed form: [fd00::/8]:443/tcp)');
    target = t.slice(1, close);
    const rest = t.slice(close + 1);
    if (rest.startsWith(":")) portSpec = rest.slice(1);
    else if (rest !== "") return fail(`unexpected "${rest}" after "]" (expected :port[/proto])`);
    const cidr = parseCidr(target);
    if (cidr === null) return fail(`bad CIDR "${target}"`);
    return withPorts(fail, { kind: "cidr", cidr }, portSpec, t);
  }

  const colons = t.split(":").length - 1;
  if (colons >= 2) {
    // Unbracketed IPv6: never a port, see above.
    const cidr = parseCidr(t);
    if (cidr === null) return fail(`bad CIDR "${t}" (IPv6 with a port must be bracketed: [fd00::1]:443)`);
    return withPorts(fail, { kind: "cidr", cidr }, null, t);
  }
  if (colons === 1) {
    const colon = t.indexOf(":");
    target = t.slice(0, colon);
    portSpec = t.slice(colon + 1);
  } else {
    target = t;
  }
  if (target === "") return fail("missing address or host name before the port");

  // Digits and dots (with an optional /prefix) can only be meant as an IPv4 address or network.
  if (/^[\d.]+(\/.*)?$/.test(target)) {
    const cidr = parseCidr(target);
    if (cidr === null) return fail(`bad CIDR "${target}"`);
    return withPorts(fail, { kind: "cidr", cidr }, portSpec, t);
  }
  const hint = target.includes("/") ? " (a proto needs a port: host:53/udp)" : "";
  if (target.startsWith("*.")) {
    const base = normalizeHostName(target.slice(2));
    if (base === null) return fail(`bad host name in wildcard "${target}"${hint}`);
    return withPorts(fail, { kind: "wildcard", suffix: `.${base}` }, portSpec, t);
  }
  const host = normalizeHostName(target);
  if (host === null) {
    const star = target.includes("*") ? ' ("*" is only allowed as the whole first label: *.example.com)' : "";
    return fail(`bad host name "${target}"${star}${hint}`);
  }
  return withPorts(fail, { kind: "host", host }, portSpec, t);
}

type RuleTarget =
  | { kind: "cidr"; cidr: Cidr }
  | { kind: "host"; host: string }
  | { kind: "wildcard"; suffix: string };

function withPorts(
  fail: (why: string) => EgressRuleResult,
  target: RuleTarget,
  portSpec: string | null,
  text: string,
): EgressRuleResult {
  if (portSpec === null) return { ok: true, rule: { ...target, ports: null, proto: null, text } };
  const pp = parsePortProto(portSpec);
  if (typeof pp === "string") return fail(pp);
  return { ok: true, rule: { ...target, ports: pp.ports, proto: pp.proto, text } };
}

/**
 * A label value: comma-separated rules, spaces trimmed, empty items skipped. Valid rules are kept
 * when others are bad. A value over 4096 characters or 256 items is rejected whole.
 */
export function parseEgressList(text: string): { rules: EgressRule[]; errors: string[] } {
  const { items, error } = splitList(text, "egress rule list");
  if (error !== null) return { rules: [], errors: [error] };
  return collectRules(items, parseEgressRule);
}

/** Whether the rule allows the destination: proto and port first (cheap), then address or names. */
export function ruleMatches(rule: EgressRule, dst: EgressDestination): boolean {
  if (rule.proto !== null && rule.proto !== dst.proto) return false;
  if (!portInRange(rule.ports, dst.port)) return false;
  switch (rule.kind) {
    case "cidr":
      return rule.cidr.contains(dst.ip);
    case "host":
      return dst.names.includes(rule.host);
    case "wildcard": {
      const suffix = rule.suffix;
      // Longer than the suffix: "example.com" itself is not under "*.example.com".
      for (const name of dst.names) if (name.length > suffix.length && name.endsWith(suffix)) return true;
      return false;
    }
  }
}

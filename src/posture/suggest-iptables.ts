import { createHash } from "node:crypto";
import type { Proto } from "../model/events.js";
import { type Cidr, parseCidr } from "../net/cidr.js";
import { LABEL_EGRESS } from "../rules/label-policy.js";
import { type PortRange, portInRange } from "../rules/listen-rule.js";

/**
 * The DOCKER-USER rules of `policy suggest`: a chain per workload that returns what the workload
 * declares first, then what it was seen doing, then refuses the rest. Rules are built from
 * addresses only: a DNS name cannot be an iptables rule, and says so in a comment.
 */

/** One RETURN rule: a network (an address is a /32 or /128), with a proto and ports or not. */
export interface Allow {
  cidr: Cidr;
  proto: Proto | null;
  ports: PortRange | null;
  /** A comment line printed above it. */
  comment: string | null;
}

export interface IptablesInput {
  workload: string;
  /** The workload's container addresses, each with its container's name. */
  sources: readonly { ip: string; name: string }[];
  /** DNS servers it may always query (gateways and policy.dnsResolvers). */
  resolvers: ReadonlySet<string>;
  /** What it declares (labels, netmon.yaml): returned before anything else. */
  declared: readonly Allow[];
  /** What it was seen doing, as suggested. */
  suggested: readonly Allow[];
  /** Rules iptables cannot express (DNS names, containers not running), each as one comment. */
  unexpressed: readonly { rule: string; declared: boolean }[];
}

/** The chain name of a workload's suggested rules: stable, short (iptables allows 28 characters). */
export function policyChainName(workload: string): string {
  return `NETMON-POL-${createHash("sha256").update(workload).digest("hex").slice(0, 8)}`;
}

/** An address or network as an Allow; null when it is neither. */
export function allowOf(
  net: string,
  proto: Proto | null,
  ports: PortRange | null,
  comment: string | null = null,
): Allow | null {
  const cidr = parseCidr(net);
  return cidr === null ? null : { cidr, proto, ports, comment };
}

/** Whether the rules let the connection through. */
export function allows(list: readonly Allow[], ip: string, port: number, proto: Proto): boolean {
  return list.some(
    (a) => (a.proto === null || a.proto === proto) && portInRange(a.ports, port) && a.cidr.contains(ip),
  );
}

/** `-d NET [-p PROTO [--dport A[:B]]]`: a port needs a proto, so "any proto" with ports is two rules. */
function matchArgs(a: Allow): string[] {
  const single = a.cidr.prefix === (a.cidr.version === 4 ? 32 : 128);
  const dest = `-d ${single ? a.cidr.text.slice(0, a.cidr.text.lastIndexOf("/")) : a.cidr.text}`;
  if (a.proto === null && a.ports === null) return [dest];
  const dport =
    a.ports === null
      ? ""
      : ` --dport ${a.ports.from === a.ports.to ? a.ports.from : `${a.ports.from}:${a.ports.to}`}`;
  return (a.proto === null ? (["tcp", "udp"] as const) : [a.proto]).map((p) => `${dest} -p ${p}${dport}`);
}

export function iptablesFor(p: IptablesInput): { rules: string[]; undo: string[] } {
  const chain = policyChainName(p.workload);
  const rules: string[] = [];
  const undo: string[] = [];
  for (const family of [4, 6] as const) {
    const cmd = family === 4 ? "iptables" : "ip6tables";
    const inFamily = (ip: string) => ip.includes(":") === (family === 6);
    const src = p.sources.filter((s) => inFamily(s.ip));
    // IPv6 rules only when the workload has IPv6 addresses.
    if (family === 6 && src.length === 0) continue;
    const add = (args: string) => rules.push(`${cmd} -A ${chain} ${args} -j RETURN`);
    rules.push(
      `# ${cmd}: default-deny egress for workload ${p.workload}${src.length > 0 ? ` (${src.map((s) => `${s.name} ${s.ip}`).join(", ")})` : ""}`,
      `${cmd} -N ${chain}`,
      `${cmd} -A ${chain} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
    );
    const dns = [...p.resolvers].filter(inFamily).sort();
    if (dns.length > 0) rules.push("# DNS to its resolvers (network gateways, policy.dnsResolvers)");
    const seen = new Set<string>();
    for (const ip of dns) {
      for (const proto of ["udp", "tcp"]) {
        seen.add(`-d ${ip} -p ${proto} --dport 53`);
        add(`-d ${ip} -p ${proto} --dport 53`);
      }
    }
    const emit = (list: readonly Allow[], header: string) => {
      const mine = list.filter((a) => a.cidr.version === family);
      if (mine.length > 0) rules.push(header);
      for (const a of mine) {
        const args = matchArgs(a).filter((x) => !seen.has(x));
        if (args.length === 0) continue;
        if (a.comment !== null) rules.push(`# ${a.comment}`);
        for (const x of args) {
          seen.add(x);
          add(x);
        }
      }
    };
    emit(p.declared, "# what it declares (labels, netmon.yaml): allowed before anything is refused");
    emit(p.suggested, "# what it was seen doing");
    for (const u of p.unexpressed) {
      rules.push(
        `# not allowed here: ${u.declared ? "declared " : ""}${u.rule} is a DNS name (or a container not running now): iptables cannot follow DNS; the ${LABEL_EGRESS} label allows it (netmon follows the DNS answers)`,
      );
    }
    rules.push("# everything else is refused", `${cmd} -A ${chain} -j REJECT`);
    rules.push(
      "# send the workload's containers through it (per IP: run again when a container is re-created);",
      "# DOCKER-USER filters forwarded traffic only: connections to the host itself are not affected",
    );
    if (src.length === 0) {
      rules.push(
        `# no running container of ${p.workload}: for each of its IPs, ${cmd} -I DOCKER-USER -s IP -j ${chain}`,
      );
    }
    for (const s of src) {
      rules.push(`${cmd} -I DOCKER-USER -s ${s.ip} -j ${chain}`);
      undo.push(`${cmd} -D DOCKER-USER -s ${s.ip} -j ${chain}`);
    }
    undo.push(`${cmd} -F ${chain}`, `${cmd} -X ${chain}`);
  }
  return { rules, undo };
}

// Slightly over 400 lines: the suggestion builder and its dry run share private helpers; the
// formatting lives in suggest-format.ts already.
import { createHash } from "node:crypto";
import type { Baseline } from "../baseline/baseline.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { ConnectionEvent, ContainerRef, Proto } from "../model/events.js";
import { imageRepository, workloadOf } from "../model/workload.js";
import { normalizeIp } from "../net/ip-format.js";
import { type EgressRule, normalizeHostName, parseEgressRule, ruleMatches } from "../rules/egress-rule.js";
import { LABEL_EGRESS, LABEL_LISTEN } from "../rules/label-policy.js";
import { collectRules, MAX_LIST_CHARS, MAX_LIST_ITEMS, parseListenRule } from "../rules/listen-rule.js";

/**
 * `netmon policy suggest`: from a workload's learned baseline, the least-privilege policy that
 * allows exactly what it was seen doing, in three forms (container labels, a netmon.yaml workload
 * rule, iptables rules for DOCKER-USER), and a dry run of those rules over observed connections.
 * Pure: the caller brings the baseline, the containers and the events.
 */

export interface SuggestOptions {
  /** config.policy.dnsResolvers: always allowed on port 53, like each network's gateway. */
  dnsResolvers?: readonly string[];
  /** config.policy.egress: rules every container has anyway (the label dry run counts them as allowing). */
  globalEgress?: readonly EgressRule[];
  /** Dry run: events before this time (ms since the epoch) are ignored. */
  sinceMs?: number;
}

/** One destination of the dry run, with how often it was seen. */
export interface DryRunItem {
  /** "ip:port/proto" ("[ip]:port/proto" for IPv6). */
  dst: string;
  /** DNS names the container resolved for it (from the wire). */
  names: string[];
  /** The container at that address, if any. */
  container: string | null;
  count: number;
  first: string;
  last: string;
}

export interface DryRunReport {
  /** Connection attempts of the workload in the window. */
  observed: number;
  sinceMs: number | null;
  /** What netmon would alert on (unexpected-outbound) with the suggested labels and no baseline. */
  labels: { wouldAlert: DryRunItem[] };
  /**
   * What the iptables rules would refuse. `unfiltered`: destinations they do not allow but do not
   * see either — the host itself (its gateway address): DOCKER-USER only filters forwarded traffic.
   */
  iptables: { wouldBlock: DryRunItem[]; unfiltered: DryRunItem[] };
}

export interface PolicySuggestion {
  workload: string;
  learned: { firstSeen: string; egress: number; listen: number };
  /** The workload's running containers (their IPs go into the iptables jump rules). */
  containers: { id: string; name: string; ips: string[] }[];
  /** Egress and listen rules, in the label grammar (src/rules/egress-rule.ts, listen-rule.ts). */
  egress: string[];
  listen: string[];
  /** Labels to set: netmon.egress / netmon.listen, only when there is something to allow. */
  labels: Record<string, string>;
  /** Learned entries left out of the rules, with why. */
  omitted: { entry: string; reason: string }[];
  notes: string[];
  compose: string;
  dockerRun: string;
  configYaml: string;
  iptablesRules: string[];
  iptablesUndo: string[];
  dryRun: DryRunReport;
}

interface LearnedEgress {
  entry: string;
  dest: string;
  port: number;
  proto: Proto;
}

/** "dest|port|proto" → parts (dest may contain ":" for IPv6, never "|"). */
export function parseEgressEntry(entry: string): LearnedEgress | null {
  const m = /^(.+)\|(\d{1,5})\|(tcp|udp)$/.exec(entry);
  if (m === null) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { entry, dest: m[1]!, port, proto: m[3] as Proto };
}

const isV6 = (ip: string): boolean => ip.includes(":");
const hostPort = (ip: string, port: number, proto: string): string =>
  `${isV6(ip) ? `[${ip}]` : ip}:${port}/${proto}`;

/** The chain name of a workload's suggested rules: stable, short (iptables allows 28 characters). */
export function policyChainName(workload: string): string {
  return `NETMON-POL-${createHash("sha256").update(workload).digest("hex").slice(0, 8)}`;
}

function ipsOf(c: ContainerInfo): string[] {
  return c.networks.flatMap((n) => [n.ipv4, n.ipv6].filter((ip): ip is string => ip !== null));
}

/** Whether an event's source container belongs to the workload (log lines carry no Compose project). */
function belongsTo(
  ref: ContainerRef,
  workload: string,
  ids: ReadonlySet<string>,
  names: ReadonlySet<string>,
): boolean {
  if (workloadOf(ref) === workload) return true;
  if (ids.has(ref.id.slice(0, 12)) || names.has(ref.name)) return true;
  return ref.project === null && ref.service !== null && workload.endsWith(`/${ref.service}`);
}

function aggregate(items: Map<string, DryRunItem>, ev: ConnectionEvent, names: readonly string[]): void {
  const key = hostPort(ev.dst.ip, ev.dst.port, ev.proto);
  const at = new Date(ev.ts).toISOString();
  const item = items.get(key);
  if (item === undefined) {
    items.set(key, {
      dst: key,
      names: [...new Set(names)].slice(0, 8),
      container: ev.dst.container?.name ?? null,
      count: 1,
      first: at,
      last: at,
    });
    return;
  }
  item.count++;
  if (at < item.first) item.first = at;
  if (at > item.last) item.last = at;
  for (const n of names) if (item.names.length < 8 && !item.names.includes(n)) item.names.push(n);
}

const yamlList = (items: readonly string[]): string => `[${items.map((i) => JSON.stringify(i)).join(", ")}]`;

/** The policy.workloads match that selects this workload, from one of its containers. */
function matchOf(workload: string, containers: readonly ContainerInfo[]): string {
  const c = containers[0];
  if (c === undefined)
    return `{ service: ${JSON.stringify(workload)} }  # no running container: check the match`;
  if (c.ref.project && c.ref.service) return `{ service: ${JSON.stringify(workload)} }`;
  if (imageRepository(c.ref.image) === workload) return `{ image: ${JSON.stringify(workload)} }`;
  return `{ name: ${JSON.stringify(workload)} }`;
}

export function suggestPolicy(
  baseline: Baseline,
  workload: string,
  containers: readonly ContainerInfo[],
  observed?: readonly ConnectionEvent[],
  opts: SuggestOptions = {},
): PolicySuggestion {
  const learned = baseline.describe(workload);
  if (learned === null) throw new Error(`no baseline for workload ${JSON.stringify(workload)}`);
  const running = containers.filter((c) => c.running);
  const own = running.filter((c) => workloadOf(c.ref) === workload);
  const gateways = new Set(
    own.flatMap((c) => c.networks.map((n) => n.gateway).filter((g): g is string => !!g)),
  );
  const resolvers = new Set<string>(gateways);
  for (const r of opts.dnsResolvers ?? []) resolvers.add(normalizeIp(r) ?? r);

  // Lower-cased container names and Compose services → their current IPs.
  const byName = new Map<string, { name: string; ips: string[] }>();
  for (const c of running) {
    for (const n of [c.ref.name, c.ref.service]) {
      if (!n) continue;
      const key = n.toLowerCase();
      const prev = byName.get(key);
      if (prev === undefined) byName.set(key, { name: c.ref.name, ips: ipsOf(c) });
      else prev.ips.push(...ipsOf(c));
    }
  }

  const egress: string[] = [];
  const omitted: { entry: string; reason: string }[] = [];
  const notes: string[] = [];
  /** iptables allow rules per family: "ip|port|proto", with a comment above some of them. */
  const allow: { ip: string; port: number; proto: Proto; comment: string | null }[] = [];
  const nameOnly: string[] = [];
  for (const entry of learned.egress) {
    const e = parseEgressEntry(entry);
    if (e === null) {
      omitted.push({ entry, reason: "not a dest|port|proto entry" });
      continue;
    }
    const ip = normalizeIp(e.dest);
    if (ip !== null) {
      if (e.port === 53 && resolvers.has(ip)) {
        omitted.push({ entry, reason: "DNS to its resolver: always allowed" });
        continue;
      }
      egress.push(hostPort(ip, e.port, e.proto));
      allow.push({ ip, port: e.port, proto: e.proto, comment: null });
      continue;
    }
    const host = normalizeHostName(e.dest);
    if (host === null) {
      omitted.push({ entry, reason: "not a valid host name for a rule" });
      continue;
    }
    const rule = `${host}:${e.port}/${e.proto}`;
    egress.push(rule);
    const peer = byName.get(host);
    if (peer !== undefined && peer.ips.length > 0) {
      peer.ips.forEach((peerIp, i) => {
        allow.push({
          ip: peerIp,
          port: e.port,
          proto: e.proto,
          comment:
            i === 0
              ? `${rule}: container ${peer.name}, at ${peer.ips.join(", ")} now (its IP changes when it is re-created: suggest again then)`
              : null,
        });
      });
    } else {
      nameOnly.push(rule);
    }
  }
  const listen = [...learned.listen];

  // What is printed must parse back with zero errors (each rule), and fit in a label (all of them).
  const labels: Record<string, string> = {};
  const egressText = egress.join(", ");
  const listenText = listen.join(", ");
  const { rules: egressRules, errors: egressErrors } = collectRules(egress, parseEgressRule);
  const parseErrors = [...egressErrors, ...collectRules(listen, parseListenRule).errors];
  if (parseErrors.length > 0) throw new Error(`suggested rules do not parse back: ${parseErrors.join("; ")}`);
  const fits = (text: string, n: number) => text.length <= MAX_LIST_CHARS && n <= MAX_LIST_ITEMS;
  for (const [key, text, n] of [
    [LABEL_EGRESS, egressText, egress.length],
    [LABEL_LISTEN, listenText, listen.length],
  ] as const) {
    if (n === 0) continue;
    if (fits(text, n)) labels[key] = text;
    else
      notes.push(
        `${key}: ${n} rules (${text.length} characters) exceed a label's ${MAX_LIST_ITEMS} items / ${MAX_LIST_CHARS} characters: use the netmon.yaml form`,
      );
  }
  if (egress.length === 0)
    notes.push("it learned no egress (DNS to its resolver aside): nothing to allow, everything else refused");

  // Three forms of the same rules.
  const service = own[0]?.ref.project && own[0].ref.service ? own[0].ref.service : "SERVICE";
  const labelEntries = Object.entries(labels);
  const compose = [
    "services:",
    `  ${service}:`,
    ...(labelEntries.length === 0
      ? ["    labels: {}"]
      : ["    labels:", ...labelEntries.map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)]),
  ].join("\n");
  const dockerRun = labelEntries.map(([k, v]) => `--label '${k}=${v}'`).join(" ");
  const configYaml = [
    "policy:",
    "  workloads:",
    `    - match: ${matchOf(workload, own)}`,
    `      egress: ${yamlList(egress)}`,
    `      listen: ${yamlList(listen)}`,
  ].join("\n");

  const { rules, undo } = iptablesFor(workload, own, resolvers, allow, nameOnly);
  const dryRun = dryRunOf(workload, own, observed, opts, {
    resolvers,
    gateways,
    labelRules: [...(opts.globalEgress ?? []), ...egressRules],
    allow: new Set(allow.map((a) => `${a.ip}|${a.port}|${a.proto}`)),
  });

  return {
    workload,
    learned: {
      firstSeen: new Date(learned.firstSeen).toISOString(),
      egress: learned.egress.length,
      listen: learned.listen.length,
    },
    containers: own.map((c) => ({ id: c.ref.id, name: c.ref.name, ips: ipsOf(c) })),
    egress,
    listen,
    labels,
    omitted,
    notes,
    compose,
    dockerRun,
    configYaml,
    iptablesRules: rules,
    iptablesUndo: undo,
    dryRun,
  };
}

function iptablesFor(
  workload: string,
  own: readonly ContainerInfo[],
  resolvers: ReadonlySet<string>,
  allow: readonly { ip: string; port: number; proto: Proto; comment: string | null }[],
  nameOnly: readonly string[],
): { rules: string[]; undo: string[] } {
  const chain = policyChainName(workload);
  const rules: string[] = [];
  const undo: string[] = [];
  const sources = own.flatMap((c) => ipsOf(c).map((ip) => ({ ip, name: c.ref.name })));
  for (const family of [4, 6] as const) {
    const cmd = family === 4 ? "iptables" : "ip6tables";
    const inFamily = (ip: string) => isV6(ip) === (family === 6);
    const src = sources.filter((s) => inFamily(s.ip));
    // IPv6 rules only when the workload has IPv6 addresses.
    if (family === 6 && src.length === 0) continue;
    const add = (args: string) => rules.push(`${cmd} -A ${chain} ${args}`);
    rules.push(
      `# ${cmd}: default-deny egress for workload ${workload}${src.length > 0 ? ` (${src.map((s) => `${s.name} ${s.ip}`).join(", ")})` : ""}`,
      `${cmd} -N ${chain}`,
    );
    add("-m conntrack --ctstate ESTABLISHED,RELATED -j RETURN");
    const dns = [...resolvers].filter(inFamily).sort();
    if (dns.length > 0) rules.push("# DNS to its resolvers (network gateways, policy.dnsResolvers)");
    for (const ip of dns)
      for (const proto of ["udp", "tcp"]) add(`-d ${ip} -p ${proto} --dport 53 -j RETURN`);
    const seen = new Set<string>();
    for (const a of allow) {
      if (!inFamily(a.ip)) continue;
      const key = `${a.ip}|${a.port}|${a.proto}`;
      if (seen.has(key) || (a.port === 53 && resolvers.has(a.ip))) continue;
      seen.add(key);
      if (a.comment !== null) rules.push(`# ${a.comment}`);
      add(`-d ${a.ip} -p ${a.proto} --dport ${a.port} -j RETURN`);
    }
    for (const rule of nameOnly) {
      rules.push(
        `# not allowed here: ${rule} is a DNS name (or a container not running now): iptables cannot follow DNS; the ${LABEL_EGRESS} label allows it (netmon follows the DNS answers)`,
      );
    }
    rules.push("# everything else is refused", `${cmd} -A ${chain} -j REJECT`);
    rules.push(
      "# send the workload's containers through it (per IP: run again when a container is re-created);",
      "# DOCKER-USER filters forwarded traffic only: connections to the host itself are not affected",
    );
    if (src.length === 0) {
      rules.push(
        `# no running container of ${workload}: for each of its IPs, ${cmd} -I DOCKER-USER -s IP -j ${chain}`,
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

function dryRunOf(
  workload: string,
  own: readonly ContainerInfo[],
  observed: readonly ConnectionEvent[] | undefined,
  opts: SuggestOptions,
  p: {
    resolvers: ReadonlySet<string>;
    gateways: ReadonlySet<string>;
    labelRules: readonly EgressRule[];
    allow: ReadonlySet<string>;
  },
): DryRunReport {
  const ids = new Set(own.map((c) => c.ref.id.slice(0, 12)));
  const names = new Set(own.map((c) => c.ref.name));
  const alert = new Map<string, DryRunItem>();
  const block = new Map<string, DryRunItem>();
  const unfiltered = new Map<string, DryRunItem>();
  let count = 0;
  for (const ev of observed ?? []) {
    if (ev.kind !== "connection" || ev.state !== "attempt" || ev.src.container === null) continue;
    if (opts.sinceMs !== undefined && ev.ts < opts.sinceMs) continue;
    if (!belongsTo(ev.src.container, workload, ids, names)) continue;
    count++;
    const dst = ev.dst;
    const dnsOk = dst.port === 53 && p.resolvers.has(dst.ip);
    const destNames = [
      ...(dst.names ?? []),
      ...(dst.container === null
        ? []
        : [
            dst.container.name.toLowerCase(),
            ...(dst.container.service ? [dst.container.service.toLowerCase()] : []),
          ]),
    ];
    const target = { ip: dst.ip, port: dst.port, proto: ev.proto, names: destNames };
    if (!dnsOk && !p.labelRules.some((r) => ruleMatches(r, target))) aggregate(alert, ev, dst.names ?? []);
    if (!dnsOk && !p.allow.has(`${dst.ip}|${dst.port}|${ev.proto}`)) {
      aggregate(p.gateways.has(dst.ip) ? unfiltered : block, ev, dst.names ?? []);
    }
  }
  const list = (m: Map<string, DryRunItem>) => [...m.values()].sort((a, b) => b.count - a.count);
  return {
    observed: count,
    sinceMs: opts.sinceMs ?? null,
    labels: { wouldAlert: list(alert) },
    iptables: { wouldBlock: list(block), unfiltered: list(unfiltered) },
  };
}

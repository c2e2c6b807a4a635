import type { Baseline } from "../baseline/baseline.js";
import { parseEntry } from "../baseline/baseline.js";
import { defaultConfig } from "../config/default-config.js";
import type { PolicyConfig } from "../detection/policy.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { ConnectionEvent, ContainerRef, Proto } from "../model/events.js";
import { imageRepository, workloadOf } from "../model/workload.js";
import { normalizeIp } from "../net/ip-format.js";
import { normalizeHostName, parseEgressList } from "../rules/egress-rule.js";
import { LABEL_EGRESS, LABEL_LISTEN } from "../rules/label-policy.js";
import { MAX_LIST_CHARS, MAX_LIST_ITEMS, parseListenList } from "../rules/listen-rule.js";
import type { LoggedAlert } from "./suggest-alerts.js";
import { allowsOfDeclared, allowsOfSpans } from "./suggest-allows.js";
import { Declarations, type LabelChange, mergeLabel } from "./suggest-declared.js";
import { type DryRunReport, dryRunOf } from "./suggest-dry-run.js";
import { EntryJudge, type LearnedEntry } from "./suggest-evidence.js";
import { iptablesFor } from "./suggest-iptables.js";
import { foldListen, foldPorts, spanRule } from "./suggest-ports.js";

export type { BrokenItem, DryRunItem, DryRunReport } from "./suggest-dry-run.js";
export { policyChainName } from "./suggest-iptables.js";

/**
 * `netmon policy suggest`: from a workload's learned baseline, the least-privilege policy that
 * allows what it was seen doing — minus what raised an alert or was only seen in a scan, burst or
 * failed connection — merged into what it already declares, in three forms (container labels, a
 * netmon.yaml workload rule, iptables rules for DOCKER-USER), with a dry run of those rules over
 * observed connections. Pure: the caller brings the baseline, the containers, events and alerts.
 */

export interface SuggestOptions {
  /** The config's mode, policy and baseline sections (default: the shipped defaults). */
  config?: PolicyConfig;
  /** Dry run: events before this time (ms since the epoch) are ignored. */
  sinceMs?: number;
  /** The alerts of the same log (readLoggedAlerts): what they name is never suggested. */
  alerts?: readonly LoggedAlert[];
}

export interface PolicySuggestion {
  workload: string;
  learned: { firstSeen: string; egress: number; listen: number };
  /** The workload's running containers (their IPs go into the iptables jump rules). */
  containers: { id: string; name: string; ips: string[] }[];
  /** New egress and listen rules, in the label grammar (src/rules/egress-rule.ts, listen-rule.ts). */
  egress: string[];
  listen: string[];
  /** Labels to set: what is declared with the new rules appended; only keys with something to allow. */
  labels: Record<string, string>;
  /** Each label's change, as "- key=old" / "+ key=new" lines. */
  labelDiff: string[];
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

/** Address → the names it is known by: container names and services (lower case), DNS answers. */
function addressBook(running: readonly ContainerInfo[], events: readonly ConnectionEvent[]) {
  const book = new Map<string, Set<string>>();
  const add = (ip: string, names: readonly string[]) => {
    const set = book.get(ip) ?? new Set<string>();
    book.set(ip, set);
    for (const n of names) set.add(n.toLowerCase());
  };
  const refNames = (r: ContainerRef) => [r.name, ...(r.service ? [r.service] : [])];
  for (const c of running) for (const ip of ipsOf(c)) add(ip, refNames(c.ref));
  for (const ev of events) {
    add(ev.dst.ip, [...(ev.dst.names ?? []), ...(ev.dst.container ? refNames(ev.dst.container) : [])]);
  }
  return (ip: string): readonly string[] => [...(book.get(ip) ?? [])];
}

/** The workload's learned entries, with when each was learned. */
function learnedEntries(baseline: Baseline, workload: string): LearnedEntry[] {
  const out: LearnedEntry[] = [];
  for (const e of baseline.entries(workload)) {
    const parsed = parseEntry(e.entry);
    if (parsed === null) continue;
    if (parsed.kind === "listen") {
      const [port, proto] = parsed.key.split("/");
      out.push({
        kind: "listen",
        entry: parsed.key,
        dest: null,
        port: Number(port),
        proto: proto as Proto,
        firstSeen: e.firstSeen,
      });
      continue;
    }
    const m = /^(.+)\|(\d{1,5})\|(tcp|udp)$/.exec(parsed.key);
    if (m === null) continue;
    out.push({
      kind: "egress",
      entry: parsed.key,
      dest: m[1]!,
      port: Number(m[2]),
      proto: m[3] as Proto,
      firstSeen: e.firstSeen,
    });
  }
  return out.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
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
  const config = opts.config ?? defaultConfig();
  const running = containers.filter((c) => c.running);
  const own = running.filter((c) => workloadOf(c.ref) === workload);
  const gateways = new Set(
    own.flatMap((c) => c.networks.map((n) => n.gateway).filter((g): g is string => !!g)),
  );
  const resolvers = new Set<string>(gateways);
  for (const r of config.policy.dnsResolvers) resolvers.add(normalizeIp(r) ?? r);
  const events = observed ?? [];

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

  const ids = new Set(own.map((c) => c.ref.id.slice(0, 12)));
  const names = new Set(own.map((c) => c.ref.name));
  const isOwn = (ref: ContainerRef) => belongsTo(ref, workload, ids, names);
  const namesOf = addressBook(running, events);
  const ownIps = new Set(own.flatMap(ipsOf));
  for (const ev of events) if (ev.dst.container !== null && isOwn(ev.dst.container)) ownIps.add(ev.dst.ip);
  const judge = new EntryJudge({ workload, isOwn, namesOf, ownIps, events, alerts: opts.alerts ?? [] });
  // With no container running (Docker unreachable), one from the log stands in for the workload.
  const standIn = own.length > 0 ? undefined : standInFor(events, isOwn);
  const judged = standIn === undefined ? own : [standIn];
  const everyone = standIn === undefined ? running : [...running, standIn];
  const declared = new Declarations(judged, everyone, config);

  const omitted: { entry: string; reason: string }[] = [];
  const notes: string[] = [...declared.notes];
  const egressItems: { dest: string; port: number; proto: Proto }[] = [];
  const listenItems: { port: number; proto: Proto }[] = [];
  for (const e of learnedEntries(baseline, workload)) {
    const omit = (reason: string) => omitted.push({ entry: e.entry, reason });
    let dest = "";
    if (e.kind === "egress") {
      const ip = normalizeIp(e.dest ?? "");
      if (ip !== null && e.port === 53 && resolvers.has(ip)) {
        omit("DNS to its resolver: always allowed");
        continue;
      }
      const host = ip ?? normalizeHostName(e.dest ?? "");
      if (host === null) {
        omit("not a valid host name for a rule");
        continue;
      }
      dest = host;
    }
    const why = judge.reasonToOmit(e);
    if (why !== null) {
      omit(why);
      continue;
    }
    if (e.kind === "listen") {
      if (declared.listenDeclared(e.port, e.proto)) omit("already declared");
      else listenItems.push({ port: e.port, proto: e.proto });
      continue;
    }
    const ip = normalizeIp(dest);
    const by = declared.egressAllowedBy({
      ip: ip ?? "",
      port: e.port,
      proto: e.proto,
      names: ip === null ? [dest] : [],
      container: null,
    });
    if (by !== null) omit(`already declared (${by})`);
    else egressItems.push({ dest, port: e.port, proto: e.proto });
  }

  const spans = foldPorts(egressItems);
  const egress = spans.map(spanRule);
  const listen = foldListen(listenItems);
  const changes = [mergeLabel(declared.egressLabel, egress), mergeLabel(declared.listenLabel, listen)];
  const labels = labelsOf(changes, notes);
  if (egress.length === 0 && declared.egressLabel.items.length === 0)
    notes.push("nothing to allow (DNS to its resolver aside): everything else refused");

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
  const items = (c: LabelChange) => parseItems(c.value);
  const configYaml = [
    "policy:",
    "  workloads:",
    `    - match: ${matchOf(workload, own)}`,
    `      egress: ${yamlList(items(changes[0]!))}`,
    `      listen: ${yamlList(items(changes[1]!))}`,
  ].join("\n");

  const suggested = allowsOfSpans(spans, byName);
  const declaredAllows = allowsOfDeclared(declared, byName);
  const { rules, undo } = iptablesFor({
    workload,
    sources: own.flatMap((c) => ipsOf(c).map((ip) => ({ ip, name: c.ref.name }))),
    resolvers,
    declared: declaredAllows.allow,
    suggested: suggested.allow,
    unexpressed: [...declaredAllows.unexpressed, ...suggested.unexpressed],
  });

  // The dry run judges with the merged labels as they would be set.
  const relabel = (c: ContainerInfo): ContainerInfo =>
    judged.includes(c) ? { ...c, labels: { ...withoutAllowLabels(c.labels), ...labels } } : c;
  const merged = new Declarations(judged.map(relabel), everyone.map(relabel), config);
  const fallback = judged[0]?.ref ?? null;
  const dryRun = dryRunOf({
    observed,
    sinceMs: opts.sinceMs,
    ownRef: (ref) => {
      if (!isOwn(ref)) return null;
      return own.find((c) => c.ref.id.startsWith(ref.id) || c.ref.name === ref.name)?.ref ?? fallback ?? ref;
    },
    resolvers,
    gateways,
    declared,
    merged,
    allow: [...declaredAllows.allow, ...suggested.allow],
  });

  if (opts.alerts === undefined && observed === undefined) {
    notes.push(
      "not checked against alerts, scans and failed connections: give the daemon's log (--events FILE) to leave those out",
    );
  }
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
    labelDiff: changes.flatMap((c) => c.diff),
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

/** A container of the workload as the log names it: no labels, no networks (Docker was not asked). */
function standInFor(
  events: readonly ConnectionEvent[],
  isOwn: (ref: ContainerRef) => boolean,
): ContainerInfo | undefined {
  const ref = events.find((ev) => ev.src.container !== null && isOwn(ev.src.container))?.src.container;
  if (ref == null) return undefined;
  return {
    ref,
    imageId: "",
    labels: {},
    imageLabels: null,
    networks: [],
    pid: 0,
    exposedPorts: [],
    publishedPorts: [],
    startedAt: 0,
    finishedAt: null,
    running: true,
  };
}

const parseItems = (value: string | null): string[] =>
  value === null
    ? []
    : value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");

const withoutAllowLabels = (labels: Record<string, string>): Record<string, string> => {
  const { [LABEL_EGRESS]: _e, [LABEL_LISTEN]: _l, ...rest } = labels;
  return rest;
};

/** The labels to set; what is printed must parse back with zero errors and fit in a label. */
function labelsOf(changes: readonly LabelChange[], notes: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const c of changes) {
    if (c.value === null) continue;
    const parsed = c.key === LABEL_EGRESS ? parseEgressList(c.value) : parseListenList(c.value);
    const n = parseItems(c.value).length;
    if (c.value.length > MAX_LIST_CHARS || n > MAX_LIST_ITEMS) {
      notes.push(
        `${c.key}: ${n} rules (${c.value.length} characters) exceed a label's ${MAX_LIST_ITEMS} items / ${MAX_LIST_CHARS} characters: use the netmon.yaml form`,
      );
      continue;
    }
    if (parsed.errors.length > 0)
      throw new Error(`suggested ${c.key} does not parse back: ${parsed.errors.join("; ")}`);
    labels[c.key] = c.value;
  }
  return labels;
}

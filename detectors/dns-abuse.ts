import { z } from "zod";
import { doc } from "../src/model/config-meta.js";
import {
  type DetectorContext,
  type DetectorModule,
  isAlerting,
  NO_FINDINGS,
} from "../src/model/detector-api.js";
import type { ContainerRef, DnsEvent, NetmonEvent } from "../src/model/events.js";
import type { Finding, Severity } from "../src/model/finding.js";
import { formatDuration } from "../src/util/duration.js";
import { isUnder, type NameShape, nameHash, nameShape } from "./dns-abuse-names.js";

/**
 * dns-abuse: what a container asks its DNS resolver, from the responses seen on the wire
 * (DnsEvent), per container and in event time over a sliding window:
 * - tunnel: many distinct names under one registrable domain (data encoded in the labels; RITA's
 *   default is 100), critical when most of them have long or random-looking labels;
 * - dga: NXDOMAIN answers for many distinct registrable domains (malware trying generated names).
 * Lookups that are high-cardinality by design are not counted (dns-abuse-names.ts): reverse
 * lookups, service discovery, internal names, DNSBL-style names, ignored domains; nor the lookups
 * of a container labelled netmon.dns-server=true. A search-domain expansion (name.corp.example.com
 * NXDOMAIN just before name answers) teaches the container's search suffix: those NXDOMAINs are not
 * counted. Counts are of name hashes, capped at the threshold per domain; pairs and containers are
 * capped (least recently active forgotten, counted). Scored in every mode but off, reported once
 * monitored, at most once per window per domain (tunnel) or container (dga).
 */

const options = z.strictObject({
  windowMs: doc(
    z.number().int().positive().default(600_000),
    "Sliding window (ms of event time) over which distinct names are counted. Longer catches slower tunnels and DGAs, and lets busy but benign clients add up to the thresholds.",
  ),
  tunnelNames: doc(
    z.number().int().min(10).max(10_000).default(100),
    "Distinct names under one registrable domain within the window that make a tunnel (RITA's default: 100). Lower catches short exfiltration, and flags clients of many hosts under one domain.",
  ),
  dgaDomains: doc(
    z.number().int().min(5).max(10_000).default(25),
    "Distinct registrable domains answered NXDOMAIN within the window that make a DGA burst. Lower catches slower DGAs, and flags clients that follow many dead links.",
  ),
  ignoreDomains: doc(
    z.array(z.string().trim().toLowerCase().min(1).max(253)).default([]),
    'Names under these domains are never counted (e.g. "sophosxl.net": an anti-virus that looks hashes up by DNS, a tunnel by design).',
  ),
  maxDomains: doc(
    z.number().int().positive().default(10_000),
    "Container and registrable domain pairs tracked at once (the least recently active is forgotten beyond it, counted in the status line); each holds up to tunnelNames name hashes.",
  ),
  maxContainers: doc(
    z.number().int().positive().default(2_000),
    "Containers whose NXDOMAIN answers are tracked at once (the least recently active is forgotten beyond it, counted in the status line).",
  ),
});

export type DnsAbuseOptions = z.output<typeof options>;

/** The kinds of finding dns-abuse raises. */
export const DNS_ABUSE_FINDINGS = {
  tunnel:
    "a container asks for many distinct names under one registrable domain (DNS tunneling, exfiltration); critical when most carry long or random-looking labels",
  dga: "a container gets NXDOMAIN for many distinct registrable domains (malware trying generated domain names)",
} as const;

/** dns-abuse's Finding.details. */
export interface DnsAbuseDetails {
  /** tunnel: the registrable domain; dga: null. */
  domain: string | null;
  /** Distinct names (tunnel) or NXDOMAIN domains (dga) counted within the window (capped at the threshold). */
  distinct: number;
  windowMs: number;
  /** First to last counted name within the window (ms). */
  spanMs: number;
  /** tunnel: percent of the counted names with long or random-looking labels. */
  encodedPct: number;
  /** The latest name counted, cut to 100 characters. */
  example: string;
  /** The DNS server that answered it. */
  server: string;
}

const NAME = "dns-abuse";
const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;
/** Most of a tunnel's names look encoded: critical. */
const CRITICAL_ENCODED_SHARE = 0.5;
/** NXDOMAINs kept to match a following answer (search-domain expansion), and for how long. */
const RECENT_NX = 8;
const SEARCH_PAIR_MS = 2_000;
/** Search suffixes learned per container (the resolv.conf search list: at most 6 under glibc). */
const MAX_SUFFIXES = 6;
const EXAMPLE_CHARS = 100;

/** Distinct hashes with their latest time; insertion order = least recently seen first. */
class SlidingSet {
  readonly seen = new Map<number, number>();
  /** How many held entries are flagged (tunnel: encoded names). */
  flagged = 0;
  lastFired = Number.NEGATIVE_INFINITY;
  example = "";
  server = "";

  /** Adds (or refreshes) `hash` at `ts`, drops what left the window, keeps at most `cap`. */
  add(hash: number, ts: number, flag: boolean, windowMs: number, cap: number): void {
    const before = this.seen.get(hash);
    if (before !== undefined) {
      this.seen.delete(hash);
      if (before % 2 === 1) this.flagged--;
    }
    this.seen.set(hash, ts * 2 + (flag ? 1 : 0));
    if (flag) this.flagged++;
    this.prune(ts - windowMs, cap);
  }

  remove(hash: number): void {
    const v = this.seen.get(hash);
    if (v === undefined) return;
    this.seen.delete(hash);
    if (v % 2 === 1) this.flagged--;
  }

  /** Forgets entries last seen before `since`, and the oldest beyond `cap`. */
  prune(since: number, cap: number): void {
    for (const [hash, v] of this.seen) {
      if (Math.floor(v / 2) >= since && this.seen.size <= cap) break;
      this.seen.delete(hash);
      if (v % 2 === 1) this.flagged--;
    }
  }

  /** Time of the oldest held entry (or NaN when empty). */
  oldest(): number {
    const first = this.seen.values().next();
    return first.done ? Number.NaN : Math.floor(first.value / 2);
  }
}

/** What dns-abuse holds of one container besides its domains: NXDOMAINs and search suffixes. */
class ContainerDns {
  readonly nx = new SlidingSet();
  readonly recentNx: { name: string; ts: number; domain: string }[] = [];
  readonly suffixes: string[] = [];
}

/** A map whose insertion order is activity: get() re-inserts, set() beyond `max` drops the oldest. */
class Lru<V> {
  readonly map = new Map<string, V>();
  evictions = 0;
  constructor(private readonly max: number) {}

  touch(key: string, make: () => V): V {
    let v = this.map.get(key);
    if (v !== undefined) this.map.delete(key);
    else {
      if (this.map.size >= this.max) {
        const oldest = this.map.keys().next();
        if (!oldest.done) this.map.delete(oldest.value);
        this.evictions++;
      }
      v = make();
    }
    this.map.set(key, v);
    return v;
  }
}

class DnsAbuseDetector {
  private readonly domains: Lru<SlidingSet>;
  private readonly containers: Lru<ContainerDns>;
  private found = 0;
  private nextSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly opts: DnsAbuseOptions,
    private readonly ctx: DetectorContext,
  ) {
    this.domains = new Lru(opts.maxDomains);
    this.containers = new Lru(opts.maxContainers);
  }

  onEvent(ev: NetmonEvent): readonly Finding[] {
    if (ev.kind !== "dns" || ev.dnsServer === true) return NO_FINDINGS;
    const mode = this.ctx.modeOf(ev.container, ev.ts);
    if (mode === "off") return NO_FINDINGS;
    const shape = nameShape(ev.qname, ev.qtype, this.opts.ignoreDomains);
    if (ev.rcode === RCODE_NOERROR) {
      const known = this.containers.map.get(ev.container.id);
      if (known !== undefined) this.unlearnSearch(ev, known, shape?.domain ?? null);
    }
    if (shape === null) return NO_FINDINGS;
    const nx = ev.rcode === RCODE_NXDOMAIN;
    const state = nx ? this.containers.touch(ev.container.id, () => new ContainerDns()) : null;
    if (state?.suffixes.some((s) => isUnder(ev.qname, s))) return NO_FINDINGS;
    // Counted while learning too (a tunnel running then is found once monitored); reported only then.
    const alerting = isAlerting(mode);
    const out: Finding[] = [];
    if (shape.subLength > 0) this.countTunnel(ev, shape, alerting, out);
    if (state !== null) this.countNx(ev, shape, state, alerting, out);
    return out.length > 0 ? out : NO_FINDINGS;
  }

  private countTunnel(ev: DnsEvent, shape: NameShape, alerting: boolean, out: Finding[]): void {
    const o = this.opts;
    const set = this.domains.touch(`${ev.container.id} ${shape.domain}`, () => new SlidingSet());
    set.add(nameHash(ev.qname), ev.ts, shape.encoded, o.windowMs, o.tunnelNames);
    set.example = ev.qname;
    set.server = ev.server;
    if (set.seen.size < o.tunnelNames || !alerting) return;
    if (ev.ts - set.lastFired < o.windowMs) return;
    set.lastFired = ev.ts;
    const encodedShare = set.flagged / set.seen.size;
    const severity: Severity = encodedShare >= CRITICAL_ENCODED_SHARE ? "critical" : "warning";
    const span = ev.ts - set.oldest();
    const how =
      encodedShare > 0 ? `, ${Math.round(encodedShare * 100)} % with long or random-looking labels` : "";
    out.push(
      this.finding(ev, "tunnel", `tunnel:${shape.domain}`, severity, set, shape.domain, {
        summary:
          `${ev.container.name} asked for ${set.seen.size} distinct names under ${shape.domain} in ` +
          `${formatDuration(span)}${how} (e.g. ${exampleOf(ev.qname)}): DNS tunneling or exfiltration?`,
        encodedPct: Math.round(encodedShare * 100),
      }),
    );
  }

  private countNx(
    ev: DnsEvent,
    shape: NameShape,
    state: ContainerDns,
    alerting: boolean,
    out: Finding[],
  ): void {
    const o = this.opts;
    const recent = state.recentNx;
    if (recent.length >= RECENT_NX) recent.shift();
    recent.push({ name: ev.qname, ts: ev.ts, domain: shape.domain });
    const set = state.nx;
    set.add(nameHash(shape.domain), ev.ts, false, o.windowMs, o.dgaDomains);
    set.example = ev.qname;
    set.server = ev.server;
    if (set.seen.size < o.dgaDomains || !alerting) return;
    if (ev.ts - set.lastFired < o.windowMs) return;
    set.lastFired = ev.ts;
    out.push(
      this.finding(ev, "dga", "dga", "warning", set, null, {
        summary:
          `${ev.container.name} got NXDOMAIN for ${set.seen.size} distinct domains in ` +
          `${formatDuration(ev.ts - set.oldest())} (e.g. ${exampleOf(ev.qname)}): generated domain names (DGA)?`,
        encodedPct: 0,
      }),
    );
  }

  /**
   * `ev` answered: NXDOMAINs just before it for the same name under a suffix (name.corp.example.com)
   * or with the same first label under another (db.a.example.com, then db.b.example.com) were the
   * resolver's search list (the latter only within one registrable domain: "www." starts many
   * names). They are uncounted, and NXDOMAINs under their suffix are not counted again.
   */
  private unlearnSearch(ev: DnsEvent, state: ContainerDns, domain: string | null): void {
    const recent = state.recentNx;
    if (recent.length === 0) return;
    const dot = ev.qname.indexOf(".");
    const first = dot < 0 ? ev.qname : ev.qname.slice(0, dot);
    for (let i = recent.length - 1; i >= 0; i--) {
      const r = recent[i]!;
      if (ev.ts - r.ts > SEARCH_PAIR_MS) break;
      const prefix = r.name.startsWith(`${ev.qname}.`)
        ? ev.qname
        : r.domain === domain && r.name !== ev.qname && r.name.startsWith(`${first}.`)
          ? first
          : null;
      if (prefix === null) continue;
      recent.splice(i, 1);
      const suffix = r.name.slice(prefix.length + 1);
      if (!state.suffixes.includes(suffix)) {
        if (state.suffixes.length >= MAX_SUFFIXES) state.suffixes.shift();
        state.suffixes.push(suffix);
      }
      state.nx.remove(nameHash(r.domain));
      this.domains.map.get(`${ev.container.id} ${r.domain}`)?.remove(nameHash(r.name));
    }
  }

  private finding(
    ev: DnsEvent,
    kind: keyof typeof DNS_ABUSE_FINDINGS,
    key: string,
    severity: Severity,
    set: SlidingSet,
    domain: string | null,
    text: { summary: string; encodedPct: number },
  ): Finding {
    this.found++;
    const container: ContainerRef = ev.container;
    return {
      detector: NAME,
      kind,
      severity,
      key,
      container,
      workload: this.ctx.workloadOf(container),
      summary: text.summary,
      ts: ev.ts,
      details: {
        domain,
        distinct: set.seen.size,
        windowMs: this.opts.windowMs,
        spanMs: ev.ts - set.oldest(),
        encodedPct: text.encodedPct,
        example: set.example.slice(0, EXAMPLE_CHARS),
        server: set.server,
      } satisfies DnsAbuseDetails,
    };
  }

  /** Once per window: forgets domains and containers with nothing left in the window. */
  onTick(nowMs: number): readonly Finding[] {
    if (nowMs < this.nextSweep) return NO_FINDINGS;
    this.nextSweep = nowMs + this.opts.windowMs;
    const since = nowMs - this.opts.windowMs;
    for (const [key, set] of this.domains.map) {
      set.prune(since, this.opts.tunnelNames);
      if (set.seen.size === 0 && set.lastFired < since) this.domains.map.delete(key);
    }
    for (const [key, c] of this.containers.map) {
      c.nx.prune(since, this.opts.dgaDomains);
      if (c.nx.seen.size === 0 && c.nx.lastFired < since && c.suffixes.length === 0)
        this.containers.map.delete(key);
    }
    return NO_FINDINGS;
  }

  status(): string {
    return (
      `tracking ${this.domains.map.size} container domains (${this.domains.evictions} evictions), ` +
      `${this.containers.map.size} containers (${this.containers.evictions} evictions), ${this.found} findings`
    );
  }
}

/** A name for a summary: quoted as JSON (hostile bytes escaped), cut to EXAMPLE_CHARS. */
function exampleOf(qname: string): string {
  const cut = qname.length > EXAMPLE_CHARS ? `${qname.slice(0, EXAMPLE_CHARS)}…` : qname;
  return JSON.stringify(cut);
}

export const dnsAbuse: DetectorModule<typeof options> = {
  name: NAME,
  help:
    "Flags DNS tunneling (many distinct names under one registrable domain, from the Public Suffix " +
    "List) and DGA malware (NXDOMAIN for many distinct domains) in the DNS responses containers get, " +
    "per container over a sliding window of event time; reverse lookups, service discovery, internal " +
    "names and search-domain expansions are not counted.",
  findings: DNS_ABUSE_FINDINGS,
  options,
  reads: ["dns"],
  create: (opts, ctx) => new DnsAbuseDetector(opts, ctx),
};

import type { ConnectionEvent, ContainerRef, Proto } from "../model/events.js";
import type { LoggedAlert } from "./suggest-alerts.js";

/**
 * Which learned entries `policy suggest` must leave out, from what the log says about them: what
 * raised an alert, and what was only ever seen in a scan or burst (a connection-burst incident's
 * connections) or in refused or unanswered connections. Evidence is per connection, never a
 * count of connections: a client making many ordinary connections is as normal as one making few.
 */

/** A learned entry: egress ("dest|port|proto") or listen ("port/proto"), with when it was learned. */
export interface LearnedEntry {
  kind: "egress" | "listen";
  /** The baseline key: what omitted lists and `baseline forget` name. */
  entry: string;
  /** Egress only: IP, DNS name or container name (lower case). */
  dest: string | null;
  port: number;
  proto: Proto;
  firstSeen: number;
}

export interface EvidenceSources {
  workload: string;
  /** Whether a container (from the log: 12-character id, no project) is one of the workload's. */
  isOwn(ref: ContainerRef): boolean;
  /** Names an address is known by (container name and service lower-cased, DNS names). */
  namesOf(ip: string): readonly string[];
  /** The workload's addresses (running containers, and its addresses in the log). */
  ownIps: ReadonlySet<string>;
  events: readonly ConnectionEvent[];
  alerts: readonly LoggedAlert[];
}

/** How far before its first finding a burst's connections may have begun, when the line does not say. */
const DEFAULT_WINDOW_MS = 5 * 60_000;

type Scope =
  | { kind: "all" }
  | { kind: "host"; ip: string }
  | { kind: "host-port"; ip: string; port: number; proto: Proto }
  | { kind: "port"; port: number; proto: Proto };

/** The connections a connection-burst incident took in: its container's, in its window, to its scope. */
interface Taint {
  alert: LoggedAlert;
  from: number;
  to: number;
  scopes: Scope[];
}

const SAMPLE = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})\/(tcp|udp)$/;

/** "ip:port/proto" or "[v6]:port/proto" → parts; null for anything else (a bare host, a port). */
export function parseTargetSample(s: string): { host: string; port: number; proto: Proto } | null {
  const m = SAMPLE.exec(s.trim());
  if (m === null) return null;
  return { host: (m[1] ?? m[2] ?? "").toLowerCase(), port: Number(m[3]), proto: m[4] as Proto };
}

function scopesOf(a: LoggedAlert): Scope[] {
  if (a.shape === "port-scan" && a.dsts.length > 0) return a.dsts.map((d) => ({ kind: "host", ip: d.ip }));
  if (a.shape === "brute-force" && a.dsts.length > 0)
    return a.dsts.map((d) => ({ kind: "host-port", ip: d.ip, port: d.port, proto: d.proto }));
  if (a.shape === "host-scan") {
    const s = a.samples.map(parseTargetSample).find((x) => x !== null);
    if (s) return [{ kind: "port", port: s.port, proto: s.proto }];
  }
  // A burst, a fan-out, a shape this reader does not know: every connection of the window.
  return [{ kind: "all" }];
}

const isBurst = (a: LoggedAlert): boolean => a.detector === "connection-burst" || a.shape !== null;

/** Whether the log's container is the one the alert names (ids are cut to 12 in log lines). */
const sameContainer = (a: LoggedAlert, ref: ContainerRef): boolean =>
  ref.id.slice(0, 12) === a.container.id.slice(0, 12) || ref.name === a.container.name;

const quote = (a: LoggedAlert): string => `"${a.summary}" (alert ${a.fingerprint})`;

export class EntryJudge {
  private readonly taints: Taint[];
  private readonly egressByPort = new Map<string, ConnectionEvent[]>();
  private readonly listenByPort = new Map<string, ConnectionEvent[]>();
  /** Unanswered events a later event corrected (`corrects`): the same connection, not a failed one. */
  private readonly superseded = new Set<ConnectionEvent>();

  constructor(private readonly src: EvidenceSources) {
    this.taints = src.alerts.filter(isBurst).map((alert) => ({
      alert,
      from: alert.firstSeen - (alert.windowMs ?? DEFAULT_WINDOW_MS),
      to: alert.lastSeen,
      scopes: scopesOf(alert),
    }));
    const lastUnanswered = new Map<string, ConnectionEvent>();
    for (const ev of src.events) {
      if (ev.state === "attempt" || ev.state === "closed" || ev.initiator === "unknown") continue;
      const tuple = `${ev.proto}|${ev.src.ip}|${ev.src.port}|${ev.dst.ip}|${ev.dst.port}`;
      if (ev.corrects !== undefined) {
        const before = lastUnanswered.get(tuple);
        if (before !== undefined) this.superseded.add(before);
      }
      if (ev.state === "unanswered") lastUnanswered.set(tuple, ev);
      const key = `${ev.dst.port}/${ev.proto}`;
      if (ev.src.container !== null && src.isOwn(ev.src.container)) push(this.egressByPort, key, ev);
      if (ev.dst.container !== null && src.isOwn(ev.dst.container)) push(this.listenByPort, key, ev);
    }
  }

  /** Why the entry must not be suggested, or null to suggest it. */
  reasonToOmit(e: LearnedEntry): string | null {
    const named = this.src.alerts.find((a) => this.names(a, e));
    if (named !== undefined) return `raised an alert: ${quote(named)}`;
    const events =
      (e.kind === "egress" ? this.egressByPort : this.listenByPort).get(`${e.port}/${e.proto}`) ?? [];
    let clean = 0;
    let failed = 0;
    let tainted: LoggedAlert | null = null;
    for (const ev of events) {
      if (this.superseded.has(ev) || (e.kind === "egress" && !this.destIs(e.dest ?? "", ev))) continue;
      const taint = this.taintOf(ev);
      if (taint !== null) tainted ??= taint.alert;
      else if (ev.state === "accepted") clean++;
      else failed++;
    }
    if (clean > 0) return null;
    if (tainted !== null) return `seen only in a scan or burst: ${quote(tainted)}`;
    if (failed > 0) return `seen only in refused or unanswered connections (${failed} in the events file)`;
    // Not in the log's connections: when it was learned still tells.
    const during = this.taints.find(
      (t) => e.firstSeen >= t.from && e.firstSeen <= t.to && this.learnedIn(t, e),
    );
    return during === undefined ? null : `learned during a scan or burst: ${quote(during.alert)}`;
  }

  /** Whether an alert of this workload names the entry (its dst, or one of its target samples). */
  private names(a: LoggedAlert, e: LearnedEntry): boolean {
    if (a.workload !== this.src.workload) return false;
    if (e.kind === "listen") {
      return (
        a.detector === "unusual-listener" && a.dsts.some((d) => d.port === e.port && d.proto === e.proto)
      );
    }
    const dest = e.dest ?? "";
    const at = (ip: string, names: readonly string[]) =>
      ip === dest || names.includes(dest) || this.src.namesOf(ip).includes(dest);
    if (a.dsts.some((d) => d.port === e.port && d.proto === e.proto && at(d.ip, d.names))) return true;
    return a.samples.some((s) => {
      const t = parseTargetSample(s);
      return t !== null && t.port === e.port && t.proto === e.proto && at(t.host, []);
    });
  }

  private destIs(dest: string, ev: ConnectionEvent): boolean {
    const d = ev.dst;
    if (d.ip === dest || (d.names ?? []).includes(dest)) return true;
    const c = d.container;
    return c !== null && (c.name.toLowerCase() === dest || c.service?.toLowerCase() === dest);
  }

  /** The incident whose connections this event was one of, if any. */
  private taintOf(ev: ConnectionEvent): Taint | null {
    const src = ev.src.container;
    if (src === null) return null;
    const own = this.src.isOwn(src);
    for (const t of this.taints) {
      if (ev.ts < t.from || ev.ts > t.to) continue;
      if (!sameContainer(t.alert, src) && !(own && t.alert.workload === this.src.workload)) continue;
      if (t.scopes.some((s) => covers(s, ev.dst.ip, ev.dst.port, ev.proto))) return t;
    }
    return null;
  }

  /**
   * Whether the incident could have taught the entry: an egress entry its own scan reached; a
   * listening port of its own (opened while it scanned), or one of its target's ports.
   */
  private learnedIn(t: Taint, e: LearnedEntry): boolean {
    const ownAlert = t.alert.workload === this.src.workload;
    if (e.kind === "listen") {
      if (ownAlert) return true;
      return [...this.src.ownIps].some((ip) => t.scopes.some((s) => covers(s, ip, e.port, e.proto)));
    }
    if (!ownAlert) return false;
    const dest = e.dest ?? "";
    return t.scopes.some((s) => {
      if (s.kind === "all") return true;
      if (s.kind === "port") return s.port === e.port && s.proto === e.proto;
      const hostOk = s.ip === dest || this.src.namesOf(s.ip).includes(dest);
      return hostOk && (s.kind === "host" || (s.port === e.port && s.proto === e.proto));
    });
  }
}

function covers(s: Scope, ip: string, port: number, proto: Proto): boolean {
  switch (s.kind) {
    case "all":
      return true;
    case "host":
      return s.ip === ip;
    case "host-port":
      return s.ip === ip && s.port === port && s.proto === proto;
    case "port":
      return s.port === port && s.proto === proto;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

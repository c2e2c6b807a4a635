import { z } from "zod";
import { egressLabelFix, type FindingNextStep } from "../src/alerts/next-step.js";
import { allowedByWords, namedEndpoint } from "../src/alerts/target-name.js";
import { emptyRegularity, foldMissedBeats, RegularityScorer } from "../src/counting/regularity.js";
import { doc } from "../src/model/config-meta.js";
import {
  type AllowedBy,
  type DetectorContext,
  type DetectorModule,
  egressTargetOf,
  isAlerting,
  NO_FINDINGS,
} from "../src/model/detector-api.js";
import type { ConnectionEvent, ContainerRef, NetmonEvent } from "../src/model/events.js";
import type { Finding, Severity } from "../src/model/finding.js";
import { formatDuration } from "../src/util/duration.js";

/**
 * beaconing: a container that connects to one destination like a clock (command-and-control
 * check-ins), scored the way RITA scores beacons but streaming, in event time.
 *
 * Per container and destination (the destination container's workload, else the DNS name the
 * container used, else the IP; with the port) it keeps the start times and durations of its last
 * completed TCP connections in a ring. Connections that start within `mergeMs` of each other are
 * one beat (a retry, a check-in that opens two connections); failed ones (rejected, unanswered)
 * are no beat at all. The gaps between beats and the beats' durations (only control packets are
 * captured, so the duration stands in for RITA's data size) are each scored on Bowley skewness and
 * median absolute deviation; a gap near 2× or 3× the median is missed beats and counts as that
 * many median gaps. It scores in every mode but `off` and reports only once the workload is
 * monitored, once per pair.
 */

const options = z.strictObject({
  threshold: doc(
    z.number().min(0).max(1).default(0.85),
    "Score (0-1, 1 = a metronome) at which a series of connections is a beacon. Lower catches beacons with more jitter or uneven durations, and flags more periodic benign clients; higher only near-perfect clocks.",
  ),
  minConnections: doc(
    z.number().int().min(4).default(6),
    "Beats (connections, retries merged) to one destination before it is scored. More is surer and later: a 60 s beacon is scored after this many minutes.",
  ),
  minSpanMs: doc(
    z.number().int().nonnegative().default(300_000),
    "...and the first to the last beat must span at least this many ms. Longer ignores short bursts of polling (a page that refreshes a few times), reports slow beacons later.",
  ),
  mergeMs: doc(
    z.number().int().positive().default(2_000),
    "Connections that start within this many ms of the previous one are one beat (a retry, a check-in that opens several connections). Larger merges more, but a destination reached more often than this is never scored.",
  ),
  reportAllowed: doc(
    z.boolean().default(false),
    "Also report beacons to other containers and to destinations a rule, label or DNS name allows, at info. Off: health checks, metric pushes and pollers, periodic by design, stay silent (they are still scored); on shows them, e.g. to review what a workload polls.",
  ),
  maxConnections: doc(
    z.number().int().min(8).max(1_024).default(64),
    "Beats kept per container and destination (a ring; older ones are forgotten). More tolerates more irregular beats among regular ones, costs 16 bytes each per pair.",
  ),
  maxPairs: doc(
    z.number().int().positive().default(20_000),
    "Container and destination pairs tracked at once (the least recently active is forgotten beyond it, counted in the status line).",
  ),
});

export type BeaconingOptions = z.output<typeof options>;

/** The kinds of finding beaconing raises. */
export const BEACONING_FINDINGS = {
  beacon:
    "a container connects to one destination at regular intervals (critical when nothing or only the learned baseline allows it; info for other containers and explicitly allowed destinations)",
} as const;

/** beaconing's Finding.details. */
export interface BeaconingDetails {
  /** Median gap between beats, after folding missed beats (ms). */
  intervalMs: number;
  /** Median absolute deviation of the gaps, in percent of the interval. */
  jitterPct: number;
  /** Beats scored (connections, retries merged). */
  connections: number;
  /** First to last beat (ms). */
  spanMs: number;
  missedBeats: number;
  medianDurationMs: number;
  /** Rounded to 2 decimals, as are the two below. */
  score: number;
  gapScore: number;
  durationScore: number;
  allowedBy: AllowedBy;
  /** The exact rule or label that allowed the destination (null: the baseline, or nothing). */
  allowedRule: string | null;
  denylisted: boolean;
  /** The destination is another container. */
  internal: boolean;
}

const NAME = "beaconing";
/** A gap within this fraction of 2× or 3× the median gap is missed beats. */
const MISSED_TOLERANCE = 0.15;
const MAX_MISSED_MULTIPLE = 3;
/**
 * The deviation of the gaps, as a fraction of the interval, at which their MAD scores 0. RITA's 1
 * lets random traffic score well (gaps uniform between 30 and 90 s have a MAD of a quarter of their
 * median); at a quarter, a few percent of jitter still scores about 0.9 and random arrivals score 0.
 */
const GAP_TOLERANCE = 0.25;
/** Durations vary with the server's answer: RITA's leniency (a MAD as large as the median scores 0). */
const DURATION_TOLERANCE = 1;
/** Durations closer than this (ms) are the same: a few ms of RTT say nothing. */
const DURATION_FLOOR_MS = 100;
/** Allowed this way, periodic traffic is expected (health checks, metric pushes): info only. */
const EXPLICIT: ReadonlySet<AllowedBy> = new Set<AllowedBy>([
  "config",
  "label",
  "dns-name",
  "dns-resolver",
  "declared",
]);

/** The beats of one container to one destination: a ring of starts and durations. */
class Pair {
  readonly starts: Float64Array;
  readonly durations: Float64Array;
  /** Index of the oldest beat, and how many are held. */
  head = 0;
  count = 0;
  /** Start of the latest connection merged into the latest beat. */
  chainLast = Number.NEGATIVE_INFINITY;
  fired = false;

  constructor(capacity: number) {
    this.starts = new Float64Array(capacity);
    this.durations = new Float64Array(capacity);
  }

  /** The i-th beat from the oldest. */
  at(i: number): number {
    return (this.head + i) % this.starts.length;
  }

  push(start: number, duration: number): void {
    const cap = this.starts.length;
    const slot = this.count < cap ? this.at(this.count) : this.head;
    if (this.count < cap) this.count++;
    else this.head = (this.head + 1) % cap;
    this.starts[slot] = start;
    this.durations[slot] = duration;
    this.chainLast = start;
  }

  /** Another connection of the latest beat: the beat lasts as long as its longest. */
  merge(start: number, duration: number): void {
    const last = this.at(this.count - 1);
    if (duration > this.durations[last]!) this.durations[last] = duration;
    if (start > this.chainLast) this.chainLast = start;
  }
}

function hostPart(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

function create(opts: BeaconingOptions, ctx: DetectorContext): BeaconingDetector {
  return new BeaconingDetector(opts, ctx);
}

class BeaconingDetector {
  /** Insertion order = least recently active first (re-inserted when touched). */
  private readonly pairs = new Map<string, Pair>();
  private evictions = 0;
  private outOfOrder = 0;
  private found = 0;
  private readonly scorer: RegularityScorer;
  private readonly gaps: Float64Array;
  private readonly durations: Float64Array;
  private readonly gapStats = emptyRegularity();
  private readonly durationStats = emptyRegularity();

  constructor(
    private readonly opts: BeaconingOptions,
    private readonly ctx: DetectorContext,
  ) {
    this.scorer = new RegularityScorer(opts.maxConnections);
    this.gaps = new Float64Array(opts.maxConnections);
    this.durations = new Float64Array(opts.maxConnections);
  }

  onEvent(ev: NetmonEvent): readonly Finding[] {
    if (ev.kind !== "connection" || ev.state !== "closed" || ev.proto !== "tcp") return NO_FINDINGS;
    const src = ev.src.container;
    if (src === null || ev.durationMs === undefined) return NO_FINDINGS;
    // Scored while learning too (a beacon that started then is found once monitored); off is unwatched.
    if (this.ctx.modeOf(src, ev.ts) === "off") return NO_FINDINGS;
    const dst = ev.dst.container;
    const host = dst !== null ? this.ctx.workloadOf(dst) : (ev.dst.names?.[0] ?? hostPart(ev.dst.ip));
    const key = `${host}:${ev.dst.port}/tcp`;
    const pair = this.pair(`${src.id} ${key}`);
    const start = ev.ts - ev.durationMs;
    if (pair.count > 0 && Math.abs(start - pair.chainLast) <= this.opts.mergeMs) {
      pair.merge(start, ev.durationMs);
      return NO_FINDINGS;
    }
    if (start < pair.chainLast) {
      // Closed out of start order (a long connection outlived a later one): not a beat of this series.
      this.outOfOrder++;
      return NO_FINDINGS;
    }
    pair.push(start, ev.durationMs);
    if (pair.fired) return NO_FINDINGS;
    return this.judge(ev, src, pair, key);
  }

  private judge(ev: ConnectionEvent, src: ContainerRef, pair: Pair, key: string): readonly Finding[] {
    const o = this.opts;
    const n = pair.count;
    if (n < o.minConnections) return NO_FINDINGS;
    const first = pair.starts[pair.at(0)]!;
    const last = pair.starts[pair.at(n - 1)]!;
    const span = last - first;
    if (span < o.minSpanMs) return NO_FINDINGS;
    for (let i = 0; i + 1 < n; i++) this.gaps[i] = pair.starts[pair.at(i + 1)]! - pair.starts[pair.at(i)]!;
    for (let i = 0; i < n; i++) this.durations[i] = pair.durations[pair.at(i)]!;
    const gapStats = this.scorer.score(this.gaps, n - 1, 0, GAP_TOLERANCE, this.gapStats);
    const missed = foldMissedBeats(this.gaps, n - 1, gapStats.median, MAX_MISSED_MULTIPLE, MISSED_TOLERANCE);
    if (missed > 0) this.scorer.score(this.gaps, n - 1, 0, GAP_TOLERANCE, gapStats);
    const durStats = this.scorer.score(
      this.durations,
      n,
      DURATION_FLOOR_MS,
      DURATION_TOLERANCE,
      this.durationStats,
    );
    // Timing says more than durations do (RITA weighs its data sizes the same way, as half of one score).
    const score = (2 * gapStats.score + durStats.score) / 3;
    if (score < o.threshold) return NO_FINDINGS;
    // Not yet monitored: keep scoring; the next beat after learning ends reports it.
    if (!isAlerting(this.ctx.modeOf(src, ev.ts))) return NO_FINDINGS;
    // Judged once per pair: a regular series stays regular.
    pair.fired = true;
    const internal = ev.dst.container !== null;
    const verdict = this.ctx.egress(src, egressTargetOf(ev));
    const expected =
      !verdict.denylisted && (internal || (verdict.allowedBy !== null && EXPLICIT.has(verdict.allowedBy)));
    if (expected && !o.reportAllowed) return NO_FINDINGS;
    this.found++;
    // Nothing, or only what the workload happened to do while learning, vouches for a clock-like client.
    const severity: Severity = expected ? "info" : "critical";
    const names = ev.dst.names ?? [];
    const target = namedEndpoint(ev.dst.ip, ev.dst.port, "tcp", ev.dst.container?.name ?? names[0]);
    const jitterPct = gapStats.median > 0 ? Math.round((gapStats.mad / gapStats.median) * 100) : 0;
    const why = verdict.denylisted
      ? "; the destination is denylisted"
      : verdict.allowedBy === null
        ? internal
          ? ""
          : "; nothing allows the destination"
        : `; allowed by ${allowedByWords(verdict.allowedBy)}`;
    const dst = {
      ip: ev.dst.ip,
      port: ev.dst.port,
      proto: "tcp" as const,
      ...(names.length > 0 ? { names: [...names] } : {}),
    };
    const finding: FindingNextStep = {
      detector: NAME,
      kind: "beacon",
      severity,
      key,
      container: src,
      workload: this.ctx.workloadOf(src),
      summary:
        `${src.name} beacons to ${target} every ${formatDuration(gapStats.median)} ` +
        `(±${jitterPct} %), ${n} connections over ${formatDuration(span)}` +
        (missed > 0 ? ` (${missed} missed)` : "") +
        `, score ${score.toFixed(2)}${why}`,
      ts: ev.ts,
      src: { ip: ev.src.ip, port: ev.src.port, proto: "tcp" },
      dst,
      details: {
        intervalMs: Math.round(gapStats.median),
        jitterPct,
        connections: n,
        spanMs: span,
        missedBeats: missed,
        medianDurationMs: Math.round(durStats.median),
        score: round2(score),
        gapScore: round2(gapStats.score),
        durationScore: round2(durStats.score),
        allowedBy: verdict.allowedBy,
        allowedRule: verdict.allowedRule ?? null,
        denylisted: verdict.denylisted,
        internal,
      } satisfies BeaconingDetails,
      // unexpected-outbound's host key: the alert manager folds the beacon into that host's incident.
      host: names[0] ?? ev.dst.container?.name ?? ev.dst.ip,
      // A legitimate poller is declared; explicitly allowed (info) and denylisted ones have nothing to allow.
      fix: verdict.denylisted || expected ? null : egressLabelFix({ ...dst, container: ev.dst.container }),
    };
    return [finding];
  }

  /** The pair's ring, made most recently active; the least recently active goes when full. */
  private pair(id: string): Pair {
    let pair = this.pairs.get(id);
    if (pair !== undefined) {
      this.pairs.delete(id);
    } else {
      if (this.pairs.size >= this.opts.maxPairs) {
        const oldest = this.pairs.keys().next();
        if (!oldest.done) this.pairs.delete(oldest.value);
        this.evictions++;
      }
      pair = new Pair(this.opts.maxConnections);
    }
    this.pairs.set(id, pair);
    return pair;
  }

  status(): string {
    return `tracking ${this.pairs.size} destination pairs, ${this.evictions} evictions, ${this.outOfOrder} out-of-order connections, ${this.found} beacons found`;
  }
}

export const beaconing: DetectorModule<typeof options> = {
  name: NAME,
  help:
    "Flags a container that connects to one destination at regular intervals (C2 check-ins): RITA's " +
    "Bowley skewness and median absolute deviation of the gaps between completed TCP connections and " +
    "of their durations, streaming in event time; missed beats and retries tolerated.",
  findings: BEACONING_FINDINGS,
  options,
  reads: ["connection:closed"],
  create,
};

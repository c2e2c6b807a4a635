// A long file (about 900 lines): the five shapes (burst, brute-force, fast and slow port/host scans)
// share one per-container target table with an age list, which is what keeps them allocation-light;
// the long-window counting itself is in src/counting/target-tally.ts, the rate profiles behind
// brute force against allowed destinations in src/counting/rate-bursts.ts and rate-profiles.ts.
import { z } from "zod";
import {
  detectorOptionFix,
  egressLabelFix,
  type FindingNextStep,
  scanThresholdFix,
} from "../src/alerts/next-step.js";
import { type ShapeFacts, shapeSentence } from "../src/alerts/shape-sentence.js";
import { namedEndpoint, namedHost } from "../src/alerts/target-name.js";
import { LeakyBucket } from "../src/counting/leaky-bucket.js";
import { type RateBurst, RateBurstWatch } from "../src/counting/rate-bursts.js";
import { RATE_BUCKET_MS, RateProfiles } from "../src/counting/rate-profiles.js";
import { type TallyHit, TargetTally } from "../src/counting/target-tally.js";
import { doc } from "../src/model/config-meta.js";
import {
  type DetectorContext,
  type DetectorModule,
  type EgressVerdict,
  egressTargetOf,
  isAlerting,
  NO_FINDINGS,
  verdictOf,
} from "../src/model/detector-api.js";
import type { ConnectionEvent, ContainerRef, NetmonEvent, Proto } from "../src/model/events.js";
import type { Finding, Severity } from "../src/model/finding.js";
import type { AllowedBy } from "../src/model/verdict.js";

/**
 * connection-burst: a container that opens connections like a scanner or a brute-forcer.
 *
 * Four shapes, all per initiating container and all in event (packet) time:
 * - burst: a CrowdSec-style leaky bucket of "bad" connections (rejected, unanswered, or closed
 *   within `shortMs`) overflows;
 * - port-scan (vertical): `portScanThreshold` distinct ports on one destination IP within the window;
 * - host-scan (horizontal): `hostScanThreshold` distinct destination IPs on one port within the window;
 * - brute-force: to a destination nothing allows, `bruteForceThreshold` bad connections to one
 *   ip:port within the window; to an allowed one, short or failed connections to one destination
 *   (a service, a DNS name or an ip, with the port) that reach `bruteForceFloor` within
 *   `bruteForceWindowMs` AND exceed `bruteForceRateMultiple` times what is normal for that workload
 *   and destination: the p99 of its 10 s counts over the last hour, learned continuously for every
 *   workload in the engine's rate profiles (saved with the baseline), checked as 10 s buckets close.
 *
 * Scan shapes count distinct targets the container tried that nothing allows, and failed attempts
 * (rejected, unanswered) to any destination: a scan that finds open ports is still a scan, but a
 * client reaching many allowed addresses (CDN answers, object stores, a monitoring prober) is not.
 * Burst counts bad outcomes except short successful connections to allowed destinations. Each
 * shape fires once when its threshold is reached and then starts again from zero, so a sustained
 * scan re-fires once per full threshold; the alert manager folds the repeats.
 */

const options = z
  .strictObject(
    {
      shortMs: doc(
        z.number().int().nonnegative().default(1_000),
        "A TCP connection closed within this many ms counts as bad (probe, refused login). Higher catches slower probes but counts short legitimate requests (health checks); 0 = only rejected and unanswered connections count.",
      ),
      includeUdp: doc(
        z.boolean().default(false),
        "Also watch UDP (attempts feed the scan shapes, unanswered counts as bad). Off: DNS and QUIC fan-out are common and an unanswered datagram is often just lost.",
      ),
      burstCapacity: doc(
        z.number().int().nonnegative().default(50),
        "Leaky bucket size (bad connections): the burst that overflows it fires. Larger tolerates retry storms, notices a fast scan later. 0 disables the burst shape.",
      ),
      burstLeakPerSecond: doc(
        z.number().positive().default(5),
        "Leak rate (bad connections per second): a steady rate at or below it never fires.",
      ),
      scanWindowMs: doc(
        z.number().int().positive().default(300_000),
        "Sliding window (ms) for port-scan, host-scan and brute-force.",
      ),
      scanCounts: doc(
        z
          .enum(["unallowed-or-failed", "failures"], {
            error: (iss) =>
              iss.input === "attempts"
                ? 'scanCounts "attempts" was replaced by "unallowed-or-failed": attempts to allowed destinations that succeed no longer count'
                : undefined,
          })
          .default("unallowed-or-failed"),
        "What makes a scan target count: unallowed-or-failed (an attempt nothing allows, or any rejected/unanswered attempt: catches scans that find open ports, not clients fanning out to allowed addresses) or failures (only rejected/unanswered: Zeek's rule, quieter, misses a scan of hosts that answer).",
      ),
      portScanThreshold: doc(
        z.number().int().nonnegative().default(15),
        "Distinct ports on one IP within the window that make a port-scan (vertical). 0 disables.",
      ),
      hostScanThreshold: doc(
        z.number().int().nonnegative().default(25),
        "Distinct IPs on one port within the window that make a host-scan (horizontal). 0 disables.",
      ),
      bruteForceThreshold: doc(
        z.number().int().nonnegative().default(30),
        "Bad connections (rejected, unanswered, shorter than shortMs) to one ip:port nothing allows within scanWindowMs that make a brute-force. 0 disables it for those destinations.",
      ),
      bruteForceFloor: doc(
        z.number().int().nonnegative().default(50),
        "Brute force against an allowed destination: short or failed connections to it (one service, DNS name or ip, and port) within bruteForceWindowMs below which nothing fires, however far above normal. Lower catches slower guessing; higher spares bursty clients of quiet services. 0 disables the rate check.",
      ),
      bruteForceWindowMs: doc(
        z.number().int().min(RATE_BUCKET_MS).max(600_000).multipleOf(RATE_BUCKET_MS).default(20_000),
        "Window (ms, whole 10 s buckets, sliding by 10 s) the floor and the rate apply to. Longer asks for a sustained rate and reports later; 10000 reacts to a single 10 s spike.",
      ),
      bruteForceRateMultiple: doc(
        z.number().positive().default(5),
        "...and the count within the window must exceed this many times the normal rate of that workload and destination (the p99 of its short or failed connections per 10 s over the last hour, learned continuously, scaled to the window). Lower catches smaller jumps; higher spares clients whose load varies.",
      ),
      bruteForceWarmupMs: doc(
        z.number().int().nonnegative().default(120_000),
        "A workload first seen less than this long ago (ms, event time; remembered across restarts in stateDir/rate-profiles.json) is still learning its rates: nothing of it is judged by rate, all of it is learned. Longer avoids alarms on a new workload's first peaks; shorter judges an attack in a new workload's first minutes instead of learning it.",
      ),
      slowScanWindowMs: doc(
        z.number().int().nonnegative().default(3_600_000),
        "A second, long window (ms) for slow scans that stay under the thresholds within scanWindowMs. Only attempts nothing allows and failed attempts count, and it is checked once a minute of event time. 0 disables.",
      ),
      slowPortScanThreshold: doc(
        z.number().int().nonnegative().default(30),
        "Distinct ports on one IP within slowScanWindowMs that make a (slow) port-scan. Lower catches stealthier scans; a client that keeps failing on many ports of one host reaches it too. 0 disables.",
      ),
      slowHostScanThreshold: doc(
        z.number().int().nonnegative().default(50),
        "Distinct IPs on one port within slowScanWindowMs that make a (slow) host-scan. 0 disables.",
      ),
      maxTrackedContainers: doc(
        z.number().int().positive().default(10_000),
        "Containers tracked at once (least recently active forgotten beyond it, counted).",
      ),
      maxTargetsPerContainer: doc(
        z.number().int().positive().default(4_096),
        "Destinations remembered per container (oldest forgotten beyond it, counted); at least the scan thresholds.",
      ),
    },
    {
      error: (iss) =>
        iss.code === "unrecognized_keys" && iss.keys.includes("countAllowedShort")
          ? "countAllowedShort was removed: short connections to allowed destinations now count by rate (bruteForceFloor, bruteForceWindowMs, bruteForceRateMultiple, bruteForceWarmupMs)"
          : undefined,
    },
  )
  .refine(
    (o) =>
      o.maxTargetsPerContainer >=
      Math.max(o.portScanThreshold, o.hostScanThreshold, o.slowPortScanThreshold, o.slowHostScanThreshold),
    {
      message: "maxTargetsPerContainer must be at least every scan threshold (short and slow windows)",
      path: ["maxTargetsPerContainer"],
    },
  );

export type ConnectionBurstOptions = z.output<typeof options>;

/** The kinds of finding connection-burst raises: its shapes. */
export const CONNECTION_BURST_FINDINGS = {
  burst: "a leaky bucket of rejected, unanswered or very short connections overflowed",
  "port-scan": "many ports on one host within the window (vertical scan)",
  "host-scan": "one port on many hosts within the window (horizontal scan)",
  "brute-force":
    "many failed or short connections to one destination: to one nothing allows, within the window; to an allowed one, far above its normal rate",
} as const;

type Shape = keyof typeof CONNECTION_BURST_FINDINGS;

/** connection-burst's Finding.details. */
export type ConnectionBurstDetails = {
  shape: Shape;
  count: number;
  targets: string[];
  windowMs: number;
  /** Found by the long window (slowScanWindowMs), not the short one. */
  slow?: true;
  /** Rate brute-force: what is normal for that workload and destination (p99 per 10 s over the last hour). */
  normalPer10s?: number;
  /** What the shape is about, by name with the IP in brackets: a host (port-scan), a port (host-scan), an endpoint (brute-force). */
  on?: string;
  /** Scans: distinct ports (port-scan) or hosts (host-scan) tried in the window so far, not only this firing's. */
  distinct?: number;
  /** Scans: how many of those answered (port open, host up). */
  open?: number;
  /** First counted connection to this one (ms). */
  spanMs: number;
  /** Brute-force: what allows the destination (null: nothing); the other shapes span many destinations. */
  allowedBy?: AllowedBy;
};

/** What a rate brute-force finding names: the latest connection counted for its key. */
interface RateTag {
  container: ContainerRef;
  srcIp: string;
  dstIp: string;
  dstPort: number;
  proto: Proto;
  /** The destination as keyed: "shop/db:5432/tcp", "api.example.com:443/tcp", "203.0.113.5:22/tcp". */
  label: string;
  /** The destination host as the label names it (service, DNS name or IP). */
  host: string;
  /** The destination's container or DNS name, for the alert's words. */
  name: string | null;
  allowedBy: AllowedBy;
}

/** The long-window tally of one container, with what a finding needs to name it. */
interface SlowTrack {
  container: ContainerRef;
  srcIp: string;
  tally: TargetTally;
}

/** What "normal" is for a workload and destination: this quantile of its 10 s counts. */
const RATE_QUANTILE = 0.99;

/** How often (event time) the long window is checked. */
const SLOW_CHECK_EVERY_MS = 60_000;

const NAME = "connection-burst";
const SEVERITY: Severity = "warning";
/** Sample targets carried in a finding's details. */
const MAX_SAMPLES = 20;
/** A scan's finding lists up to this many of its counted targets, so its incident counts them exactly. */
const MAX_SCAN_SAMPLES = 64;
const UDP_PORT_OFFSET = 65_536;

/** One destination ip:port/proto a container reached; shared by all shapes. */
class Target {
  /** Latest sighting or bad connection (event time): the age order. */
  lastTs = 0;
  /** First sighting (event time), for the span an alert names. */
  firstTs = 0;
  /** It answered (SYN-ACK or UDP reply): an open port, a live host, for the alert's words. */
  open = false;
  /** Counted in its IP's port-scan tally / its port's host-scan tally (cleared when that shape fires). */
  inPortScan = false;
  inHostScan = false;
  /** Times of recent bad connections (brute-force), at most bruteForceThreshold; allocated on first. */
  bad: number[] | null = null;
  older: Target | null = null;
  newer: Target | null = null;

  constructor(
    readonly ip: string,
    readonly port: number,
    readonly proto: Proto,
    readonly portKey: number,
  ) {}

  toString(): string {
    return `${hostPart(this.ip)}:${this.port}/${this.proto}`;
  }
}

/** The targets on one destination IP: a port-scan tally. */
interface HostEntry {
  ports: Map<number, Target>;
  scanned: number;
}

/** The targets on one port/proto: a host-scan tally. */
interface PortEntry {
  hosts: Map<string, Target>;
  scanned: number;
}

class Track {
  /** Latest event time seen for this container. */
  now = 0;
  /** Bad connections, leaking at burstLeakPerSecond. */
  readonly bucket = new LeakyBucket();
  /** Bad connections poured since the bucket was last empty, and when that run began. */
  poured = 0;
  burstStart = 0;
  /** Last few targets poured into the bucket, as a ring, for the burst finding's samples. */
  recent: Target[] = [];
  recentNext = 0;

  readonly hosts = new Map<string, HostEntry>();
  readonly ports = new Map<number, PortEntry>();
  size = 0;
  oldest: Target | null = null;
  newest: Target | null = null;
}

function hostPart(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}

/** The name netmon knows the destination by: its container, else the DNS name the client used. */
function nameOf(ev: ConnectionEvent): string | null {
  return ev.dst.container?.name ?? ev.dst.names?.[0] ?? null;
}

/** Targets counted by a scan: how many answered and when the first was tried. */
function scanned(targets: Iterable<Target>, ts: number): { open: number; firstTs: number } {
  let open = 0;
  let firstTs = ts;
  for (const t of targets) {
    if (t.open) open++;
    if (t.firstTs < firstTs) firstTs = t.firstTs;
  }
  return { open, firstTs };
}

function create(opts: ConnectionBurstOptions, ctx: DetectorContext): ConnectionBurstDetector {
  return new ConnectionBurstDetector(opts, ctx);
}

class ConnectionBurstDetector {
  /** Insertion order = least recently active first (re-inserted when touched). */
  private readonly tracks = new Map<string, Track>();
  private lastTrackId: string | null = null;
  private targetCount = 0;
  private evictions = 0;
  private readonly leakPerMs: number;
  private readonly scanOnAttempt: boolean;
  /** Rate brute-force against allowed destinations, on the engine's profiles (or our own). */
  private readonly rates: RateBurstWatch<RateTag>;
  /** Long-window tallies by container id (insertion order: least recently active first). */
  private readonly slow = new Map<string, SlowTrack>();
  private slowEvictions = 0;
  private nextSlowCheck = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly opts: ConnectionBurstOptions,
    private readonly ctx: DetectorContext,
  ) {
    this.leakPerMs = opts.burstLeakPerSecond / 1000;
    this.scanOnAttempt = opts.scanCounts === "unallowed-or-failed";
    this.rates = new RateBurstWatch(ctx.rateProfiles ?? new RateProfiles(), {
      floor: opts.bruteForceFloor,
      windowBuckets: opts.bruteForceWindowMs / RATE_BUCKET_MS,
      multiple: opts.bruteForceRateMultiple,
      warmupMs: opts.bruteForceWarmupMs,
      quantile: RATE_QUANTILE,
    });
  }

  private isAllowed(container: ContainerRef, ev: ConnectionEvent): boolean {
    return isAllowedVerdict(this.ctx.egress(container, egressTargetOf(ev)));
  }

  onEvent(ev: NetmonEvent): readonly Finding[] {
    if (ev.kind !== "connection") return NO_FINDINGS;
    const container = ev.src.container;
    if (container === null) return NO_FINDINGS;
    if (ev.state === "accepted") {
      this.noteOpen(container, ev);
      return NO_FINDINGS;
    }
    // A connection picked up mid-stream was made before netmon looked: no failed or short sighting.
    // A correction (a late RST after "unanswered") was already counted once as failed.
    if (ev.midstream === true || ev.corrects !== undefined) return NO_FINDINGS;
    const o = this.opts;
    if (ev.proto === "udp" && !o.includeUdp) return NO_FINDINGS;
    let bad: boolean;
    let failed: boolean;
    switch (ev.state) {
      case "attempt":
        // A workload's rate history starts at its first connection, short or not.
        this.rates.store.seen(this.ctx.workloadOf(container), ev.ts);
        // Only an attempt nothing allows is a scan sighting; an allowed one counts if it fails.
        if (!this.scanOnAttempt || isAllowedVerdict(verdictOf(this.ctx, ev))) return NO_FINDINGS;
        bad = false;
        failed = false;
        break;
      case "rejected":
      case "unanswered":
        bad = true;
        failed = true;
        break;
      case "closed":
        // UDP "closed" is just an idle pseudo-flow: a quick answer is normal there.
        if (ev.proto !== "tcp" || ev.durationMs === undefined || ev.durationMs >= o.shortMs)
          return NO_FINDINGS;
        bad = true;
        failed = false;
        break;
      default:
        return NO_FINDINGS;
    }
    // Short or failed connections to an allowed destination are judged by rate against what is
    // normal for this workload and destination. A short one that succeeded counts nowhere else: a
    // client that opens one connection per request (HTTP/1.0, PHP→MySQL, health checks) is no burst.
    const allowed = bad && this.isAllowed(container, ev);
    if (allowed) {
      this.noteRate(container, ev);
      if (!failed) return NO_FINDINGS;
    }
    // Scans, brute force and floods are never normal: they fire while learning too (only off is silent).
    const mode = ev.verdict?.mode ?? this.ctx.modeOf(container, ev.ts);
    if (!isAlerting(mode) && mode !== "learn") return NO_FINDINGS;
    // Here an attempt is one nothing allows (and counts for scans); closed ones are short.
    if (ev.state !== "closed") this.noteSlow(container, ev);

    const track = this.track(container.id);
    if (ev.ts > track.now) track.now = ev.ts;
    this.prune(track, track.now - o.scanWindowMs);

    const target = this.target(track, ev.dst.ip, ev.dst.port, ev.proto, ev.ts);
    let out: Finding[] | null = null;
    // An attempt nothing allows was sighted when it was made; its failure adds nothing.
    const sighting = this.scanOnAttempt ? ev.state === "attempt" || (failed && allowed) : failed;
    if (sighting) {
      const host = track.hosts.get(target.ip)!;
      const port = track.ports.get(target.portKey)!;
      if (!target.inPortScan) {
        target.inPortScan = true;
        host.scanned++;
      }
      if (!target.inHostScan) {
        target.inHostScan = true;
        port.scanned++;
      }
      // A scan the short window reports is not reported again by the long one.
      if (o.portScanThreshold > 0 && host.scanned >= o.portScanThreshold) {
        out = add(out, this.portScan(ev, container, host));
        this.slow.get(container.id)?.tally.forgetHost(target.ip);
      }
      if (o.hostScanThreshold > 0 && port.scanned >= o.hostScanThreshold) {
        out = add(out, this.hostScan(ev, container, port));
        this.slow.get(container.id)?.tally.forgetPort(target.portKey);
      }
    }
    if (bad) {
      if (o.bruteForceThreshold > 0 && !allowed) {
        const found = this.bruteForce(ev, container, track, target);
        if (found !== null) out = add(out, found);
      }
      if (o.burstCapacity > 0) {
        const found = this.burst(ev, container, track, target);
        if (found !== null) out = add(out, found);
      }
    }
    return out ?? NO_FINDINGS;
  }

  onTick(nowMs: number): readonly Finding[] {
    let slowFindings = this.checkSlow(nowMs);
    const bursts = this.opts.bruteForceFloor > 0 ? this.rates.close(nowMs) : NO_BURSTS;
    for (const b of bursts) {
      const f = this.rateFinding(b);
      if (f !== null) slowFindings = slowFindings.length === 0 ? [f] : [...slowFindings, f];
    }
    const cutoff = nowMs - this.opts.scanWindowMs;
    for (const [id, track] of this.tracks) {
      this.prune(track, cutoff);
      // Nothing left to remember: no target in the window and a bucket that has leaked dry.
      if (track.size === 0 && track.bucket.levelAt(nowMs, this.leakPerMs) <= 0) {
        this.tracks.delete(id);
        if (this.lastTrackId === id) this.lastTrackId = null;
      }
    }
    return slowFindings;
  }

  /** An answer marks a tracked target open (for the scan's words); it changes no count or state. */
  private noteOpen(container: ContainerRef, ev: ConnectionEvent): void {
    const portKey = ev.proto === "udp" ? ev.dst.port + UDP_PORT_OFFSET : ev.dst.port;
    const t = this.tracks.get(container.id)?.hosts.get(ev.dst.ip)?.ports.get(portKey);
    if (t !== undefined) t.open = true;
  }

  /** A short or failed connection to an allowed destination: counted in its rate profile. */
  private noteRate(container: ContainerRef, ev: ConnectionEvent): void {
    if (this.opts.bruteForceFloor === 0) return;
    const workload = this.ctx.workloadOf(container);
    const host = destinationHostOf(this.ctx, ev);
    const label = `${host}:${ev.dst.port}/${ev.proto}`;
    const entry = this.rates.note(workload, `${workload} ${label}`, ev.ts);
    if (entry === null) return;
    const tag = entry.tag;
    if (tag === null) {
      entry.tag = {
        container,
        srcIp: ev.src.ip,
        dstIp: ev.dst.ip,
        dstPort: ev.dst.port,
        proto: ev.proto,
        label,
        host,
        name: nameOf(ev),
        // Judged once per profile, for the alert's words: the rate check itself needs no verdict.
        allowedBy: this.ctx.egress(container, egressTargetOf(ev)).allowedBy,
      };
    } else {
      tag.container = container;
      tag.srcIp = ev.src.ip;
      tag.dstIp = ev.dst.ip;
    }
  }

  /** A rate brute-force as a finding, unless the container's workload is not watched (off). */
  private rateFinding(b: RateBurst<RateTag>): Finding | null {
    const t = b.tag;
    // As onEvent: bursts fire while learning too; only off is silent.
    const mode = this.ctx.modeOf(t.container, b.ts);
    if (!isAlerting(mode) && mode !== "learn") return null;
    const on = namedEndpoint(t.dstIp, t.dstPort, t.proto, t.name);
    const facts: ShapeFacts = {
      shape: "brute-force",
      container: t.container.name,
      on,
      count: b.count,
      spanMs: b.windowMs,
      normalPer10s: b.normal,
      allowedBy: t.allowedBy,
    };
    const finding: FindingNextStep = {
      detector: NAME,
      kind: "brute-force",
      severity: SEVERITY,
      key: `brute-force:${t.label}`,
      container: t.container,
      workload: this.ctx.workloadOf(t.container),
      summary: shapeSentence(facts),
      ts: b.ts,
      src: { ip: t.srcIp, port: 0, proto: t.proto },
      dst: { ip: t.dstIp, port: t.dstPort, proto: t.proto },
      details: {
        shape: "brute-force",
        count: b.count,
        targets: [t.label],
        windowMs: b.windowMs,
        normalPer10s: b.normal,
        on,
        spanMs: b.windowMs,
        allowedBy: t.allowedBy,
      } satisfies ConnectionBurstDetails,
      fix: rateFix(b.count, b.normal, b.windowMs),
    };
    return finding;
  }

  /** A failed attempt, or one nothing allows: tallied in the container's long window. */
  private noteSlow(container: ContainerRef, ev: ConnectionEvent): void {
    const o = this.opts;
    if (o.slowScanWindowMs === 0) return;
    let track = this.slow.get(container.id);
    if (track === undefined) {
      if (this.slow.size >= o.maxTrackedContainers) {
        const oldest = this.slow.keys().next();
        if (!oldest.done) this.slow.delete(oldest.value);
        this.slowEvictions++;
      }
      track = { container, srcIp: ev.src.ip, tally: new TargetTally(o.maxTargetsPerContainer) };
      this.slow.set(container.id, track);
    }
    track.container = container;
    track.srcIp = ev.src.ip;
    track.tally.note(ev.dst.ip, ev.proto === "udp" ? ev.dst.port + UDP_PORT_OFFSET : ev.dst.port, ev.ts);
  }

  /**
   * Once a minute of event time: the long window of every container. It counts only targets seen
   * before the minute's boundary, so where between two packets a tick falls never changes what is found.
   */
  private checkSlow(nowMs: number): readonly Finding[] {
    const o = this.opts;
    if (o.slowScanWindowMs === 0 || nowMs < this.nextSlowCheck) return NO_FINDINGS;
    const boundary = Math.floor(nowMs / SLOW_CHECK_EVERY_MS) * SLOW_CHECK_EVERY_MS;
    this.nextSlowCheck = boundary + SLOW_CHECK_EVERY_MS;
    let out: Finding[] | null = null;
    for (const [id, track] of this.slow) {
      const hits = track.tally.check(
        boundary - o.slowScanWindowMs,
        boundary,
        o.slowPortScanThreshold,
        o.slowHostScanThreshold,
        MAX_SAMPLES,
      );
      for (const hit of hits) out = add(out, this.slowFinding(track, hit));
      if (track.tally.size === 0) this.slow.delete(id);
    }
    return out ?? NO_FINDINGS;
  }

  private slowFinding(track: SlowTrack, hit: TallyHit): Finding {
    const proto: Proto = hit.portKey >= UDP_PORT_OFFSET ? "udp" : "tcp";
    const port = proto === "udp" ? hit.portKey - UDP_PORT_OFFSET : hit.portKey;
    const targets = hit.targets.map(([ip, key]) =>
      key >= UDP_PORT_OFFSET ? `${hostPart(ip)}:${key - UDP_PORT_OFFSET}/udp` : `${hostPart(ip)}:${key}/tcp`,
    );
    const w = this.opts.slowScanWindowMs;
    const c = track.container;
    const portScan = hit.shape === "port-scan";
    const on = portScan ? namedHost(hit.ip) : `${port}/${proto}`;
    // The long window keeps no first time per target: the span named is the window's.
    const facts: ShapeFacts = {
      shape: hit.shape,
      container: c.name,
      on,
      count: hit.count,
      spanMs: w,
      slow: true,
    };
    const finding: FindingNextStep = {
      detector: NAME,
      kind: hit.shape,
      severity: SEVERITY,
      // The same key as the fast shape: a scan seen by both windows is one alert.
      key: portScan ? `port-scan:${hit.ip}` : `host-scan:${port}/${proto}`,
      container: c,
      workload: this.ctx.workloadOf(c),
      summary: shapeSentence(facts),
      ts: hit.lastTs,
      src: { ip: track.srcIp, port: 0, proto },
      details: {
        shape: hit.shape,
        count: hit.count,
        targets,
        windowMs: w,
        slow: true,
        on,
        distinct: hit.count,
        spanMs: w,
      } satisfies ConnectionBurstDetails,
      fix: scanThresholdFix(facts),
    };
    if (portScan) finding.dst = { ip: hit.ip, port, proto };
    return finding;
  }

  status(): string {
    const slow = this.slow.size > 0 || this.slowEvictions > 0;
    return (
      `tracking ${this.tracks.size} containers, ${this.targetCount} targets, ${this.evictions} evictions` +
      (slow ? `; slow-scan tallies for ${this.slow.size} containers, ${this.slowEvictions} evictions` : "") +
      (this.rates.store.size > 0 ? `; ${this.rates.store.status()}` : "")
    );
  }

  /** The container's state, made most recently active; the least recently active goes when full. */
  private track(id: string): Track {
    let track = this.tracks.get(id);
    if (track === undefined) {
      if (this.tracks.size >= this.opts.maxTrackedContainers) {
        const first = this.tracks.entries().next();
        if (!first.done) {
          const [oldId, old] = first.value;
          this.tracks.delete(oldId);
          this.targetCount -= old.size;
          this.evictions++;
        }
      }
      track = new Track();
      this.tracks.set(id, track);
    } else if (this.lastTrackId !== id) {
      this.tracks.delete(id);
      this.tracks.set(id, track);
    }
    this.lastTrackId = id;
    return track;
  }

  /** Finds or adds the target and moves it to the young end of the age list. */
  private target(track: Track, ip: string, port: number, proto: Proto, ts: number): Target {
    const portKey = proto === "udp" ? port + UDP_PORT_OFFSET : port;
    let host = track.hosts.get(ip);
    let t = host?.ports.get(portKey);
    if (t === undefined) {
      if (track.size >= this.opts.maxTargetsPerContainer && track.oldest !== null) {
        this.removeTarget(track, track.oldest);
        this.evictions++;
        host = track.hosts.get(ip);
      }
      t = new Target(ip, port, proto, portKey);
      t.firstTs = ts;
      if (host === undefined) {
        host = { ports: new Map(), scanned: 0 };
        track.hosts.set(ip, host);
      }
      host.ports.set(portKey, t);
      let byPort = track.ports.get(portKey);
      if (byPort === undefined) {
        byPort = { hosts: new Map(), scanned: 0 };
        track.ports.set(portKey, byPort);
      }
      byPort.hosts.set(ip, t);
      track.size++;
      this.targetCount++;
    } else if (track.newest !== t) {
      unlink(track, t);
    } else {
      // Already the youngest: only the time moves (events may arrive slightly out of order).
      if (ts > t.lastTs) t.lastTs = ts;
      return t;
    }
    if (ts > t.lastTs) t.lastTs = ts;
    t.older = track.newest;
    t.newer = null;
    if (track.newest !== null) track.newest.newer = t;
    else track.oldest = t;
    track.newest = t;
    return t;
  }

  /** Forgets targets last seen at or before `cutoff` (oldest first; stops at the first fresh one). */
  private prune(track: Track, cutoff: number): void {
    let t = track.oldest;
    while (t !== null && t.lastTs <= cutoff) {
      const next = t.newer;
      this.removeTarget(track, t);
      t = next;
    }
  }

  private removeTarget(track: Track, t: Target): void {
    unlink(track, t);
    t.older = null;
    t.newer = null;
    const host = track.hosts.get(t.ip);
    if (host !== undefined) {
      host.ports.delete(t.portKey);
      if (t.inPortScan) host.scanned--;
      if (host.ports.size === 0) track.hosts.delete(t.ip);
    }
    const port = track.ports.get(t.portKey);
    if (port !== undefined) {
      port.hosts.delete(t.ip);
      if (t.inHostScan) port.scanned--;
      if (port.hosts.size === 0) track.ports.delete(t.portKey);
    }
    track.size--;
    this.targetCount--;
  }

  private portScan(ev: ConnectionEvent, container: ContainerRef, host: HostEntry): Finding {
    const targets: string[] = [];
    const count = host.scanned;
    for (const t of host.ports.values()) {
      if (!t.inPortScan) continue;
      if (targets.length < MAX_SCAN_SAMPLES) targets.push(t.toString());
      t.inPortScan = false;
    }
    host.scanned = 0;
    const w = this.opts.scanWindowMs;
    // Every port of the host tried in the window, not only this firing's: the scan as it stands.
    const distinct = host.ports.size;
    const { open, firstTs } = scanned(host.ports.values(), ev.ts);
    const on = namedHost(ev.dst.ip, nameOf(ev));
    return this.finding(ev, container, "port-scan", `port-scan:${ev.dst.ip}`, {
      withDst: true,
      count,
      targets,
      windowMs: w,
      facts: {
        shape: "port-scan",
        container: container.name,
        on,
        count: distinct,
        open,
        spanMs: ev.ts - firstTs,
      },
    });
  }

  private hostScan(ev: ConnectionEvent, container: ContainerRef, port: PortEntry): Finding {
    const targets: string[] = [];
    const count = port.scanned;
    for (const t of port.hosts.values()) {
      if (!t.inHostScan) continue;
      if (targets.length < MAX_SCAN_SAMPLES) targets.push(t.toString());
      t.inHostScan = false;
    }
    port.scanned = 0;
    const w = this.opts.scanWindowMs;
    const label = `${ev.dst.port}/${ev.proto}`;
    const distinct = port.hosts.size;
    const { open, firstTs } = scanned(port.hosts.values(), ev.ts);
    return this.finding(ev, container, "host-scan", `host-scan:${label}`, {
      withDst: false,
      count,
      targets,
      windowMs: w,
      facts: {
        shape: "host-scan",
        container: container.name,
        on: label,
        count: distinct,
        open,
        spanMs: ev.ts - firstTs,
      },
    });
  }

  private bruteForce(ev: ConnectionEvent, container: ContainerRef, track: Track, t: Target): Finding | null {
    const o = this.opts;
    if (t.bad === null) t.bad = [];
    const times = t.bad;
    const cutoff = track.now - o.scanWindowMs;
    let drop = 0;
    while (drop < times.length && times[drop]! <= cutoff) drop++;
    if (drop > 0) times.splice(0, drop);
    times.push(ev.ts);
    if (times.length < o.bruteForceThreshold) return null;
    const count = times.length;
    const spanMs = ev.ts - times[0]!;
    times.length = 0;
    const target = t.toString();
    const on = namedEndpoint(ev.dst.ip, ev.dst.port, ev.proto, nameOf(ev));
    const dst = { ip: ev.dst.ip, port: ev.dst.port, proto: ev.proto, container: ev.dst.container };
    return this.finding(ev, container, "brute-force", `brute-force:${target}`, {
      withDst: true,
      count,
      targets: [target],
      windowMs: o.scanWindowMs,
      // Counted only when nothing allows the destination (allowed ones are judged by rate).
      facts: { shape: "brute-force", container: container.name, on, count, spanMs, allowedBy: null },
      // The legitimate client of a service: allowed, it is judged against its own normal rate instead.
      fix: egressLabelFix(ev.dst.names === undefined ? dst : { ...dst, names: ev.dst.names }),
    });
  }

  private burst(ev: ConnectionEvent, container: ContainerRef, track: Track, t: Target): Finding | null {
    const o = this.opts;
    const bucket = track.bucket;
    // Leak by the event time elapsed; a late event (out of order) leaks nothing and never rewinds.
    if (bucket.leak(ev.ts, this.leakPerMs) === 0) {
      track.poured = 0;
      track.burstStart = ev.ts;
      track.recentNext = 0;
      track.recent.length = 0;
    }
    bucket.level += 1;
    track.poured++;
    if (track.recent.length < MAX_SAMPLES) track.recent.push(t);
    else track.recent[track.recentNext] = t;
    track.recentNext = (track.recentNext + 1) % MAX_SAMPLES;
    if (bucket.level <= o.burstCapacity) return null;

    const count = track.poured;
    const span = Math.max(0, bucket.at - track.burstStart);
    const targets: string[] = [];
    for (const r of track.recent) {
      const s = r.toString();
      if (!targets.includes(s)) targets.push(s);
    }
    // Empty the bucket: a sustained burst fires again only once it has refilled.
    bucket.level = 0;
    track.poured = 0;
    track.recent.length = 0;
    track.recentNext = 0;
    return this.finding(ev, container, "burst", "burst", {
      withDst: false,
      count,
      targets,
      windowMs: span,
      facts: { shape: "burst", container: container.name, on: null, count, spanMs: span },
      fix: detectorOptionFix(NAME, "burstCapacity", count),
    });
  }

  private finding(
    ev: ConnectionEvent,
    container: ContainerRef,
    shape: Shape,
    key: string,
    f: {
      withDst: boolean;
      count: number;
      targets: string[];
      windowMs: number;
      facts: ShapeFacts;
      fix?: string;
    },
  ): Finding {
    const details: ConnectionBurstDetails = {
      shape,
      count: f.count,
      targets: f.targets,
      windowMs: f.windowMs,
      spanMs: f.facts.spanMs,
    };
    if (f.facts.on !== null) details.on = f.facts.on;
    if (shape === "port-scan" || shape === "host-scan") {
      details.distinct = f.facts.count;
      details.open = f.facts.open ?? 0;
    }
    if (f.facts.allowedBy !== undefined) details.allowedBy = f.facts.allowedBy;
    const finding: FindingNextStep = {
      detector: NAME,
      severity: SEVERITY,
      key,
      container,
      workload: this.ctx.workloadOf(container),
      summary: shapeSentence(f.facts),
      ts: ev.ts,
      src: { ip: ev.src.ip, port: ev.src.port, proto: ev.proto },
      kind: shape,
      details,
      fix: f.fix ?? scanThresholdFix(f.facts),
    };
    if (f.withDst) finding.dst = { ip: ev.dst.ip, port: ev.dst.port, proto: ev.proto };
    return finding;
  }
}

const NO_BURSTS: readonly RateBurst<RateTag>[] = Object.freeze([]);

/**
 * The destination a rate profile is kept for: the service (a container's workload, so a restart on
 * a new IP keeps its profile), else the DNS name the client used (rotating addresses are one
 * destination), else the IP; with the port.
 */
function destinationHostOf(ctx: DetectorContext, ev: ConnectionEvent): string {
  const dst = ev.dst;
  return dst.container !== null ? ctx.workloadOf(dst.container) : (dst.names?.[0] ?? hostPart(dst.ip));
}

/**
 * The option that spares a rate brute force: the multiple of normal the count stayed within, or,
 * when its normal is zero (no multiple would do), a floor above the count.
 */
function rateFix(count: number, normalPer10s: number, windowMs: number): string {
  const normalInWindow = normalPer10s * (windowMs / RATE_BUCKET_MS);
  return normalInWindow > 0
    ? detectorOptionFix(NAME, "bruteForceRateMultiple", Math.ceil(count / normalInWindow))
    : detectorOptionFix(NAME, "bruteForceFloor", count + 1);
}

/** Allowed and not denylisted (a denylisted destination is never "allowed", whatever rule covers it). */
function isAllowedVerdict(v: EgressVerdict | null): boolean {
  return v !== null && v.allowedBy !== null && !v.denylisted;
}

/** Findings are rare: the array is made only when one fires. */
function add(out: Finding[] | null, f: Finding): Finding[] {
  if (out === null) return [f];
  out.push(f);
  return out;
}

function unlink(track: Track, t: Target): void {
  if (t.older !== null) t.older.newer = t.newer;
  else if (track.oldest === t) track.oldest = t.newer;
  if (t.newer !== null) t.newer.older = t.older;
  else if (track.newest === t) track.newest = t.older;
}

export const connectionBurst: DetectorModule<typeof options> = {
  name: NAME,
  help:
    "Flags a container that opens connections like a scanner or a brute-forcer: a leaky-bucket burst of " +
    "rejected, unanswered or very short connections; many ports on one host (port-scan); one port on many " +
    "hosts (host-scan); many failed connections to one ip:port (brute-force). Event time only.",
  findings: CONNECTION_BURST_FINDINGS,
  options,
  reads: [
    "connection:attempt",
    "connection:accepted",
    "connection:rejected",
    "connection:unanswered",
    "connection:closed",
  ],
  create,
};

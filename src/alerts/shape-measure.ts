import type { Finding, FindingEndpoint } from "../model/finding.js";
import { IncidentTally } from "./incident-tally.js";
import { type ShapeFacts, shapeFactsOf } from "./shape-sentence.js";

/** "203.0.113.30:22/tcp" or "[2001:db8::1]:22/tcp" → host and "port/proto". */
function splitTarget(t: string): { host: string; portProto: string } | null {
  const colon = t.lastIndexOf(":");
  if (colon <= 0) return null;
  const host = t.slice(0, colon);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, portProto: t.slice(colon + 1) };
}

/**
 * A shape incident's numbers as it grows (connection-burst findings fire again each time a
 * threshold is crossed anew, each with only its own count): the distinct ports of the scanned host
 * or hosts on the swept port, from its own findings and from every other finding of the workload
 * that reached them; the connections of all its brute-force or burst findings; and its whole span.
 */
export class ShapeMeasure {
  /** Scans: the ports (port-scan) or hosts (host-scan) reached, bounded like every tally. */
  readonly reached: IncidentTally | null;
  private latest: Finding;
  private latestFacts: ShapeFacts;
  private readonly startTs: number;
  private connections = 0;
  /** What a destination must match to count: the scanned host's IP, or the swept "port/proto". */
  private readonly match: string | null;

  private constructor(f: Finding, facts: ShapeFacts) {
    this.latest = f;
    this.latestFacts = facts;
    this.startTs = f.ts - facts.spanMs;
    const scan = facts.shape === "port-scan" || facts.shape === "host-scan";
    this.reached = scan ? new IncidentTally(facts.shape === "port-scan" ? "ports" : "hosts") : null;
    this.match =
      facts.shape === "port-scan" ? (f.dst?.ip ?? null) : facts.shape === "host-scan" ? facts.on : null;
    this.take(f, facts);
  }

  /** A measure for a shape finding, or null when the finding is no connection-burst shape. */
  static of(f: Finding): ShapeMeasure | null {
    const facts = shapeFactsOf(f.container.name, f.details);
    return facts === null ? null : new ShapeMeasure(f, facts);
  }

  /** Another finding of the incident's own fingerprint. */
  add(f: Finding): void {
    const facts = shapeFactsOf(f.container.name, f.details);
    if (facts === null || facts.shape !== this.latestFacts.shape) return;
    if (f.ts >= this.latest.ts) {
      this.latest = f;
      this.latestFacts = facts;
    }
    this.take(f, facts);
  }

  /** A destination another finding reached: counted when the shape covers it; true when it is new. */
  reach(dst: FindingEndpoint): boolean {
    if (this.reached === null || this.match === null) return false;
    if (this.latestFacts.shape === "port-scan") {
      return dst.ip === this.match && this.reached.add(`${dst.port}/${dst.proto}`);
    }
    return `${dst.port}/${dst.proto}` === this.match && this.reached.add(dst.ip);
  }

  /** The incident's facts: the latest finding's words with the incident's numbers and span. */
  facts(container: string, lastSeen: number): ShapeFacts {
    const f = this.latestFacts;
    const count =
      this.reached !== null ? Math.max(f.count, this.reached.distinct) : Math.max(f.count, this.connections);
    return { ...f, container, count, spanMs: Math.max(f.spanMs, lastSeen - this.startTs) };
  }

  private take(f: Finding, facts: ShapeFacts): void {
    if (this.reached === null) {
      this.connections += facts.count;
      return;
    }
    const targets = f.details?.targets;
    if (!Array.isArray(targets)) return;
    for (const t of targets) {
      const parts = typeof t === "string" ? splitTarget(t) : null;
      if (parts === null) continue;
      this.reached.add(facts.shape === "port-scan" ? parts.portProto : parts.host);
    }
  }
}

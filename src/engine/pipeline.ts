import { decodePacket } from "../capture/decoder.js";
import { DecodedPacket, PROTO_UDP } from "../capture/packet.js";
import type { RawPacketHandler } from "../capture/source.js";
import type { NetmonConfig } from "../config/schema.js";
import { DnsCache } from "../flows/dns-cache.js";
import { type DnsMessage, parseDnsMessage } from "../flows/dns-parser.js";
import { FlowTracker } from "../flows/flow-tracker.js";
import { ListeningPorts } from "../flows/listening-ports.js";
import type { ProcConnection } from "../flows/proc-connection.js";
import type { IpResolver } from "../inventory/types.js";
import type { ConnectionEvent, ContainerRef, NetmonEvent } from "../model/events.js";
import type { ConnectionVerdict } from "../model/verdict.js";
import { wordsToIp } from "../net/ip-format.js";

export interface PipelineCounters {
  packets: number;
  /** Packets that carried no IPv4/IPv6 header we could read (ARP, garbage, unknown link types). */
  undecoded: number;
  dnsAnswers: number;
  dnsRejected: number;
}

const DNS_PORT = 53;
/** The DNS cache is swept (a full pass) at most this often: lookups drop expired names on their own. */
const DNS_SWEEP_EVERY_MS = 10_000;

/**
 * decode → DNS cache → flow tracker → events. Live capture and pcap replay both feed packets
 * here (through the engine, src/engine/engine.ts), so both behave the same; events go to one sink
 * (the engine's fan-out) synchronously.
 */
export class Pipeline {
  readonly tracker: FlowTracker;
  readonly dns: DnsCache;
  /** The ports containers listen on (from the listener scan): who answers in unseen openings. */
  readonly listening = new ListeningPorts();
  readonly counters: PipelineCounters = { packets: 0, undecoded: 0, dnsAnswers: 0, dnsRejected: 0 };
  private readonly pkt = new DecodedPacket();
  private nextDnsSweep = Number.NEGATIVE_INFINITY;

  constructor(
    config: Pick<NetmonConfig, "flows" | "dns">,
    private readonly resolver: IpResolver,
    private readonly sink: (ev: NetmonEvent) => void,
  ) {
    this.dns = new DnsCache({
      maxEntries: config.dns.maxEntries,
      minTtlMs: config.dns.minTtlSeconds * 1000,
      maxTtlMs: config.dns.maxTtlSeconds * 1000,
      retainMs: config.dns.retainSeconds * 1000,
      // As long as the flow tracker keeps a silent connection open: it forgets one without an event.
      openHoldMs: Math.max(config.flows.tcpEstablishedIdleMs, config.flows.udpIdleMs),
    });
    this.tracker = new FlowTracker(config.flows, resolver, (ev) => this.onConnection(ev), this.listening);
  }

  /** A packet handler bound to one capture interface. */
  handlerFor(iface: string): RawPacketHandler {
    return (buf, start, caplen, wireLength, tsMs, linkType) => {
      this.counters.packets++;
      const p = this.pkt;
      if (!decodePacket(buf, start, caplen, linkType, p)) {
        this.counters.undecoded++;
        return;
      }
      p.ts = tsMs;
      p.wireLength = wireLength;
      if (p.proto === PROTO_UDP && p.srcPort === DNS_PORT && p.payloadLength >= 12) this.onDnsAnswer(p);
      this.tracker.onPacket(p, iface);
    };
  }

  /** The engine's clock tick (packet time, or the clock when traffic is quiet): runs the timeouts due by now. */
  tick(nowMs: number): void {
    this.tracker.advance(nowMs);
    if (nowMs >= this.nextDnsSweep) {
      this.nextDnsSweep = nowMs + DNS_SWEEP_EVERY_MS;
      this.dns.sweep(nowMs);
    }
  }

  /** A connection found open in /proc, at engine time `ts`: false when the flow table already holds it. */
  seed(c: ProcConnection, ts: number): boolean {
    return this.tracker.seed(c, ts);
  }

  /** End of a replay: pending flows time out as they would have. */
  finish(): void {
    this.tracker.flush();
  }

  private onDnsAnswer(p: DecodedPacket): void {
    const res = parseDnsMessage(p.buf, p.payloadOffset, p.payloadLength);
    if (!res.ok) {
      this.counters.dnsRejected++;
      return;
    }
    if (!res.message.isResponse) return;
    this.counters.dnsAnswers++;
    // Names are remembered per asking container, so one container's lookups never vouch for another's.
    const client = wordsToIp(p.dst, p.ipVersion);
    const asker = this.resolver.lookup(client, p.ts);
    this.dns.record(asker?.id ?? client, res.message, p.ts);
    if (asker !== null) this.emitDns(asker, p, res.message);
  }

  /** A response to a container: one DnsEvent (dns-abuse counts the names containers ask for). */
  private emitDns(asker: ContainerRef, p: DecodedPacket, m: DnsMessage): void {
    const q = m.questions[0];
    if (q === undefined) return;
    this.sink({
      kind: "dns",
      ts: p.ts,
      container: asker,
      server: wordsToIp(p.src, p.ipVersion),
      qname: q.name,
      qtype: q.type,
      rcode: m.rcode,
      answers: m.answers.length,
    });
  }

  /**
   * The engine judged an attempt (ev.verdict): names that let it through are retained
   * dns.retainSeconds after their last use, so a client that keeps the address past the answer's
   * TTL stays allowed. The engine calls down here; the pipeline never calls the engine.
   */
  judged(ev: ConnectionEvent): void {
    const names = ev.dst.names;
    if (names === undefined || ev.verdict === undefined || !namesVouched(ev.verdict)) return;
    this.dns.retain(scopeOf(ev), ev.dst.ip, names, ev.ts);
  }

  private onConnection(ev: ConnectionEvent): void {
    // The names as of this event (a late answer reaches the flow's later events), then the
    // connection's start, use or end; the event that ends a connection still carries its names.
    const names = this.dns.namesForConnection(scopeOf(ev), ev.dst.ip, ev.state, ev.ts);
    if (names.length > 0) ev.dst.names = names;
    this.sink(ev);
  }
}

/** Names are remembered per asking container (else per client IP): the initiator's scope. */
function scopeOf(ev: ConnectionEvent): string {
  return ev.src.container?.id ?? ev.src.ip;
}

/**
 * Whether the names of an attempt vouched for it: a host-name rule matched them, or the baseline
 * (which holds names the workload learned), or the workload is learning them now. Never for a
 * denylisted destination.
 */
function namesVouched(v: ConnectionVerdict): boolean {
  if (v.denylisted) return false;
  return v.allowedBy === "dns-name" || v.allowedBy === "baseline" || v.mode === "learn";
}

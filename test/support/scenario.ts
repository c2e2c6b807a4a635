/**
 * A small DSL to describe a golden scenario in code: the containers of a Docker host (turned into the
 * JSON array `docker inspect` prints, plus `docker image inspect` objects for images that carry
 * labels) and the traffic on its bridge (turned into pcap records with real wire bytes).
 *
 *   const s = new Scenario({ network: "shop_default" });
 *   s.container({ name: "shop-web-1", ip: "172.30.0.2", project: "shop", service: "web" });
 *   s.dns(1_000, "shop-web-1", "172.30.0.1", "api.example.com", { ips: ["203.0.113.50"] });
 *   s.tcp(1_100, "shop-web-1", "203.0.113.50", 443, "closed", 1_500);
 *   const { pcapRecords, inventory } = s.build();
 *
 * Times (`t`, startedAt, finishedAt) are milliseconds from the scenario start `t0`. An endpoint is a
 * container name (which must be running at that time) or an IP address. Source ports are allocated
 * per source address from 40000 up. Records come out sorted by time (stable for equal times).
 */
import { createHash } from "node:crypto";
import { LINKTYPE_ETHERNET, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/capture/packet.js";
import { buildDns, type RecordSpec } from "./dns-builder.js";
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethernet,
  fragmentExt,
  ipv4,
  ipv6,
  relinkEthernet,
  tcpPacket,
  tcp as tcpSegment,
  udpPacket,
  udp as udpSegment,
} from "./packet-builder.js";
import type { PcapRecord } from "./pcap-writer.js";

/** 2026-01-01T00:00:00Z: the default scenario start. */
export const SCENARIO_T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

export interface ContainerSpec {
  /** Container name, without Docker's leading "/". */
  name: string;
  /** IPv4 address on the scenario network. */
  ip: string;
  /** IPv6 address on it (GlobalIPv6Address); the container's traffic uses it in a `family: 6` scenario. */
  ip6?: string;
  /** Compose project and service: set as the com.docker.compose.* labels. */
  project?: string;
  service?: string;
  /** Image reference (Config.Image); default "busybox:1.36". */
  image?: string;
  /** The container's own labels (they win over the image's labels, as with `docker run --label`). */
  labels?: Record<string, string>;
  /**
   * The image's own labels. Docker copies them into the container's labels, so they are merged
   * under `labels`, and a `docker image inspect` object carrying them is added to the inventory.
   */
  imageLabels?: Record<string, string>;
  /** EXPOSE'd ports, "8080/tcp" (or "8080", meaning tcp). */
  exposed?: string[];
  /** ms from t0; default -60 s (started before the capture). */
  startedAt?: number;
  /** ms from t0; the container stopped then (it keeps its IP in the synthetic JSON). */
  finishedAt?: number;
}

export type TcpOutcome = "closed" | "rejected" | "unanswered" | "open";

/** One packet of a hand-written TCP exchange (see Scenario.tcpPackets). */
export interface TcpStep {
  /** ms after the exchange's start. */
  at: number;
  /** "src" (the side on the allocated or given port) or "dst" (dst:dstPort). */
  from: "src" | "dst";
  /** Flags byte: TCP_SYN | TCP_ACK etc. */
  flags: number;
  /** Sequence number (default 1000): a new initial one on a SYN tells a new connection. */
  seq?: number;
}

export interface DnsAnswers {
  /** CNAME chain from the asked name: name → cname[0] → cname[1] …; the addresses belong to the last. */
  cname?: string[];
  ips: string[];
}

export interface ScenarioOutput {
  pcapRecords: PcapRecord[];
  inventory: unknown[];
  /** The link type of the records, for the capture file header. */
  linkType: number;
}

export interface ScenarioOptions {
  /** Epoch ms of time 0; default SCENARIO_T0. */
  t0?: number;
  /** Docker network every container is attached to; default "golden_default". */
  network?: string;
  /** Its gateway (the host side of the bridge); default "172.30.0.1". */
  gateway?: string;
  /**
   * Link-layer header of the records (a LINKTYPE_ value); default LINKTYPE_ETHERNET, as captured on
   * the bridge. Others carry the same IP packets, as `tcpdump -i any` (Linux cooked) or other capture
   * points would write them.
   */
  linkType?: number;
  /** Address family of containers' traffic: 6 uses each container's ip6; default 4. */
  family?: 4 | 6;
}

const FIRST_PORT = 40_000;
const LAST_PORT = 60_999;
/** Linux SYN retransmissions of an unanswered connect(): after 1 s, then 2 s more. */
const SYN_RETRIES_MS = [1_000, 3_000];

/** Deterministic 64-hex id from a seed (container and image ids). */
export function hexId(seed: string): string {
  return createHash("sha256").update(seed).digest("hex");
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Docker's MAC for an IPv4 address on a bridge: 02:42 followed by the four address bytes. */
function macOf(ip: string): string {
  const bytes = ip.split(".").map((p) => Number(p).toString(16).padStart(2, "0"));
  return ["02", "42", ...bytes].join(":");
}

function isIp(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) || text.includes(":");
}

interface Resolved {
  ip: string;
  mac: string;
}

export class Scenario {
  readonly t0: number;
  readonly network: string;
  readonly gateway: string;
  readonly linkType: number;
  readonly family: 4 | 6;
  private readonly containers: ContainerSpec[] = [];
  private readonly records: PcapRecord[] = [];
  private readonly nextPort = new Map<string, number>();
  private dnsId = 1;
  private fragmentId = 0x4000;

  constructor(opts: ScenarioOptions = {}) {
    this.t0 = opts.t0 ?? SCENARIO_T0;
    this.network = opts.network ?? "golden_default";
    this.gateway = opts.gateway ?? "172.30.0.1";
    this.linkType = opts.linkType ?? LINKTYPE_ETHERNET;
    this.family = opts.family ?? 4;
  }

  container(spec: ContainerSpec): this {
    if (this.containers.some((c) => c.name === spec.name)) throw new Error(`container ${spec.name} twice`);
    if (!isIp(spec.ip)) throw new Error(`container ${spec.name}: bad ip ${spec.ip}`);
    if (spec.ip6 !== undefined && !spec.ip6.includes(":")) {
      throw new Error(`container ${spec.name}: bad ip6 ${spec.ip6}`);
    }
    this.containers.push(spec);
    return this;
  }

  /**
   * One TCP connection from src to dst:dstPort opened at t:
   * - closed: SYN, SYN-ACK, ACK, data; the client's FIN durationMs (default 100) after the SYN, then
   *   the server's FIN;
   * - rejected: SYN, then RST-ACK from dst durationMs (default 1) later;
   * - unanswered: SYN and its two retransmissions (1 s, 3 s), no answer;
   * - open: SYN, SYN-ACK, ACK, data, and no end within the capture.
   */
  tcp(t: number, src: string, dst: string, dstPort: number, outcome: TcpOutcome, durationMs?: number): this {
    const s = this.endpoint(src, t);
    const d = this.endpoint(dst, t);
    const srcPort = this.allocatePort(s.ip);
    const fwd = { src: s.ip, dst: d.ip, srcPort, dstPort, srcMac: s.mac, dstMac: d.mac };
    const rev = { src: d.ip, dst: s.ip, srcPort: dstPort, dstPort: srcPort, srcMac: d.mac, dstMac: s.mac };
    const at = (ms: number, data: Buffer): void => {
      this.records.push({ tsMs: this.t0 + ms, data });
    };
    at(t, tcpPacket({ ...fwd, flags: TCP_SYN, seq: 1000 }));
    switch (outcome) {
      case "rejected":
        at(t + (durationMs ?? 1), tcpPacket({ ...rev, flags: TCP_RST | TCP_ACK, ack: 1001 }));
        break;
      case "unanswered":
        for (const retry of SYN_RETRIES_MS) at(t + retry, tcpPacket({ ...fwd, flags: TCP_SYN, seq: 1000 }));
        break;
      case "open":
      case "closed": {
        const duration = durationMs ?? 100;
        if (duration <= 0) throw new Error("tcp: durationMs must be > 0");
        const rtt = Math.min(1, duration / 4);
        at(t + rtt, tcpPacket({ ...rev, flags: TCP_SYN | TCP_ACK, seq: 5000, ack: 1001 }));
        at(t + rtt, tcpPacket({ ...fwd, flags: TCP_ACK, seq: 1001, ack: 5001 }));
        at(t + 2 * rtt, tcpPacket({ ...fwd, flags: TCP_PSH | TCP_ACK, seq: 1001, ack: 5001 }));
        if (outcome === "closed") {
          at(t + duration, tcpPacket({ ...fwd, flags: TCP_FIN | TCP_ACK, seq: 1002, ack: 5002 }));
          at(t + duration + rtt, tcpPacket({ ...rev, flags: TCP_FIN | TCP_ACK, seq: 5002, ack: 1003 }));
          at(t + duration + rtt, tcpPacket({ ...fwd, flags: TCP_ACK, seq: 1003, ack: 5003 }));
        }
        break;
      }
    }
    return this;
  }

  /**
   * A TCP exchange written packet by packet, between src:srcPort and dst:dstPort (a connection whose
   * start the capture missed, a half-close, a tuple reused): each step `at` ms after t. srcPort is
   * allocated like tcp()'s unless given (to reuse a tuple).
   */
  tcpPackets(
    t: number,
    src: string,
    dst: string,
    dstPort: number,
    steps: TcpStep[],
    opts: { srcPort?: number } = {},
  ): this {
    const s = this.endpoint(src, t);
    const d = this.endpoint(dst, t);
    const srcPort = opts.srcPort ?? this.allocatePort(s.ip);
    for (const step of steps) {
      const fwd = step.from === "src";
      this.records.push({
        tsMs: this.t0 + t + step.at,
        data: tcpPacket({
          src: fwd ? s.ip : d.ip,
          dst: fwd ? d.ip : s.ip,
          srcPort: fwd ? srcPort : dstPort,
          dstPort: fwd ? dstPort : srcPort,
          srcMac: fwd ? s.mac : d.mac,
          dstMac: fwd ? d.mac : s.mac,
          flags: step.flags,
          seq: step.seq ?? 1000,
        }),
      });
    }
    return this;
  }

  /**
   * One UDP or TCP segment from src:srcPort to dst:dstPort at t, sent as IP fragments of at most
   * `fragmentBytes` of payload each (a multiple of 8): only the first carries the transport header.
   * IPv4 fragments, or IPv6 fragment headers when the addresses are IPv6.
   */
  fragmented(
    t: number,
    src: string,
    dst: string,
    seg: { proto: "udp" | "tcp"; srcPort: number; dstPort: number; payload: Buffer; flags?: number },
    fragmentBytes: number,
  ): this {
    if (fragmentBytes <= 0 || fragmentBytes % 8 !== 0)
      throw new Error("fragmented: fragmentBytes must be a multiple of 8");
    const s = this.endpoint(src, t);
    const d = this.endpoint(dst, t);
    const pseudo = { src: s.ip, dst: d.ip };
    const proto = seg.proto === "udp" ? 17 : 6;
    const body =
      seg.proto === "udp"
        ? udpSegment({ srcPort: seg.srcPort, dstPort: seg.dstPort, payload: seg.payload, pseudo })
        : tcpSegment({
            srcPort: seg.srcPort,
            dstPort: seg.dstPort,
            flags: seg.flags ?? 0,
            payload: seg.payload,
            pseudo,
          });
    const v6 = s.ip.includes(":");
    for (let off = 0; off < body.length; off += fragmentBytes) {
      const payload = body.subarray(off, off + fragmentBytes);
      const more = off + fragmentBytes < body.length;
      const ip = v6
        ? ipv6({
            src: s.ip,
            dst: d.ip,
            nextHeader: proto,
            payload,
            extHeaders: [fragmentExt({ offset: off / 8, more, id: this.fragmentId })],
          })
        : ipv4({
            src: s.ip,
            dst: d.ip,
            proto,
            payload,
            id: this.fragmentId,
            fragOffset: off / 8,
            moreFragments: more,
          });
      this.records.push({
        tsMs: this.t0 + t,
        data: ethernet({
          src: s.mac,
          dst: d.mac,
          etherType: v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4,
          payload: ip,
        }),
      });
    }
    this.fragmentId++;
    return this;
  }

  /**
   * One UDP datagram from src to dst:dstPort at t, answered 1 ms later unless `answered` is false;
   * from `srcPort` when given (a service's reply), else the next allocated port.
   */
  udp(
    t: number,
    src: string,
    dst: string,
    dstPort: number,
    opts: { answered?: boolean; payload?: Buffer; reply?: Buffer; srcPort?: number } = {},
  ): this {
    const s = this.endpoint(src, t);
    const d = this.endpoint(dst, t);
    const srcPort = opts.srcPort ?? this.allocatePort(s.ip);
    const payload = opts.payload ?? Buffer.from("ping");
    this.records.push({
      tsMs: this.t0 + t,
      data: udpPacket({ src: s.ip, dst: d.ip, srcPort, dstPort, srcMac: s.mac, dstMac: d.mac, payload }),
    });
    if (opts.answered ?? true) {
      this.records.push({
        tsMs: this.t0 + t + 1,
        data: udpPacket({
          src: d.ip,
          dst: s.ip,
          srcPort: dstPort,
          dstPort: srcPort,
          srcMac: d.mac,
          dstMac: s.mac,
          payload: opts.reply ?? Buffer.from("pong"),
        }),
      });
    }
    return this;
  }

  /**
   * A DNS A/AAAA lookup of `name` by `client` to `resolver`:53 at t, answered with the
   * CNAME chain and the addresses 1 ms later (each record with `ttl` seconds).
   */
  dns(t: number, client: string, resolver: string, name: string, answers: DnsAnswers, ttl = 300): this {
    const id = this.dnsId++;
    const chain = [name, ...(answers.cname ?? [])];
    const last = chain[chain.length - 1]!;
    const records: RecordSpec[] = [];
    for (let i = 0; i + 1 < chain.length; i++) {
      records.push({ name: chain[i]!, type: "CNAME", target: chain[i + 1]!, ttl });
    }
    for (const ip of answers.ips) {
      records.push(
        ip.includes(":") ? { name: last, type: "AAAA", ip, ttl } : { name: last, type: "A", ip, ttl },
      );
    }
    const qtype = answers.ips.some((ip) => ip.includes(":")) ? 28 : 1;
    const questions = [{ name, type: qtype }];
    return this.udp(t, client, resolver, 53, {
      payload: buildDns({ id, response: false, questions }),
      reply: buildDns({ id, response: true, questions, answers: records, compress: true }),
    });
  }

  /** Calls fn(t, i) for i = 0 … count-1 at t = start + i * interval: periodic traffic. */
  every(start: number, interval: number, count: number, fn: (t: number, i: number) => void): this {
    for (let i = 0; i < count; i++) fn(start + i * interval, i);
    return this;
  }

  /**
   * The pcap records so far, sorted by time (stable: same-time packets keep their order), in the
   * scenario's link type.
   */
  pcapRecords(): PcapRecord[] {
    const sorted = [...this.records].sort((a, b) => a.tsMs - b.tsMs);
    if (this.linkType === LINKTYPE_ETHERNET) return sorted;
    return sorted.map((r) => ({ ...r, data: relinkEthernet(r.data, this.linkType) }));
  }

  /**
   * The `docker inspect` array: one container object each (Docker 20.10 fields netmon reads), and
   * a `docker image inspect` object for every image given imageLabels (its Id is the containers' Image).
   */
  inventory(): unknown[] {
    const out: unknown[] = [];
    const images = new Map<string, unknown>();
    const networkId = hexId(`network:${this.network}`);
    for (const c of this.containers) {
      const image = c.image ?? "busybox:1.36";
      const imageId = `sha256:${hexId(`image:${image}`)}`;
      if (c.imageLabels !== undefined) {
        const prev = images.get(imageId);
        const obj = { Id: imageId, RepoTags: [image], Config: { Labels: c.imageLabels } };
        if (prev !== undefined && JSON.stringify(prev) !== JSON.stringify(obj)) {
          throw new Error(`image ${image}: two containers give it different labels`);
        }
        images.set(imageId, obj);
      }
      const labels: Record<string, string> = { ...(c.imageLabels ?? {}) };
      if (c.project !== undefined) labels["com.docker.compose.project"] = c.project;
      if (c.service !== undefined) labels["com.docker.compose.service"] = c.service;
      Object.assign(labels, c.labels ?? {});
      const exposed = (c.exposed ?? []).map((p) => (p.includes("/") ? p : `${p}/tcp`));
      const running = c.finishedAt === undefined;
      out.push({
        Id: hexId(`container:${c.name}`),
        Name: `/${c.name}`,
        Image: imageId,
        Config: {
          Image: image,
          Labels: labels,
          ExposedPorts: exposed.length > 0 ? Object.fromEntries(exposed.map((p) => [p, {}])) : null,
        },
        State: {
          Running: running,
          Pid: running ? 4000 + out.length : 0,
          StartedAt: iso(this.t0 + (c.startedAt ?? -60_000)),
          FinishedAt: running ? "0001-01-01T00:00:00Z" : iso(this.t0 + c.finishedAt!),
        },
        NetworkSettings: {
          // Exposed but not published: Docker lists the port with no bindings.
          Ports: Object.fromEntries(exposed.map((p) => [p, null])),
          Networks: {
            [this.network]: {
              NetworkID: networkId,
              IPAddress: c.ip,
              GlobalIPv6Address: c.ip6 ?? "",
              MacAddress: macOf(c.ip),
              Gateway: this.gateway,
            },
          },
        },
      });
    }
    return [...out, ...images.values()];
  }

  build(): ScenarioOutput {
    return { pcapRecords: this.pcapRecords(), inventory: this.inventory(), linkType: this.linkType };
  }

  /** A container name (running at t) or an IP address. */
  private endpoint(who: string, t: number): Resolved {
    if (isIp(who)) return { ip: who, mac: who.includes(":") ? "02:42:00:00:00:01" : macOf(who) };
    const c = this.containers.find((x) => x.name === who);
    if (c === undefined) throw new Error(`unknown container ${who} (declare it before its traffic)`);
    const from = c.startedAt ?? -60_000;
    if (t < from || (c.finishedAt !== undefined && t > c.finishedAt)) {
      throw new Error(`container ${who} is not running at t=${t} ms`);
    }
    if (this.family === 4) return { ip: c.ip, mac: macOf(c.ip) };
    if (c.ip6 === undefined) throw new Error(`container ${who} has no ip6 for a family 6 scenario`);
    return { ip: c.ip6, mac: macOf(c.ip) };
  }

  private allocatePort(ip: string): number {
    const port = this.nextPort.get(ip) ?? FIRST_PORT;
    this.nextPort.set(ip, port >= LAST_PORT ? FIRST_PORT : port + 1);
    return port;
  }
}

/**
 * Generates the replay benchmark's capture: ~2 million packets of realistic container traffic on one
 * Docker bridge, as a classic pcap (µs, Ethernet) with valid IP/TCP/UDP checksums, plus the
 * `docker inspect` inventory and the netmon config to replay it with.
 *
 *   node dist/test/bench/gen-capture.js [/tmp/netmon-bench/capture.pcap] [--packets 2000000]
 *
 * What is in it (packet time, about 14 minutes at the default size; rates per second):
 * - inbound HTTP from TEST-NET clients to a proxy container, and proxy → web containers (short
 *   TCP connections: handshake, request, response segments, delayed ACKs, FIN handshake);
 * - web → db short queries, web → cache pooled long-lived connections (request/response data);
 * - DNS lookups (query + answer with CNAME/A records) before workers call HTTPS APIs;
 * - statsd UDP datagrams, a bulk upload (long flow of full-size segments), some IPv6 traffic;
 * - a compromised container: a port scan (RSTs), a host scan (unanswered SYNs with retries),
 *   a brute force, a denylisted C2 destination; plus a few unexpected destinations.
 *
 * Deterministic (seeded PRNG): the same arguments give the same file. Written in 8 MiB chunks from
 * per-packet descriptors in typed arrays (sorted by time), so 2M packets take a few seconds.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/capture/packet.js";
import { buildDns, type RecordSpec } from "../support/dns-builder.js";
import { ipBytes, macBytes } from "../support/packet-builder.js";
import { type ContainerSpec, Scenario } from "../support/scenario.js";

export interface GeneratedCapture {
  pcap: string;
  inventory: string;
  config: string;
  denylist: string;
  packets: number;
  bytes: number;
  seconds: number;
}

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const NETWORK = "shop_default";
const GATEWAY = "172.30.0.1";
const RESOLVER = "192.0.2.53";
const C2 = "203.0.113.66";
const MSS = 1448;

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Conn {
  src: Buffer;
  dst: Buffer;
  srcMac: Buffer;
  dstMac: Buffer;
  sport: number;
  dport: number;
  v6: boolean;
}

const DIR_FWD = 0;
const DIR_REV = 1;
const UDP_MARK = 0xff;

/** Packet descriptors in growable typed arrays (2M objects would cost far more). */
class PacketList {
  n = 0;
  ts = new Float64Array(1 << 16);
  conn = new Uint32Array(1 << 16);
  dir = new Uint8Array(1 << 16);
  /** TCP flags, or UDP_MARK for a UDP datagram. */
  flags = new Uint8Array(1 << 16);
  len = new Uint16Array(1 << 16);
  /** -1: payload is the filler pattern; otherwise an index into blobs. */
  blob = new Int32Array(1 << 16);
  seq = new Uint32Array(1 << 16);
  ack = new Uint32Array(1 << 16);

  push(
    ts: number,
    conn: number,
    dir: number,
    flags: number,
    len: number,
    blob: number,
    seq: number,
    ack: number,
  ) {
    if (this.n === this.ts.length) this.grow();
    const i = this.n++;
    this.ts[i] = ts;
    this.conn[i] = conn;
    this.dir[i] = dir;
    this.flags[i] = flags;
    this.len[i] = len;
    this.blob[i] = blob;
    this.seq[i] = seq >>> 0;
    this.ack[i] = ack >>> 0;
  }

  private grow(): void {
    const size = this.ts.length * 2;
    const g = <T extends Float64Array | Uint32Array | Uint8Array | Uint16Array | Int32Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.ts = g(this.ts, (n) => new Float64Array(n));
    this.conn = g(this.conn, (n) => new Uint32Array(n));
    this.dir = g(this.dir, (n) => new Uint8Array(n));
    this.flags = g(this.flags, (n) => new Uint8Array(n));
    this.len = g(this.len, (n) => new Uint16Array(n));
    this.blob = g(this.blob, (n) => new Int32Array(n));
    this.seq = g(this.seq, (n) => new Uint32Array(n));
    this.ack = g(this.ack, (n) => new Uint32Array(n));
  }
}

function macOf(ip: string): Buffer {
  if (ip.includes(":")) return macBytes("02:42:00:00:00:01");
  const b = ipBytes(ip);
  return Buffer.from([0x02, 0x42, b[0]!, b[1]!, b[2]!, b[3]!]);
}

interface Exchange {
  req: number;
  resp: number;
}

class TrafficBuilder {
  readonly pkts = new PacketList();
  readonly conns: Conn[] = [];
  readonly blobs: Buffer[] = [];
  private readonly nextPort = new Map<string, number>();
  private readonly blobIds = new Map<string, number>();
  private dnsId = 1;

  constructor(readonly rand: () => number) {}

  conn(src: string, dst: string, dport: number): number {
    const port = this.nextPort.get(src) ?? 32768 + Math.floor(this.rand() * 20000);
    this.nextPort.set(src, port >= 60999 ? 32768 : port + 1);
    this.conns.push({
      src: ipBytes(src),
      dst: ipBytes(dst),
      srcMac: macOf(src),
      dstMac: macOf(dst),
      sport: port,
      dport,
      v6: src.includes(":"),
    });
    return this.conns.length - 1;
  }

  private isn(): number {
    return Math.floor(this.rand() * 4294967295);
  }

  /** Data from one side in MSS segments; the other side ACKs every second segment (delayed ACK). */
  private data(
    c: number,
    t: number,
    dir: number,
    bytes: number,
    seqs: [number, number],
    gapMs: number,
  ): number {
    const other = dir === DIR_FWD ? DIR_REV : DIR_FWD;
    let sent = 0;
    let segs = 0;
    while (sent < bytes) {
      const len = Math.min(MSS, bytes - sent);
      const last = sent + len >= bytes;
      this.pkts.push(t, c, dir, TCP_ACK | (last ? TCP_PSH : 0), len, -1, seqs[dir]!, seqs[other]!);
      seqs[dir] = (seqs[dir]! + len) >>> 0;
      sent += len;
      segs++;
      if (segs % 2 === 0 || last) {
        this.pkts.push(t + gapMs / 2, c, other, TCP_ACK, 0, -1, seqs[other]!, seqs[dir]!);
      }
      t += gapMs;
    }
    return t;
  }

  /** A whole connection: handshake, request/response exchanges, then FIN handshake (or left open). */
  tcp(
    t: number,
    c: number,
    rttMs: number,
    exchanges: Exchange[],
    opts: { thinkMs?: number; open?: boolean; segGapMs?: number; seqs?: [number, number] } = {},
  ): number {
    const seqs: [number, number] = opts.seqs ?? [0, 0];
    seqs[0] = this.isn();
    seqs[1] = this.isn();
    const p = this.pkts;
    p.push(t, c, DIR_FWD, TCP_SYN, 0, -1, seqs[0], 0);
    seqs[0] = (seqs[0] + 1) >>> 0;
    t += rttMs;
    p.push(t, c, DIR_REV, TCP_SYN | TCP_ACK, 0, -1, seqs[1], seqs[0]);
    seqs[1] = (seqs[1] + 1) >>> 0;
    t += 0.02;
    p.push(t, c, DIR_FWD, TCP_ACK, 0, -1, seqs[0], seqs[1]);
    const gap = opts.segGapMs ?? 0.05;
    for (const ex of exchanges) {
      t = this.data(c, t + 0.05, DIR_FWD, ex.req, seqs, gap);
      t = this.data(c, t + rttMs, DIR_REV, ex.resp, seqs, gap);
      t += opts.thinkMs ?? 0;
    }
    if (opts.open) return t;
    t += 0.1;
    p.push(t, c, DIR_FWD, TCP_FIN | TCP_ACK, 0, -1, seqs[0], seqs[1]);
    seqs[0] = (seqs[0] + 1) >>> 0;
    t += rttMs;
    p.push(t, c, DIR_REV, TCP_FIN | TCP_ACK, 0, -1, seqs[1], seqs[0]);
    seqs[1] = (seqs[1] + 1) >>> 0;
    t += 0.02;
    p.push(t, c, DIR_FWD, TCP_ACK, 0, -1, seqs[0], seqs[1]);
    return t;
  }

  rejected(t: number, c: number): void {
    const s = this.isn();
    this.pkts.push(t, c, DIR_FWD, TCP_SYN, 0, -1, s, 0);
    this.pkts.push(t + 0.05, c, DIR_REV, TCP_RST | TCP_ACK, 0, -1, 0, s + 1);
  }

  unanswered(t: number, c: number): void {
    const s = this.isn();
    for (const retry of [0, 1000, 3000]) this.pkts.push(t + retry, c, DIR_FWD, TCP_SYN, 0, -1, s, 0);
  }

  udp(t: number, c: number, dir: number, len: number): void {
    this.pkts.push(t, c, dir, UDP_MARK, len, -1, 0, 0);
  }

  private blob(key: string, make: () => Buffer): number {
    let id = this.blobIds.get(key);
    if (id === undefined) {
      id = this.blobs.length;
      this.blobs.push(make());
      this.blobIds.set(key, id);
    }
    return id;
  }

  /** A DNS lookup by `client` (query + answer 1-4 ms later) of name → [cname →] ips. */
  dns(t: number, client: string, name: string, ips: string[], cname?: string): void {
    const c = this.conn(client, RESOLVER, 53);
    const id = this.dnsId++ & 0xffff;
    const questions = [{ name, type: 1 }];
    // The id varies per lookup in real traffic; blobs are shared per name, which only fixes the id.
    const q = this.blob(`q:${name}`, () => Buffer.from(buildDns({ id, response: false, questions })));
    const a = this.blob(`a:${name}`, () => {
      const answers: RecordSpec[] = [];
      const last = cname ?? name;
      if (cname) answers.push({ name, type: "CNAME", target: cname, ttl: 300 });
      for (const ip of ips) answers.push({ name: last, type: "A", ip, ttl: 60 });
      return Buffer.from(buildDns({ id, response: true, questions, answers, compress: true }));
    });
    this.pkts.push(t, c, DIR_FWD, UDP_MARK, this.blobs[q]!.length, q, 0, 0);
    this.pkts.push(t + 1 + this.rand() * 3, c, DIR_REV, UDP_MARK, this.blobs[a]!.length, a, 0, 0);
  }
}

function range(n: number, f: (i: number) => string): string[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

const WEB = range(8, (i) => `172.30.0.${10 + i}`);
const WORKERS = range(4, (i) => `172.30.0.${30 + i}`);
const PROXY = "172.30.0.5";
const DB = "172.30.0.20";
const CACHE = "172.30.0.21";
const METRICS = "172.30.0.40";
const SCANNER = "172.30.0.99";
const API_NAMES = ["api.example.net", "payments.example.net", "auth.example.net", "files.example.net"];
const API_IPS = ["198.51.100.10", "198.51.100.11", "198.51.100.12", "198.51.100.13"];
const BULK_DST = "198.51.100.20";

function containers(): ContainerSpec[] {
  const out: ContainerSpec[] = [
    {
      name: "shop-proxy-1",
      ip: PROXY,
      project: "shop",
      service: "proxy",
      image: "nginx:1.25",
      exposed: ["80/tcp"],
      labels: { "netmon.egress": "web:8080/tcp" },
    },
    {
      name: "shop-db-1",
      ip: DB,
      project: "shop",
      service: "db",
      image: "postgres:16",
      exposed: ["5432/tcp"],
    },
    {
      name: "shop-cache-1",
      ip: CACHE,
      project: "shop",
      service: "cache",
      image: "redis:7",
      exposed: ["6379/tcp"],
    },
    {
      name: "shop-metrics-1",
      ip: METRICS,
      project: "shop",
      service: "metrics",
      image: "statsd/statsd:v0.10",
      exposed: ["8125/udp"],
    },
    { name: "shop-tools-1", ip: SCANNER, project: "shop", service: "tools", image: "alpine:3.19" },
  ];
  WEB.forEach((ip, i) => {
    out.push({
      name: `shop-web-${i + 1}`,
      ip,
      project: "shop",
      service: "web",
      image: "shop/web:1.4",
      exposed: ["8080/tcp"],
      labels: { "netmon.egress": "db:5432/tcp, cache:6379/tcp, metrics:8125/udp" },
    });
  });
  WORKERS.forEach((ip, i) => {
    out.push({
      name: `shop-worker-${i + 1}`,
      ip,
      project: "shop",
      service: "worker",
      image: "shop/worker:2.0",
      labels: { "netmon.egress": "db:5432/tcp, *.example.net:443/tcp, 198.51.100.20:443/tcp" },
    });
  });
  return out;
}

/** Builds the traffic second by second until `target` packets, then writes everything. */
export function generateCapture(path: string, target = 2_000_000, seed = 7): GeneratedCapture {
  const started = Date.now();
  const rand = rng(seed);
  const b = new TrafficBuilder(rand);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const between = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const clientIp = (): string => `192.0.2.${between(100, 250)}`;
  // Packets per second of packet time is about 2,350: this many seconds reach the target.
  const estSeconds = Math.max(20, Math.ceil(target / 2350));

  // Long-lived: 16 pooled web → cache connections (opened at t=0.x), and one bulk upload.
  const pool = range(16, (i) => WEB[i % WEB.length]!).map((ip) => b.conn(ip, CACHE, 6379));
  const poolSeqs = pool.map(() => [0, 0] as [number, number]);
  pool.forEach((c, i) => {
    b.tcp(100 + i * 10, c, 0.1, [], { open: true, seqs: poolSeqs[i]! });
  });
  const bulk = b.conn(WORKERS[0]!, BULK_DST, 443);
  const bulkSeq: [number, number] = [0, 0];
  b.tcp(500, bulk, 0.5, [{ req: 600, resp: 4000 }], { open: true, seqs: bulkSeq });

  const scanAt = Math.floor(estSeconds * 0.2) * 1000;
  const hostScanAt = Math.floor(estSeconds * 0.5) * 1000;
  const bruteAt = Math.floor(estSeconds * 0.75) * 1000;

  let sec = 1;
  for (; b.pkts.n < target; sec++) {
    const base = sec * 1000;
    const at = (): number => base + rand() * 1000;
    // Inbound HTTP to the proxy, and proxy → web.
    for (let i = 0; i < 40; i++) {
      const req = between(250, 700);
      const resp = between(400, 9000);
      const t = at();
      b.tcp(t, b.conn(clientIp(), PROXY, 80), between(5, 40), [{ req, resp }]);
      b.tcp(t + 1, b.conn(PROXY, pick(WEB), 8080), 0.1, [{ req, resp }]);
    }
    // web → db short queries.
    for (let i = 0; i < 30; i++) {
      b.tcp(at(), b.conn(pick(WEB), DB, 5432), 0.08, [{ req: between(80, 300), resp: between(100, 2500) }]);
    }
    // Pooled cache traffic: 100 request/response exchanges per second over the long flows.
    for (let i = 0; i < 100; i++) {
      const k = Math.floor(rand() * pool.length);
      const c = pool[k]!;
      const seqs = poolSeqs[k]!;
      const t = at();
      b.pkts.push(t, c, DIR_FWD, TCP_ACK | TCP_PSH, between(30, 120), -1, seqs[0], seqs[1]);
      b.pkts.push(t + 0.1, c, DIR_REV, TCP_ACK | TCP_PSH, between(10, 900), -1, seqs[1], seqs[0]);
      b.pkts.push(t + 0.15, c, DIR_FWD, TCP_ACK, 0, -1, seqs[0], seqs[1]);
      seqs[0] = (seqs[0] + 200) >>> 0;
      seqs[1] = (seqs[1] + 1000) >>> 0;
    }
    // Workers: DNS lookup, then an HTTPS call to the answer (two exchanges).
    for (let i = 0; i < 8; i++) {
      const w = pick(WORKERS);
      const k = Math.floor(rand() * API_NAMES.length);
      const t = at();
      b.dns(t, w, API_NAMES[k]!, [API_IPS[k]!], `edge-${k}.cdn.example.net`);
      b.tcp(t + 6, b.conn(w, API_IPS[k]!, 443), between(10, 30), [
        { req: 517, resp: between(3000, 6000) },
        { req: between(200, 1200), resp: between(200, 20000) },
      ]);
    }
    // Other DNS lookups (web containers resolving each other's dependencies, no connection after).
    for (let i = 0; i < 52; i++) {
      b.dns(at(), pick(WEB), `svc-${between(1, 40)}.internal.example.com`, [`198.51.100.${between(50, 90)}`]);
    }
    // statsd: one-way UDP datagrams.
    for (let i = 0; i < 80; i++) {
      const c = b.conn(pick(WEB), METRICS, 8125);
      b.udp(at(), c, DIR_FWD, between(20, 200));
    }
    // Bulk upload: 260 full segments a second, ACK every second one.
    {
      let t = base;
      for (let i = 0; i < 260; i++) {
        b.pkts.push(t, bulk, DIR_FWD, TCP_ACK, MSS, -1, bulkSeq[0], bulkSeq[1]);
        bulkSeq[0] = (bulkSeq[0] + MSS) >>> 0;
        if (i % 2 === 1) b.pkts.push(t + 0.3, bulk, DIR_REV, TCP_ACK, 0, -1, bulkSeq[1], bulkSeq[0]);
        t += 1000 / 260;
      }
    }
    // IPv6 between hosts that are not containers (external direction).
    for (let i = 0; i < 5; i++) {
      const c = b.conn(`2001:db8:1::${between(1, 200).toString(16)}`, "2001:db8:2::443", 443);
      b.tcp(at(), c, 2, [{ req: 400, resp: between(500, 5000) }]);
    }
    // A few unexpected destinations from web containers, and the compromised container's C2 beacon.
    if (sec % 45 === 0)
      b.tcp(at(), b.conn(pick(WEB), `203.0.113.${between(1, 50)}`, 8443), 20, [{ req: 100, resp: 100 }]);
    if (sec % 30 === 0) b.tcp(at(), b.conn(SCANNER, C2, 4444), 40, [{ req: 64, resp: 64 }]);
    // Scans: port scan of db (RSTs), host scan of another /24 (no answers), brute force on db:5432.
    if (base === scanAt) {
      for (let port = 1; port <= 1024; port++) {
        if (port === 5432) continue;
        b.rejected(base + port * 0.5, b.conn(SCANNER, DB, port));
      }
    }
    if (base === hostScanAt) {
      for (let h = 1; h <= 254; h++) b.unanswered(base + h * 2, b.conn(SCANNER, `172.30.1.${h}`, 22));
    }
    if (base === bruteAt) {
      for (let i = 0; i < 200; i++)
        b.tcp(base + i * 5, b.conn(SCANNER, DB, 5432), 0.1, [{ req: 60, resp: 40 }]);
    }
  }
  // Close the long flows at the end.
  const end = (sec + 1) * 1000;
  pool.forEach((c, i) => {
    const s = poolSeqs[i]!;
    b.pkts.push(end, c, DIR_FWD, TCP_FIN | TCP_ACK, 0, -1, s[0], s[1]);
    b.pkts.push(end + 0.1, c, DIR_REV, TCP_FIN | TCP_ACK, 0, -1, s[1], s[0] + 1);
    b.pkts.push(end + 0.2, c, DIR_FWD, TCP_ACK, 0, -1, s[0] + 1, s[1] + 1);
  });
  b.pkts.push(end, bulk, DIR_FWD, TCP_FIN | TCP_ACK, 0, -1, bulkSeq[0], bulkSeq[1]);
  b.pkts.push(end + 0.5, bulk, DIR_REV, TCP_FIN | TCP_ACK, 0, -1, bulkSeq[1], bulkSeq[0] + 1);

  mkdirSync(dirname(path), { recursive: true });
  const bytes = writePcap(path, b);
  const dir = dirname(path);
  const scenario = new Scenario({ t0: T0, network: NETWORK, gateway: GATEWAY });
  for (const c of containers()) scenario.container(c);
  const inventory = join(dir, "inventory.json");
  writeFileSync(inventory, `${JSON.stringify(scenario.inventory(), null, 1)}\n`);
  const denylist = join(dir, "denylist.txt");
  writeFileSync(denylist, `# bench denylist\n${C2}\n`);
  const config = join(dir, "netmon.yaml");
  writeFileSync(config, replayConfigYaml(denylist));
  return {
    pcap: path,
    inventory,
    config,
    denylist,
    packets: b.pkts.n,
    bytes,
    seconds: (Date.now() - started) / 1000,
  };
}

/** All detectors on (their defaults), judging from the first packet (no learning period). */
export function replayConfigYaml(denylist: string): string {
  return [
    "mode: monitor",
    "baseline:",
    "  learnForSeconds: 0",
    "policy:",
    `  dnsResolvers: ["${RESOLVER}"]`,
    `  denylistFile: ${denylist}`,
    "",
  ].join("\n");
}

/** Ones' complement sum of 16-bit big-endian words of buf[start, end) (even start), not folded. */
function sum16(buf: Buffer, start: number, end: number): number {
  let s = 0;
  let i = start;
  for (; i + 1 < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) s += buf[i]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

const SYN_OPTIONS = Buffer.from([2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7]);

function writePcap(path: string, b: TrafficBuilder): number {
  const p = b.pkts;
  const order = new Uint32Array(p.n);
  for (let i = 0; i < p.n; i++) order[i] = i;
  const ts = p.ts;
  order.sort((x, y) => ts[x]! - ts[y]! || x - y);
  // Filler payload and the sum of its first k bytes, for the checksums of data segments.
  const filler = Buffer.alloc(MSS + 2);
  const r = rng(99);
  for (let i = 0; i < filler.length; i++) filler[i] = Math.floor(r() * 256);
  const fillerSum = new Float64Array(MSS + 2);
  for (let k = 1; k <= MSS + 1; k++) fillerSum[k] = sum16(filler, 0, k);

  const CHUNK = 8 * 1024 * 1024;
  const out = Buffer.alloc(CHUNK + 4096);
  let o = 0;
  let total = 0;
  const fd = openSync(path, "w");
  const flush = (): void => {
    writeSync(fd, out, 0, o);
    total += o;
    o = 0;
  };
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(0, 8);
  out.writeUInt32LE(0, 12);
  out.writeUInt32LE(262_144, 16);
  out.writeUInt32LE(1, 20);
  o = 24;
  for (let k = 0; k < p.n; k++) {
    if (o > CHUNK) flush();
    const i = order[k]!;
    const c = b.conns[p.conn[i]!]!;
    const fwd = p.dir[i] === DIR_FWD;
    const src = fwd ? c.src : c.dst;
    const dst = fwd ? c.dst : c.src;
    const sport = fwd ? c.sport : c.dport;
    const dport = fwd ? c.dport : c.sport;
    const udp = p.flags[i] === UDP_MARK;
    const flags = udp ? 0 : p.flags[i]!;
    const blob = p.blob[i]!;
    const payLen = p.len[i]!;
    const l4Head = udp ? 8 : flags & TCP_SYN ? 40 : 20;
    const l4Len = l4Head + payLen;
    const ipHead = c.v6 ? 40 : 20;
    const frameLen = 14 + ipHead + l4Len;
    const rec = o;
    const tms = T0 + ts[i]!;
    let sec = Math.floor(tms / 1000);
    let usec = Math.round((tms - sec * 1000) * 1000);
    if (usec >= 1_000_000) {
      sec++;
      usec -= 1_000_000;
    }
    out.writeUInt32LE(sec, rec);
    out.writeUInt32LE(usec, rec + 4);
    out.writeUInt32LE(frameLen, rec + 8);
    out.writeUInt32LE(frameLen, rec + 12);
    const e = rec + 16;
    (fwd ? c.dstMac : c.srcMac).copy(out, e);
    (fwd ? c.srcMac : c.dstMac).copy(out, e + 6);
    out.writeUInt16BE(c.v6 ? 0x86dd : 0x0800, e + 12);
    const ip = e + 14;
    const proto = udp ? 17 : 6;
    let pseudo: number;
    if (c.v6) {
      out.writeUInt32BE(0x60000000, ip);
      out.writeUInt16BE(l4Len, ip + 4);
      out[ip + 6] = proto;
      out[ip + 7] = 64;
      src.copy(out, ip + 8);
      dst.copy(out, ip + 24);
      pseudo = sum16(out, ip + 8, ip + 40) + l4Len + proto;
    } else {
      out[ip] = 0x45;
      out[ip + 1] = 0;
      out.writeUInt16BE(20 + l4Len, ip + 2);
      out.writeUInt16BE(k & 0xffff, ip + 4);
      out.writeUInt16BE(0x4000, ip + 6);
      out[ip + 8] = 64;
      out[ip + 9] = proto;
      out.writeUInt16BE(0, ip + 10);
      src.copy(out, ip + 12);
      dst.copy(out, ip + 16);
      out.writeUInt16BE(~fold(sum16(out, ip, ip + 20)) & 0xffff, ip + 10);
      pseudo = sum16(out, ip + 12, ip + 20) + l4Len + proto;
    }
    const l4 = ip + ipHead;
    out.writeUInt16BE(sport, l4);
    out.writeUInt16BE(dport, l4 + 2);
    if (udp) {
      out.writeUInt16BE(l4Len, l4 + 4);
      out.writeUInt16BE(0, l4 + 6);
    } else {
      out.writeUInt32BE(p.seq[i]!, l4 + 4);
      out.writeUInt32BE(flags & TCP_ACK ? p.ack[i]! : 0, l4 + 8);
      out[l4 + 12] = (l4Head / 4) << 4;
      out[l4 + 13] = flags;
      out.writeUInt16BE(flags & TCP_RST ? 0 : 502, l4 + 14);
      out.writeUInt32BE(0, l4 + 16);
      if (l4Head === 40) SYN_OPTIONS.copy(out, l4 + 20);
    }
    const pay = l4 + l4Head;
    let paySum: number;
    if (blob >= 0) {
      b.blobs[blob]!.copy(out, pay);
      paySum = sum16(out, pay, pay + payLen);
    } else {
      filler.copy(out, pay, 0, payLen);
      paySum = fillerSum[payLen]!;
    }
    let csum = ~fold(pseudo + sum16(out, l4, pay) + paySum) & 0xffff;
    if (udp && csum === 0) csum = 0xffff;
    out.writeUInt16BE(csum, l4 + (udp ? 6 : 16));
    o = pay + payLen;
  }
  flush();
  closeSync(fd);
  return total;
}

function main(): void {
  const args = process.argv.slice(2);
  let path = "/tmp/netmon-bench/capture.pcap";
  let packets = 2_000_000;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--packets") packets = Number(args[++i]);
    else path = args[i]!;
  }
  const g = generateCapture(path, packets);
  process.stdout.write(`${JSON.stringify(g, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();

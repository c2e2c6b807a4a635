/**
 * Golden cases of dns-abuse (issue 17 §4): a tunnel through one domain, a DGA burst, and the
 * high-cardinality lookups that must stay silent (a busy resolver client, search-domain expansions,
 * reverse lookups). Listed in make-cases.ts CASES. Every case runs on the shipped defaults with web
 * labelled (judged from its first packet, no learning); web asks the network's gateway, the resolver
 * Docker's embedded DNS forwards to, so no lookup itself is an unexpected destination.
 */
import { buildDns } from "../support/dns-builder.js";
import { Scenario, type ScenarioOutput } from "../support/scenario.js";

export interface DnsAbuseCase {
  name: string;
  description: string;
  build: () => ScenarioOutput;
}

const SEC = 1_000;
const WEB = "shop-web-1";
const GATEWAY = "172.30.0.1";
const NXDOMAIN = 3;
const T_A = 1;
const T_PTR = 12;
const T_TXT = 16;

function app(): Scenario {
  return new Scenario({ network: "shop_default", gateway: GATEWAY }).container({
    name: WEB,
    ip: "172.30.0.2",
    project: "shop",
    service: "web",
    image: "shop/web:1.4",
    labels: { "netmon.egress": "db:5432/tcp" },
  });
}

interface Lookup {
  type?: number;
  rcode?: number;
  /** Addresses answered (A records); none for NXDOMAIN or an empty answer. */
  ips?: string[];
}

/** One query from web to the gateway and its response, rcode and answers as given. */
function lookup(s: Scenario, t: number, name: string, o: Lookup = {}): void {
  const questions = [{ name, type: o.type ?? T_A }];
  const answers = (o.ips ?? []).map((ip) => ({ name, type: "A" as const, ip, ttl: 60 }));
  s.udp(t, WEB, GATEWAY, 53, {
    payload: buildDns({ response: false, questions }),
    reply: buildDns({ response: true, rcode: o.rcode ?? 0, questions, answers, compress: true }),
  });
}

/** A deterministic random-looking label (base32 of a hash of `i`), `len` characters. */
function noise(i: number, len: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let x = (i + 7) * 2654435761;
  let out = "";
  for (let k = 0; k < len; k++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + k) >>> 0;
    out += alphabet[x % 32];
  }
  return out;
}

function dnsTunnel(): ScenarioOutput {
  const s = app();
  // An iodine/dnscat-style tunnel: 4 TXT queries a second, each a new 52-character encoded label.
  s.every(1 * SEC, 250, 240, (t, i) => lookup(s, t, `${noise(i, 52)}.t.cdn-sync.net`, { type: T_TXT }));
  return s.build();
}

function dgaBurst(): ScenarioOutput {
  const s = app();
  // Malware trying generated names: 60 random domains in 30 s, all NXDOMAIN but the last.
  const tlds = ["com", "net", "org", "info", "biz", "ru"];
  s.every(1 * SEC, 500, 60, (t, i) =>
    lookup(
      s,
      t,
      `${noise(i, 12 + (i % 6))}.${tlds[i % tlds.length]}`,
      i === 59 ? { ips: ["198.51.100.99"] } : { rcode: NXDOMAIN },
    ),
  );
  return s.build();
}

function busyResolverClient(): ScenarioOutput {
  const s = app();
  // A crawler-like client over 10 min: 600 lookups of 300 distinct names under 150 domains
  // (www and api of each), a few NXDOMAINs for dead sites, a few CDN customer names.
  s.every(1 * SEC, 1 * SEC, 600, (t, i) => {
    const site = i % 150;
    const name = `${i % 300 < 150 ? "www" : "api"}.site${site}-shop.com`;
    if (site % 37 === 0) lookup(s, t, name, { rcode: NXDOMAIN });
    else lookup(s, t, name, { ips: [`203.0.113.${(site % 200) + 1}`] });
    if (i % 5 === 0) lookup(s, t + 10, `d${noise(i, 13)}.cloudfront.net`, { ips: ["203.0.113.250"] });
  });
  return s.build();
}

function searchDomainNx(): ScenarioOutput {
  const s = app();
  // A resolver with a search list (ndots above the name's dots): every name is first tried under
  // svc.cluster.local, the host's corp.example.com and example.internal (NXDOMAIN), then as asked.
  s.every(1 * SEC, 3 * SEC, 200, (t, i) => {
    const name = `api.partner${i}.io`;
    lookup(s, t, `${name}.svc.cluster.local`, { rcode: NXDOMAIN });
    lookup(s, t + 2, `${name}.corp.example.com`, { rcode: NXDOMAIN });
    lookup(s, t + 4, `${name}.example.internal`, { rcode: NXDOMAIN });
    lookup(s, t + 6, name, { ips: [`203.0.113.${(i % 200) + 1}`] });
  });
  return s.build();
}

function reverseLookups(): ScenarioOutput {
  const s = app();
  // A log shipper resolving the peer of every log line: 400 PTR lookups of distinct addresses,
  // half without a name (NXDOMAIN), and the same addresses checked against a DNSBL.
  s.every(1 * SEC, 500, 400, (t, i) => {
    const ptr = `${i % 250}.${Math.floor(i / 250)}.51.198.in-addr.arpa`;
    lookup(s, t, ptr, { type: T_PTR, rcode: i % 2 === 0 ? NXDOMAIN : 0 });
    lookup(s, t + 5, `${i % 250}.${Math.floor(i / 250)}.51.198.zen.spamhaus.org`, { rcode: NXDOMAIN });
  });
  return s.build();
}

export const DNS_ABUSE_CASES: readonly DnsAbuseCase[] = [
  {
    name: "dns-tunnel",
    description:
      "web asks 240 distinct 52-character encoded names under cdn-sync.net in 1 min: one critical " +
      "dns-abuse tunnel, told once",
    build: dnsTunnel,
  },
  {
    name: "dns-dga-burst",
    description: "web gets NXDOMAIN for 59 random domains in 30 s: one dns-abuse dga warning",
    build: dgaBurst,
  },
  {
    name: "dns-busy-client",
    description:
      "600 lookups of 300 names under 150 domains in 10 min, a few NXDOMAINs and CDN customer names: no alert",
    build: busyResolverClient,
  },
  {
    name: "dns-search-domains",
    description: "200 names each tried under three search domains (NXDOMAIN) before they answer: no alert",
    build: searchDomainNx,
  },
  {
    name: "dns-reverse-lookups",
    description: "400 PTR lookups of distinct addresses and their DNSBL checks, half NXDOMAIN: no alert",
    build: reverseLookups,
  },
];

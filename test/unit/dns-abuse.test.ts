import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DnsAbuseDetails, type DnsAbuseOptions, dnsAbuse } from "../../detectors/dns-abuse.js";
import { nameShape, shannonEntropy } from "../../detectors/dns-abuse-names.js";
import type { DetectorContext, DetectorInstance } from "../../src/model/detector-api.js";
import type { DnsEvent } from "../../src/model/events.js";
import type { Finding } from "../../src/model/finding.js";
import { runsDnsServer } from "../../src/rules/dns-server-label.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import { containerInfo, containerRef } from "../support/fixtures.js";

const T0 = 1_700_000_000_000;
const SEC = 1_000;
const web = containerRef("shop-web-1");
const NOERROR = 0;
const NXDOMAIN = 3;

function detector(o: Partial<DnsAbuseOptions> = {}, ctx: Partial<DetectorContext> = {}): DetectorInstance {
  return dnsAbuse.create(dnsAbuse.options.parse(o), fakeDetectorContext(ctx));
}

function dns(ts: number, qname: string, o: Partial<DnsEvent> = {}): DnsEvent {
  return {
    kind: "dns",
    ts,
    container: web,
    server: "172.30.0.1",
    qname,
    qtype: 1,
    rcode: NOERROR,
    answers: 1,
    ...o,
  };
}

function feed(d: DetectorInstance, events: DnsEvent[]): Finding[] {
  return events.flatMap((ev) => [...d.onEvent(ev)]);
}

/** A deterministic pseudo-random label: base32 of a counter's hash, `len` characters. */
function encoded(i: number, len: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let x = (i + 1) * 2654435761;
  let out = "";
  for (let k = 0; k < len; k++) {
    x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + k) >>> 0;
    out += alphabet[x % 32];
  }
  return out;
}

const details = (f: Finding) => f.details as unknown as DnsAbuseDetails;

describe("dns-abuse: tunnel", () => {
  it("100 distinct encoded names under one domain in a minute: one critical tunnel", () => {
    const d = detector();
    const evs = Array.from({ length: 120 }, (_, i) =>
      dns(T0 + i * 500, `${encoded(i, 50)}.t.evil-tunnel.com`),
    );
    const found = feed(d, evs);
    expect(found).toHaveLength(1);
    const f = found[0]!;
    expect(f).toMatchObject({
      detector: "dns-abuse",
      kind: "tunnel",
      severity: "critical",
      key: "tunnel:evil-tunnel.com",
    });
    expect(details(f)).toMatchObject({ domain: "evil-tunnel.com", distinct: 100, encodedPct: 100 });
    expect(f.summary).toMatch(/^shop-web-1 asked for 100 distinct names under evil-tunnel\.com in 49\.5 s/);
  });

  it("short plain names under one domain reach the threshold at warning only", () => {
    const found = feed(
      detector(),
      Array.from({ length: 100 }, (_, i) => dns(T0 + i * SEC, `host${i}.example.com`)),
    );
    expect(found.map((f) => [f.kind, f.severity])).toEqual([["tunnel", "warning"]]);
  });

  it("repeats of the same names, and names spread over a longer window, stay silent", () => {
    const d = detector();
    const same = Array.from({ length: 500 }, (_, i) => dns(T0 + i * SEC, `n${i % 50}.example.com`));
    // 150 distinct names, one every 10 s: never 100 within 10 min.
    const slow = Array.from({ length: 150 }, (_, i) => dns(T0 + i * 10 * SEC, `s${i}.slow.example.org`));
    expect(feed(d, [...same, ...slow])).toEqual([]);
  });

  it("an ongoing tunnel is reported again once per window, not per name", () => {
    const d = detector({ windowMs: 60 * SEC });
    const evs = Array.from({ length: 600 }, (_, i) => dns(T0 + i * 250, `${encoded(i, 40)}.evil-tunnel.com`));
    expect(feed(d, evs).length).toBe(3);
  });

  it("counts while learning, reports once monitored; off and DNS-server containers never", () => {
    let mode: "learn" | "monitor" | "off" = "learn";
    const d = detector({}, { modeOf: () => mode });
    const names = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        dns(T0 + (from + i) * 100, `${encoded(from + i, 30)}.evil-tunnel.com`),
      );
    expect(feed(d, names(0, 150))).toEqual([]);
    mode = "monitor";
    expect(feed(d, names(150, 1))).toHaveLength(1);
    const server = detector();
    const asResolver = names(0, 200).map((ev) => ({ ...ev, dnsServer: true as const }));
    expect(feed(server, asResolver)).toEqual([]);
    mode = "off";
    expect(feed(detector({}, { modeOf: () => mode }), names(0, 200))).toEqual([]);
  });

  it("benign high-cardinality lookups are not counted", () => {
    const d = detector({ ignoreDomains: ["sophosxl.net"] });
    const evs: DnsEvent[] = [];
    for (let i = 0; i < 300; i++) {
      const a = `${i % 256}.${(i * 7) % 256}`;
      evs.push(dns(T0 + i * 100, `${a}.0.10.in-addr.arpa`, { qtype: 12 }));
      evs.push(dns(T0 + i * 100, `${a}.2.192.zen.spamhaus.org`, { rcode: NXDOMAIN }));
      evs.push(dns(T0 + i * 100, `_svc${i}._tcp.example.com`, { qtype: 33 }));
      evs.push(dns(T0 + i * 100, `svc-${i}.default.svc.cluster.local`));
      evs.push(dns(T0 + i * 100, `bucket-${i}.s3.amazonaws.com`));
      evs.push(dns(T0 + i * 100, `d${encoded(i, 12)}.cloudfront.net`));
      evs.push(dns(T0 + i * 100, `${encoded(i, 40)}.sophosxl.net`));
      evs.push(dns(T0 + i * 100, `10-0-${i % 256}-1.nip.io`));
    }
    expect(feed(d, evs)).toEqual([]);
  });

  it("a busy normal client (hundreds of names over many domains) stays silent", () => {
    const d = detector();
    const evs = Array.from({ length: 800 }, (_, i) =>
      dns(T0 + i * 300, `${["www", "api", "cdn", "static"][i % 4]}.site${i % 200}.com`, {
        rcode: i % 97 === 0 ? NXDOMAIN : NOERROR,
      }),
    );
    expect(feed(d, evs)).toEqual([]);
  });
});

describe("dns-abuse: dga", () => {
  it("NXDOMAIN for 25 distinct random domains: one dga warning", () => {
    const d = detector();
    const evs = Array.from({ length: 40 }, (_, i) =>
      dns(T0 + i * 200, `${encoded(i, 14)}.${["com", "net", "info", "ru"][i % 4]}`, { rcode: NXDOMAIN }),
    );
    const found = feed(d, evs);
    expect(found.map((f) => [f.kind, f.severity, f.key])).toEqual([["dga", "warning", "dga"]]);
    expect(details(found[0]!)).toMatchObject({ domain: null, distinct: 25 });
  });

  it("many NXDOMAINs under one domain are no DGA", () => {
    const evs = Array.from({ length: 60 }, (_, i) =>
      dns(T0 + i * 200, `missing${i}.example.com`, { rcode: NXDOMAIN }),
    );
    expect(feed(detector(), evs).filter((f) => f.kind === "dga")).toEqual([]);
  });

  it("search-domain expansions (NXDOMAIN, then the right answer) are not counted", () => {
    const d = detector();
    const evs: DnsEvent[] = [];
    for (let i = 0; i < 200; i++) {
      const t = T0 + i * 2 * SEC;
      const name = `api.service${i}.io`;
      evs.push(dns(t, `${name}.default.svc.cluster.local`, { rcode: NXDOMAIN }));
      evs.push(dns(t + 1, `${name}.corp.example.com`, { rcode: NXDOMAIN }));
      evs.push(dns(t + 2, `${name}.ec2.internal`, { rcode: NXDOMAIN }));
      evs.push(dns(t + 3, name));
      // A short name resolved through the search list: db.a.example.com fails, db.b.example.com answers.
      evs.push(dns(t + 4, `db${i % 5}.a.example.net`, { rcode: NXDOMAIN }));
      evs.push(dns(t + 5, `db${i % 5}.b.example.net`));
    }
    expect(feed(d, evs)).toEqual([]);
  });
});

describe("dns-abuse: names and bounds", () => {
  it("registrable domains come from the Public Suffix List", () => {
    expect(nameShape("a.b.example.co.uk", 1, [])?.domain).toBe("example.co.uk");
    expect(nameShape("x.bucket.s3.amazonaws.com", 1, [])?.domain).toBe("bucket.s3.amazonaws.com");
    expect(nameShape("db", 1, [])).toBeNull();
    expect(nameShape("x.example.internal", 1, [])).toBeNull();
    expect(nameShape("4.3.2.1.in-addr.arpa", 12, [])).toBeNull();
    expect(nameShape("_dmarc.example.com", 16, [])).toBeNull();
  });

  it("entropy: random labels score high, words low", () => {
    expect(shannonEntropy("aaaa")).toBe(0);
    expect(shannonEntropy(encoded(1, 40))).toBeGreaterThan(4);
    expect(nameShape(`${encoded(3, 45)}.evil.com`, 1, [])?.encoded).toBe(true);
    expect(nameShape("www.example.com", 1, [])?.encoded).toBe(false);
  });

  it("caps domains per detector and counts evictions", () => {
    const d = detector({ maxDomains: 10 });
    feed(
      d,
      Array.from({ length: 50 }, (_, i) => dns(T0 + i, `a.site${i}.com`)),
    );
    expect(d.status()).toMatch(/tracking 10 container domains \(40 evictions\)/);
  });

  it("hostile qnames (very long, non-ASCII, empty labels, dots only) never throw", () => {
    const d = detector();
    const fixed = [
      "",
      ".",
      "..",
      "a..b.com",
      "é.ü.com",
      "\u0000.\u00ff.com",
      "x".repeat(600),
      `${"a.".repeat(200)}com`,
    ];
    for (const q of fixed) expect(() => d.onEvent(dns(T0, q, { rcode: NXDOMAIN }))).not.toThrow();
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 15 }),
        (q, qtype, rcode) => {
          d.onEvent(dns(T0, q, { qtype, rcode }));
          d.onTick?.(T0 + 3_600_000);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("netmon.dns-server label", () => {
  it("is read strictly and never from the image", () => {
    const info = (labels: Record<string, string>, imageLabels: Record<string, string> | null = null) =>
      containerInfo(web, { labels, imageLabels });
    expect(runsDnsServer(info({ "netmon.dns-server": "true" }))).toBe(true);
    expect(runsDnsServer(info({ "netmon.dns-server": " TRUE " }))).toBe(true);
    for (const v of ["yes", "1", "true,false", "truex", ""])
      expect(runsDnsServer(info({ "netmon.dns-server": v }))).toBe(false);
    expect(runsDnsServer(info({ "netmon.dns-server": "true" }, { "netmon.dns-server": "true" }))).toBe(false);
    expect(runsDnsServer(undefined)).toBe(false);
  });
});

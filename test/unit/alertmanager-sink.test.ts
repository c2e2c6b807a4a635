import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { alertmanagerSchema } from "../../src/alerts/alertmanager-options.js";
import { type AmAlert, alertnameOf, toAmAlert } from "../../src/alerts/alertmanager-payload.js";
import { AlertmanagerSink, type AlertmanagerSinkOptions } from "../../src/alerts/alertmanager-sink.js";
import type { TimerHandle } from "../../src/alerts/alertmanager-transport.js";
import { fingerprintOf } from "../../src/alerts/fingerprint.js";
import { alertOf } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const T0_ISO = "2024-01-02T03:04:05.678Z";
const FP = fingerprintOf("unexpected-outbound", "shop/web", "203.0.113.7:443/tcp");

function alert(extra: Partial<Alert> = {}): Alert {
  return alertOf({ fingerprint: FP, detector: "unexpected-outbound", firstSeen: T0, lastSeen: T0, ...extra });
}

/** Distinct alerts: fingerprint n. */
function nth(n: number): Alert {
  return alert({ fingerprint: `fp${String(n).padStart(3, "0")}` });
}

// --- a real Alertmanager stand-in on 127.0.0.1 -------------------------------------------------------

type Reply = number | "hang";

interface Recorded {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: AmAlert[];
}

interface FakeAm {
  url: string;
  requests: Recorded[];
  /** Answer for the n-th request (0-based); default 200. */
  reply: (n: number) => Reply;
  /** Every alert received, in order. */
  alerts(): AmAlert[];
  close(): Promise<void>;
}

const servers: Server[] = [];
const sinks: AlertmanagerSink[] = [];

async function startAm(reply: (n: number) => Reply = () => 200): Promise<FakeAm> {
  const requests: Recorded[] = [];
  const fake: FakeAm = {
    url: "",
    requests,
    reply,
    alerts: () => requests.flatMap((r) => r.body),
    close: () => closeServer(server),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const n = requests.length;
      requests.push({
        at: performance.now(),
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as AmAlert[],
      });
      const answer = fake.reply(n);
      if (answer === "hang") return;
      res.writeHead(answer, { "content-type": "application/json" });
      res.end(answer === 200 ? "" : JSON.stringify({ code: answer, message: `status ${answer}` }));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on: connection refused. */
async function deadUrl(): Promise<string> {
  const am = await startAm();
  await am.close();
  return am.url;
}

/** Real timers, tracked, so a test can assert that close() left none behind. */
function trackedTimers() {
  const live = new Set<ReturnType<typeof setTimeout>>();
  return {
    live,
    setTimer: (fn: () => void, ms: number): TimerHandle => {
      const t = setTimeout(() => {
        live.delete(t);
        fn();
      }, ms);
      live.add(t);
      return t;
    },
    clearTimer: (h: TimerHandle): void => {
      const t = h as ReturnType<typeof setTimeout>;
      clearTimeout(t);
      live.delete(t);
    },
  };
}

function makeSink(opts: Partial<AlertmanagerSinkOptions> & { urls: string[] }) {
  const { log, lines } = captureLog();
  const timers = trackedTimers();
  const sink = new AlertmanagerSink({
    host: "test-host",
    log,
    resendIntervalMs: 60_000,
    retryMinMs: 20,
    retryMaxMs: 40,
    timeoutMs: 1_000,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    ...opts,
  });
  sinks.push(sink);
  return { sink, lines, timers };
}

async function waitFor(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > until) throw new Error("waitFor: condition not met in time");
    await sleep(5);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function warns(lines: Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter((l) => l.level === "warn");
}

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map(closeServer));
});

// --- tests -----------------------------------------------------------------------------------------------

describe("AlertmanagerSink payload", () => {
  it("posts a fired alert with the exact labels, annotations and startsAt", async () => {
    const am = await startAm();
    const { sink } = makeSink({ urls: [am.url] });
    sink.onAlert(alert(), "fired");
    await waitFor(() => sink.stats().sent === 1);

    expect(am.requests).toHaveLength(1);
    const req = am.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/api/v2/alerts");
    expect(req.headers["content-type"]).toBe("application/json");
    const destination = "203.0.113.7:443/tcp (api.example.com)";
    // Of 172.18.0.5:40312 → 203.0.113.7:443/tcp (test/unit/log-sink.test.ts computes it apart).
    const communityId = "1:SEGbT0LHWneCIBOgCnM2K35Tu1o=";
    expect(req.body).toStrictEqual([
      {
        labels: {
          alertname: "NetmonUnexpectedOutbound",
          detector: "unexpected-outbound",
          severity: "warning",
          container: "shop-web-1",
          workload: "shop/web",
          host: "test-host",
          fingerprint: FP,
        },
        annotations: {
          summary: "shop-web-1 connected to api.example.com (203.0.113.7:443/tcp)",
          description: [
            "shop-web-1 connected to api.example.com (203.0.113.7:443/tcp)",
            `destination: ${destination}`,
            `community id: ${communityId}`,
            "count: 1",
            `first seen: ${T0_ISO}`,
            `last seen: ${T0_ISO}`,
          ].join("\n"),
          count: "1",
          destination,
          community_id: communityId,
        },
        startsAt: T0_ISO,
      },
    ]);
    expect(sink.stats()).toMatchObject({ sent: 1, failed: 0, dropped: 0, queued: 0 });
  });

  it("names alerts Netmon + PascalCase(detector), drops empty labels, brackets IPv6", () => {
    expect(alertnameOf("unexpected-outbound")).toBe("NetmonUnexpectedOutbound");
    expect(alertnameOf("unusual-listener")).toBe("NetmonUnusualListener");
    expect(alertnameOf("connection-burst")).toBe("NetmonConnectionBurst");
    expect(alertnameOf("port_scan2")).toBe("NetmonPortScan2");

    const a = alert({
      workload: "",
      container: { id: "x", name: "", image: "i", service: null, project: null },
      dst: { ip: "2001:db8::7", port: 53, proto: "udp" },
      count: 4,
      lastSeen: T0 + 1_000,
    });
    const am = toAmAlert(a, "h1", false);
    expect(Object.keys(am.labels)).toEqual(["alertname", "detector", "severity", "host", "fingerprint"]);
    expect(am.annotations.destination).toBe("[2001:db8::7]:53/udp");
    expect(am.annotations.count).toBe("4");
    expect(am.endsAt).toBeUndefined();
    expect(toAmAlert(alert({ dst: undefined }), "h1", false).annotations).not.toHaveProperty("destination");
    expect(toAmAlert(a, "h1", true).endsAt).toBe("2024-01-02T03:04:06.678Z");
  });

  // One incident is one Alertmanager alert: an update re-sends it with the grown annotations.
  it("updates the incident's annotations (count, targets, folded) under the same labels", async () => {
    const am = await startAm();
    const { sink } = makeSink({ urls: [am.url] });
    const targets = {
      of: "destinations",
      distinct: 37,
      capped: false,
      samples: ["198.51.100.3", "198.51.100.4"],
    };
    sink.onAlert(alert({ kind: "fan-out", dst: undefined }), "fired");
    await waitFor(() => am.requests.length === 1);
    sink.onAlert(alert({ kind: "fan-out", dst: undefined, count: 40, targets, folded: 3 }), "repeated");
    await waitFor(() => am.requests.length === 2);
    const [first, second] = am.alerts();
    expect(second!.labels).toEqual(first!.labels);
    expect(second!.annotations).toMatchObject({ count: "40", targets: "37 (198.51.100.3, 198.51.100.4, …)" });
    expect(second!.annotations.description).toContain("destinations: 37 (198.51.100.3, 198.51.100.4, …)");
    expect(second!.annotations.description).toContain("folded in: 3");
    expect(first!.annotations).not.toHaveProperty("targets");
  });

  it("posts a resolution with endsAt = lastSeen, then stops re-sending that alert", async () => {
    const am = await startAm();
    const { sink } = makeSink({ urls: [am.url], resendIntervalMs: 40 });
    sink.onAlert(alert(), "fired");
    await waitFor(() => am.requests.length === 1);
    sink.onAlert(alert({ count: 3, lastSeen: T0 + 5_000, state: "resolved" }), "resolved");
    await waitFor(() => am.alerts().some((a) => a.endsAt !== undefined));

    // A re-send may have slipped in before the resolution: find the request that carries it.
    const n = am.requests.length;
    const resolved = am.requests[n - 1]!.body;
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.labels.fingerprint).toBe(FP);
    expect(resolved[0]!.startsAt).toBe(T0_ISO);
    expect(resolved[0]!.endsAt).toBe("2024-01-02T03:04:10.678Z");
    expect(resolved[0]!.annotations.count).toBe("3");

    await sleep(120); // three re-send intervals: nothing is active any more
    expect(am.requests).toHaveLength(n);
  });

  it("ends the label set Alertmanager knows when the labels change (severity raised)", async () => {
    const am = await startAm();
    const { sink } = makeSink({ urls: [am.url] });
    sink.onAlert(alert(), "fired");
    await waitFor(() => am.requests.length === 1);
    sink.onAlert(alert({ severity: "critical", count: 2, lastSeen: T0 + 2_000 }), "repeated");
    await waitFor(() => sink.stats().sent === 3);

    const body = am.requests[1]!.body;
    expect(body.map((a) => [a.labels.severity, a.endsAt])).toEqual([
      ["warning", "2024-01-02T03:04:07.678Z"],
      ["critical", undefined],
    ]);
  });
});

describe("AlertmanagerSink delivery", () => {
  it("re-sends every active alert each resendIntervalMs, in one POST", async () => {
    const am = await startAm();
    const { sink } = makeSink({ urls: [am.url], resendIntervalMs: 50 });
    sink.onAlert(nth(1), "fired");
    sink.onAlert(nth(2), "fired");
    await waitFor(() => am.requests.length >= 3);

    for (const r of am.requests) {
      expect(r.body.map((a) => a.labels.fingerprint)).toEqual(["fp001", "fp002"]);
      expect(r.body.every((a) => a.endsAt === undefined)).toBe(true);
    }
    const gap = am.requests[2]!.at - am.requests[1]!.at;
    expect(gap).toBeGreaterThanOrEqual(25);
  });

  it("batches a burst into one POST, at most maxBatch alerts each", async () => {
    const am = await startAm();
    const { sink } = makeSink({ urls: [am.url], maxBatch: 3 });
    for (let i = 0; i < 7; i++) sink.onAlert(nth(i), "fired");
    await waitFor(() => sink.stats().sent === 7);
    expect(am.requests.map((r) => r.body.length)).toEqual([3, 3, 1]);
    expect(am.alerts().map((a) => a.labels.fingerprint)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((i) => nth(i).fingerprint),
    );

    const am2 = await startAm();
    const { sink: sink2 } = makeSink({ urls: [am2.url] });
    for (let i = 0; i < 7; i++) sink2.onAlert(nth(i), "fired");
    await waitFor(() => sink2.stats().sent === 7);
    expect(am2.requests.map((r) => r.body.length)).toEqual([7]);
  });

  it("retries after 500 with exponential back-off and delivers once the server recovers", async () => {
    const am = await startAm((n) => (n < 3 ? 500 : 200));
    const { sink, lines } = makeSink({ urls: [am.url], retryMinMs: 20, retryMaxMs: 40 });
    sink.onAlert(alert(), "fired");
    await waitFor(() => sink.stats().sent === 1);

    expect(am.requests).toHaveLength(4);
    for (const r of am.requests) expect(r.body.map((a) => a.labels.fingerprint)).toEqual([FP]);
    const gaps = am.requests.slice(1).map((r, i) => r.at - am.requests[i]!.at);
    // 20, 40, then capped at 40 (a little slack for timer granularity).
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeLessThan(200);
    expect(sink.stats()).toMatchObject({ sent: 1, failed: 3, dropped: 0, queued: 0 });
    expect(warns(lines)[0]).toMatchObject({ status: 500, failures: 1, retryInMs: 20, url: am.url });
    expect(lines.some((l) => l.level === "info" && l.failures === 3)).toBe(true);
  });

  it("sends only the newest version of an alert that changed while waiting", async () => {
    const am = await startAm((n) => (n === 0 ? 500 : 200));
    const { sink } = makeSink({ urls: [am.url], retryMinMs: 60, retryMaxMs: 60 });
    sink.onAlert(alert(), "fired");
    await waitFor(() => sink.stats().failed === 1);
    sink.onAlert(alert({ count: 9, lastSeen: T0 + 9_000 }), "repeated");
    await waitFor(() => sink.stats().sent === 1);
    expect(am.requests[1]!.body.map((a) => a.annotations.count)).toEqual(["9"]);
    expect(sink.stats().queued).toBe(0);
  });

  it("does not retry a batch Alertmanager rejects as invalid (400)", async () => {
    const am = await startAm(() => 400);
    const { sink, lines } = makeSink({ urls: [am.url], retryMinMs: 5, retryMaxMs: 5 });
    sink.onAlert(alert(), "fired");
    await waitFor(() => sink.stats().failed === 1);
    await sleep(50);
    expect(am.requests).toHaveLength(1);
    expect(sink.stats()).toMatchObject({ sent: 0, failed: 1, dropped: 1, queued: 0 });
    expect(warns(lines)[0]).toMatchObject({ status: 400, error: '{"code":400,"message":"status 400"}' });
  });
});

describe("AlertmanagerSink failures", () => {
  it("bounds the queue while Alertmanager is down: drops the oldest, counts it, keeps the newest", async () => {
    let down = true;
    const am = await startAm(() => (down ? 500 : 200));
    const { sink } = makeSink({ urls: [am.url], maxQueue: 5, maxBatch: 2, retryMinMs: 100, retryMaxMs: 100 });
    const peak = { queued: 0 };
    const fire = (i: number): void => {
      sink.onAlert(nth(i), "fired");
      peak.queued = Math.max(peak.queued, sink.stats().queued);
    };
    for (let i = 0; i < 3; i++) fire(i);
    await waitFor(() => sink.stats().failed === 1); // a batch of 2 went out and came back
    for (let i = 3; i < 20; i++) fire(i);
    expect(sink.stats()).toMatchObject({ queued: 5, dropped: 15, sent: 0 });

    down = false;
    await waitFor(() => sink.stats().sent === 5);
    expect(peak.queued).toBeLessThanOrEqual(5);
    const delivered = am.requests.filter((_, n) => n > 0).flatMap((r) => r.body);
    expect(delivered.map((a) => a.labels.fingerprint)).toEqual(
      [15, 16, 17, 18, 19].map((i) => nth(i).fingerprint),
    );
    expect(sink.stats()).toMatchObject({ sent: 5, failed: 1, dropped: 15, queued: 0 });
  });

  it("keeps queued at most maxQueue with a dead server and rate-limits its warnings per URL", async () => {
    let clock = 1_000_000;
    const url = await deadUrl();
    const { sink, lines } = makeSink({
      urls: [url],
      maxQueue: 10,
      retryMinMs: 5,
      retryMaxMs: 5,
      resendIntervalMs: 20,
      now: () => clock,
    });
    for (let i = 0; i < 50; i++) {
      sink.onAlert(nth(i), "fired");
      expect(sink.stats().queued).toBeLessThanOrEqual(10);
    }
    await waitFor(() => sink.stats().failed >= 6);
    expect(sink.stats().queued).toBeLessThanOrEqual(10);
    expect(sink.stats().dropped).toBeGreaterThanOrEqual(40);
    expect(warns(lines)).toHaveLength(1);
    expect(String(warns(lines)[0]!.error)).toMatch(/ECONNREFUSED/);

    clock += 61_000;
    const failed = sink.stats().failed;
    await waitFor(() => sink.stats().failed >= failed + 2);
    expect(warns(lines)).toHaveLength(2);
    expect(warns(lines)[1]!.suppressedLogs).toBeGreaterThanOrEqual(5);
    expect(sink.stats().queued).toBeLessThanOrEqual(10);
  });

  it("aborts a request that hangs past timeoutMs and retries it", async () => {
    const am = await startAm((n) => (n === 0 ? "hang" : 200));
    const { sink, lines } = makeSink({ urls: [am.url], timeoutMs: 100, retryMinMs: 20 });
    sink.onAlert(alert(), "fired");
    await waitFor(() => sink.stats().sent === 1);
    expect(am.requests).toHaveLength(2);
    expect(am.requests[1]!.at - am.requests[0]!.at).toBeGreaterThanOrEqual(100);
    expect(sink.stats()).toMatchObject({ sent: 1, failed: 1 });
    expect(warns(lines)[0]).toMatchObject({ error: "timed out after 100 ms" });
  });

  it("pushes to every URL, each on its own: a failing one does not hold back the others", async () => {
    const a = await startAm();
    const b = await startAm();
    const broken = await startAm(() => 500);
    const { sink } = makeSink({ urls: [a.url, `${b.url}/`, broken.url], retryMinMs: 10, retryMaxMs: 10 });
    sink.onAlert(alert(), "fired");
    // The broken URL's copy waits in its queue between retries (and is in flight during one).
    await waitFor(() => broken.requests.length >= 3 && sink.stats().queued === 1);
    expect(sink.stats().sent).toBe(2);
    for (const am of [a, b]) {
      expect(am.requests).toHaveLength(1);
      expect(am.requests[0]!.path).toBe("/api/v2/alerts");
      expect(am.alerts().map((x) => x.labels.fingerprint)).toEqual([FP]);
    }
    // Counted per peer, so the metrics show which one is failing.
    const peers = sink.stats().peers;
    expect(peers.map((p) => p.peer)).toEqual([a.url, b.url, broken.url]);
    expect(peers[0]).toEqual({ peer: a.url, sent: 1, failed: 0, dropped: 0, queued: 0 });
    expect(peers[1]).toEqual({ peer: b.url, sent: 1, failed: 0, dropped: 0, queued: 0 });
    expect(peers[2]).toMatchObject({ peer: broken.url, sent: 0, queued: 1 });
    expect(peers[2]!.failed).toBeGreaterThanOrEqual(2);
  });

  it("a peer that hangs delays no other: each gets its alerts at once, the hung one after its timeout", async () => {
    const hung = await startAm(() => "hang");
    const live = await startAm();
    const { sink } = makeSink({ urls: [hung.url, live.url], timeoutMs: 3_000 });
    const t0 = performance.now();
    sink.onAlert(alert(), "fired");
    await waitFor(() => live.requests.length === 1);
    sink.onAlert(alert({ fingerprint: "fp-second" }), "fired");
    await waitFor(() => live.requests.length === 2);
    sink.onAlert(alert({ fingerprint: FP }), "resolved");
    await waitFor(() => sink.stats().peers[1]!.sent === 3);
    // Well within the hung peer's 3 s timeout: the live peer never waited for it.
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(hung.requests).toHaveLength(1);
    expect(sink.stats().peers.map((p) => [p.sent, p.queued])).toEqual([
      [0, 2],
      [3, 0],
    ]);
  });

  it("sends credentials in the URL as basic auth and keeps them out of the logs", async () => {
    const am = await startAm((n) => (n === 0 ? 503 : 200));
    const withAuth = am.url.replace("http://", "http://netmon:s3cret@");
    const { sink, lines } = makeSink({ urls: [withAuth] });
    sink.onAlert(alert(), "fired");
    await waitFor(() => sink.stats().sent === 1);
    const expected = `Basic ${Buffer.from("netmon:s3cret").toString("base64")}`;
    expect(am.requests.map((r) => r.headers.authorization)).toEqual([expected, expected]);
    expect(JSON.stringify(lines)).not.toContain("s3cret");
    expect(warns(lines)[0]!.url).toBe(am.url.replace("http://", "http://<redacted>@"));
  });
});

describe("AlertmanagerSink lifecycle", () => {
  it("close() stops every timer; nothing reaches the server afterwards", async () => {
    const am = await startAm();
    const { sink, timers } = makeSink({ urls: [am.url], resendIntervalMs: 30 });
    sink.onAlert(alert(), "fired");
    await waitFor(() => am.requests.length >= 2); // first push and one re-send
    await sink.close();
    expect(timers.live.size).toBe(0);
    const seen = am.requests.length;
    sink.onAlert(nth(1), "fired");
    await sleep(100);
    expect(am.requests).toHaveLength(seen);
    expect(timers.live.size).toBe(0);
  });

  it("close() during a hanging request waits at most timeoutMs and schedules no retry", async () => {
    const am = await startAm(() => "hang");
    const { sink, timers } = makeSink({ urls: [am.url], timeoutMs: 80, retryMinMs: 5 });
    sink.onAlert(alert(), "fired");
    await waitFor(() => am.requests.length === 1);
    const t = performance.now();
    await sink.close();
    expect(performance.now() - t).toBeLessThan(500);
    expect(timers.live.size).toBe(0);
    await sleep(50);
    expect(am.requests).toHaveLength(1);
    expect(sink.stats().failed).toBe(1);
  });

  it("rejects bad URLs at construction; onAlert never throws, even when fetch does", async () => {
    const { log } = captureLog();
    expect(() => new AlertmanagerSink({ urls: ["ftp://127.0.0.1/"], log })).toThrow(/http or https/);
    expect(() => new AlertmanagerSink({ urls: ["127.0.0.1:9093"], log })).toThrow(/not a URL|http or https/);
    const boom = (): Promise<Response> => {
      throw new Error("boom");
    };
    const { sink, lines } = makeSink({
      urls: ["http://127.0.0.1:9"],
      fetch: boom,
      retryMinMs: 1_000,
      retryMaxMs: 1_000,
    });
    expect(() => sink.onAlert(alert({ firstSeen: Number.NaN }), "fired")).not.toThrow();
    await waitFor(() => sink.stats().failed === 1);
    expect(warns(lines)[0]).toMatchObject({ error: "boom" });
  });
});

describe("alertmanagerSchema", () => {
  it("has documented defaults, accepts http(s) URLs only, rejects unknown keys", () => {
    expect(alertmanagerSchema.parse(undefined)).toEqual({
      urls: [],
      resendIntervalSeconds: 60,
      timeoutSeconds: 5,
      maxQueue: 1000,
    });
    expect(
      alertmanagerSchema.parse({ urls: ["http://127.0.0.1:9093", "https://am.example/prefix"] }).urls,
    ).toEqual(["http://127.0.0.1:9093", "https://am.example/prefix"]);
    for (const bad of ["ftp://127.0.0.1", "127.0.0.1:9093", "javascript:alert(1)"]) {
      expect(alertmanagerSchema.safeParse({ urls: [bad] }).success).toBe(false);
    }
    expect(alertmanagerSchema.safeParse({ url: "http://127.0.0.1:9093" }).success).toBe(false);
    // One peer listed twice would get (and count) every alert twice.
    const twice = alertmanagerSchema.safeParse({
      urls: ["http://a:9093", "http://b:9093", "http://a:9093/"],
    });
    expect(twice.success).toBe(false);
    expect(twice.error?.issues[0]).toMatchObject({
      path: ["urls", 2],
      message: "listed twice: http://a:9093/",
    });
    expect(alertmanagerSchema.safeParse({ resendIntervalSeconds: 0 }).success).toBe(false);
  });
});

import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Alert, AlertSink, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { ProcessLookups, registerProcessLookupMetrics } from "../../src/daemon/process-lookups.js";
import type { Attribution } from "../../src/processes/process-resolver.js";
import { ProcessResolver } from "../../src/processes/process-resolver.js";
import { fakeProc, type ProcNetRow, procNetTable } from "../support/fake-proc.js";
import { alertOf, SHOP_WEB } from "../support/fixtures.js";

const SRC = { ip: "172.18.0.5", port: 40312 };
const DST = { ip: "203.0.113.7", port: 443 };
const CONNECTION: ProcNetRow = {
  local: SRC.ip,
  localPort: SRC.port,
  remote: DST.ip,
  remotePort: DST.port,
  state: "01",
  inode: "5555",
};

/** shop-web-1 (init pid 100, netns A) whose curl (pid 120) holds the connection's socket 5555. */
function webContainer(
  o: { rows?: ProcNetRow[]; udpRows?: ProcNetRow[]; denied?: string[]; noNet?: boolean } = {},
) {
  const files: Record<string, string> = {
    "/proc/stat": "btime 1764547200\n",
    "/proc/120/comm": "curl\n",
    "/proc/120/cmdline": "curl\0https://api.example.com/\0",
    "/proc/120/status": "Uid:\t0\t0\t0\t0\n",
    "/proc/120/stat": `120 (curl) S 100 ${Array.from({ length: 17 }, () => "0").join(" ")} 500 0`,
    "/proc/120/root/etc/passwd": "root:x:0:0::/root:/bin/sh\n",
  };
  if (o.noNet !== true) {
    files["/proc/100/net/tcp"] = procNetTable(4, o.rows ?? [CONNECTION]);
    files["/proc/100/net/udp"] = procNetTable(4, o.udpRows ?? []);
  }
  return fakeProc({
    dirs: { "/proc": ["100", "120"], "/proc/100/fd": [], "/proc/120/fd": ["3"] },
    links: {
      "/proc/100/ns/net": "net:[A]",
      "/proc/120/ns/net": "net:[A]",
      "/proc/120/fd/3": "socket:[5555]",
    },
    files,
    ...(o.denied ? { denied: o.denied } : {}),
  });
}

interface Setup {
  fs?: ReturnType<typeof fakeProc>;
  pid?: number | null;
  perSecond?: number;
  maxQueued?: number;
}

function lookupsWith(s: Setup = {}) {
  const fs = s.fs ?? webContainer();
  const resolver = new ProcessResolver({ fs });
  const annotated: { fingerprint: string; details: Attribution }[] = [];
  const clock = { now: 0, sleeps: [] as number[] };
  const lookups = new ProcessLookups({
    resolver,
    fs,
    pidOf: () => (s.pid === undefined ? 100 : s.pid),
    annotate: (fingerprint, details) => annotated.push({ fingerprint, details }),
    now: () => clock.now,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
    ...(s.perSecond !== undefined ? { perSecond: s.perSecond } : {}),
    ...(s.maxQueued !== undefined ? { maxQueued: s.maxQueued } : {}),
  });
  return { lookups, annotated, clock, resolver };
}

const connectionAlert = (extra: Partial<Alert> = {}): Alert =>
  alertOf({ src: { ...SRC, proto: "tcp" }, dst: { ...DST, proto: "tcp" }, ...extra });

describe("process lookups for connection alerts", () => {
  it("names the process holding the alerted connection's socket", async () => {
    const { lookups, annotated } = lookupsWith();
    const alert = connectionAlert();
    lookups.onAlert(alert, "fired");
    await lookups.idle();
    expect(annotated).toEqual([
      {
        fingerprint: alert.fingerprint,
        details: {
          process: {
            pid: 120,
            comm: "curl",
            cmdline: "curl https://api.example.com/",
            uid: 0,
            user: "root",
            startedAt: new Date(1764547200_000 + 5_000).toISOString(),
          },
        },
      },
    ]);
  });

  it("names the holder of a listening port an unusual-listener alert saw on the wire", async () => {
    const listening: ProcNetRow = {
      local: "0.0.0.0",
      localPort: 4444,
      remote: "0.0.0.0",
      remotePort: 0,
      state: "0A",
      inode: "5555",
    };
    const wire = (): Alert => {
      const a = alertOf({ detector: "unusual-listener", dst: { ip: SRC.ip, port: 4444, proto: "tcp" } });
      delete a.src;
      return a;
    };
    const { lookups, annotated } = lookupsWith({ fs: webContainer({ rows: [listening] }) });
    lookups.onAlert(wire(), "fired");
    await lookups.idle();
    expect(annotated[0]?.details.process).toMatchObject({ pid: 120, comm: "curl" });
    // Nothing listens there any more: the listener is gone, and netmon says so rather than guess.
    const gone = lookupsWith({ fs: webContainer({ rows: [] }) });
    gone.lookups.onAlert(wire(), "fired");
    await gone.lookups.idle();
    expect(gone.annotated[0]?.details).toEqual({ process: null, processUnknown: "exited" });
  });

  it("names the holder of the unconnected UDP socket only when it started before the datagram", async () => {
    const bound: ProcNetRow = { ...CONNECTION, remote: "0.0.0.0", remotePort: 0, state: "07" };
    const udpAlert = (lastSeen: number) =>
      alertOf({ src: { ...SRC, proto: "udp" }, dst: { ...DST, proto: "udp" }, lastSeen });
    // curl (pid 120) started at boot + 5 s.
    const started = 1764547200_000 + 5_000;
    const before = lookupsWith({ fs: webContainer({ rows: [], udpRows: [bound] }) });
    before.lookups.onAlert(udpAlert(started + 60_000), "fired");
    await before.lookups.idle();
    expect(before.annotated[0]?.details.process?.pid).toBe(120);
    // A datagram sent a minute before that process existed: another one sent it, and is gone.
    const after = lookupsWith({ fs: webContainer({ rows: [], udpRows: [bound] }) });
    after.lookups.onAlert(udpAlert(started - 60_000), "fired");
    await after.lookups.idle();
    expect(after.annotated[0]?.details).toEqual({ process: null, processUnknown: "exited" });
  });

  it("never guesses: a closed socket or a stopped container is exited, unreadable fds no-permission", async () => {
    const closed = lookupsWith({ fs: webContainer({ rows: [] }) });
    closed.lookups.onAlert(connectionAlert(), "fired");
    await closed.lookups.idle();
    expect(closed.annotated[0]?.details).toEqual({ process: null, processUnknown: "exited" });

    const stopped = lookupsWith({ pid: null });
    stopped.lookups.onAlert(connectionAlert(), "fired");
    await stopped.lookups.idle();
    expect(stopped.annotated[0]?.details).toEqual({ process: null, processUnknown: "exited" });

    const denied = lookupsWith({ fs: webContainer({ denied: ["/proc/120/fd"] }) });
    denied.lookups.onAlert(connectionAlert(), "fired");
    await denied.lookups.idle();
    expect(denied.annotated[0]?.details).toEqual({ process: null, processUnknown: "no-permission" });

    const hidden = lookupsWith({ fs: webContainer({ noNet: true, denied: ["/proc/100/ns"] }) });
    hidden.lookups.onAlert(connectionAlert(), "fired");
    await hidden.lookups.idle();
    expect(hidden.annotated[0]?.details).toEqual({ process: null, processUnknown: "no-permission" });
  });

  it("looks up only alerts raised by a connection whose process is not known yet", async () => {
    const { lookups, annotated } = lookupsWith();
    lookups.onAlert(connectionAlert({ src: undefined }), "fired"); // a listener or a fan-out
    lookups.onAlert(connectionAlert({ details: { process: null, processUnknown: "exited" } }), "repeated");
    lookups.onAlert(connectionAlert(), "resolved");
    await lookups.idle();
    expect(annotated).toEqual([]);
  });

  it("keeps one entry per alert, and drops and counts what is beyond its cap", async () => {
    const { lookups, annotated } = lookupsWith({ maxQueued: 1 });
    for (const fingerprint of ["a", "b", "b", "c"])
      lookups.onAlert(connectionAlert({ fingerprint }), "fired");
    await lookups.idle();
    // "a" is taken at once; "b" waits (once, its second alert replacing the first); "c" is over the cap.
    expect(annotated.map((a) => a.fingerprint)).toEqual(["a", "b"]);
    expect(lookups.outcomes.dropped).toBe(1);
  });

  it("starts at most perSecond lookups a second", async () => {
    const { lookups, annotated, clock } = lookupsWith({ perSecond: 2, maxQueued: 10 });
    for (const fingerprint of ["a", "b", "c", "d", "e"])
      lookups.onAlert(connectionAlert({ fingerprint }), "fired");
    await lookups.idle();
    expect(annotated).toHaveLength(5);
    // Two at once (the burst), then one every 500 ms.
    expect(clock.sleeps).toEqual([500, 500, 500]);
    expect(clock.now).toBe(1500);
  });

  it("a resolved alert leaves the queue, and nothing is looked up after stop()", async () => {
    const { lookups, annotated } = lookupsWith({ perSecond: 1 });
    lookups.onAlert(connectionAlert({ fingerprint: "a" }), "fired");
    lookups.onAlert(connectionAlert({ fingerprint: "b" }), "fired");
    lookups.onAlert(connectionAlert({ fingerprint: "b" }), "resolved");
    lookups.onAlert(connectionAlert({ fingerprint: "c" }), "fired");
    lookups.stop();
    await lookups.idle();
    expect(annotated).toEqual([]);
  });

  it("counts every outcome in netmon_process_lookups_total, the resolver's included", async () => {
    const { lookups, resolver } = lookupsWith();
    const registry = new Registry();
    registerProcessLookupMetrics(registry, resolver, lookups);
    lookups.onAlert(connectionAlert({ fingerprint: "a" }), "fired");
    await lookups.idle();
    lookups.onAlert(
      connectionAlert({ fingerprint: "b", dst: { ...DST, port: 8443, proto: "tcp" } }),
      "fired",
    );
    await lookups.idle();
    const text = await registry.metrics();
    expect(text).toContain('netmon_process_lookups_total{outcome="found"} 1');
    expect(text).toContain('netmon_process_lookups_total{outcome="exited"} 1');
    expect(text).toContain('netmon_process_lookups_total{outcome="dropped"} 0');
  });
});

describe("an alert and its process through the alert manager", () => {
  it("logs the alert at once, then an alert updated line with the same fingerprint naming the process", async () => {
    const lines: { transition: AlertTransition; alert: Alert }[] = [];
    const log: AlertSink = { onAlert: (alert, transition) => lines.push({ alert, transition }) };
    let manager: AlertManager | null = null;
    const fs = webContainer();
    const lookups = new ProcessLookups({
      resolver: new ProcessResolver({ fs }),
      fs,
      pidOf: () => 100,
      annotate: (fingerprint, details) => manager?.annotate(fingerprint, details),
    });
    manager = new AlertManager([log, lookups]);
    manager.onFinding({
      detector: "unexpected-outbound",
      severity: "warning",
      key: "203.0.113.7",
      container: { ...SHOP_WEB },
      workload: "shop/web",
      summary: "shop-web-1 connected to 203.0.113.7:443/tcp",
      ts: 1_700_000_000_000,
      src: { ...SRC, proto: "tcp" },
      dst: { ...DST, proto: "tcp" },
      details: { allowedBy: null },
    });
    expect(lines.map((l) => l.transition)).toEqual(["fired"]);
    await lookups.idle();
    expect(lines.map((l) => l.transition)).toEqual(["fired", "repeated"]);
    const update = lines[1]!.alert;
    expect(update.fingerprint).toBe(lines[0]!.alert.fingerprint);
    expect(update.count).toBe(1);
    expect(update.details).toMatchObject({ allowedBy: null, process: { pid: 120, comm: "curl" } });
  });
});

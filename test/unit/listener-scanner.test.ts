import { afterEach, describe, expect, it, vi } from "vitest";
import { ListenerScanner } from "../../src/listeners/listener-scanner.js";
import { scheduleListenerScan } from "../../src/listeners/listener-schedule.js";
import type { ContainerRef, ListenerEvent } from "../../src/model/events.js";
import { containerRef } from "../support/fixtures.js";

const V4_HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const V6_HEADER =
  "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, "0");
}

/** A /proc/net/tcp or udp line for 127.0.0.<host>:<port> (little-endian word, as on x86). */
function v4Line(host: number, port: number, state: "0A" | "07" | "01" = "0A"): string {
  return `   0: ${hex(host, 2)}00007F:${hex(port, 4)} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${1000 + port} 1 0000000000000000 100 0 0 10 0`;
}

/** A tcp6/udp6 line for :: (all interfaces). */
function v6AnyLine(port: number, state: "0A" | "07" = "0A"): string {
  return `   0: ${"0".repeat(32)}:${hex(port, 4)} ${"0".repeat(32)}:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${2000 + port} 1 0000000000000000 100 0 0 10 0`;
}

function table(header: string, lines: string[]): string {
  return [header, ...lines].join("\n");
}

function errno(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: no such file or directory, open '${path}'`), { code });
}

/** An in-memory /proc: path → content; anything else is ENOENT. */
class FakeProc {
  readonly files = new Map<string, string>();
  readonly reads: string[] = [];
  readonly failures = new Map<string, string>();

  readFile = async (path: string): Promise<string> => {
    this.reads.push(path);
    const code = this.failures.get(path);
    if (code !== undefined) throw errno(code, path);
    const text = this.files.get(path);
    if (text === undefined) throw errno("ENOENT", path);
    return text;
  };

  setPid(
    pid: number,
    t: { tcp?: string[]; tcp6?: string[] | null; udp?: string[]; udp6?: string[] | null },
    root = "/proc",
  ): void {
    const dir = `${root}/${pid}/net`;
    this.files.set(`${dir}/tcp`, table(V4_HEADER, t.tcp ?? []));
    this.files.set(`${dir}/udp`, table(V4_HEADER, t.udp ?? []));
    // null: the file does not exist (IPv6 disabled).
    if (t.tcp6 === null) this.files.delete(`${dir}/tcp6`);
    else this.files.set(`${dir}/tcp6`, table(V6_HEADER, t.tcp6 ?? []));
    if (t.udp6 === null) this.files.delete(`${dir}/udp6`);
    else this.files.set(`${dir}/udp6`, table(V6_HEADER, t.udp6 ?? []));
  }

  removePid(pid: number): void {
    for (const key of [...this.files.keys()]) if (key.startsWith(`/proc/${pid}/`)) this.files.delete(key);
  }
}

function ref(id: string): ContainerRef {
  return containerRef(`name-${id}`, { id, image: "busybox", service: "web", project: "demo" });
}

/** Compact view of events for assertions. */
function summary(events: ListenerEvent[]): string[] {
  return events.map((e) => `${e.container.id} ${e.state} ${e.proto}${e.family} ${e.address}:${e.port}`);
}

describe("ListenerScanner", () => {
  it("emits opened for every listener on the first scan, then nothing while unchanged", async () => {
    const fs = new FakeProc();
    fs.setPid(100, {
      tcp: [v4Line(1, 80), v4Line(11, 41000)],
      tcp6: [v6AnyLine(443)],
      udp: [v4Line(11, 53, "07")],
    });
    const scanner = new ListenerScanner({ readFile: fs.readFile });

    const first = await scanner.scan([{ ref: ref("a"), pid: 100 }], 5_000);
    expect(first.errors).toEqual([]);
    expect(summary(first.events)).toEqual([
      "a opened tcp4 127.0.0.1:80",
      "a opened tcp4 127.0.0.11:41000",
      "a opened tcp6 :::443",
      "a opened udp4 127.0.0.11:53",
    ]);
    expect(first.events[0]).toEqual({
      kind: "listener",
      ts: 5_000,
      state: "opened",
      container: ref("a"),
      proto: "tcp",
      family: 4,
      address: "127.0.0.1",
      port: 80,
      dockerDns: false,
    });
    expect(first.events.map((e) => e.dockerDns)).toEqual([false, true, false, true]);

    const second = await scanner.scan([{ ref: ref("a"), pid: 100 }], 20_000);
    expect(second).toEqual({ events: [], errors: [] });
  });

  it("emits closed for sockets that went away and opened for new ones", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80), v4Line(1, 81)], udp: [v4Line(1, 5000, "07")] });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);

    // 81 closes, the UDP socket got connected (no longer listening), 82 opens.
    fs.setPid(100, { tcp: [v4Line(1, 80), v4Line(1, 82)], udp: [v4Line(1, 5000, "01")] });
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 2);
    expect(r.errors).toEqual([]);
    expect(summary(r.events)).toEqual([
      "a closed tcp4 127.0.0.1:81",
      "a closed udp4 127.0.0.1:5000",
      "a opened tcp4 127.0.0.1:82",
    ]);
    expect(r.events.every((e) => e.ts === 2)).toBe(true);
  });

  it("treats missing tcp6/udp6 (IPv6 disabled) as empty, not as an error", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)], tcp6: null, udp6: null });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    expect(r.errors).toEqual([]);
    expect(summary(r.events)).toEqual(["a opened tcp4 127.0.0.1:80"]);
  });

  it("reports a missing pid once, keeps the state, and diffs against it when the container is back", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);

    fs.removePid(100);
    const gone = await scanner.scan([{ ref: ref("a"), pid: 100 }], 2);
    expect(gone.events).toEqual([]);
    expect(gone.errors).toEqual([{ containerId: "a", message: expect.stringContaining("100") }]);
    expect(await scanner.scan([{ ref: ref("a"), pid: 100 }], 3)).toEqual({ events: [], errors: [] });
    expect(scanner.trackedContainers()).toEqual(["a"]);

    // Restarted with a new pid and the same listener plus one: only the new one is reported.
    fs.setPid(200, { tcp: [v4Line(1, 80), v4Line(1, 90)] });
    const back = await scanner.scan([{ ref: ref("a"), pid: 200 }], 4);
    expect(back.errors).toEqual([]);
    expect(summary(back.events)).toEqual(["a opened tcp4 127.0.0.1:90"]);
  });

  it("reports a missing pid on the first scan too, and a later appearance opens everything", async () => {
    const fs = new FakeProc();
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    expect(r.events).toEqual([]);
    expect(r.errors).toHaveLength(1);
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    expect(summary((await scanner.scan([{ ref: ref("a"), pid: 100 }], 2)).events)).toEqual([
      "a opened tcp4 127.0.0.1:80",
    ]);
  });

  it("forget() drops the state: the next scan opens everything again", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    scanner.forget("a");
    scanner.forget("never-seen"); // harmless
    expect(scanner.trackedContainers()).toEqual([]);
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 2);
    expect(summary(r.events)).toEqual(["a opened tcp4 127.0.0.1:80"]);
  });

  it("forget() during a scan is not undone when that scan finishes", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const scanner = new ListenerScanner({
      readFile: async (p) => {
        await gate;
        return fs.readFile(p);
      },
    });
    const pending = scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    scanner.forget("a");
    release();
    expect((await pending).events).toEqual([]);
    expect(scanner.trackedContainers()).toEqual([]);
  });

  it("silently drops containers missing from the list (no closed events)", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    fs.setPid(101, { tcp: [v4Line(2, 80)] });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    const both = [
      { ref: ref("a"), pid: 100 },
      { ref: ref("b"), pid: 101 },
    ];
    expect(summary((await scanner.scan(both, 1)).events)).toEqual([
      "a opened tcp4 127.0.0.1:80",
      "b opened tcp4 127.0.0.2:80",
    ]);
    expect(await scanner.scan([{ ref: ref("a"), pid: 100 }], 2)).toEqual({ events: [], errors: [] });
    expect(scanner.trackedContainers()).toEqual(["a"]);
    expect(summary((await scanner.scan(both, 3)).events)).toEqual(["b opened tcp4 127.0.0.2:80"]);
  });

  it("skips pid <= 0 without reading and without dropping the state", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    fs.reads.length = 0;
    const r = await scanner.scan(
      [
        { ref: ref("a"), pid: 0 },
        { ref: ref("b"), pid: -1 },
      ],
      2,
    );
    expect(r).toEqual({ events: [], errors: [] });
    expect(fs.reads).toEqual([]);
    expect(scanner.trackedContainers()).toEqual(["a"]);
  });

  it("a read failure other than ENOENT is reported and does not look like sockets closing", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)], udp: [v4Line(1, 53, "07")] });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);

    fs.failures.set("/proc/100/net/udp", "EACCES");
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 2);
    expect(r.events).toEqual([]);
    expect(r.errors).toEqual([{ containerId: "a", message: expect.stringMatching(/^net\/udp: EACCES/) }]);
    // Reported when it appears, not on every scan while it lasts.
    expect((await scanner.scan([{ ref: ref("a"), pid: 100 }], 3)).errors).toEqual([]);

    fs.failures.clear();
    expect(await scanner.scan([{ ref: ref("a"), pid: 100 }], 4)).toEqual({ events: [], errors: [] });
  });

  it("caps sockets per container: opens up to the cap, reports truncation, closes nothing", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80), v4Line(1, 81)], udp: [v4Line(1, 53, "07")] });
    const scanner = new ListenerScanner({ readFile: fs.readFile, maxSocketsPerContainer: 2 });
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    expect(summary(r.events)).toEqual(["a opened tcp4 127.0.0.1:80", "a opened tcp4 127.0.0.1:81"]);
    expect(r.errors).toEqual([{ containerId: "a", message: expect.stringContaining("truncated") }]);

    // Still over the cap with different sockets visible: nothing is closed, nothing re-reported.
    fs.setPid(100, { tcp: [v4Line(1, 82), v4Line(1, 83), v4Line(1, 84)] });
    expect(await scanner.scan([{ ref: ref("a"), pid: 100 }], 2)).toEqual({ events: [], errors: [] });

    // Back under the cap: the view is complete again and the diff is exact.
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    expect(summary((await scanner.scan([{ ref: ref("a"), pid: 100 }], 3)).events)).toEqual([
      "a closed tcp4 127.0.0.1:81",
    ]);
  });

  it("reports malformed lines and does not close sockets on such a scan", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80), v4Line(1, 81)] });
    const scanner = new ListenerScanner({ readFile: fs.readFile });
    await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    fs.setPid(100, { tcp: [v4Line(1, 80), "   1: garbage"] });
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 2);
    expect(r.events).toEqual([]);
    expect(r.errors).toEqual([{ containerId: "a", message: "net/tcp: 1 malformed line(s) skipped" }]);
  });

  it("uses procRoot and serializes overlapping scan() calls", async () => {
    const fs = new FakeProc();
    fs.setPid(7, { tcp: [v4Line(1, 80)] }, "/host/proc");
    const scanner = new ListenerScanner({ readFile: fs.readFile, procRoot: "/host/proc/" });
    const targets = [{ ref: ref("a"), pid: 7 }];
    const [a, b] = await Promise.all([scanner.scan(targets, 1), scanner.scan(targets, 2)]);
    expect(summary(a.events)).toEqual(["a opened tcp4 127.0.0.1:80"]);
    expect(b).toEqual({ events: [], errors: [] });
    expect(fs.reads.every((p) => p.startsWith("/host/proc/7/net/"))).toBe(true);
  });

  it("with owners, names the process of each opened socket (one lookup per container) and none of a closed one", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80), v4Line(1, 4444)] });
    const nc = { pid: 120, comm: "nc", cmdline: "nc -l -p 4444", user: "root", uid: 0, startedAt: null };
    const calls: [number, readonly string[]][] = [];
    const scanner = new ListenerScanner({
      readFile: fs.readFile,
      owners: async (pid, inodes) => {
        calls.push([pid, inodes]);
        return new Map([
          ["1080", { process: null, processUnknown: "exited" as const }],
          ["5444", { process: nc }],
        ]);
      },
    });
    const first = await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    expect(calls).toEqual([[100, ["1080", "5444"]]]);
    expect(first.events.map((e) => [e.port, e.process, e.processUnknown])).toEqual([
      [80, null, "exited"],
      [4444, nc, undefined],
    ]);
    expect("processUnknown" in first.events[1]!).toBe(false);

    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    const second = await scanner.scan([{ ref: ref("a"), pid: 100 }], 2);
    expect(second.events.map((e) => [e.state, e.port, "process" in e])).toEqual([["closed", 4444, false]]);
    expect(calls).toHaveLength(1);
  });

  it("a failed process lookup is reported and leaves the events without a process", async () => {
    const fs = new FakeProc();
    fs.setPid(100, { tcp: [v4Line(1, 80)] });
    const scanner = new ListenerScanner({
      readFile: fs.readFile,
      owners: async () => {
        throw new Error("EMFILE: too many open files");
      },
    });
    const r = await scanner.scan([{ ref: ref("a"), pid: 100 }], 1);
    expect(r.events.map((e) => "process" in e)).toEqual([false]);
    expect(r.errors).toEqual([
      { containerId: "a", message: "process lookup failed: EMFILE: too many open files" },
    ]);
  });
});

describe("scheduleListenerScan", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("rejects an invalid expression with a message naming it", () => {
    expect(() => scheduleListenerScan("*/15 * * *", async () => {})).toThrow(/"\*\/15 \* \* \*"/);
    expect(() => scheduleListenerScan("61 * * * * *", async () => {})).toThrow(/61 \* \* \* \* \*/);
  });

  it("never runs two scans at once, reports skipped ticks and errors, and stops", async () => {
    vi.useFakeTimers({ now: new Date("2025-01-01T00:00:00.500Z") });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const skips: number[] = [];
    const errors: unknown[] = [];
    const handle = scheduleListenerScan(
      "* * * * * *",
      async () => {
        runs++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Each scan takes 2.5 s, longer than the 1 s period.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        running--;
        if (runs === 2) throw new Error("scan failed");
      },
      {
        onError: (err) => errors.push(err),
        onSkip: () => skips.push(Date.now()),
        logger: { info() {}, warn() {}, error() {}, debug() {} },
      },
    );
    await vi.advanceTimersByTimeAsync(10_000);
    expect(maxRunning).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThanOrEqual(4);
    expect(skips.length).toBeGreaterThan(0);
    expect(errors).toEqual([new Error("scan failed")]);

    handle.stop();
    handle.stop(); // idempotent
    await vi.advanceTimersByTimeAsync(5_000);
    const after = runs;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(after);
  });
});

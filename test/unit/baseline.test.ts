import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Baseline, parseEntry } from "../../src/baseline/baseline.js";
import { BaselineFileError, loadBaseline, saveBaseline } from "../../src/baseline/baseline-store.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const W = "shop/web";

describe("Baseline: egress", () => {
  it("records and finds a destination by IP, per port, proto and workload", () => {
    // Each part of the key matters: a learned 443/tcp must not allow 22/tcp or 443/udp.
    const b = new Baseline();
    b.recordEgress(W, "203.0.113.7", 443, "tcp", T0);
    expect(b.hasEgress(W, "203.0.113.7", [], 443, "tcp")).toBe(true);
    expect(b.hasEgress(W, "203.0.113.7", [], 22, "tcp")).toBe(false);
    expect(b.hasEgress(W, "203.0.113.7", [], 443, "udp")).toBe(false);
    expect(b.hasEgress(W, "203.0.113.8", [], 443, "tcp")).toBe(false);
    expect(b.hasEgress("shop/db", "203.0.113.7", [], 443, "tcp")).toBe(false);
  });

  it("records and finds a destination by name, whatever IP it resolves to now", () => {
    // CDNs rotate addresses: a name learned once must keep matching.
    const b = new Baseline();
    b.recordEgress(W, "api.example.com", 443, "tcp", T0);
    expect(b.hasEgress(W, "203.0.113.1", ["other.example.com", "api.example.com"], 443, "tcp")).toBe(true);
    expect(b.hasEgress(W, "203.0.113.2", ["api.example.com"], 443, "tcp")).toBe(true);
    // Without the name the IP alone was never learned.
    expect(b.hasEgress(W, "203.0.113.1", [], 443, "tcp")).toBe(false);
    expect(b.hasEgress(W, "203.0.113.1", ["api.example.com"], 80, "tcp")).toBe(false);
  });

  it("an unknown workload has nothing", () => {
    // Lookups on a workload never seen must not create it.
    const b = new Baseline();
    expect(b.hasEgress("nobody", "203.0.113.1", ["x"], 1, "tcp")).toBe(false);
    expect(b.hasListen("nobody", 80, "tcp")).toBe(false);
    expect(b.names()).toEqual([]);
    expect(b.dirty).toBe(false);
  });
});

describe("Baseline: listen", () => {
  it("records and finds a listening port per proto", () => {
    // 53/udp learned says nothing about 53/tcp.
    const b = new Baseline();
    b.recordListen(W, 53, "udp", T0);
    expect(b.hasListen(W, 53, "udp")).toBe(true);
    expect(b.hasListen(W, 53, "tcp")).toBe(false);
    expect(b.hasListen("shop/db", 53, "udp")).toBe(false);
  });
});

describe("Baseline: first seen and touch", () => {
  it("the first touch sets firstSeen; later ones keep it", () => {
    // The learning clock starts once and is never restarted by later traffic.
    const b = new Baseline();
    expect(b.firstSeen(W)).toBeUndefined();
    expect(b.touch(W, T0)).toBe(T0);
    expect(b.touch(W, T0 + 5_000)).toBe(T0);
    expect(b.firstSeen(W)).toBe(T0);
  });

  it("recording for a new workload starts its clock at the record time", () => {
    // A record is also a sighting.
    const b = new Baseline();
    b.recordListen(W, 80, "tcp", T0 + 7);
    expect(b.firstSeen(W)).toBe(T0 + 7);
  });
});

describe("Baseline: maxEntries", () => {
  it("bounds entries per workload (egress and listen together) and counts the dropped", () => {
    // A noisy or hostile workload must not make netmon remember without bound.
    const b = new Baseline(3);
    b.recordEgress(W, "203.0.113.1", 1, "tcp", T0);
    b.recordEgress(W, "203.0.113.2", 1, "tcp", T0);
    b.recordListen(W, 80, "tcp", T0);
    b.recordEgress(W, "203.0.113.3", 1, "tcp", T0);
    b.recordListen(W, 81, "tcp", T0);
    const d = b.describe(W)!;
    expect(d.egress).toEqual(["203.0.113.1|1|tcp", "203.0.113.2|1|tcp"]);
    expect(d.listen).toEqual(["80/tcp"]);
    expect(d.dropped).toBe(2);
    expect(b.hasEgress(W, "203.0.113.3", [], 1, "tcp")).toBe(false);
  });

  it("re-recording a known entry at the bound is not a drop", () => {
    // Only new entries are refused; repeats of learned ones are normal traffic.
    const b = new Baseline(1);
    b.recordEgress(W, "203.0.113.1", 1, "tcp", T0);
    b.recordEgress(W, "203.0.113.1", 1, "tcp", T0 + 1);
    expect(b.describe(W)!.dropped).toBe(0);
  });

  it("the bound is per workload", () => {
    // One noisy workload must not use up another's room.
    const b = new Baseline(1);
    b.recordEgress(W, "203.0.113.1", 1, "tcp", T0);
    b.recordEgress("shop/db", "203.0.113.1", 1, "tcp", T0);
    expect(b.hasEgress("shop/db", "203.0.113.1", [], 1, "tcp")).toBe(true);
  });
});

describe("Baseline: reset and dirty", () => {
  it("reset forgets a workload (and its learning clock)", () => {
    // `netmon baseline reset` makes a workload learn again from scratch.
    const b = new Baseline();
    b.recordEgress(W, "203.0.113.1", 443, "tcp", T0);
    b.recordEgress("shop/db", "203.0.113.1", 443, "tcp", T0);
    b.dirty = false;
    expect(b.reset(W)).toBe(true);
    expect(b.dirty).toBe(true);
    expect(b.hasEgress(W, "203.0.113.1", [], 443, "tcp")).toBe(false);
    expect(b.firstSeen(W)).toBeUndefined();
    expect(b.names()).toEqual(["shop/db"]);
  });

  it("reset of an unknown workload is false and changes nothing", () => {
    // Nothing to save after a no-op.
    const b = new Baseline();
    expect(b.reset("nobody")).toBe(false);
    expect(b.dirty).toBe(false);
  });

  it("dirty is set by recorded entries (new, or seen again), not by a known workload's touch", () => {
    // Saving is skipped when nothing changed; a repeat changes an entry's lastSeen and count.
    const b = new Baseline();
    b.recordListen(W, 80, "tcp", T0);
    expect(b.dirty).toBe(true);
    b.dirty = false;
    b.touch(W, T0 + 2);
    expect(b.dirty).toBe(false);
    b.recordListen(W, 80, "tcp", T0 + 1);
    expect(b.dirty).toBe(true);
  });
});

describe("Baseline: toJSON / fromJSON", () => {
  function sample(): Baseline {
    const b = new Baseline();
    b.recordEgress(W, "api.example.com", 443, "tcp", T0);
    b.recordEgress(W, "203.0.113.9", 53, "udp", T0 + 1);
    b.recordListen(W, 8080, "tcp", T0 + 2);
    b.touch("registry:5000/app", T0 + 10);
    return b;
  }

  it("toJSON is sorted and versioned, each entry with first/last seen and a count", () => {
    // Stable output: the file diffs cleanly and reviews easily.
    const b = sample();
    b.recordEgress(W, "api.example.com", 443, "tcp", T0 + 50);
    expect(b.toJSON()).toEqual({
      version: 2,
      workloads: {
        "registry:5000/app": { firstSeen: T0 + 10, egress: [], listen: [] },
        "shop/web": {
          firstSeen: T0,
          egress: [
            { entry: "203.0.113.9|53|udp", firstSeen: T0 + 1, lastSeen: T0 + 1, count: 1 },
            { entry: "api.example.com|443|tcp", firstSeen: T0, lastSeen: T0 + 50, count: 2 },
          ],
          listen: [{ entry: "8080/tcp", firstSeen: T0 + 2, lastSeen: T0 + 2, count: 1 }],
        },
      },
    });
  });

  it("loads a version 1 file, each entry seen once when its workload was first seen", () => {
    // Upgrading netmon must not throw away what was learned; it is saved as version 2 next time.
    const b = Baseline.fromJSON({
      version: 1,
      workloads: { [W]: { firstSeen: T0, egress: ["api.example.com|443|tcp"], listen: ["8080/tcp"] } },
    });
    expect(b.hasEgress(W, "203.0.113.5", ["api.example.com"], 443, "tcp")).toBe(true);
    expect(b.entries(W)).toEqual([
      { kind: "listen", entry: "8080/tcp", firstSeen: T0, lastSeen: T0, count: 1 },
      { kind: "egress", entry: "api.example.com:443/tcp", firstSeen: T0, lastSeen: T0, count: 1 },
    ]);
    expect(b.toJSON().version).toBe(2);
  });

  it("round-trips through JSON text", () => {
    // What is saved is exactly what is loaded.
    const b = sample();
    const back = Baseline.fromJSON(JSON.parse(JSON.stringify(b.toJSON())));
    expect(back.toJSON()).toEqual(b.toJSON());
    expect(back.hasEgress(W, "203.0.113.50", ["api.example.com"], 443, "tcp")).toBe(true);
    expect(back.hasListen(W, 8080, "tcp")).toBe(true);
    expect(back.firstSeen("registry:5000/app")).toBe(T0 + 10);
    expect(back.dirty).toBe(false);
  });

  it("applies maxEntries to what is added after loading", () => {
    // The bound still holds for a workload loaded at its limit.
    const b = Baseline.fromJSON(
      { version: 1, workloads: { [W]: { firstSeen: T0, egress: ["a|1|tcp"], listen: [] } } },
      1,
    );
    b.recordListen(W, 80, "tcp", T0);
    expect(b.hasListen(W, 80, "tcp")).toBe(false);
    expect(b.describe(W)!.dropped).toBe(1);
  });

  const bad: { why: string; raw: unknown; path: string }[] = [
    // Not an object at all.
    { why: "null", raw: null, path: "(top level)" },
    // A future format must not be misread.
    { why: "other version", raw: { version: 3, workloads: {} }, path: "version" },
    // A version 2 entry without its count.
    {
      why: "v2 entry without count",
      raw: {
        version: 2,
        workloads: {
          [W]: { firstSeen: T0, egress: [{ entry: "a|1|tcp", firstSeen: T0, lastSeen: T0 }], listen: [] },
        },
      },
      path: `workloads.${W}.egress.0.count`,
    },
    // Missing the workloads map.
    { why: "no workloads", raw: { version: 1 }, path: "workloads" },
    // A wrong type deep inside names the exact place.
    {
      why: "firstSeen is a string",
      raw: { version: 1, workloads: { [W]: { firstSeen: "yesterday", egress: [], listen: [] } } },
      path: `workloads.${W}.firstSeen`,
    },
    // Arrays of strings only.
    {
      why: "egress item is a number",
      raw: { version: 1, workloads: { [W]: { firstSeen: T0, egress: [443], listen: [] } } },
      path: `workloads.${W}.egress.0`,
    },
    // A string where a list is expected.
    {
      why: "listen is not an array",
      raw: { version: 1, workloads: { [W]: { firstSeen: T0, egress: [], listen: "80/tcp" } } },
      path: `workloads.${W}.listen`,
    },
  ];
  it.each(bad)("rejects $why with a message naming $path", ({ raw, path }) => {
    expect(() => Baseline.fromJSON(raw)).toThrow(new RegExp(`^${path.replace(/[.()/]/g, "\\$&")}: `));
  });

  it("rejects unknown keys", () => {
    // Strict: a hand-edited typo must not be silently dropped.
    expect(() => Baseline.fromJSON({ version: 1, workloads: {}, extra: true })).toThrow(/extra/);
  });
});

describe("baseline store", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "netmon-baseline-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("save then load gives the same baseline; the temp file is gone; the file is 0600", () => {
    // Atomic write (temp + rename) and private permissions: the baseline reveals what talks to what.
    const path = join(dir, "state", "baseline.json");
    const b = new Baseline();
    b.recordEgress(W, "api.example.com", 443, "tcp", T0);
    b.recordListen(W, 8080, "tcp", T0);
    saveBaseline(path, b);
    expect(b.dirty).toBe(false);
    expect(readdirSync(join(dir, "state"))).toEqual(["baseline.json"]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const back = loadBaseline(path, 1000);
    expect(back.toJSON()).toEqual(b.toJSON());
  });

  it("overwriting a world-readable file leaves it 0600", () => {
    // The rename replaces the old file, so its old mode does not survive.
    const path = join(dir, "baseline.json");
    writeFileSync(path, "{}");
    chmodSync(path, 0o644);
    saveBaseline(path, new Baseline());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ version: 2, workloads: {} });
  });

  it("a failed save throws and leaves no temp file behind", () => {
    // Repeated failures (every save interval) must not litter the state directory.
    const path = join(dir, "baseline.json");
    mkdirSync(path);
    expect(() => saveBaseline(path, new Baseline())).toThrow();
    expect(readdirSync(dir)).toEqual(["baseline.json"]);
  });

  it("a missing file is an empty baseline", () => {
    // First start: nothing learned yet, no error.
    const b = loadBaseline(join(dir, "nope", "baseline.json"), 10);
    expect(b.names()).toEqual([]);
  });

  it("the loaded baseline keeps the configured maxEntries", () => {
    // maxEntriesPerWorkload applies after a restart too.
    const path = join(dir, "baseline.json");
    saveBaseline(path, new Baseline());
    const b = loadBaseline(path, 1);
    b.recordListen(W, 1, "tcp", T0);
    b.recordListen(W, 2, "tcp", T0);
    expect(b.describe(W)!.dropped).toBe(1);
  });

  const corrupt: { why: string; text: string; detail: RegExp }[] = [
    // Truncated by a crash of something else, or edited by hand.
    { why: "not JSON", text: '{"version": 1, "workl', detail: /not a valid baseline file/ },
    // Valid JSON, wrong shape: the message says where.
    {
      why: "wrong shape",
      text: '{"version": 1, "workloads": {"w": {"firstSeen": "x"}}}',
      detail: /workloads\.w/,
    },
  ];
  it.each(corrupt)("a corrupt file ($why) is a BaselineFileError naming the path", ({ text, detail }) => {
    // Silently starting empty would re-learn (and accept) whatever runs now.
    const path = join(dir, "baseline.json");
    writeFileSync(path, text);
    let err: unknown;
    try {
      loadBaseline(path, 10);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BaselineFileError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(detail);
  });

  it("an unreadable path (a directory) is a BaselineFileError naming the path", () => {
    // Only ENOENT means "no baseline yet"; any other read error must stop start-up.
    const path = join(dir, "baseline.json");
    mkdirSync(path);
    expect(() => loadBaseline(path, 10)).toThrow(BaselineFileError);
    expect(() => loadBaseline(path, 10)).toThrow(path);
  });
});

describe("Baseline: entries, forget, parseEntry", () => {
  it("entries are oldest first, as forget takes them (IPv6 in brackets)", () => {
    // What status prints is what the operator pastes into `baseline forget`.
    const b = new Baseline();
    b.recordEgress(W, "2001:db8::1", 443, "tcp", T0 + 2);
    b.recordListen(W, 8080, "tcp", T0 + 1);
    b.recordEgress(W, "db", 5432, "tcp", T0);
    expect(b.entries(W).map((e) => e.entry)).toEqual(["db:5432/tcp", "8080/tcp", "[2001:db8::1]:443/tcp"]);
    for (const e of b.entries(W)) {
      const parsed = parseEntry(e.entry)!;
      expect(parsed.kind).toBe(e.kind);
      expect(b.forgetEntry(W, parsed.kind, parsed.key)).toBe(true);
    }
    // Forgetting entries keeps the workload (and its learning clock, started by its first record).
    expect(b.entries(W)).toEqual([]);
    expect(b.firstSeen(W)).toBe(T0 + 2);
  });

  const entries: { text: string; want: ReturnType<typeof parseEntry> }[] = [
    { text: "8080/tcp", want: { kind: "listen", key: "8080/tcp" } },
    { text: "API.example.com:443/TCP", want: { kind: "egress", key: "api.example.com|443|tcp" } },
    { text: "2001:db8::1:53/udp", want: { kind: "egress", key: "2001:db8::1|53|udp" } },
    { text: "[2001:db8::1]:53/udp", want: { kind: "egress", key: "2001:db8::1|53|udp" } },
    { text: "api.example.com", want: null },
    { text: ":443/tcp", want: null },
    { text: "a|b:443/tcp", want: null },
    { text: "8080/sctp", want: null },
  ];
  it.each(entries)("parseEntry($text)", ({ text, want }) => {
    expect(parseEntry(text)).toEqual(want);
  });

  it("clear forgets every workload", () => {
    // `netmon baseline reset`: everything learns again.
    const b = new Baseline();
    b.touch(W, T0);
    b.touch("shop/db", T0);
    b.dirty = false;
    expect(b.clear()).toBe(2);
    expect(b.names()).toEqual([]);
    expect(b.dirty).toBe(true);
  });
});

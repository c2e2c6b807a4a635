import { existsSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import {
  BaselineImportError,
  exportBaseline,
  importBaseline,
  MAX_EXPORT_WORKLOADS,
  parseExportDocument,
} from "../../src/baseline/baseline-export.js";
import { applyQueuedBaselineRequests, BASELINE_REQUESTS_FILE } from "../../src/baseline/baseline-requests.js";
import { loadBaseline, saveBaseline } from "../../src/baseline/baseline-store.js";
import {
  exportBaselineCommand,
  importBaselineCommand,
  MAX_IMPORT_BYTES,
} from "../../src/commands/baseline-share.js";
import { NetmonError } from "../../src/util/errors.js";
import { configFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = Date.UTC(2026, 0, 1);
const NOW = new Date(Date.UTC(2026, 1, 1));
const iso = (ms: number) => new Date(ms).toISOString();

function learned(): Baseline {
  const b = new Baseline();
  b.recordEgress("shop/web", "api.example.com", 443, "tcp", T0);
  b.recordEgress("shop/web", "api.example.com", 443, "tcp", T0 + 60_000);
  b.recordEgress("shop/web", "2001:db8::1", 443, "tcp", T0 + 1000);
  b.recordListen("shop/web", 8080, "tcp", T0 + 2000);
  b.recordEgress("shop/db", "10.0.0.9", 5432, "tcp", T0 + 5000);
  return b;
}

/** A valid document to break one field of. */
function doc(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(exportBaseline(learned(), [], NOW))) as Record<string, unknown>;
}

/** The error message of parsing `raw` (at most `max` entries per workload). */
function refusal(raw: unknown, max = 1000): string {
  try {
    parseExportDocument(raw, max);
  } catch (err) {
    expect(err).toBeInstanceOf(BaselineImportError);
    return (err as Error).message;
  }
  throw new Error("expected the document to be refused");
}

describe("baseline export document", () => {
  it("is versioned, sorted and readable: entries as baseline status prints them, ISO times", () => {
    expect(exportBaseline(learned(), [], NOW)).toEqual({
      format: "netmon-baseline",
      version: 1,
      exportedAt: NOW.toISOString(),
      workloads: [
        {
          workload: "shop/db",
          firstSeen: iso(T0 + 5000),
          egress: [
            { entry: "10.0.0.9:5432/tcp", firstSeen: iso(T0 + 5000), lastSeen: iso(T0 + 5000), count: 1 },
          ],
          listen: [],
        },
        {
          workload: "shop/web",
          firstSeen: iso(T0),
          egress: [
            { entry: "[2001:db8::1]:443/tcp", firstSeen: iso(T0 + 1000), lastSeen: iso(T0 + 1000), count: 1 },
            { entry: "api.example.com:443/tcp", firstSeen: iso(T0), lastSeen: iso(T0 + 60_000), count: 2 },
          ],
          listen: [{ entry: "8080/tcp", firstSeen: iso(T0 + 2000), lastSeen: iso(T0 + 2000), count: 1 }],
        },
      ],
    });
  });

  it("exports only the named workloads, and refuses one that learned nothing", () => {
    expect(exportBaseline(learned(), ["shop/web"], NOW).workloads.map((w) => w.workload)).toEqual([
      "shop/web",
    ]);
    expect(() => exportBaseline(learned(), ["nope"], NOW)).toThrow('no baseline for workload "nope"');
  });

  it("round trip: export, then import into an empty baseline, gives the same baseline", () => {
    const text = JSON.stringify(exportBaseline(learned(), [], NOW));
    const into = new Baseline();
    importBaseline(into, parseExportDocument(JSON.parse(text), 1000), false);
    expect(into.toJSON()).toEqual(learned().toJSON());
  });
});

describe("baseline import validation (hostile or corrupt input)", () => {
  const withWorkload = (patch: Record<string, unknown>): Record<string, unknown> => {
    const d = doc();
    const ws = d.workloads as Record<string, unknown>[];
    ws[1] = { ...ws[1], ...patch };
    return d;
  };
  const withEntry = (kind: "egress" | "listen", patch: Record<string, unknown>) => {
    const d = doc();
    const w = (d.workloads as Record<string, Record<string, unknown>[]>[])[1]!;
    w[kind]![0] = { ...w[kind]![0], ...patch };
    return d;
  };

  it.each<[string, unknown, RegExp]>([
    ["not an object", [], /^\(top level\)|^format:/],
    ["another format", { ...doc(), format: "crowdsec" }, /^format: not a netmon baseline export/],
    [
      "a newer version",
      { ...doc(), version: 2 },
      /^version: version 2 is not read by this netmon \(it reads version 1\)/,
    ],
    ["a version as text", { ...doc(), version: "1" }, /^version: version "1" is not read/],
    ["no version", { format: "netmon-baseline", workloads: [] }, /^version: /],
    ["an unknown top-level key", { ...doc(), extra: 1 }, /^\(top level\): Unrecognized key: "extra"/],
    ["workloads as a record", { ...doc(), workloads: { "shop/web": {} } }, /^workloads: /],
    ["a workload name that is a number", withWorkload({ workload: 123 }), /^workloads\.1\.workload: /],
    [
      "a __proto__ workload",
      withWorkload({ workload: "__proto__" }),
      /^workloads\.1 \("__proto__"\)\.workload: not a workload identity/,
    ],
    [
      "a name with a newline",
      withWorkload({ workload: "shop/web\nmsg" }),
      /^workloads\.1 \("shop\/web\\nmsg"\)\.workload: not a workload identity/,
    ],
    [
      "a huge count",
      JSON.parse(JSON.stringify(withEntry("egress", { count: 7 })).replace('"count":7', '"count":1e400')),
      /^workloads\.1 \("shop\/web"\)\.egress\.0\.count: /,
    ],
    ["a count past 2^53", withEntry("egress", { count: 2 ** 60 }), /egress\.0\.count: /],
    ["a zero count", withEntry("egress", { count: 0 }), /egress\.0\.count: /],
    ["a time that is a number", withEntry("listen", { firstSeen: T0 }), /listen\.0\.firstSeen: /],
    ["a time that is not ISO", withEntry("listen", { firstSeen: "yesterday" }), /listen\.0\.firstSeen: /],
    [
      "last seen before first seen",
      withEntry("listen", { lastSeen: iso(T0 - 1) }),
      /listen\.0\.lastSeen: lastSeen is before firstSeen/,
    ],
    [
      "a listen entry among egress",
      withEntry("egress", { entry: "8080/tcp" }),
      /egress\.0\.entry: not a DEST:PORT\/PROTO entry/,
    ],
    [
      "a destination among listen",
      withEntry("listen", { entry: "db:5432/tcp" }),
      /listen\.0\.entry: not a PORT\/PROTO entry/,
    ],
    ["port 0", withEntry("listen", { entry: "0/tcp" }), /listen\.0\.entry: port out of range/],
    ["port 99999", withEntry("egress", { entry: "db:99999/tcp" }), /egress\.0\.entry: port out of range/],
    [
      "a control character",
      withEntry("egress", { entry: "db\u0000:443/tcp" }),
      /egress\.0\.entry: not printable ASCII/,
    ],
    ["an unknown entry key", withEntry("egress", { admin: true }), /egress\.0: Unrecognized key: "admin"/],
  ])("refuses %s, naming the key path", (_what, raw, message) => {
    expect(refusal(raw)).toMatch(message);
  });

  it("refuses a __proto__ or constructor key, and pollutes nothing", () => {
    const top = JSON.parse(
      '{"format":"netmon-baseline","version":1,"workloads":[],"__proto__":{"polluted":true}}',
    );
    expect(refusal(top)).toMatch(/Unrecognized key: "__proto__"/);
    const inWorkload = JSON.parse(
      '{"format":"netmon-baseline","version":1,"workloads":[{"workload":"a","firstSeen":"2026-01-01T00:00:00.000Z","egress":[],"listen":[],"constructor":{"prototype":{"polluted":true}}}]}',
    );
    expect(refusal(inWorkload)).toMatch(/^workloads\.0 \("a"\): Unrecognized key: "constructor"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses duplicate workloads and duplicate entries", () => {
    const d = doc();
    const ws = d.workloads as unknown[];
    ws.push(ws[1]);
    expect(refusal(d)).toMatch(/^workloads\.2 \("shop\/web"\)\.workload: duplicate workload/);
    // The same entry written two ways: IPv6 with and without brackets.
    const twice = doc();
    const egress = (twice.workloads as { egress: Record<string, unknown>[] }[])[1]!.egress;
    egress.push({ ...egress[0], entry: "2001:db8::1:443/tcp" });
    expect(refusal(twice)).toMatch(/egress\.2\.entry: duplicate entry/);
  });

  it("refuses more entries than this host's learner keeps, and more workloads than the cap", () => {
    expect(refusal(doc(), 2)).toBe(
      'workloads.1 ("shop/web"): 3 entries, more than baseline.maxEntriesPerWorkload (2)',
    );
    const many = {
      format: "netmon-baseline",
      version: 1,
      workloads: Array.from({ length: MAX_EXPORT_WORKLOADS + 1 }, (_, i) => ({
        workload: `w${i}`,
        firstSeen: iso(T0),
        egress: [],
        listen: [],
      })),
    };
    expect(refusal(many)).toMatch(/^workloads: Too big/);
  });
});

describe("baseline import semantics", () => {
  const fileOf = (b: Baseline, names: string[] = []) =>
    parseExportDocument(JSON.parse(JSON.stringify(exportBaseline(b, names, NOW))), 1000);

  it("replaces the workloads of the file and leaves the others alone", () => {
    const here = new Baseline();
    here.recordEgress("shop/web", "old.example.com", 443, "tcp", T0 - 1000);
    here.recordEgress("billing/api", "pay.example.com", 443, "tcp", T0);
    importBaseline(here, fileOf(learned(), ["shop/web"]), false);
    expect(here.describe("shop/web")).toEqual(learned().describe("shop/web"));
    expect(here.describe("billing/api")?.egress).toEqual(["pay.example.com|443|tcp"]);
    expect(here.names()).toEqual(["billing/api", "shop/web"]);
  });

  it("merges: union of entries, earliest first sighting, latest last one, higher count; twice is once", () => {
    const here = new Baseline();
    here.recordEgress("shop/web", "old.example.com", 443, "tcp", T0 - 1000);
    for (let i = 0; i < 5; i++)
      here.recordEgress("shop/web", "api.example.com", 443, "tcp", T0 + 120_000 + i);
    const file = fileOf(learned());
    importBaseline(here, file, true);
    const once = here.toJSON();
    expect(once.workloads["shop/web"]).toEqual({
      firstSeen: T0 - 1000,
      egress: [
        { entry: "2001:db8::1|443|tcp", firstSeen: T0 + 1000, lastSeen: T0 + 1000, count: 1 },
        { entry: "api.example.com|443|tcp", firstSeen: T0, lastSeen: T0 + 120_004, count: 5 },
        { entry: "old.example.com|443|tcp", firstSeen: T0 - 1000, lastSeen: T0 - 1000, count: 1 },
      ],
      listen: [{ entry: "8080/tcp", firstSeen: T0 + 2000, lastSeen: T0 + 2000, count: 1 }],
    });
    expect(once.workloads["shop/db"]).toEqual(learned().toJSON().workloads["shop/db"]);
    importBaseline(here, file, true);
    expect(here.toJSON()).toEqual(once);
  });

  it("a merge past the learner's cap keeps what was here and drops (and counts) the rest", () => {
    const here = new Baseline(3);
    here.recordEgress("shop/web", "a.example.com", 443, "tcp", T0);
    here.recordEgress("shop/web", "b.example.com", 443, "tcp", T0);
    const r = importBaseline(here, fileOf(learned(), ["shop/web"]), true);
    expect(r.workloads).toEqual([{ workload: "shop/web", dropped: 2 }]);
    expect(here.describe("shop/web")).toMatchObject({ dropped: 2 });
    expect(here.entries("shop/web")).toHaveLength(3);
  });
});

describe("netmon baseline export / import (commands)", () => {
  function setup(maxEntries = 1000) {
    const dir = mkdtempSync(join(tmpdir(), "netmon-share-"));
    const state = join(dir, "state");
    const config = configFromYaml(`stateDir: ${state}\nbaseline:\n  maxEntriesPerWorkload: ${maxEntries}\n`);
    const here = new Baseline();
    here.recordEgress("billing/api", "pay.example.com", 443, "tcp", T0);
    saveBaseline(join(state, "baseline.json"), here);
    const file = join(dir, "shared.json");
    writeFileSync(file, JSON.stringify(exportBaseline(learned(), [], NOW), null, 2));
    return { dir, state, config, file };
  }

  /** What a refused import must leave: the saved baseline byte for byte, no request queued. */
  function expectUntouched(state: string, before: string): void {
    expect(readFileSync(join(state, "baseline.json"), "utf8")).toBe(before);
    expect(existsSync(join(state, BASELINE_REQUESTS_FILE))).toBe(false);
  }

  function refusedWith(f: () => unknown): NetmonError {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(NetmonError);
      expect((err as NetmonError).exitCode).toBe(2);
      return err as NetmonError;
    }
    throw new Error("expected a refusal");
  }

  it("imports into the saved file at once and queues it for the running daemon (applied on SIGHUP)", () => {
    const { state, config, file } = setup();
    const change = importBaselineCommand(config, file, false, NOW);
    expect(change.out).toBe("baseline import: 2 workload(s) replaced (shop/db, shop/web)\n");
    expect(change.note).toMatch(/queued for the running daemon: .*SIGHUP/);
    const saved = loadBaseline(join(state, "baseline.json"), 1000);
    expect(saved.names()).toEqual(["billing/api", "shop/db", "shop/web"]);

    // The daemon's copy (what it had in memory) gets the same import from the queue.
    const daemonCopy = new Baseline();
    daemonCopy.recordEgress("billing/api", "pay.example.com", 443, "tcp", T0);
    const logged: unknown[] = [];
    applyQueuedBaselineRequests(
      state,
      daemonCopy,
      { info: (o: unknown) => logged.push(o), error: () => {} },
      "SIGHUP",
    );
    expect(daemonCopy.toJSON()).toEqual(saved.toJSON());
    expect(logged).toEqual([
      { trigger: "SIGHUP", results: ["baseline import: 2 workload(s) replaced (shop/db, shop/web)"] },
    ]);
  });

  it("export prints the saved baseline as the document import reads", () => {
    const { config, file, dir } = setup();
    importBaselineCommand(config, file, false, NOW);
    const out = join(dir, "again.json");
    writeFileSync(out, exportBaselineCommand(config, ["shop/web", "shop/db"], NOW));
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(JSON.parse(readFileSync(file, "utf8")));
    expect(() => exportBaselineCommand(config, ["nope"], NOW)).toThrow(/no baseline for workload "nope" in /);
  });

  it("refuses a corrupt file whole, with the key path and exit 2, and changes nothing", () => {
    const { state, config, file } = setup();
    const before = readFileSync(join(state, "baseline.json"), "utf8");
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace('"count": 2', '"count": -2'));
    expect(refusedWith(() => importBaselineCommand(config, file, false, NOW)).message).toMatch(
      /shared\.json: workloads\.1 \("shop\/web"\)\.egress\.1\.count: .*; nothing imported$/,
    );
    writeFileSync(file, text.slice(0, 100));
    expect(refusedWith(() => importBaselineCommand(config, file, false, NOW)).message).toMatch(
      /: not JSON \(/,
    );
    expectUntouched(state, before);
  });

  it("refuses a file above the size limit before reading it, and one that is not a file", () => {
    const { state, config, file, dir } = setup();
    const before = readFileSync(join(state, "baseline.json"), "utf8");
    truncateSync(file, MAX_IMPORT_BYTES + 1);
    expect(refusedWith(() => importBaselineCommand(config, file, false, NOW)).message).toMatch(
      /larger than 32 MiB; refused/,
    );
    expect(refusedWith(() => importBaselineCommand(config, dir, false, NOW)).message).toMatch(
      /not a regular file/,
    );
    expect(
      refusedWith(() => importBaselineCommand(config, join(dir, "missing.json"), false, NOW)).message,
    ).toMatch(/missing\.json: cannot read \(ENOENT\)/);
    expectUntouched(state, before);
  });

  it("refuses a merge that would hold more than baseline.maxEntriesPerWorkload, and changes nothing", () => {
    const { state, config, file } = setup(3);
    const here = new Baseline(3);
    here.recordEgress("shop/web", "other.example.com", 443, "tcp", T0);
    saveBaseline(join(state, "baseline.json"), here);
    const before = readFileSync(join(state, "baseline.json"), "utf8");
    expect(refusedWith(() => importBaselineCommand(config, file, true, NOW)).message).toMatch(
      /workloads\.1 \("shop\/web"\): merged with this host's baseline it would hold more than baseline\.maxEntriesPerWorkload \(3\) entries; nothing imported/,
    );
    expectUntouched(state, before);
    // Replacing instead fits.
    expect(importBaselineCommand(config, file, false, NOW).out).toMatch(/2 workload\(s\) replaced/);
  });
});

/**
 * `npm run bench`: every benchmark part, a table per part, and test/bench/results.json.
 *
 *   npm run bench                                  everything (about 9 minutes on 2 cores)
 *   npm run build && node dist/test/bench/run.js --only replay,memory   some parts
 *   … --quick                                      smaller and shorter (a smoke run, not numbers)
 *
 * Flags: --only replay,memory,live,latency,startup · --rounds N (replay and CLI start-up
 * rounds, default 5) ·
 * --packets N (capture size, default 2,000,000) · --regenerate (rewrite the capture) ·
 * --churn-seconds N (default 150) · --attempts N (latency, default 50) · --no-dissect (skip the
 * one full tshark dissection) · --out FILE (default test/bench/results.json).
 *
 * The live parts (live, latency, startup and the daemon row of memory) need root, dockerd and the
 * image netmon-test/busybox (built from busybox-static if missing); they create only --internal
 * networks on 198.18.100-120.0/24 and containers labelled netmon-bench=1, removed afterwards.
 * The capture is generated once into /tmp/netmon-bench/ and reused (generation is deterministic).
 * Parts not run keep their previous entry in results.json, each with its own timestamp.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { cliStartupTable, runCliStartupBench } from "./cli-startup-bench.js";
import { cleanup, liveUnavailable, removeTempDirs } from "./docker-env.js";
import { latencyTable, runLatencyBench } from "./latency-bench.js";
import { liveTable, runLiveBench } from "./live-bench.js";
import { memoryTable, runMemoryBench } from "./memory-bench.js";
import { run } from "./proc.js";
import { replayTable, runReplayBench } from "./replay-bench.js";
import { runStartupBench, startupTable } from "./startup-bench.js";
import { loadText, machineLoad } from "./stats.js";

const PARTS = ["replay", "memory", "live", "latency", "startup"] as const;
type Part = (typeof PARTS)[number];

interface Flags {
  only: Set<Part>;
  quick: boolean;
  rounds: number;
  packets: number;
  regenerate: boolean;
  churnSeconds: number;
  attempts: number;
  dissect: boolean;
  out: string;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = {
    only: new Set(PARTS),
    quick: false,
    rounds: 5,
    packets: 2_000_000,
    regenerate: false,
    churnSeconds: 150,
    attempts: 50,
    dissect: true,
    out: new URL("../../../test/bench/results.json", import.meta.url).pathname,
  };
  const num = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--only") {
      const parts = (argv[++i] ?? "").split(",").filter(Boolean);
      for (const p of parts)
        if (!PARTS.includes(p as Part)) throw new Error(`unknown part ${p} (${PARTS.join(", ")})`);
      flags.only = new Set(parts as Part[]);
    } else if (a === "--quick") {
      flags.quick = true;
      flags.rounds = 2;
      flags.packets = 300_000;
      flags.churnSeconds = 20;
      flags.attempts = 15;
      flags.dissect = false;
    } else if (a === "--rounds") flags.rounds = num(argv[++i], a);
    else if (a === "--packets") flags.packets = num(argv[++i], a);
    else if (a === "--regenerate") flags.regenerate = true;
    else if (a === "--churn-seconds") flags.churnSeconds = num(argv[++i], a);
    else if (a === "--attempts") flags.attempts = num(argv[++i], a);
    else if (a === "--no-dissect") flags.dissect = false;
    else if (a === "--out") flags.out = argv[++i] ?? flags.out;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: node dist/test/bench/run.js [--only replay,memory,live,latency,startup] [--quick] [--rounds N] [--packets N] [--regenerate] [--churn-seconds N] [--attempts N] [--no-dissect] [--out FILE]\n",
      );
      process.exit(0);
    } else throw new Error(`unknown flag ${a}`);
  }
  return flags;
}

function log(m: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const t0 = Date.now();
  let previous: { parts?: Record<string, unknown> } = {};
  if (existsSync(flags.out)) {
    try {
      previous = JSON.parse(readFileSync(flags.out, "utf8")) as typeof previous;
    } catch {
      previous = {};
    }
  }
  const parts: Record<string, unknown> = { ...(previous.parts ?? {}) };
  const tables: string[] = [];
  const skipped: string[] = [];
  const liveReason = [...flags.only].some((p) => p !== "replay") ? liveUnavailable() : null;
  let partLoad = machineLoad();
  const record = (part: Part, value: object, table: string): void => {
    const load = { before: partLoad, after: machineLoad() };
    parts[part] = { at: new Date().toISOString(), quick: flags.quick, machineLoad: load, ...value };
    const note = `machine during ${part}: ${loadText(load.before)} before, ${loadText(load.after)} after`;
    tables.push(`${table}\n${note}`);
    process.stdout.write(`\n${table}\n${note}\n`);
    partLoad = machineLoad();
  };
  const cleanExit = (): void => {
    removeTempDirs();
    try {
      cleanup();
    } catch {
      // dockerd gone: nothing of ours can be left
    }
    process.exit(130);
  };
  process.on("SIGINT", cleanExit);
  process.on("SIGTERM", cleanExit);

  if (flags.only.has("replay")) {
    const r = runReplayBench({
      packets: flags.packets,
      rounds: flags.rounds,
      regenerate: flags.regenerate,
      dissect: flags.dissect,
      log,
    });
    record("replay", r, replayTable(r));
  }
  if (flags.only.has("memory")) {
    const r = await runMemoryBench({
      flows: 100_000,
      runs: flags.quick ? 1 : 3,
      churnSeconds: flags.churnSeconds,
      churnSpeed: 12,
      live: liveReason === null,
      log,
    });
    record("memory", r, memoryTable(r));
  }
  const live = (part: Part): boolean => {
    if (!flags.only.has(part)) return false;
    if (liveReason === null) return true;
    skipped.push(`${part}: ${liveReason}`);
    log(`skipping ${part}: ${liveReason}`);
    return false;
  };
  if (live("live")) {
    const r = await runLiveBench({
      tcpRates: flags.quick ? [2000, 8000] : [1000, 2000, 4000, 6000, 8000, 10000, 12000],
      udpRates: flags.quick ? [50_000, 200_000] : [25_000, 50_000, 100_000, 150_000, 200_000, 300_000],
      stepSeconds: flags.quick ? 3 : 5,
      generators: 3,
      log,
    });
    record("live", r, liveTable(r));
  }
  if (live("latency")) {
    const r = await runLatencyBench({ attempts: flags.attempts, intervalMs: 150, enforce: true, log });
    record("latency", r, latencyTable(r));
  }
  if (flags.only.has("startup")) {
    // Needs no dockerd: the CLI's own start-up, then the daemon's with containers when live.
    const cli = runCliStartupBench({ runs: flags.rounds, log });
    const daemon = live("startup")
      ? await runStartupBench({ containers: flags.quick ? 10 : 50, runs: flags.quick ? 2 : 3, log })
      : null;
    const table = [cliStartupTable(cli), ...(daemon === null ? [] : [startupTable(daemon)])].join("\n\n");
    record("startup", { cli, ...(daemon ?? {}) }, table);
  }
  const seconds = (Date.now() - t0) / 1000;
  const out = {
    generatedAt: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 1e9),
      kernel: release(),
      node: process.version,
    },
    lastRun: { parts: [...flags.only], quick: flags.quick, seconds, skipped },
    parts,
  };
  writeFileSync(flags.out, `${JSON.stringify(out, null, 2)}\n`);
  // In the project's format, so `npm run lint` stays clean with the file committed.
  const biome = new URL("../../../node_modules/.bin/biome", import.meta.url).pathname;
  if (existsSync(biome)) run(biome, ["format", "--write", flags.out], 60_000);
  removeTempDirs();
  log(`done in ${seconds.toFixed(0)} s; results in ${flags.out}`);
  if (skipped.length > 0) log(`skipped: ${skipped.join("; ")}`);
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  removeTempDirs();
  try {
    cleanup();
  } catch {
    // nothing more to do
  }
  process.exit(1);
});

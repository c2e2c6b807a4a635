/**
 * A/B of the hot-path prototypes (hot-path-proto.ts) on the replay capture: the stock path rebuilt
 * in the worker, then each prototype; interleaved rounds, each variant's
 * gain taken against the stock run of the same round, on CPU time (steadier than wall time when
 * other processes share the machine) and on wall time. Events and alerts must equal the stock ones.
 */

import { BENCH, lastJson, NODE, runOk } from "./proc.js";
import { ensureCapture } from "./replay-bench.js";
import type { ReplayWorkerResult } from "./replay-worker.js";
import { fixed, markdownTable, mmm, type Summary, si, summarize } from "./stats.js";

export interface HotpathRow {
  variant: string;
  what: string;
  cpuPps: Summary;
  wallPps: Summary;
  /** Variant CPU-time rate over the stock rate of the same round. */
  gain: Summary;
  /** Best (least disturbed) CPU-time rate of the variant over the best stock one. */
  bestGain: number;
  sameResults: boolean;
}

export interface HotpathResults {
  packets: number;
  rounds: number;
  rows: HotpathRow[];
}

const VARIANTS: { variant: string; proto: string; what: string }[] = [
  { variant: "stock", proto: "", what: "the replay path as in src/ (decode → flows → detectors → alerts)" },
  { variant: "+names", proto: "names", what: "DNS names looked up once per flow, kept on its record" },
];

export function runHotpathBench(opts: {
  packets: number;
  rounds: number;
  log: (m: string) => void;
}): HotpathResults {
  const { g } = ensureCapture(opts.packets, false);
  const cpu = new Map<string, number[]>(VARIANTS.map((v) => [v.variant, []]));
  const wall = new Map<string, number[]>(VARIANTS.map((v) => [v.variant, []]));
  const gains = new Map<string, number[]>(VARIANTS.map((v) => [v.variant, []]));
  const same = new Map<string, boolean>(VARIANTS.map((v) => [v.variant, true]));
  for (let round = 0; round < opts.rounds; round++) {
    let stock: ReplayWorkerResult | null = null;
    for (const v of VARIANTS) {
      process.env.PROTO = v.proto;
      const r = lastJson<ReplayWorkerResult>(
        runOk(NODE, [`${BENCH}replay-worker.js`, "proto", g.pcap, g.inventory, g.config], 300_000),
      );
      const cpuPps = r.packets / (r.cpuSeconds ?? r.seconds);
      cpu.get(v.variant)!.push(cpuPps);
      wall.get(v.variant)!.push(r.packets / r.seconds);
      if (stock === null) stock = r;
      gains.get(v.variant)!.push(cpuPps / (stock.packets / (stock.cpuSeconds ?? stock.seconds)));
      if (r.events !== stock.events || r.alerts !== stock.alerts || r.packets !== stock.packets) {
        same.set(v.variant, false);
      }
    }
    delete process.env.PROTO;
    opts.log(
      `hot path round ${round + 1}/${opts.rounds}: ${VARIANTS.map((v) => `${v.variant} ${si(cpu.get(v.variant)!.at(-1)!)}`).join(", ")} pkt/s (CPU time)`,
    );
  }
  return {
    packets: g.packets,
    rounds: opts.rounds,
    rows: VARIANTS.map((v) => ({
      variant: v.variant,
      what: v.what,
      cpuPps: summarize(cpu.get(v.variant)!),
      wallPps: summarize(wall.get(v.variant)!),
      gain: summarize(gains.get(v.variant)!),
      bestGain: Math.max(...cpu.get(v.variant)!) / Math.max(...cpu.get("stock")!),
      sameResults: same.get(v.variant)!,
    })),
  };
}

export function hotpathTable(r: HotpathResults): string {
  return markdownTable(
    [
      "hot-path prototype",
      "what",
      "packets/s on CPU time",
      "packets/s wall",
      "× stock (same round)",
      "× stock (best of each)",
      "same events + alerts",
    ],
    r.rows.map((row) => [
      row.variant,
      row.what,
      mmm(row.cpuPps, (v) => si(v)),
      mmm(row.wallPps, (v) => si(v)),
      mmm(row.gain, (v) => fixed(v, 2)),
      fixed(row.bestGain, 2),
      row.sameResults ? "yes" : "NO",
    ]),
  );
}

/**
 * Replay throughput: netmon's reader, decoder, flow tracker, pipeline and full detection path on
 * the generated capture, next to `tcpdump -r FILE -w /dev/null` and `tshark -r FILE -q` on the
 * same file in the same run. Runs are interleaved (one of each tool per round) so machine noise
 * hits every tool alike; every ratio is taken within a round, then summarised over the rounds.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type GeneratedCapture, generateCapture } from "./gen-capture.js";
import { BENCH, CLI, hasCommand, lastJson, NODE, run, runOk } from "./proc.js";
import type { ReplayMode, ReplayWorkerResult } from "./replay-worker.js";
import { fixed, markdownTable, median, mmm, type Summary, si, summarize } from "./stats.js";

export interface ReplayRow {
  tool: string;
  what: string;
  pps: Summary;
  seconds: Summary;
  /** This tool's packet rate over tcpdump's, per round. */
  vsTcpdump: Summary | null;
}

export interface ReplayResults {
  capture: { path: string; packets: number; bytes: number; generatedSeconds: number | null };
  rounds: number;
  rows: ReplayRow[];
  events: number | null;
  alerts: number | null;
  fullRssMb: Summary;
  /** Target: full pipeline at ≥ 0.7× tcpdump (the issue), and ≥ 1M packets/s. */
  targets: { vsTcpdump07: boolean; oneMillionPps: boolean };
}

export const CAPTURE_DIR = "/tmp/netmon-bench";

/** Reuses the capture when one of the wanted size is already there (generation is deterministic). */
export function ensureCapture(packets: number, regenerate: boolean): { g: GeneratedCapture; fresh: boolean } {
  const pcap = join(CAPTURE_DIR, `capture-${packets}.pcap`);
  const meta = {
    pcap,
    inventory: join(CAPTURE_DIR, "inventory.json"),
    config: join(CAPTURE_DIR, "netmon.yaml"),
    denylist: join(CAPTURE_DIR, "denylist.txt"),
  };
  if (!regenerate && existsSync(pcap) && existsSync(meta.inventory) && existsSync(meta.config)) {
    const r = runOk(NODE, [`${BENCH}replay-worker.js`, "read", pcap]);
    const read = lastJson<ReplayWorkerResult>(r);
    return {
      g: { ...meta, packets: read.packets, bytes: statSync(pcap).size, seconds: 0 },
      fresh: false,
    };
  }
  return { g: generateCapture(pcap, packets), fresh: true };
}

interface Tool {
  tool: string;
  what: string;
  /** Seconds for the whole file, and packets counted (null: take the capture's count). */
  measure: () => { seconds: number; packets: number | null; extra?: ReplayWorkerResult };
}

export function runReplayBench(opts: {
  packets: number;
  rounds: number;
  regenerate: boolean;
  dissect: boolean;
  log: (m: string) => void;
}): ReplayResults {
  const { g, fresh } = ensureCapture(opts.packets, opts.regenerate);
  opts.log(
    `capture ${g.pcap}: ${g.packets} packets, ${(g.bytes / 1048576).toFixed(0)} MiB${fresh ? ` (generated in ${g.seconds.toFixed(1)} s)` : " (reused)"}`,
  );
  const worker =
    (mode: ReplayMode) => (): { seconds: number; packets: number; extra: ReplayWorkerResult } => {
      const r = runOk(NODE, [`${BENCH}replay-worker.js`, mode, g.pcap, g.inventory, g.config], 300_000);
      const res = lastJson<ReplayWorkerResult>(r);
      return { seconds: res.seconds, packets: res.packets, extra: res };
    };
  const tools: Tool[] = [
    {
      tool: "tcpdump",
      what: "`tcpdump -r FILE -w /dev/null` (wall)",
      measure: () => {
        const r = runOk("tcpdump", ["-r", g.pcap, "-w", "/dev/null"]);
        return { seconds: r.wallMs / 1000, packets: null };
      },
    },
  ];
  if (hasCommand("tshark")) {
    tools.push({
      tool: "tshark",
      what: "`tshark -r FILE -q` (wall; no tap, so little dissection)",
      measure: () => {
        const r = runOk("tshark", ["-r", g.pcap, "-q"], 300_000);
        return { seconds: r.wallMs / 1000, packets: null };
      },
    });
  }
  tools.push(
    { tool: "netmon read", what: "pcap reader alone, empty handler", measure: worker("read") },
    { tool: "netmon decode", what: "reader + header decoder", measure: worker("decode") },
    {
      tool: "netmon flows",
      what: "flow tracker alone (pre-decoded packets)",
      measure: worker("tracker"),
    },
    {
      tool: "netmon pipeline",
      what: "decode → DNS → flows → events (no detectors)",
      measure: worker("pipeline"),
    },
    {
      tool: "netmon full",
      what: "decode → flows → detectors → alerts (log → /dev/null)",
      measure: worker("full"),
    },
    {
      tool: "netmon replay CLI",
      what: "`netmon replay FILE --inventory --config >/dev/null` (wall, incl. start-up)",
      measure: () => {
        const r = runOk("sh", [
          "-c",
          `exec "${NODE}" "${CLI}" replay "${g.pcap}" --inventory "${g.inventory}" --config "${g.config}" >/dev/null`,
        ]);
        return { seconds: r.wallMs / 1000, packets: null };
      },
    },
  );
  // Warm the page cache once, so no tool pays for the disk.
  run("cat", [g.pcap]);
  const secs = new Map<string, number[]>(tools.map((t) => [t.tool, []]));
  const ratios = new Map<string, number[]>(tools.map((t) => [t.tool, []]));
  let events: number | null = null;
  let alerts: number | null = null;
  const fullRss: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const roundPps = new Map<string, number>();
    for (const t of tools) {
      const m = t.measure();
      const packets = m.packets ?? g.packets;
      secs.get(t.tool)!.push(m.seconds);
      roundPps.set(t.tool, packets / m.seconds);
      if (t.tool === "netmon full" && m.extra) {
        events = m.extra.events ?? null;
        alerts = m.extra.alerts ?? null;
        fullRss.push(m.extra.rssMb);
      }
    }
    const base = roundPps.get("tcpdump")!;
    for (const [tool, pps] of roundPps) ratios.get(tool)!.push(pps / base);
    opts.log(
      `round ${round + 1}/${opts.rounds}: ${[...roundPps].map(([t, p]) => `${t} ${si(p)}`).join(", ")} pkt/s`,
    );
  }
  const rows: ReplayRow[] = tools.map((t) => {
    const s = secs.get(t.tool)!;
    const packets = t.tool.startsWith("netmon flows") ? g.packets : g.packets;
    return {
      tool: t.tool,
      what: t.what,
      seconds: summarize(s),
      pps: summarize(s.map((x) => packets / x)),
      vsTcpdump: t.tool === "tcpdump" ? null : summarize(ratios.get(t.tool)!),
    };
  });
  if (opts.dissect && hasCommand("tshark")) {
    // Full dissection is ~50× slower: one run, for scale.
    const r = runOk("tshark", ["-r", g.pcap, "-q", "-z", "io,stat,0"], 600_000);
    const pps = g.packets / (r.wallMs / 1000);
    const tcpdumpMedian = median(secs.get("tcpdump")!.map((x) => g.packets / x));
    rows.push({
      tool: "tshark dissect",
      what: "`tshark -r FILE -q -z io,stat,0` (wall, 1 run: full dissection)",
      seconds: summarize([r.wallMs / 1000]),
      pps: summarize([pps]),
      vsTcpdump: summarize([pps / tcpdumpMedian]),
    });
  }
  const full = rows.find((r) => r.tool === "netmon full")!;
  return {
    capture: {
      path: g.pcap,
      packets: g.packets,
      bytes: g.bytes,
      generatedSeconds: fresh ? g.seconds : null,
    },
    rounds: opts.rounds,
    rows,
    events,
    alerts,
    fullRssMb: summarize(fullRss),
    targets: {
      vsTcpdump07: (full.vsTcpdump?.median ?? 0) >= 0.7,
      oneMillionPps: full.pps.median >= 1e6,
    },
  };
}

export function replayTable(r: ReplayResults): string {
  const rows = r.rows.map((row) => [
    row.tool,
    row.what,
    mmm(row.pps, (v) => si(v)),
    mmm(row.seconds, (v) => fixed(v, 2)),
    row.vsTcpdump === null ? "1" : mmm(row.vsTcpdump, (v) => fixed(v, 2)),
  ]);
  return markdownTable(
    ["replay", "what", "packets/s (min / median / max)", "seconds", "× tcpdump (same round)"],
    rows,
  );
}

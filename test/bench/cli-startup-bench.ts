/**
 * Start-up of the short CLI commands: `netmon replay` of an empty capture (a pcap global header,
 * no packets), `netmon check-config` of the bench config and `netmon --help`, wall time from spawn
 * to exit. What they cost is the modules they load (src/cli.ts imports each command's module, the
 * config schema and the logger in its action; `--help` loads commander alone).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, NODE, runOk } from "./proc.js";
import { fixed, markdownTable, mmm, type Summary, summarize } from "./stats.js";

export interface CliStartupResults {
  runs: number;
  emptyReplayS: Summary;
  checkConfigS: Summary;
  helpS: Summary;
  /** `node -e 0` in the same rounds: the floor any command pays. */
  nodeS: Summary;
}

/** A classic pcap global header (µs, Ethernet) and nothing else. */
function emptyPcap(path: string): void {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262_144, 16);
  h.writeUInt32LE(1, 20);
  writeFileSync(path, h);
}

export function runCliStartupBench(opts: { runs: number; log: (m: string) => void }): CliStartupResults {
  const dir = mkdtempSync(join(tmpdir(), "netmon-bench-cli-"));
  try {
    const pcap = join(dir, "empty.pcap");
    const config = join(dir, "netmon.yaml");
    emptyPcap(pcap);
    writeFileSync(config, "mode: monitor\n");
    const replay: number[] = [];
    const check: number[] = [];
    const help: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      bare.push(runOk(NODE, ["-e", "0"]).wallMs / 1000);
      replay.push(runOk(NODE, [CLI, "replay", pcap]).wallMs / 1000);
      check.push(runOk(NODE, [CLI, "check-config", config]).wallMs / 1000);
      help.push(runOk(NODE, [CLI, "--help"]).wallMs / 1000);
    }
    opts.log(`cli start-up: empty replay ${fixed(Math.min(...replay), 3)} s best of ${opts.runs}`);
    return {
      runs: opts.runs,
      emptyReplayS: summarize(replay),
      checkConfigS: summarize(check),
      helpS: summarize(help),
      nodeS: summarize(bare),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function cliStartupTable(r: CliStartupResults): string {
  const s = (v: number): string => `${fixed(v, 3)} s`;
  return markdownTable(
    ["CLI start-up (wall, spawn → exit)", "runs", "min / median / max"],
    [
      ["`netmon replay` of an empty capture", String(r.runs), mmm(r.emptyReplayS, s)],
      ["`netmon check-config FILE`", String(r.runs), mmm(r.checkConfigS, s)],
      ["`netmon --help`", String(r.runs), mmm(r.helpS, s)],
      ["`node -e 0` (the floor)", String(r.runs), mmm(r.nodeS, s)],
    ],
  );
}

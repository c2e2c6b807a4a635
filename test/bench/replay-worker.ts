/**
 * One replay measurement in a fresh process (so every run pays the same JIT warm-up as `netmon
 * replay` does). Prints one JSON line: packets, seconds of the timed loop, and what was counted.
 *
 *   node dist/test/bench/replay-worker.js MODE FILE [INVENTORY CONFIG]
 *
 * MODE: read (pcap reader, empty handler) · decode (reader + header decoder) · tracker (flow tracker
 * alone, fed from packets decoded beforehand, untimed) · pipeline (decode → DNS → flows, events
 * dropped) · full (replayFile: decode → flows → learner → detectors → alert manager → alert log on
 * /dev/null; what `netmon replay` runs).
 */
import { openSync } from "node:fs";
import { decodePacket } from "../../src/capture/decoder.js";
import { DecodedPacket } from "../../src/capture/packet.js";
import { readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { replayFile } from "../../src/commands/replay.js";
import { loadConfig } from "../../src/config/load.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { Pipeline } from "../../src/engine/pipeline.js";
import { FlowTracker } from "../../src/flows/flow-tracker.js";
import { Inventory } from "../../src/inventory/inventory.js";
import { loadStaticInventory } from "../../src/inventory/static-inventory.js";
import { createLogger } from "../../src/util/logger.js";

export type ReplayMode = "read" | "decode" | "tracker" | "pipeline" | "full";

export interface ReplayWorkerResult {
  mode: ReplayMode;
  packets: number;
  seconds: number;
  /** CPU time (user + system) of this process over the same section: steadier than wall time on a busy machine. */
  cpuSeconds?: number;
  bytes?: number;
  decoded?: number;
  events?: number;
  alerts?: number;
  flowsCreated?: number;
  rssMb: number;
}

function elapsed(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function cpuSince(c: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1e6;
}

function config(path: string | undefined): NetmonConfig {
  const r = loadConfig(path);
  if (!r.ok) throw new Error(r.errors.join("; "));
  return r.config;
}

function inventory(path: string | undefined): Inventory {
  return path === undefined ? new Inventory() : loadStaticInventory(path).inventory;
}

/** Every decoded packet's fields in typed arrays: the tracker is then fed without decoding. */
function predecode(file: string): { n: number; fill: (i: number, p: DecodedPacket) => void } {
  let cap = 1 << 20;
  let n = 0;
  let ts = new Float64Array(cap);
  let words = new Uint32Array(cap * 8);
  let meta = new Uint32Array(cap * 4);
  const p = new DecodedPacket();
  readPcapFile(file, (buf, start, caplen, _wire, tsMs, linkType) => {
    if (!decodePacket(buf, start, caplen, linkType, p)) return;
    if (n === cap) {
      cap *= 2;
      const t2 = new Float64Array(cap);
      t2.set(ts);
      ts = t2;
      const w2 = new Uint32Array(cap * 8);
      w2.set(words);
      words = w2;
      const m2 = new Uint32Array(cap * 4);
      m2.set(meta);
      meta = m2;
    }
    ts[n] = tsMs;
    words.set(p.src, n * 8);
    words.set(p.dst, n * 8 + 4);
    meta[n * 4] = (p.ipVersion << 16) | (p.proto << 8) | p.tcpFlags;
    meta[n * 4 + 1] = p.srcPort;
    meta[n * 4 + 2] = p.dstPort;
    n++;
  });
  return {
    n,
    fill(i, out) {
      const m = meta[i * 4]!;
      out.ipVersion = m >>> 16;
      out.proto = (m >>> 8) & 0xff;
      out.tcpFlags = m & 0xff;
      out.srcPort = meta[i * 4 + 1]!;
      out.dstPort = meta[i * 4 + 2]!;
      const w = i * 8;
      out.src[0] = words[w]!;
      out.src[1] = words[w + 1]!;
      out.src[2] = words[w + 2]!;
      out.src[3] = words[w + 3]!;
      out.dst[0] = words[w + 4]!;
      out.dst[1] = words[w + 5]!;
      out.dst[2] = words[w + 6]!;
      out.dst[3] = words[w + 7]!;
      out.ts = ts[i]!;
    },
  };
}

export function runReplayMode(
  mode: ReplayMode,
  file: string,
  inventoryPath?: string,
  configPath?: string,
): ReplayWorkerResult {
  const rss = (): number => process.memoryUsage().rss / 1048576;
  switch (mode) {
    case "read": {
      let bytes = 0;
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      const r = readPcapFile(file, (_b, _s, caplen) => {
        bytes += caplen;
      });
      return { mode, packets: r.packets, seconds: elapsed(t), cpuSeconds: cpuSince(c), bytes, rssMb: rss() };
    }
    case "decode": {
      const p = new DecodedPacket();
      let ok = 0;
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      const r = readPcapFile(file, (buf, start, caplen, _w, _ts, linkType) => {
        if (decodePacket(buf, start, caplen, linkType, p)) ok++;
      });
      return {
        mode,
        packets: r.packets,
        seconds: elapsed(t),
        cpuSeconds: cpuSince(c),
        decoded: ok,
        rssMb: rss(),
      };
    }
    case "tracker": {
      const cfg = config(configPath);
      const inv = inventory(inventoryPath);
      const pre = predecode(file);
      let events = 0;
      const tracker = new FlowTracker(cfg.flows, inv, () => {
        events++;
      });
      const p = new DecodedPacket();
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      for (let i = 0; i < pre.n; i++) {
        pre.fill(i, p);
        tracker.onPacket(p, "file");
      }
      tracker.flush();
      const seconds = elapsed(t);
      const cpuSeconds = cpuSince(c);
      return {
        mode,
        packets: pre.n,
        seconds,
        cpuSeconds,
        events,
        flowsCreated: tracker.stats().created,
        rssMb: rss(),
      };
    }
    case "pipeline": {
      const cfg = config(configPath);
      const inv = inventory(inventoryPath);
      let events = 0;
      const pipeline = new Pipeline(cfg, inv, () => {
        events++;
      });
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      const r = readPcapFile(file, pipeline.handlerFor("file"));
      pipeline.finish();
      return {
        mode,
        packets: r.packets,
        seconds: elapsed(t),
        cpuSeconds: cpuSince(c),
        events,
        flowsCreated: pipeline.tracker.stats().created,
        rssMb: rss(),
      };
    }
    case "full": {
      const cfg = config(configPath);
      const log = createLogger(cfg.log.level, { fd: openSync("/dev/null", "w"), sync: true });
      const c = process.cpuUsage();
      const s = replayFile(file, { inventory: inventoryPath }, cfg, log);
      return {
        mode,
        packets: s.packets,
        seconds: s.seconds,
        cpuSeconds: cpuSince(c),
        events: s.events,
        alerts: s.alerts,
        flowsCreated: s.flowsCreated,
        rssMb: rss(),
      };
    }
  }
}

const MODES: readonly string[] = ["read", "decode", "tracker", "pipeline", "full"];

if (process.argv[1]?.endsWith("replay-worker.js")) {
  const [mode, file, inv, cfg] = process.argv.slice(2);
  if (mode === undefined || !MODES.includes(mode) || file === undefined) {
    process.stderr.write(`usage: replay-worker.js ${MODES.join("|")} FILE [INVENTORY CONFIG]\n`);
    process.exit(2);
  }
  const result = runReplayMode(mode as ReplayMode, file, inv, cfg);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

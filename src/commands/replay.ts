import { Baseline } from "../baseline/baseline.js";
import { BaselineFileError, loadBaseline } from "../baseline/baseline-store.js";
import { isDecodableLinkType, linkTypeName } from "../capture/link-types.js";
import { readPcapFile } from "../capture/pcap-file-reader.js";
import type { NetmonConfig } from "../config/schema.js";
import { buildEngine } from "../engine/engine.js";
import { lifetimesOutsideCapture, outsideCaptureWarning } from "../inventory/capture-coverage.js";
import { Inventory } from "../inventory/inventory.js";
import {
  type ContainerLifetime,
  InventoryFileError,
  loadStaticInventory,
} from "../inventory/static-inventory.js";
import { NetmonError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import type { ReplayMap } from "./replay-graph.js";

export interface ReplaySummary {
  packets: number;
  undecoded: number;
  events: number;
  flowsCreated: number;
  flowsEvicted: number;
  dnsAnswers: number;
  dnsRejected: number;
  /** DNS cache entries at the end, and live entries dropped to make room (dns.maxEntries). */
  dnsEntries: number;
  dnsEvictions: number;
  alerts: number;
  suppressed: number;
  seconds: number;
}

export interface ReplayOptions {
  inventory?: string;
  /** A saved baseline file to judge against (default: an empty baseline). */
  baseline?: string;
  /** Also print every connection and listener event. */
  logEvents?: boolean;
  /** Write the capture's connection map here (.dot, .mmd/.mermaid or .json). */
  graph?: string;
}

/**
 * `netmon replay`: replayFile, with the --graph map's modules (topology, formats) loaded only when
 * opts.graph asks for a map, so a plain replay starts without them.
 */
export async function replayCommand(
  file: string,
  opts: ReplayOptions,
  config: NetmonConfig,
  log: Logger,
): Promise<ReplaySummary> {
  if (opts.graph === undefined) return replayFile(file, opts, config, log);
  const { replayMapTo } = await import("./replay-graph.js");
  return replayFile(file, opts, config, log, replayMapTo(opts.graph));
}

/**
 * Replays a pcap/pcapng file through the same engine as live capture (src/engine/engine.ts: one
 * fan-out, one packet-time clock), with the containers of an inventory file (`docker inspect`
 * output), printing the alert, update and resolve lines the daemon would have logged (and, with
 * logEvents, every event) as JSON lines. opts.graph needs its `map` (replayCommand builds it).
 */
export function replayFile(
  file: string,
  opts: ReplayOptions,
  config: NetmonConfig,
  log: Logger,
  map: ReplayMap | null = null,
): ReplaySummary {
  if (opts.graph !== undefined && map === null)
    throw new Error("replayFile: opts.graph needs a map (replayCommand)");
  const inventoryPath = opts.inventory;
  let inventory = new Inventory();
  let lifetimes: ContainerLifetime[] = [];
  if (inventoryPath !== undefined) {
    try {
      const loaded = loadStaticInventory(inventoryPath);
      inventory = loaded.inventory;
      lifetimes = loaded.lifetimes;
      for (const w of loaded.warnings) log.warn(w);
    } catch (err) {
      if (err instanceof InventoryFileError) throw new NetmonError(err.message, 2);
      throw err;
    }
  }
  let baseline: Baseline;
  try {
    baseline = opts.baseline
      ? loadBaseline(opts.baseline, config.baseline.maxEntriesPerWorkload)
      : new Baseline(config.baseline.maxEntriesPerWorkload);
  } catch (err) {
    if (err instanceof BaselineFileError) throw new NetmonError(err.message, 2);
    throw err;
  }
  const graph = map?.open(inventory) ?? null;
  const engine = buildEngine({
    config,
    containers: inventory,
    baseline,
    log,
    logEvents: opts.logEvents === true,
    graph,
  });
  const started = process.hrtime.bigint();
  const engineHandler = engine.handlerFor("file");
  // The capture's time span, for the inventory check below (two comparisons a packet).
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  // Packets of link types netmon cannot decode, by link type (a pcapng file may mix interfaces).
  const undecodable = new Map<number, number>();
  let lastLinkType = -1;
  let lastDecodable = true;
  try {
    readPcapFile(file, (buf, start, caplen, wireLength, tsMs, linkType) => {
      if (tsMs < firstMs) firstMs = tsMs;
      if (tsMs > lastMs) lastMs = tsMs;
      if (linkType !== lastLinkType) {
        lastLinkType = linkType;
        lastDecodable = isDecodableLinkType(linkType);
      }
      if (!lastDecodable) undecodable.set(linkType, (undecodable.get(linkType) ?? 0) + 1);
      engineHandler(buf, start, caplen, wireLength, tsMs, linkType);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new NetmonError(`${file}: cannot read the capture file (${code})`);
    if (err instanceof Error && err.name === "PcapFormatError") throw new NetmonError(err.message);
    throw err;
  } finally {
    engine.finish();
  }
  if (undecodable.size > 0) {
    const what = [...undecodable].map(([lt, n]) => `${n} packets of ${linkTypeName(lt)}`).join(", ");
    log.warn(
      { undecodable: Object.fromEntries([...undecodable].map(([lt, n]) => [linkTypeName(lt), n])) },
      `${file}: netmon cannot decode ${what}; they were skipped`,
    );
  }
  if (lastMs >= firstMs) {
    const capture = { firstMs, lastMs };
    const line = outsideCaptureWarning(lifetimesOutsideCapture(lifetimes, capture), capture);
    if (line !== null) log.warn(line);
  }
  if (map !== null && graph !== null) map.write(graph, engine.alerts.active());
  const { pipeline } = engine;
  const stats = pipeline.tracker.stats();
  const alertStats = engine.alerts.stats();
  return {
    packets: pipeline.counters.packets,
    undecoded: pipeline.counters.undecoded,
    events: engine.events,
    flowsCreated: stats.created,
    flowsEvicted: stats.evicted,
    dnsAnswers: pipeline.counters.dnsAnswers,
    dnsRejected: pipeline.counters.dnsRejected,
    dnsEntries: pipeline.dns.size,
    dnsEvictions: pipeline.dns.evictions,
    alerts: alertStats.fired,
    suppressed: Object.values(alertStats.suppressed).reduce((a, b) => a + b, 0),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

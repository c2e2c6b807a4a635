import { Baseline } from "../baseline/baseline.js";
import { BaselineFileError, loadBaseline } from "../baseline/baseline-store.js";
import { readPcapFile } from "../capture/pcap-file-reader.js";
import type { NetmonConfig } from "../config/schema.js";
import { setupDetection } from "../detection-setup.js";
import { NetmonError } from "../errors.js";
import { logEvent } from "../event-log.js";
import { hostAddressesOf, TopologyGraph } from "../graph/model.js";
import { edgeVerdictOf } from "../graph/verdict.js";
import { Inventory } from "../inventory/inventory.js";
import { InventoryFileError, loadStaticInventory } from "../inventory/static-inventory.js";
import type { Logger } from "../logger.js";
import { Pipeline } from "../pipeline.js";
import { writeGraphFile } from "./graph.js";

export interface ReplaySummary {
  packets: number;
  undecoded: number;
  events: number;
  flowsCreated: number;
  flowsEvicted: number;
  dnsAnswers: number;
  dnsRejected: number;
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
 * Replays a pcap/pcapng file through the same decode → flow → detect path as live capture, with the
 * containers of an inventory file (`docker inspect` output), printing alert lines (and, with
 * logEvents, every event) as JSON lines.
 */
export function replayFile(
  file: string,
  opts: ReplayOptions,
  config: NetmonConfig,
  log: Logger,
): ReplaySummary {
  const inventoryPath = opts.inventory;
  let inventory = new Inventory();
  if (inventoryPath !== undefined) {
    try {
      const loaded = loadStaticInventory(inventoryPath);
      inventory = loaded.inventory;
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
  const { detection, policy } = setupDetection(config, inventory, baseline, log);
  // A replay's map covers the whole capture (no window), bounded by the usual caps.
  const graph = opts.graph === undefined ? null : new TopologyGraph({ windowMs: Number.POSITIVE_INFINITY });
  graph?.setHostAddresses(hostAddressesOf(inventory.all()));
  let events = 0;
  const pipeline = new Pipeline(config, inventory, (ev) => {
    events++;
    if (opts.logEvents) logEvent(log, ev);
    detection.onEvent(ev);
    if (graph !== null && ev.kind === "connection")
      graph.observe(ev, ev.state === "attempt" ? edgeVerdictOf(policy, ev) : undefined);
  });
  const started = process.hrtime.bigint();
  try {
    readPcapFile(file, pipeline.handlerFor("file"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new NetmonError(`${file}: cannot read the capture file (${code})`);
    if (err instanceof Error && err.name === "PcapFormatError") throw new NetmonError(err.message);
    throw err;
  } finally {
    pipeline.finish();
  }
  if (graph !== null && opts.graph !== undefined)
    writeGraphFile(opts.graph, graph.snapshot(graph.lastEventMs, { alerts: detection.alerts.active() }));
  const stats = pipeline.tracker.stats();
  const alertStats = detection.alerts.stats();
  return {
    packets: pipeline.counters.packets,
    undecoded: pipeline.counters.undecoded,
    events,
    flowsCreated: stats.created,
    flowsEvicted: stats.evicted,
    dnsAnswers: pipeline.counters.dnsAnswers,
    dnsRejected: pipeline.counters.dnsRejected,
    alerts: alertStats.fired,
    suppressed: Object.values(alertStats.suppressed).reduce((a, b) => a + b, 0),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

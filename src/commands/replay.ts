import { readPcapFile } from "../capture/pcap-file-reader.js";
import type { NetmonConfig } from "../config/schema.js";
import { NetmonError } from "../errors.js";
import { logEvent } from "../event-log.js";
import { Inventory } from "../inventory/inventory.js";
import { InventoryFileError, loadStaticInventory } from "../inventory/static-inventory.js";
import type { Logger } from "../logger.js";
import { Pipeline } from "../pipeline.js";

export interface ReplaySummary {
  packets: number;
  undecoded: number;
  events: number;
  flowsCreated: number;
  flowsEvicted: number;
  dnsAnswers: number;
  dnsRejected: number;
  seconds: number;
}

/**
 * Replays a pcap/pcapng file through the same decode → flow → event path as live capture, with the
 * containers of an inventory file (`docker inspect` output), printing every event as a JSON line.
 */
export function replayFile(
  file: string,
  inventoryPath: string | undefined,
  config: NetmonConfig,
  log: Logger,
): ReplaySummary {
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
  let events = 0;
  const pipeline = new Pipeline(config, inventory, (ev) => {
    events++;
    logEvent(log, ev);
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
  const stats = pipeline.tracker.stats();
  return {
    packets: pipeline.counters.packets,
    undecoded: pipeline.counters.undecoded,
    events,
    flowsCreated: stats.created,
    flowsEvicted: stats.evicted,
    dnsAnswers: pipeline.counters.dnsAnswers,
    dnsRejected: pipeline.counters.dnsRejected,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

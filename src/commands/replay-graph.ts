/**
 * `netmon replay --graph`: the capture's connection map. Its own module, imported by replay.ts only
 * when --graph is given, so a plain replay loads none of the topology code.
 */

import type { Alert } from "../alerts/alert.js";
import { TopologyGraph } from "../graph/model.js";
import { hostAddressesOf } from "../graph/node-keys.js";
import type { Inventory } from "../inventory/inventory.js";
import { writeGraphFile } from "./graph.js";

/** What replayFile needs of a --graph map: the graph to feed, and the write at the end. */
export interface ReplayMap {
  /** The graph the engine feeds, knowing the inventory's host addresses. */
  open(containers: Inventory): TopologyGraph;
  /** Writes the map, given the alerts still open at the end of the capture. */
  write(graph: TopologyGraph, alerts: readonly Alert[]): void;
}

/** A map of the whole capture (no window), bounded by the usual caps, written to `path` at the end. */
export function replayMapTo(path: string): ReplayMap {
  return {
    open(containers: Inventory): TopologyGraph {
      const graph = new TopologyGraph({ windowMs: Number.POSITIVE_INFINITY });
      graph.setHostAddresses(hostAddressesOf(containers.all()));
      return graph;
    },
    write(graph: TopologyGraph, alerts: readonly Alert[]): void {
      writeGraphFile(path, graph.snapshot(graph.lastEventMs, { alerts }));
    },
  };
}

import { join } from "node:path";
import { blockId, loadBlockState, saveBlockState } from "../block/block-state.js";
import { runCommand } from "../block/exec.js";
import { Firewall } from "../block/firewall.js";
import { detectBackend } from "../block/firewall-backend.js";
import { probeFirewall } from "../block/firewall-probe.js";
import { entryText } from "../block/types.js";
import type { NetmonConfig } from "../config/schema.js";
import { NetmonError } from "../util/errors.js";
import { formatTable } from "./containers.js";

const statePath = (config: NetmonConfig) => join(config.stateDir, "blocks.json");

/**
 * The firewall in the iptables variant the daemon uses: where Docker's rules are (iptables-legacy
 * on a host whose default switched to nft after dockerd started), so list, remove and flush see
 * netmon's chain where the daemon put it.
 */
function hostFirewall(): Firewall {
  const fw = new Firewall(runCommand);
  const backend = detectBackend(probeFirewall(runCommand));
  if (backend.ok) fw.use(backend.binaries);
  return fw;
}

function secondsText(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${s}s`;
}

/** `netmon blocks list`: what is in the kernel now (the truth), with netmon's record of why. */
export function listBlocks(config: NetmonConfig, json: boolean): string {
  const kernel = hostFirewall().list();
  const records = new Map(loadBlockState(statePath(config)).blocks.map((b) => [b.id, b]));
  const rows = kernel.map((k) => {
    const id = blockId(k.entry);
    const r = records.get(id);
    return {
      id,
      container: r?.container ?? "?",
      block: entryText(k.entry),
      reason: r?.reason ?? "(no record: adopted)",
      expiresIn: k.timeoutLeft,
    };
  });
  if (json) return `${JSON.stringify(rows, null, 2)}\n`;
  if (rows.length === 0) return "no active blocks\n";
  const table = [["ID", "CONTAINER", "BLOCK", "EXPIRES IN", "REASON"]];
  for (const r of rows)
    table.push([r.id, r.container, r.block, secondsText(r.expiresIn), r.reason.slice(0, 100)]);
  return `${formatTable(table)}\n`;
}

/** `netmon blocks remove ID`: lifts one block now. */
export function removeBlock(config: NetmonConfig, id: string): string {
  const fw = hostFirewall();
  const hit = fw.list().find((k) => blockId(k.entry) === id);
  if (!hit) throw new NetmonError(`no active block with id ${JSON.stringify(id)} (see netmon blocks list)`);
  fw.remove(hit.entry);
  const state = loadBlockState(statePath(config));
  saveBlockState(statePath(config), { ...state, blocks: state.blocks.filter((b) => b.id !== id) });
  return `removed block ${id}: ${entryText(hit.entry)}\n`;
}

/** `netmon blocks flush`: removes everything netmon added to the firewall, and nothing else. */
export function flushBlocks(config: NetmonConfig): string {
  const errors = hostFirewall().teardown();
  const state = loadBlockState(statePath(config));
  saveBlockState(statePath(config), { ...state, blocks: [] });
  if (errors.length > 0) throw new NetmonError("blocks flush left something behind", 1, errors);
  return "removed netmon's chain, its jumps from DOCKER-USER and its ipsets\n";
}

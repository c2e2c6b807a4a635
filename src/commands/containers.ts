import { join } from "node:path";
import { Baseline } from "../baseline/baseline.js";
import { BaselineFileError, loadBaseline } from "../baseline/baseline-store.js";
import type { NetmonConfig } from "../config/schema.js";
import { Policy } from "../detection/policy.js";
import { DockerSocketClient } from "../inventory/docker-api.js";
import { DockerInventory } from "../inventory/docker-inventory.js";
import { Inventory } from "../inventory/inventory.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { Mode } from "../model/mode.js";
import { explainDockerError, NetmonError } from "../util/errors.js";
import { createLogger, type Logger } from "../util/logger.js";

/** A container's mode now, as the daemon's policy decides it, and where it comes from. */
export interface ContainerMode {
  workload: string;
  /** The mode it is judged in now ("learn" during its learning period). */
  mode: Mode;
  /** Where it comes from: "label netmon.mode", "declared: label netmon.egress", "global mode", ... */
  source: string;
  /** End of its learning period (ms since the epoch), when it learns first; null otherwise. */
  learningUntil: number | null;
  /** For the table: "monitor (declared: label netmon.egress)", "learning until 10:42 (no netmon labels)". */
  text: string;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local "10:42", with the date when it is not `now`'s day. */
function clock(ms: number, now: number): string {
  const d = new Date(ms);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.toDateString() === new Date(now).toDateString()
    ? hm
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/**
 * Each container's effective mode, from the same Policy the daemon runs (config + labels + the
 * saved baseline, whose first sightings start the learning periods), at wall-clock `now`.
 */
export function containerModes(
  config: NetmonConfig,
  containers: readonly ContainerInfo[],
  baseline: Baseline,
  now: number,
): Map<string, ContainerMode> {
  const byId = new Map(containers.map((c) => [c.ref.id, c]));
  const policy = new Policy({ config, containers: byId, baseline, denylist: null, warn: () => {} });
  const out = new Map<string, ContainerMode>();
  for (const c of containers) {
    const mode = policy.modeOf(c.ref, now);
    const period = policy.learningPeriod(c.ref);
    const workload = policy.workloadOf(c.ref);
    if (period !== null) {
      // It declares nothing: it learns first, then takes the configured mode.
      const until = period.until;
      const text =
        mode !== "learn"
          ? `${mode} (learned until ${clock(until ?? now, now)}; no netmon labels)`
          : until === null
            ? `learning for ${config.baseline.learnForSeconds}s from its first connection (no netmon labels)`
            : `learning until ${clock(until, now)} (no netmon labels)`;
      out.set(c.ref.id, { workload, mode, source: "no netmon labels", learningUntil: until, text });
      continue;
    }
    // The mode's own source (a netmon.mode label, a workload rule's mode), else what declares it.
    const origin = policy.configuredModeSource(c.ref);
    const declared = policy.declaredBy(c.ref);
    const source = origin === "global mode" && declared !== null ? `declared: ${declared}` : origin;
    out.set(c.ref.id, { workload, mode, source, learningUntil: null, text: `${mode} (${source})` });
  }
  return out;
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function containersTable(
  containers: ContainerInfo[],
  modes: ReadonlyMap<string, ContainerMode>,
): string {
  const rows = [["NAME", "IMAGE", "SERVICE", "IPS", "BRIDGE", "PID", "WORKLOAD", "MODE"]];
  const sorted = [...containers].sort((a, b) => a.ref.name.localeCompare(b.ref.name));
  for (const c of sorted) {
    const ips = c.networks.flatMap((n) => [n.ipv4, n.ipv6].filter((ip): ip is string => ip !== null));
    const bridges = [...new Set(c.networks.map((n) => n.bridge ?? "-"))];
    rows.push([
      c.ref.name,
      c.ref.image,
      c.ref.service ?? "-",
      ips.join(",") || "-",
      bridges.join(",") || "-",
      String(c.pid),
      modes.get(c.ref.id)?.workload ?? "-",
      modes.get(c.ref.id)?.text ?? "-",
    ]);
  }
  return formatTable(rows);
}

/** Lists the running containers once, as the daemon sees them. */
export async function listContainers(config: NetmonConfig, log: Logger): Promise<ContainerInfo[]> {
  const inventory = new Inventory();
  const client = new DockerSocketClient(config.docker.socketPath);
  const docker = new DockerInventory(inventory, client, log, config.docker);
  try {
    await docker.start();
  } catch (err) {
    throw new NetmonError(explainDockerError(config.docker.socketPath, err));
  } finally {
    docker.stop();
  }
  return inventory.running();
}

/**
 * `netmon containers [--json]`: the running containers with their workload and effective mode.
 * The learning periods come from the saved baseline (the daemon saves it every
 * baseline.saveIntervalSeconds); without one, every undeclared workload is still to be seen.
 */
export async function containersCommand(
  config: NetmonConfig,
  json: boolean,
  now = Date.now(),
): Promise<string> {
  const containers = await listContainers(config, createLogger("silent"));
  // An unreadable baseline only leaves the learning periods unknown: the list still matters.
  let baseline = new Baseline(config.baseline.maxEntriesPerWorkload);
  let note = "";
  try {
    baseline = loadBaseline(join(config.stateDir, "baseline.json"), config.baseline.maxEntriesPerWorkload);
  } catch (err) {
    if (!(err instanceof BaselineFileError)) throw err;
    note = `note: ${err.message}: learning periods shown as not started\n`;
  }
  const modes = containerModes(config, containers, baseline, now);
  if (!json) return `${containersTable(containers, modes)}\n${note}`;
  const rows = containers.map((c) => {
    const m = modes.get(c.ref.id);
    return {
      ...c,
      netmon: m && {
        workload: m.workload,
        mode: m.mode,
        modeSource: m.source,
        learningUntil: m.learningUntil === null ? null : new Date(m.learningUntil).toISOString(),
      },
    };
  });
  return `${JSON.stringify(rows, null, 2)}\n`;
}

import Dockerode from "dockerode";
import type { NetmonConfig } from "../config/schema.js";
import { DockerInventory } from "../inventory/docker-inventory.js";
import { Inventory } from "../inventory/inventory.js";
import type { ContainerInfo } from "../inventory/types.js";
import { explainDockerError, NetmonError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";

const MODES = new Set(["learn", "monitor", "enforce", "off"]);

/** The mode a container runs in: its valid `netmon.mode` label, else the global mode. */
export function modeOf(c: ContainerInfo, globalMode: string): string {
  const label = c.labels["netmon.mode"];
  return label !== undefined && MODES.has(label) ? label : globalMode;
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

export function containersTable(containers: ContainerInfo[], globalMode: string): string {
  const rows = [["NAME", "IMAGE", "SERVICE", "IPS", "BRIDGE", "PID", "MODE"]];
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
      modeOf(c, globalMode),
    ]);
  }
  return formatTable(rows);
}

/** Lists the running containers once, as the daemon sees them. */
export async function listContainers(config: NetmonConfig, log: Logger): Promise<ContainerInfo[]> {
  const inventory = new Inventory();
  const client = new Dockerode({ socketPath: config.docker.socketPath });
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

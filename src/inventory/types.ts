import type { ContainerRef } from "../model/events.js";

export interface NetworkAttachment {
  networkName: string;
  networkId: string;
  ipv4: string | null;
  ipv6: string | null;
  mac: string | null;
  gateway: string | null;
  /** Host bridge interface (docker0, br-<12 hex>, or the bridge.name option); null for non-bridge drivers. */
  bridge: string | null;
}

export interface PublishedPort {
  containerPort: number;
  proto: string;
  hostIp: string;
  hostPort: number;
}

export interface ContainerInfo {
  ref: ContainerRef;
  imageId: string;
  labels: Record<string, string>;
  /**
   * The labels the image itself carries (Docker copies them into the container's labels), or null
   * when unknown. A label whose value came from the image may only tighten policy.
   */
  imageLabels: Record<string, string> | null;
  networks: NetworkAttachment[];
  /** Host pid of the container's init process (0 when not running). */
  pid: number;
  /** "80/tcp" style, from the image and `--expose`. */
  exposedPorts: string[];
  publishedPorts: PublishedPort[];
  /** Epoch ms the container last started; 0 when unknown. */
  startedAt: number;
  /** Epoch ms the container last stopped, or null while running. */
  finishedAt: number | null;
  running: boolean;
  /**
   * HostConfig.NetworkMode: "host" means the container shares the host's network namespace, so
   * its /proc/<pid>/net shows the host's sockets, not its own (not scanned for listeners).
   */
  networkMode?: string;
}

/** What the rest of the pipeline needs from an inventory (live Docker or a replay file). */
export interface IpResolver {
  /** The container that owned `ip` at time `tsMs`, or null. */
  lookup(ip: string, tsMs: number): ContainerRef | null;
}

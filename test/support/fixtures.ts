/**
 * Builders for the values the pipeline passes around (containers, connections, alerts), with the
 * defaults most unit tests share. A test passes only the fields its case is about.
 */
import type { Alert } from "../../src/alerts/alert.js";
import { fingerprintOf } from "../../src/alerts/fingerprint.js";
import type { ContainerInfo, NetworkAttachment } from "../../src/inventory/types.js";
import type {
  ConnectionEvent,
  ConnectionState,
  ContainerRef,
  Direction,
  ListenerEvent,
  Proto,
} from "../../src/model/events.js";

/** The default packet time: far from zero on purpose, nothing may depend on the wall clock. */
export const FIXTURE_TS = 1_700_000_000_000;

/** A container named `name`: id `<name>-id`, image `<name>:1.0`, no Compose project. */
export function containerRef(name: string, o: Partial<ContainerRef> = {}): ContainerRef {
  return { id: `${name}-id`, name, image: `${name}:1.0`, service: null, project: null, ...o };
}

/** The Compose container shop/web the alert tests share. */
export const SHOP_WEB: Readonly<ContainerRef> = {
  id: "0123456789abcdef0123456789abcdef",
  name: "shop-web-1",
  image: "shop/web:1.2",
  service: "web",
  project: "shop",
};

/** One bridge network attachment (172.18.0.2 on br-0123456789ab). */
export function bridgeNetwork(o: Partial<NetworkAttachment> = {}): NetworkAttachment {
  return {
    networkName: "app",
    networkId: "net-app",
    ipv4: "172.18.0.2",
    ipv6: null,
    mac: null,
    gateway: "172.18.0.1",
    bridge: "br-0123456789ab",
    ...o,
  };
}

/** What the inventory knows of a running container: no labels, no networks, no ports unless given. */
export function containerInfo(ref: ContainerRef, o: Partial<Omit<ContainerInfo, "ref">> = {}): ContainerInfo {
  return {
    ref,
    imageId: `sha256:${"ab".repeat(32)}`,
    labels: {},
    imageLabels: null,
    networks: [],
    pid: 4242,
    exposedPorts: [],
    publishedPorts: [],
    startedAt: FIXTURE_TS,
    finishedAt: null,
    running: true,
    ...o,
  };
}

export interface ConnectionOptions {
  state?: ConnectionState;
  ts?: number;
  proto?: Proto;
  /** The initiating container; null (the default) for an outside address. */
  from?: ContainerRef | null;
  /** The destination container; null (the default) for an outside address. */
  to?: ContainerRef | null;
  srcIp?: string;
  srcPort?: number;
  /** Destination address and port. */
  ip?: string;
  port?: number;
  /** DNS names the source resolved to the destination; left out when not given. */
  names?: string[];
  /** Default: as the flow tracker derives it from which ends are containers. */
  direction?: Direction;
  packets?: number;
  iface?: string;
  /** Left out when not given (attempts carry none). */
  durationMs?: number;
}

/** The direction the flow tracker gives a connection between these ends. */
export function directionOf(from: ContainerRef | null, to: ContainerRef | null): Direction {
  if (to !== null) return from !== null ? "internal" : "inbound";
  return from !== null ? "outbound" : "external";
}

/** A connection event: by default a TCP attempt 172.18.0.2:40000 → 203.0.113.7:443, one packet. */
export function connectionEvent(o: ConnectionOptions = {}): ConnectionEvent {
  const from = o.from ?? null;
  const to = o.to ?? null;
  const ev: ConnectionEvent = {
    kind: "connection",
    ts: o.ts ?? FIXTURE_TS,
    proto: o.proto ?? "tcp",
    state: o.state ?? "attempt",
    src: { ip: o.srcIp ?? "172.18.0.2", port: o.srcPort ?? 40_000, container: from },
    dst: { ip: o.ip ?? "203.0.113.7", port: o.port ?? 443, container: to },
    direction: o.direction ?? directionOf(from, to),
    packets: o.packets ?? 1,
    iface: o.iface ?? "br-0123456789ab",
  };
  if (o.names !== undefined) ev.dst.names = o.names;
  if (o.durationMs !== undefined) ev.durationMs = o.durationMs;
  return ev;
}

/** A TCP listener opened on 0.0.0.0:8080 (the family follows the address unless given). */
export function listenerEvent(
  container: ContainerRef,
  o: Partial<Omit<ListenerEvent, "kind" | "container">> = {},
): ListenerEvent {
  const address = o.address ?? "0.0.0.0";
  return {
    kind: "listener",
    ts: o.ts ?? FIXTURE_TS,
    state: o.state ?? "opened",
    container,
    proto: o.proto ?? "tcp",
    family: o.family ?? (address.includes(":") ? 6 : 4),
    address,
    port: o.port ?? 8080,
    dockerDns: o.dockerDns ?? false,
  };
}

/** An active unexpected-outbound warning: SHOP_WEB reached api.example.com (203.0.113.7:443/tcp). */
export function alertOf(extra: Partial<Alert> = {}): Alert {
  return {
    fingerprint: fingerprintOf("unexpected-outbound", "shop/web", "203.0.113.7:443/tcp"),
    detector: "unexpected-outbound",
    severity: "warning",
    workload: "shop/web",
    container: { ...SHOP_WEB },
    summary: "shop-web-1 connected to api.example.com (203.0.113.7:443/tcp)",
    src: { ip: "172.18.0.5", port: 40312, proto: "tcp" },
    dst: { ip: "203.0.113.7", port: 443, proto: "tcp", names: ["api.example.com"] },
    count: 1,
    firstSeen: FIXTURE_TS,
    lastSeen: FIXTURE_TS,
    action: "none",
    state: "active",
    ...extra,
  };
}

/**
 * The ports each container is known to listen on, from the listener scan's events (fed through the
 * engine): a connection whose opening was not seen and whose first packet comes from one of them is
 * the server answering. Lookups are two Map gets on values the flow tracker already holds (no
 * allocation); updates come with listener events, a few per scan.
 */
import { PROTO_UDP } from "../capture/packet.js";
import type { ListenerEvent } from "../model/events.js";

/** Linux's ephemeral range starts here (net.ipv4.ip_local_port_range). */
const EPHEMERAL_FROM = 32_768;
const UDP_KEY = 0x1_0000;

function isLoopbackAddress(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}

export class ListeningPorts {
  /** Container id → (port, or port + UDP_KEY for UDP) → sockets open on it (IPv4 and IPv6 twins). */
  private readonly byContainer = new Map<string, Map<number, number>>();

  /**
   * Applies one listener event. Not kept: loopback binds (Docker's DNS on 127.0.0.11, local-only
   * services: nothing on a bridge reaches them) and UDP sockets on ephemeral ports, which are
   * mostly unconnected client sockets (a resolver's queries), not services.
   */
  apply(ev: ListenerEvent): void {
    if (ev.dockerDns || isLoopbackAddress(ev.address)) return;
    if (ev.proto === "udp" && ev.port >= EPHEMERAL_FROM) return;
    const key = ev.proto === "udp" ? ev.port + UDP_KEY : ev.port;
    const id = ev.container.id;
    let ports = this.byContainer.get(id);
    if (ev.state === "opened") {
      if (ports === undefined) {
        ports = new Map();
        this.byContainer.set(id, ports);
      }
      ports.set(key, (ports.get(key) ?? 0) + 1);
      return;
    }
    const n = ports?.get(key);
    if (ports === undefined || n === undefined) return;
    if (n > 1) ports.set(key, n - 1);
    else ports.delete(key);
    if (ports.size === 0) this.byContainer.delete(id);
  }

  /** Drops the containers not in `ids` (the listener scan no longer sees them). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of [...this.byContainer.keys()]) if (!ids.has(id)) this.byContainer.delete(id);
  }

  /** Whether the container listens on `port` for `proto` (PROTO_TCP or PROTO_UDP). */
  listens(containerId: string, proto: number, port: number): boolean {
    const ports = this.byContainer.get(containerId);
    if (ports === undefined) return false;
    return ports.has(proto === PROTO_UDP ? port + UDP_KEY : port);
  }

  /** Containers with a known listening port. */
  get size(): number {
    return this.byContainer.size;
  }
}

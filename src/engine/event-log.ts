import type { ContainerRef, Endpoint, NetmonEvent } from "../model/events.js";
import type { Logger } from "../util/logger.js";

function containerFields(c: ContainerRef | null): Record<string, string | null> | null {
  return c === null ? null : { id: c.id.slice(0, 12), name: c.name, image: c.image, service: c.service };
}

function endpointFields(e: Endpoint): Record<string, unknown> {
  const out: Record<string, unknown> = { ip: e.ip, port: e.port, container: containerFields(e.container) };
  if (e.names) out.names = e.names;
  return out;
}

/** `--log-events`: each ConnectionEvent and ListenerEvent as one JSON line. */
export function logEvent(log: Logger, ev: NetmonEvent): void {
  if (ev.kind === "connection") {
    log.info(
      {
        event: {
          ts: new Date(ev.ts).toISOString(),
          proto: ev.proto,
          state: ev.state,
          direction: ev.direction,
          src: endpointFields(ev.src),
          dst: endpointFields(ev.dst),
          durationMs: ev.durationMs,
          packets: ev.packets,
          iface: ev.iface,
          midstream: ev.midstream,
          initiator: ev.initiator,
          closedBy: ev.closedBy,
          corrects: ev.corrects,
        },
      },
      "connection",
    );
  } else {
    log.info(
      {
        event: {
          ts: new Date(ev.ts).toISOString(),
          state: ev.state,
          container: containerFields(ev.container),
          proto: ev.proto,
          family: ev.family,
          address: ev.address,
          port: ev.port,
          dockerDns: ev.dockerDns,
        },
      },
      "listener",
    );
  }
}

import type { ContainerRef, Endpoint, NetmonEvent } from "../model/events.js";
import { flowCommunityId } from "../net/community-id.js";
import type { Logger } from "../util/logger.js";

function containerFields(c: ContainerRef | null): Record<string, string | null> | null {
  return c === null ? null : { id: c.id.slice(0, 12), name: c.name, image: c.image, service: c.service };
}

function endpointFields(e: Endpoint): Record<string, unknown> {
  const out: Record<string, unknown> = { ip: e.ip, port: e.port, container: containerFields(e.container) };
  if (e.names) out.names = e.names;
  return out;
}

/** One event line's message and `event` object: the same on the log stream and in the events file. */
export interface EventRecord {
  msg: "connection" | "listener" | "dns";
  event: Record<string, unknown>;
}

/** The documented fields of an event line (README "Event lines"); built when the line is written. */
export function eventRecord(ev: NetmonEvent): EventRecord {
  if (ev.kind === "connection") {
    return {
      msg: "connection",
      event: {
        ts: new Date(ev.ts).toISOString(),
        proto: ev.proto,
        state: ev.state,
        direction: ev.direction,
        src: endpointFields(ev.src),
        dst: endpointFields(ev.dst),
        // The flow's Community ID v1, to join with Zeek's or Suricata's logs of the same flow.
        communityId: flowCommunityId(ev),
        durationMs: ev.durationMs,
        packets: ev.packets,
        iface: ev.iface,
        midstream: ev.midstream,
        initiator: ev.initiator,
        source: ev.source,
        closedBy: ev.closedBy,
        corrects: ev.corrects,
      },
    };
  }
  if (ev.kind === "dns") {
    return {
      msg: "dns",
      event: {
        ts: new Date(ev.ts).toISOString(),
        container: containerFields(ev.container),
        server: ev.server,
        qname: ev.qname,
        qtype: ev.qtype,
        rcode: ev.rcode,
        answers: ev.answers,
        dnsServer: ev.dnsServer,
      },
    };
  }
  return {
    msg: "listener",
    event: {
      ts: new Date(ev.ts).toISOString(),
      state: ev.state,
      container: containerFields(ev.container),
      proto: ev.proto,
      family: ev.family,
      address: ev.address,
      port: ev.port,
      dockerDns: ev.dockerDns,
      // Absent when netmon did not look (replay, closed events, attribution off).
      process: ev.process,
      processUnknown: ev.processUnknown,
    },
  };
}

/** `--log-events`: each ConnectionEvent, ListenerEvent and DnsEvent as one JSON line on the log stream. */
export function logEvent(log: Logger, ev: NetmonEvent): void {
  const { msg, event } = eventRecord(ev);
  log.info({ event }, msg);
}

import type { ProcessInfo, ProcessUnknown } from "../processes/process-info.js";
import type { ConnectionVerdict } from "./verdict.js";

/**
 * The events that flow from the sources (flow tracker, listener scan, DNS responses) to detectors
 * and sinks. Plain data, created once per connection state change or DNS response (not per packet).
 */

/** Which container an address belonged to at the time of the event. */
export interface ContainerRef {
  id: string;
  name: string;
  image: string;
  /** Compose service, or null when the container is not part of a Compose project. */
  service: string | null;
  project: string | null;
}

export type Proto = "tcp" | "udp";

export interface Endpoint {
  ip: string;
  port: number;
  /** The container that owned this IP at the event time, or null (host, other, or external). */
  container: ContainerRef | null;
  /** DNS names this IP was resolved from by the other side's container, when seen on the wire. */
  names?: string[];
}

/**
 * attempt: first packet of a new connection (TCP SYN, first UDP datagram of a pseudo-flow);
 * accepted: the responder answered (SYN-ACK, or a UDP reply);
 * rejected: the responder refused (RST to the SYN);
 * unanswered: no answer within the timeout;
 * closed: the connection ended (FIN/RST or UDP idle), with its duration.
 */
export type ConnectionState = "attempt" | "accepted" | "rejected" | "unanswered" | "closed";

/** outbound: container to non-container; inbound: non-container to container; internal: both containers. */
export type Direction = "outbound" | "inbound" | "internal" | "external";

export interface ConnectionEvent {
  kind: "connection";
  /** Event time in ms since the epoch, taken from packet timestamps (never the wall clock). */
  ts: number;
  proto: Proto;
  state: ConnectionState;
  /** The initiator (the side that sent the SYN or the first datagram). */
  src: Endpoint;
  dst: Endpoint;
  direction: Direction;
  /** Time since the first packet, in ms; set on accepted, rejected, unanswered and closed. */
  durationMs?: number;
  /** Packets seen on this flow (control packets only for TCP under the live BPF filter). */
  packets: number;
  /** Capture interface, or "file" in replay. */
  iface: string;
  /**
   * Every event of a flow whose opening netmon did not see (first packet a SYN-ACK, FIN or RST, or a
   * UDP reply): its "attempt" is judged like any attempt, but it is no failed or short connection.
   */
  midstream?: true;
  /** Mid-stream only: the ports did not tell the server side, so `src` is just the first sender. */
  initiator?: "unknown";
  /**
   * Every event of a connection seeded from the container's /proc/<pid>/net/tcp{,6} (it was open
   * before netmon watched the container): always with `midstream`; its attempt and accepted come at
   * the engine time of the reading, `iface` is "proc"; the wire keeps it up to date from there.
   */
  source?: "proc";
  /** On "closed" TCP events: the side that sent the first FIN or RST. */
  closedBy?: "initiator" | "responder";
  /**
   * This event replaces an outcome already reported for the same connection (a RST or SYN-ACK that
   * came after the SYN was reported unanswered): counters must not count the connection twice.
   */
  corrects?: "unanswered";
  /** On attempts by a container: the policy's verdict, judged once by the engine before fan-out. */
  verdict?: ConnectionVerdict;
}

export interface ListenerEvent {
  kind: "listener";
  ts: number;
  state: "opened" | "closed";
  container: ContainerRef;
  proto: Proto;
  family: 4 | 6;
  address: string;
  port: number;
  /** Docker's embedded DNS resolver (127.0.0.11) listens inside every user-network container. */
  dockerDns: boolean;
  /**
   * On `opened` events of the live /proc scan with processes.enabled: the process holding the
   * socket, or null with `processUnknown` saying why. Absent when netmon did not look (replay,
   * `closed` events, process attribution off).
   */
  process?: ProcessInfo | null;
  processUnknown?: ProcessUnknown;
}

/**
 * One DNS response seen on the wire to a container (the client that asked): what `dns-abuse` counts.
 * Emitted by the pipeline for every parsed response with a question, whatever its answers; other
 * consumers ignore it (it is no connection: the query's UDP flow has its own ConnectionEvents).
 */
export interface DnsEvent {
  kind: "dns";
  /** Packet time of the response (ms since the epoch). */
  ts: number;
  /** The container that asked (the response's destination). */
  container: ContainerRef;
  /** The DNS server that answered (the response's source address). */
  server: string;
  /** The first question's name, lower-case (ASCII), without the trailing dot; may hold any byte. */
  qname: string;
  /** The first question's type (1 A, 28 AAAA, 12 PTR, 33 SRV, 16 TXT, …). */
  qtype: number;
  /** Response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, …). */
  rcode: number;
  /** IN-class A, AAAA and CNAME records in the answer section (other types are not counted). */
  answers: number;
  /**
   * Set by the engine before fan-out: the asking container says it runs a DNS server itself (label
   * `netmon.dns-server=true`, not from its image), so its lookups are its clients' resolver traffic.
   */
  dnsServer?: true;
}

export type NetmonEvent = ConnectionEvent | ListenerEvent | DnsEvent;

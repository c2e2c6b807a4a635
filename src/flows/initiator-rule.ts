/**
 * Who is the server of a connection whose opening netmon did not see, from the ports alone: a
 * well-known port (< 1024) is a service; failing that, a port below Linux's ephemeral range
 * (net.ipv4.ip_local_port_range starts at 32768) against one inside it is the service. Anything
 * else (two ephemeral ports, two well-known ones) is left undecided.
 */
export const SERVER_UNKNOWN = 0;
export const SERVER_IS_SRC = 1;
export const SERVER_IS_DST = 2;

const WELL_KNOWN_BELOW = 1024;
export const EPHEMERAL_FROM = 32_768;

export function serverSideByPorts(srcPort: number, dstPort: number): number {
  const srcWellKnown = srcPort < WELL_KNOWN_BELOW;
  const dstWellKnown = dstPort < WELL_KNOWN_BELOW;
  if (srcWellKnown !== dstWellKnown) return srcWellKnown ? SERVER_IS_SRC : SERVER_IS_DST;
  if (srcWellKnown) return SERVER_UNKNOWN;
  const srcEphemeral = srcPort >= EPHEMERAL_FROM;
  const dstEphemeral = dstPort >= EPHEMERAL_FROM;
  if (srcEphemeral === dstEphemeral) return SERVER_UNKNOWN;
  return srcEphemeral ? SERVER_IS_DST : SERVER_IS_SRC;
}

/**
 * A first UDP datagram that is plainly a service answering: from a well-known port to an
 * ephemeral one (a DNS, NTP or QUIC reply whose request was not seen). Stricter than the TCP rule:
 * UDP peers on two unprivileged ports (RTP, games) are common and have no server side.
 */
export function isUdpServerAnswer(srcPort: number, dstPort: number): boolean {
  return srcPort < WELL_KNOWN_BELOW && dstPort >= EPHEMERAL_FROM;
}

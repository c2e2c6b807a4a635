/**
 * Kernel filter: only what detection needs reaches user space. TCP packets with SYN, FIN or RST
 * (connection start, refusal, end), and every UDP datagram (pseudo-flows, DNS answers in full).
 * The data packets of established TCP connections, the bulk of traffic, never leave the kernel.
 *
 * `tcp[tcpflags]` reads IPv4 only; for IPv6 the flags byte is read at its fixed offset, which
 * holds when TCP directly follows the IPv6 header (as on Docker bridges). The same expression is
 * repeated behind `vlan` because that keyword shifts every later offset by the tag.
 *
 * Non-first IP fragments carry no ports (the `udp` term and libpcap's IPv6 fragment-header match
 * would pass them): they are dropped here, as the flow tracker ignores them. The first fragment,
 * which holds the transport header, passes.
 */
const WANTED =
  "(tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0) or udp or (ip6 and tcp and (ip6[53] & 0x07 != 0))";
const LATER_FRAGMENT = "(ip and ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] = 44 and ip6[42:2] & 0xfff8 != 0)";
const CORE = `(${WANTED}) and not (${LATER_FRAGMENT})`;

export const CAPTURE_FILTER = `(${CORE}) or (vlan and (${CORE}))`;

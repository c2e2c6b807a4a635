import { createHash } from "node:crypto";
import type { Proto } from "../model/events.js";
import { ipToWords } from "./ip-format.js";

/**
 * Community ID v1 (https://github.com/corelight/community-id-spec), the flow hash Zeek and Suricata
 * log as `community_id`: a SIEM joins netmon's lines with theirs on it. Computed when a line is
 * written, never per packet.
 */

const IP_PROTO: Record<Proto, number> = { tcp: 6, udp: 17 };

const words = new Uint32Array(4);

/** The address bytes in network order (4 for IPv4, 16 for IPv6), or null when it is no address. */
function addressBytes(ip: string): Buffer | null {
  const version = ipToWords(ip, words);
  if (version === 0) return null;
  if (version === 4) {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(words[3]!, 0);
    return out;
  }
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeUInt32BE(words[i]!, i * 4);
  return out;
}

/**
 * `1:` + base64(SHA-1(seed, lower endpoint address, other address, protocol, 0, lower endpoint
 * port, other port)). Both directions of a flow give the same ID: the endpoint with the smaller
 * address (or, for equal addresses, the smaller port) goes first, as the spec orders them.
 * Returns null when an address does not parse or the two are of different families.
 */
export function communityId(
  proto: Proto,
  srcIp: string,
  srcPort: number,
  dstIp: string,
  dstPort: number,
  seed = 0,
): string | null {
  const src = addressBytes(srcIp);
  const dst = addressBytes(dstIp);
  if (src === null || dst === null || src.length !== dst.length) return null;
  const order = Buffer.compare(src, dst);
  const swap = order > 0 || (order === 0 && srcPort > dstPort);
  const [a, aPort, b, bPort] = swap ? [dst, dstPort, src, srcPort] : [src, srcPort, dst, dstPort];
  const head = Buffer.alloc(2);
  head.writeUInt16BE(seed & 0xffff, 0);
  const tail = Buffer.alloc(6);
  tail.writeUInt8(IP_PROTO[proto], 0);
  tail.writeUInt8(0, 1); // padding
  tail.writeUInt16BE(aPort & 0xffff, 2);
  tail.writeUInt16BE(bPort & 0xffff, 4);
  const digest = createHash("sha1").update(head).update(a).update(b).update(tail).digest("base64");
  return `1:${digest}`;
}

/** The Community ID of a connection event's flow (or of an alert's, given its endpoints). */
export function flowCommunityId(flow: {
  proto: Proto;
  src: { ip: string; port: number };
  dst: { ip: string; port: number };
}): string | null {
  return communityId(flow.proto, flow.src.ip, flow.src.port, flow.dst.ip, flow.dst.port);
}

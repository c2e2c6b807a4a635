import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_PPP,
  LINKTYPE_PPP_HDLC,
  LINKTYPE_RAW,
  LINKTYPE_RAW_DLT12,
  LINKTYPE_RAW_DLT14,
} from "./packet.js";

/** The link types src/capture/decoder.ts reads, with their tcpdump.org names. */
const DECODABLE = new Map<number, string>([
  [LINKTYPE_NULL, "NULL"],
  [LINKTYPE_ETHERNET, "ETHERNET"],
  [LINKTYPE_PPP, "PPP"],
  [LINKTYPE_RAW_DLT12, "RAW"],
  [LINKTYPE_RAW_DLT14, "RAW"],
  [LINKTYPE_PPP_HDLC, "PPP_HDLC"],
  [LINKTYPE_RAW, "RAW"],
  [LINKTYPE_LOOP, "LOOP"],
  [LINKTYPE_LINUX_SLL, "LINUX_SLL"],
  [LINKTYPE_IPV4, "IPV4"],
  [LINKTYPE_IPV6, "IPV6"],
  [LINKTYPE_LINUX_SLL2, "LINUX_SLL2"],
]);

/** Link types met in captures that netmon does not read, named so a warning says what the file holds. */
const OTHERS = new Map<number, string>([
  [6, "IEEE802_5"],
  [104, "C_HDLC"],
  [105, "IEEE802_11"],
  [117, "PFLOG"],
  [119, "IEEE802_11_PRISM"],
  [127, "IEEE802_11_RADIOTAP"],
  [189, "USB_LINUX"],
  [220, "USB_LINUX_MMAPPED"],
  [227, "CAN_SOCKETCAN"],
  [239, "NFLOG"],
  [253, "NETLINK"],
]);

/** Every link type decodePacket reads, in numeric order. */
export const DECODABLE_LINK_TYPES: readonly number[] = [...DECODABLE.keys()].sort((a, b) => a - b);

/** True when decodePacket can read IP packets of this link type. */
export function isDecodableLinkType(linkType: number): boolean {
  return DECODABLE.has(linkType);
}

/** "LINUX_SLL2 (276)" for a link type with a known name, "link type 147" otherwise. */
export function linkTypeName(linkType: number): string {
  const name = DECODABLE.get(linkType) ?? OTHERS.get(linkType);
  return name === undefined ? `link type ${linkType}` : `${name} (${linkType})`;
}

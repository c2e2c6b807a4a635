/**
 * src/capture/link-types.ts: which link types the decoder reads (it must agree with decodePacket)
 * and how a warning names them; and the capture writer of the tests puts the link type in the file.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../src/capture/decoder.js";
import { DECODABLE_LINK_TYPES, isDecodableLinkType, linkTypeName } from "../../src/capture/link-types.js";
import { DecodedPacket } from "../../src/capture/packet.js";
import { readPcapFile } from "../../src/capture/pcap-file-reader.js";
import { linkLayer, udpPacket } from "../support/packet-builder.js";
import { PcapWriter } from "../support/pcap-writer.js";

const V4_FRAME = udpPacket({
  src: "172.30.0.2",
  dst: "203.0.113.5",
  srcPort: 40000,
  dstPort: 53,
  payload: Buffer.from("q"),
});
const V4 = V4_FRAME.subarray(14);
const V6 = udpPacket({
  src: "fd00::2",
  dst: "2001:db8::5",
  srcPort: 40000,
  dstPort: 53,
  payload: Buffer.from("q"),
}).subarray(14);

function decodes(frame: Buffer, linkType: number): boolean {
  return decodePacket(frame, 0, frame.length, linkType, new DecodedPacket());
}

describe("link types", () => {
  it("the decodable ones, by the numbers of tcpdump.org/linktypes.html", () => {
    expect(DECODABLE_LINK_TYPES).toEqual([0, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 276]);
    for (const lt of DECODABLE_LINK_TYPES) expect(isDecodableLinkType(lt)).toBe(true);
    for (const lt of [-1, 2, 105, 127, 147, 1.5, Number.NaN, 0x10001])
      expect(isDecodableLinkType(lt)).toBe(false);
  });

  it("isDecodableLinkType agrees with decodePacket for every 16-bit link type", () => {
    // Frames of every decodable type, IPv4 and IPv6 where the type carries it.
    const frames = DECODABLE_LINK_TYPES.flatMap((lt) => [V4, V6].map((ip) => linkLayer(lt, ip)));
    for (let lt = 0; lt <= 0xffff; lt++) {
      if (isDecodableLinkType(lt)) {
        const v4 = decodes(linkLayer(lt, V4), lt);
        const v6 = decodes(linkLayer(lt, V6), lt);
        // LINKTYPE_IPV4 and LINKTYPE_IPV6 carry one family each; every other type both.
        expect([v4, v6]).toEqual([lt !== 229, lt !== 228]);
      } else {
        for (const f of frames) if (decodes(f, lt)) expect.fail(`link type ${lt} decoded a frame`);
      }
    }
  });

  it("names: tcpdump.org name and number, or just the number", () => {
    expect(linkTypeName(276)).toBe("LINUX_SLL2 (276)");
    expect(linkTypeName(113)).toBe("LINUX_SLL (113)");
    expect(linkTypeName(1)).toBe("ETHERNET (1)");
    expect(linkTypeName(0)).toBe("NULL (0)");
    expect(linkTypeName(12)).toBe("RAW (12)");
    expect(linkTypeName(101)).toBe("RAW (101)");
    expect(linkTypeName(228)).toBe("IPV4 (228)");
    expect(linkTypeName(229)).toBe("IPV6 (229)");
    expect(linkTypeName(50)).toBe("PPP_HDLC (50)");
    // Known but not decoded: the name says what the capture holds.
    expect(linkTypeName(127)).toBe("IEEE802_11_RADIOTAP (127)");
    expect(linkTypeName(105)).toBe("IEEE802_11 (105)");
    expect(linkTypeName(147)).toBe("link type 147");
    expect(linkTypeName(65000)).toBe("link type 65000");
    for (const lt of DECODABLE_LINK_TYPES)
      expect(linkTypeName(lt)).toMatch(new RegExp(`^[A-Z0-9_]+ \\(${lt}\\)$`));
  });
});

describe("PcapWriter: the link type in the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmon-linktype-"));

  for (const format of ["pcap", "pcapng"] as const) {
    for (const bigEndian of [false, true]) {
      it(`${format}${bigEndian ? " big-endian" : ""}: readPcapFile hands each packet its file's link type`, () => {
        for (const lt of DECODABLE_LINK_TYPES) {
          const path = join(dir, `lt-${lt}-${bigEndian ? "be" : "le"}.${format}`);
          const data = linkLayer(lt, lt === 229 ? V6 : V4);
          new PcapWriter().packet(1_000, data).writeFile(path, format, { linkType: lt, bigEndian });
          const seen: { linkType: number; bytes: Buffer }[] = [];
          readPcapFile(path, (buf, start, caplen, _wire, _ts, linkType) => {
            seen.push({ linkType, bytes: Buffer.from(buf.subarray(start, start + caplen)) });
          });
          expect(seen).toEqual([{ linkType: lt, bytes: data }]);
        }
      });
    }
  }
});

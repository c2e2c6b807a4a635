import { closeSync, openSync, readSync } from "node:fs";
import { be16, be32, le16, le32 } from "./bytes.js";
import type { RawPacketHandler } from "./source.js";

/** A pcap/pcapng file that cannot be read further; says where and how far reading got. */
export class PcapFormatError extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly packetsRead: number,
    reason: string,
  ) {
    super(`${path}: ${reason} at byte offset ${offset} (after ${packetsRead} packets)`);
    this.name = "PcapFormatError";
  }
}

export interface PcapReadResult {
  packets: number;
  bytes: number;
  format: "pcap" | "pcapng";
}

const CHUNK = 4 * 1024 * 1024;
/** Largest record we accept; libpcap's own maximum snapshot length is 256 KiB. */
const MAX_RECORD = 262_144 + 64;
const MAX_PCAPNG_BLOCK = 1024 * 1024;

/**
 * Pure-JS reader of classic pcap (µs and ns, both byte orders) and pcapng (SHB/IDB/EPB/SPB,
 * several sections and interfaces, if_tsresol). Reads the file in large chunks with offsets, so
 * it costs about what `tcpdump -r` costs. Synchronous: replay is a batch job.
 */
export function readPcapFile(path: string, onPacket: RawPacketHandler): PcapReadResult {
  const fd = openSync(path, "r");
  try {
    const reader = new ChunkReader(fd, path);
    if (!reader.ensure(4)) throw new PcapFormatError(path, 0, 0, "file is empty or shorter than a header");
    const magic = reader.buf.readUInt32LE(reader.pos);
    if (magic === 0x0a0d0d0a) return readPcapng(reader, onPacket);
    return readClassic(reader, onPacket);
  } finally {
    closeSync(fd);
  }
}

class ChunkReader {
  buf = Buffer.allocUnsafe(CHUNK);
  /** Read position inside buf, and how many valid bytes buf holds. */
  pos = 0;
  len = 0;
  /** File offset of buf[0]. */
  base = 0;
  private eof = false;

  constructor(
    private readonly fd: number,
    readonly path: string,
  ) {}

  get fileOffset(): number {
    return this.base + this.pos;
  }

  /** Makes at least n bytes available at pos; false at end of file. */
  ensure(n: number): boolean {
    if (this.len - this.pos >= n) return true;
    if (this.eof) return false;
    // Move the unread tail to the front, then fill the rest.
    const rest = this.len - this.pos;
    this.buf.copy(this.buf, 0, this.pos, this.len);
    this.base += this.pos;
    this.pos = 0;
    this.len = rest;
    while (this.len < n && !this.eof) {
      const got = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, null);
      if (got === 0) this.eof = true;
      this.len += got;
    }
    return this.len - this.pos >= n;
  }

  /** True when no byte is left. */
  atEnd(): boolean {
    return !this.ensure(1);
  }
}

function readClassic(r: ChunkReader, onPacket: RawPacketHandler): PcapReadResult {
  const path = r.path;
  if (!r.ensure(24)) throw new PcapFormatError(path, 0, 0, "truncated pcap global header");
  const magicLE = r.buf.readUInt32LE(0);
  let little: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    little = true;
    nanos = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = r.buf.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) {
      throw new PcapFormatError(path, 0, 0, `not a pcap or pcapng file (magic 0x${magicLE.toString(16)})`);
    }
    little = false;
    nanos = magicBE === 0xa1b23c4d;
  }
  const linkType = (little ? r.buf.readUInt32LE(20) : r.buf.readUInt32BE(20)) & 0x0fffffff;
  r.pos = 24;
  const fracToMs = nanos ? 1e-6 : 1e-3;
  let packets = 0;
  let bytes = 0;
  for (;;) {
    // Most records lie inside the chunk already: the reader is asked for more only at its end.
    if (r.len - r.pos < 16) {
      if (r.atEnd()) break;
      if (!r.ensure(16)) throw new PcapFormatError(path, r.fileOffset, packets, "truncated record header");
    }
    const incl = little ? le32(r.buf, r.pos + 8) : be32(r.buf, r.pos + 8);
    if (incl > MAX_RECORD) {
      throw new PcapFormatError(
        path,
        r.fileOffset,
        packets,
        `record claims ${incl} captured bytes (max ${MAX_RECORD})`,
      );
    }
    if (r.len - r.pos < 16 + incl && !r.ensure(16 + incl)) {
      throw new PcapFormatError(path, r.fileOffset, packets, `truncated packet data (needs ${incl} bytes)`);
    }
    // Read after ensure(): it may have moved the record to the front of the buffer.
    const b = r.buf;
    const p = r.pos;
    const sec = little ? le32(b, p) : be32(b, p);
    const frac = little ? le32(b, p + 4) : be32(b, p + 4);
    const orig = little ? le32(b, p + 12) : be32(b, p + 12);
    const start = p + 16;
    r.pos = start + incl;
    packets++;
    bytes += incl;
    onPacket(b, start, incl, orig, sec * 1000 + frac * fracToMs, linkType);
  }
  return { packets, bytes, format: "pcap" };
}

interface PcapngInterface {
  linkType: number;
  /** Milliseconds per timestamp unit. */
  tsUnitMs: number;
}

function readPcapng(r: ChunkReader, onPacket: RawPacketHandler): PcapReadResult {
  const path = r.path;
  let little = true;
  let ifaces: PcapngInterface[] = [];
  let packets = 0;
  let bytes = 0;
  while (!r.atEnd()) {
    const blockOffset = r.fileOffset;
    if (!r.ensure(12)) throw new PcapFormatError(path, blockOffset, packets, "truncated block header");
    const b0 = r.buf;
    const type = little ? b0.readUInt32LE(r.pos) : b0.readUInt32BE(r.pos);
    if (type === 0x0a0d0d0a) {
      // Section header: the byte-order magic decides how everything in this section is read.
      const bom = b0.readUInt32LE(r.pos + 8);
      if (bom === 0x1a2b3c4d) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else throw new PcapFormatError(path, blockOffset, packets, "bad pcapng byte-order magic");
      ifaces = [];
    }
    const totalLen = little ? b0.readUInt32LE(r.pos + 4) : b0.readUInt32BE(r.pos + 4);
    if (totalLen < 12 || totalLen % 4 !== 0 || totalLen > MAX_PCAPNG_BLOCK) {
      throw new PcapFormatError(path, blockOffset, packets, `bad pcapng block length ${totalLen}`);
    }
    if (!r.ensure(totalLen)) throw new PcapFormatError(path, blockOffset, packets, "truncated pcapng block");
    const b = r.buf;
    const p = r.pos;
    const u32 = (o: number): number => (little ? le32(b, p + o) : be32(b, p + o));
    const u16 = (o: number): number => (little ? le16(b, p + o) : be16(b, p + o));
    if (u32(totalLen - 4) !== totalLen) {
      throw new PcapFormatError(path, blockOffset, packets, "pcapng block trailer length does not match");
    }
    if (type === 1) {
      if (totalLen < 20) throw new PcapFormatError(path, blockOffset, packets, "short interface block");
      ifaces.push({ linkType: u16(8), tsUnitMs: readTsResolution(b, p + 16, p + totalLen - 4, little) });
    } else if (type === 6) {
      if (totalLen < 32) throw new PcapFormatError(path, blockOffset, packets, "short enhanced packet block");
      const iface = ifaces[u32(8)];
      if (iface === undefined) {
        throw new PcapFormatError(path, blockOffset, packets, `packet for undeclared interface ${u32(8)}`);
      }
      const caplen = u32(20);
      if (28 + caplen > totalLen - 4) {
        throw new PcapFormatError(path, blockOffset, packets, "packet data longer than its block");
      }
      const ts = (u32(12) * 4294967296 + u32(16)) * iface.tsUnitMs;
      packets++;
      bytes += caplen;
      onPacket(b, p + 28, caplen, u32(24), ts, iface.linkType);
    } else if (type === 3) {
      // 12 bytes of block header and trailer plus the 4-byte original length: anything shorter
      // would be read as a packet of negative length.
      if (totalLen < 16) throw new PcapFormatError(path, blockOffset, packets, "short simple packet block");
      const iface = ifaces[0];
      if (iface === undefined)
        throw new PcapFormatError(path, blockOffset, packets, "packet before any interface");
      const orig = u32(8);
      const caplen = Math.min(orig, totalLen - 16);
      packets++;
      bytes += caplen;
      onPacket(b, p + 12, caplen, orig, 0, iface.linkType);
    }
    r.pos = p + totalLen;
  }
  return { packets, bytes, format: "pcapng" };
}

/** Reads the if_tsresol option (code 9) of an interface block; default is microseconds. */
function readTsResolution(b: Buffer, start: number, end: number, little: boolean): number {
  let o = start;
  while (o + 4 <= end) {
    const code = little ? b.readUInt16LE(o) : b.readUInt16BE(o);
    const len = little ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
    if (code === 0) break;
    if (code === 9 && len >= 1 && o + 5 <= end) {
      const v = b[o + 4]!;
      const exp = v & 0x7f;
      const seconds = v & 0x80 ? 2 ** -exp : 10 ** -exp;
      return seconds * 1000;
    }
    o += 4 + ((len + 3) & ~3);
  }
  return 1e-3;
}

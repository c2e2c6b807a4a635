import { writeFileSync } from "node:fs";
import { LINKTYPE_ETHERNET } from "../../src/capture/packet.js";

/**
 * Writes captures for tests and for the fixture-generation script: classic pcap (µs or ns, either
 * byte order) and pcapng (one section, one or more interfaces, if_tsresol). Two pcapng outputs
 * concatenated are a valid two-section file.
 */

export interface PcapRecord {
  /** Capture time in milliseconds since the epoch; the fraction carries sub-millisecond time. */
  tsMs: number;
  data: Buffer;
  /** Length on the wire; defaults to data.length (set it larger to model a snap length). */
  origLen?: number;
  /** Exact capture time in nanoseconds since the epoch; wins over tsMs when given. */
  tsNs?: bigint;
  /** pcapng only: index into the `interfaces` of toPcapng (default 0). */
  interfaceId?: number;
}

export interface PcapOptions {
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanos?: boolean;
  bigEndian?: boolean;
  /** Default LINKTYPE_ETHERNET (1). */
  linkType?: number;
  /** Default 262144. */
  snaplen?: number;
}

export interface PcapngInterfaceOptions {
  /** Default LINKTYPE_ETHERNET (1). */
  linkType?: number;
  /**
   * The if_tsresol option byte: 6 = µs, 9 = ns, 0x80 | n = 2^-n seconds. Omitted: no option is
   * written, which means microseconds.
   */
  tsresol?: number;
  /** Default 262144. */
  snaplen?: number;
}

export interface PcapngOptions extends PcapngInterfaceOptions {
  bigEndian?: boolean;
  /** Several interfaces in the section (records pick one with interfaceId); overrides linkType/tsresol. */
  interfaces?: PcapngInterfaceOptions[];
}

export type PcapFileFormat = "pcap" | "pcapng";

const NS_PER_SEC = 1_000_000_000n;

/** Exact nanoseconds since the epoch of a record (from tsNs, or tsMs rounded to the nanosecond). */
export function recordNs(r: Pick<PcapRecord, "tsMs" | "tsNs">): bigint {
  if (r.tsNs !== undefined) return r.tsNs;
  const sec = Math.floor(r.tsMs / 1000);
  const ns = Math.round((r.tsMs - sec * 1000) * 1e6);
  return BigInt(sec) * NS_PER_SEC + BigInt(ns);
}

/** Timestamp in units of the given if_tsresol byte, rounded to the nearest unit. */
export function tsUnits(ns: bigint, tsresol: number): bigint {
  const denom = tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
  // units = ns * denom / 1e9, rounded half up.
  return (ns * denom * 2n + NS_PER_SEC) / (2n * NS_PER_SEC);
}

export class PcapWriter {
  readonly records: PcapRecord[] = [];

  constructor(records: PcapRecord[] = []) {
    this.records.push(...records);
  }

  add(record: PcapRecord): this {
    this.records.push(record);
    return this;
  }

  /** Shorthand for add({tsMs, data, origLen}). */
  packet(tsMs: number, data: Buffer, origLen?: number): this {
    return this.add({ tsMs, data, origLen });
  }

  get length(): number {
    return this.records.length;
  }

  toPcap(opts: PcapOptions = {}): Buffer {
    const be = opts.bigEndian ?? false;
    const nanos = opts.nanos ?? false;
    const size = 24 + this.records.reduce((n, r) => n + 16 + r.data.length, 0);
    const out = Buffer.alloc(size);
    const u32 = (v: number, o: number): void => {
      if (be) out.writeUInt32BE(v >>> 0, o);
      else out.writeUInt32LE(v >>> 0, o);
    };
    const u16 = (v: number, o: number): void => {
      if (be) out.writeUInt16BE(v, o);
      else out.writeUInt16LE(v, o);
    };
    u32(nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    u16(2, 4);
    u16(4, 6);
    u32(0, 8); // thiszone
    u32(0, 12); // sigfigs
    u32(opts.snaplen ?? 262_144, 16);
    u32(opts.linkType ?? LINKTYPE_ETHERNET, 20);
    let off = 24;
    const fracPerSec = nanos ? NS_PER_SEC : 1_000_000n;
    for (const r of this.records) {
      const units = tsUnits(recordNs(r), nanos ? 9 : 6);
      u32(Number(units / fracPerSec), off);
      u32(Number(units % fracPerSec), off + 4);
      u32(r.data.length, off + 8);
      u32(r.origLen ?? r.data.length, off + 12);
      r.data.copy(out, off + 16);
      off += 16 + r.data.length;
    }
    return out;
  }

  toPcapng(opts: PcapngOptions = {}): Buffer {
    const be = opts.bigEndian ?? false;
    const ifaces: PcapngInterfaceOptions[] = opts.interfaces ?? [
      { linkType: opts.linkType, tsresol: opts.tsresol, snaplen: opts.snaplen },
    ];
    const blocks: Buffer[] = [sectionHeader(be)];
    for (const iface of ifaces) blocks.push(interfaceBlock(iface, be));
    for (const r of this.records) {
      const id = r.interfaceId ?? 0;
      const iface = ifaces[id];
      if (iface === undefined) throw new Error(`record for interface ${id}, only ${ifaces.length} declared`);
      blocks.push(enhancedPacketBlock(r, id, iface.tsresol ?? 6, be));
    }
    return Buffer.concat(blocks);
  }

  writeFile(path: string, format: PcapFileFormat = "pcap", opts: PcapOptions & PcapngOptions = {}): void {
    writeFileSync(path, format === "pcap" ? this.toPcap(opts) : this.toPcapng(opts));
  }
}

function block(type: number, body: Buffer, be: boolean): Buffer {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const out = Buffer.alloc(total);
  const u32 = (v: number, o: number): void => {
    if (be) out.writeUInt32BE(v >>> 0, o);
    else out.writeUInt32LE(v >>> 0, o);
  };
  u32(type, 0);
  u32(total, 4);
  body.copy(out, 8);
  u32(total, total - 4);
  return out;
}

function sectionHeader(be: boolean): Buffer {
  const body = Buffer.alloc(16);
  if (be) {
    body.writeUInt32BE(0x1a2b3c4d, 0);
    body.writeUInt16BE(1, 4);
    body.writeUInt16BE(0, 6);
  } else {
    body.writeUInt32LE(0x1a2b3c4d, 0);
    body.writeUInt16LE(1, 4);
    body.writeUInt16LE(0, 6);
  }
  body.fill(0xff, 8, 16); // section length: -1 (unknown)
  return block(0x0a0d0d0a, body, be);
}

function interfaceBlock(iface: PcapngInterfaceOptions, be: boolean): Buffer {
  const hasRes = iface.tsresol !== undefined;
  const body = Buffer.alloc(8 + (hasRes ? 12 : 0));
  const u16 = (v: number, o: number): void => {
    if (be) body.writeUInt16BE(v, o);
    else body.writeUInt16LE(v, o);
  };
  u16(iface.linkType ?? LINKTYPE_ETHERNET, 0);
  u16(0, 2);
  if (be) body.writeUInt32BE(iface.snaplen ?? 262_144, 4);
  else body.writeUInt32LE(iface.snaplen ?? 262_144, 4);
  if (hasRes) {
    u16(9, 8); // if_tsresol
    u16(1, 10);
    body[12] = iface.tsresol!;
    // 3 bytes padding, then opt_endofopt (0, 0) at 16..19
  }
  return block(1, body, be);
}

function enhancedPacketBlock(r: PcapRecord, ifaceId: number, tsresol: number, be: boolean): Buffer {
  const units = tsUnits(recordNs(r), tsresol);
  const body = Buffer.alloc(20 + r.data.length);
  const u32 = (v: number, o: number): void => {
    if (be) body.writeUInt32BE(v >>> 0, o);
    else body.writeUInt32LE(v >>> 0, o);
  };
  u32(ifaceId, 0);
  u32(Number(units >> 32n), 4);
  u32(Number(units & 0xffffffffn), 8);
  u32(r.data.length, 12);
  u32(r.origLen ?? r.data.length, 16);
  r.data.copy(body, 20);
  return block(6, body, be);
}

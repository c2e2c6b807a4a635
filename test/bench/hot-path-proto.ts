/**
 * Prototypes of hot-path changes, measured by `replay-worker.js proto` (PROTO=reader,decoder,
 * patches,sweep) and the `hotpath` part of run.js against the stock path
 * (benchmarks only: src/ is unchanged). Each is a drop-in for code in src/ and keeps its results
 * (same events, same alerts: the worker prints both so a run can be compared):
 *
 * 1. readClassicFast: the pcap record header read with byte arithmetic instead of
 *    Buffer.readUInt32LE/BE (which check bounds and types on every call).
 * 2. decodeFast: the same decoder with byte arithmetic, and DecodedPacket.reset() without
 *    TypedArray.fill() (a builtin call per address per packet).
 * 3. CidrSet.has(ip): parseIpv4 splits the string and runs a regex per octet on every denylist
 *    check (once per connection attempt); a regex-free parser is about 10× faster.
 * 4. Detection.noteMode: workload + mode + configured mode + a string key per container per event;
 *    the mode of a container only changes at the end of its learning period or on an inventory
 *    update, so checking once per container per second of packet time is enough.
 * 5. DNS names once per flow: Pipeline.onConnection looks the names up for every event (attempt,
 *    accepted, closed…); they are looked up at the attempt and kept on the flow record.
 * 6. FlowTracker.advance on a timer wheel (applySweepPatch, below).
 */

import { closeSync, openSync, readSync } from "node:fs";
import { type DecodedPacket, LINKTYPE_ETHERNET, PROTO_TCP, PROTO_UDP } from "../../src/capture/packet.js";
import type { RawPacketHandler } from "../../src/capture/source.js";
import { Detection } from "../../src/detection/detection.js";
import { Pipeline } from "../../src/engine/pipeline.js";
import { FlowTracker } from "../../src/flows/flow-tracker.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";
import { CidrSet } from "../../src/net/cidr.js";

// ---------------------------------------------------------------- 1. reader

/** Classic little-endian pcap only (the generated capture); returns null for anything else. */
export function readClassicFast(path: string, onPacket: RawPacketHandler): number | null {
  const fd = openSync(path, "r");
  try {
    let buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let len = readSync(fd, buf, 0, buf.length, null);
    if (len < 24 || buf.readUInt32LE(0) !== 0xa1b2c3d4) return null;
    const linkType = buf.readUInt32LE(20) & 0x0fffffff;
    let pos = 24;
    let packets = 0;
    for (;;) {
      if (len - pos < 16 || len - pos < 16 + u32le(buf, pos + 8)) {
        const rest = len - pos;
        buf.copy(buf, 0, pos, len);
        pos = 0;
        len = rest;
        const got = readSync(fd, buf, len, buf.length - len, null);
        if (got === 0) break;
        len += got;
        if (len - pos < 16) break;
        const need = 16 + u32le(buf, pos + 8);
        if (need > buf.length) {
          const bigger = Buffer.allocUnsafe(need * 2);
          buf.copy(bigger, 0, 0, len);
          buf = bigger;
        }
        continue;
      }
      const sec = u32le(buf, pos);
      const usec = u32le(buf, pos + 4);
      const incl = u32le(buf, pos + 8);
      const orig = u32le(buf, pos + 12);
      const start = pos + 16;
      pos = start + incl;
      packets++;
      onPacket(buf, start, incl, orig, sec * 1000 + usec * 1e-3, linkType);
    }
    return packets;
  } finally {
    closeSync(fd);
  }
}

function u32le(b: Buffer, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 16777216;
}

// ---------------------------------------------------------------- 2. decoder (Ethernet/IPv4/IPv6 without extension headers)

function reset(out: DecodedPacket): void {
  out.ipVersion = 0;
  out.proto = 0;
  const s = out.src;
  const d = out.dst;
  s[0] = 0;
  s[1] = 0;
  s[2] = 0;
  s[3] = 0;
  d[0] = 0;
  d[1] = 0;
  d[2] = 0;
  d[3] = 0;
  out.srcPort = 0;
  out.dstPort = 0;
  out.tcpFlags = 0;
  out.vlan = -1;
  out.payloadOffset = 0;
  out.payloadLength = 0;
}

const be16 = (b: Buffer, o: number): number => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Buffer, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/**
 * decodePacket for untagged Ethernet IPv4/IPv6 (what the generated capture holds); anything else
 * falls back to the stock decoder, so results are identical.
 */
export function makeDecodeFast(
  stock: (buf: Buffer, start: number, caplen: number, linkType: number, out: DecodedPacket) => boolean,
) {
  return (buf: Buffer, start: number, caplen: number, linkType: number, out: DecodedPacket): boolean => {
    const end = Math.min(start + caplen, buf.length);
    if (linkType !== LINKTYPE_ETHERNET || end < start + 54) return stock(buf, start, caplen, linkType, out);
    const et = be16(buf, start + 12);
    const off = start + 14;
    if (et === 0x0800) {
      const vihl = buf[off]!;
      const ihl = (vihl & 0x0f) * 4;
      const total = be16(buf, off + 2);
      if (
        vihl >> 4 !== 4 ||
        ihl < 20 ||
        end < off + ihl ||
        total < ihl ||
        (be16(buf, off + 6) & 0x1fff) !== 0
      ) {
        return stock(buf, start, caplen, linkType, out);
      }
      reset(out);
      out.buf = buf;
      out.ipVersion = 4;
      out.proto = buf[off + 9]!;
      out.src[3] = be32(buf, off + 12);
      out.dst[3] = be32(buf, off + 16);
      transport(buf, off + ihl, Math.min(end, off + total), out);
      return true;
    }
    if (et === 0x86dd) {
      const next = buf[off + 6]!;
      if (buf[off]! >> 4 !== 6 || (next !== PROTO_TCP && next !== PROTO_UDP) || end < off + 40) {
        return stock(buf, start, caplen, linkType, out);
      }
      reset(out);
      out.buf = buf;
      out.ipVersion = 6;
      out.proto = next;
      for (let i = 0; i < 4; i++) {
        out.src[i] = be32(buf, off + 8 + 4 * i);
        out.dst[i] = be32(buf, off + 24 + 4 * i);
      }
      const pl = be16(buf, off + 4);
      transport(buf, off + 40, pl === 0 ? end : Math.min(end, off + 40 + pl), out);
      return true;
    }
    return stock(buf, start, caplen, linkType, out);
  };
}

function transport(buf: Buffer, off: number, end: number, out: DecodedPacket): void {
  const proto = out.proto;
  if (proto === PROTO_TCP) {
    if (end < off + 14) {
      out.proto = 0;
      return;
    }
    out.srcPort = be16(buf, off);
    out.dstPort = be16(buf, off + 2);
    out.tcpFlags = buf[off + 13]!;
    const dataOff = (buf[off + 12]! >> 4) * 4;
    if (dataOff >= 20 && off + dataOff <= end) {
      out.payloadOffset = off + dataOff;
      out.payloadLength = end - off - dataOff;
    }
  } else if (proto === PROTO_UDP) {
    if (end < off + 8) {
      out.proto = 0;
      return;
    }
    out.srcPort = be16(buf, off);
    out.dstPort = be16(buf, off + 2);
    const udpLen = be16(buf, off + 4);
    const avail = end - off;
    out.payloadOffset = off + 8;
    out.payloadLength = Math.min(udpLen >= 8 ? udpLen : avail, avail) - 8;
  }
}

// ---------------------------------------------------------------- 3. regex-free IPv4 parsing for CidrSet.has

/** parseIpv4 without split/regex: same answers (1-3 digits per octet, ≤ 255, exactly 4 octets). */
export function parseIpv4Fast(ip: string): number | null {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || octet > 255) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      if (++dots > 3) return null;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return null;
      octet = octet * 10 + (c - 48);
    } else return null;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return null;
  return (value * 256 + octet) >>> 0;
}

// ---------------------------------------------------------------- patches

interface PatchedProtos {
  cidrHas: (this: CidrSet, ip: string) => boolean;
  noteMode: (this: Detection, c: ContainerRef, ts: number) => void;
  onConnection: (this: Pipeline, ev: ConnectionEvent) => void;
  emitEvent: (this: FlowTracker, ...a: unknown[]) => void;
}

/** Applies prototypes 3–5 to the classes (process-wide); returns what was replaced. */
export function applyPatches(): void {
  const cidr = CidrSet.prototype as unknown as {
    has: PatchedProtos["cidrHas"];
    hasWords: (w: Uint32Array, v: 4 | 6) => boolean;
  };
  const stockHas = cidr.has;
  const words = new Uint32Array(4);
  cidr.has = function (this: CidrSet, ip: string): boolean {
    if (ip.includes(":")) return stockHas.call(this, ip);
    const v = parseIpv4Fast(ip);
    if (v === null) return false;
    words[3] = v;
    return (this as unknown as { hasWords: (w: Uint32Array, v: 4 | 6) => boolean }).hasWords(words, 4);
  };

  const det = Detection.prototype as unknown as { noteMode: PatchedProtos["noteMode"] };
  const stockNote = det.noteMode;
  const nextCheck = new WeakMap<ContainerRef, number>();
  det.noteMode = function (this: Detection, c: ContainerRef, ts: number): void {
    const due = nextCheck.get(c);
    if (due !== undefined && ts < due && ts > due - 1000) return;
    stockNote.call(this, c, ts);
    nextCheck.set(c, ts + 1000);
  };

  // Names once per flow: the tracker tells which record an event belongs to.
  const ft = FlowTracker.prototype as unknown as { emitEvent: PatchedProtos["emitEvent"] };
  const stockEmit = ft.emitEvent;
  let current: { names?: string[] } | null = null;
  ft.emitEvent = function (this: FlowTracker, ...a: unknown[]): void {
    current = a[0] as { names?: string[] };
    stockEmit.apply(this, a);
    current = null;
  };
  const pl = Pipeline.prototype as unknown as { onConnection: PatchedProtos["onConnection"] };
  pl.onConnection = function (this: Pipeline, ev: ConnectionEvent): void {
    const rec = current;
    let names: string[] | undefined;
    if (ev.state === "attempt" || rec === null || rec.names === undefined) {
      const scope = ev.src.container?.id ?? ev.src.ip;
      names = this.dns.namesFor(scope, ev.dst.ip, ev.ts);
      if (rec !== null) rec.names = names;
    } else names = rec.names;
    if (names.length > 0) ev.dst.names = names;
    (this as unknown as { sink: (e: ConnectionEvent) => void }).sink(ev);
  };
}

// ---------------------------------------------------------------- 6. flow timeouts on a timer wheel

interface WheelRecord {
  proto: number;
  state: number;
  firstTs: number;
  lastTs: number;
  newer: WheelRecord | null;
  gen?: number;
}

interface TrackerInternals {
  opts: { tcpUnansweredMs: number; tcpEstablishedIdleMs: number; udpIdleMs: number };
  nextSweep: number;
  sweepEveryMs: number;
  expired: number;
  newest: WheelRecord | null;
  wheel?: Map<number, { recs: WheelRecord[]; gens: number[] }>;
  wheelDone?: number;
  emitEvent(rec: WheelRecord, state: string, ts: number, durationMs: number | undefined): void;
  finish(rec: WheelRecord, state: string, ts: number): void;
  remove(rec: WheelRecord): void;
  create(hash: number, p: DecodedPacket): void;
  advance(nowMs: number): void;
}

const SYN_RETRY_WINDOW_MS = 130_000;
const BUCKET_MS = 1000;

/**
 * FlowTracker.advance walks every tracked flow once per second of packet time (O(flows), mostly
 * UDP pseudo-flows and open connections that are nowhere near their timeout). Here each flow sits
 * in a bucket of a timer wheel at the time it could first be due; a bucket that comes due re-checks
 * its flows (a flow whose lastTs moved on is put back at its new due time). O(due flows + moved).
 */
export function applySweepPatch(): void {
  const proto = FlowTracker.prototype as unknown as TrackerInternals;
  const stockCreate = proto.create;
  const stockRemove = proto.remove;
  const dueOf = (t: TrackerInternals, r: WheelRecord): number => {
    const o = t.opts;
    if (r.proto === PROTO_TCP) {
      if (r.state === 0) return r.firstTs + o.tcpUnansweredMs;
      if (r.state === 2) return r.firstTs + Math.max(SYN_RETRY_WINDOW_MS, o.tcpUnansweredMs);
      return r.lastTs + o.tcpEstablishedIdleMs;
    }
    return r.lastTs + o.udpIdleMs;
  };
  const schedule = (t: TrackerInternals, r: WheelRecord, due: number): void => {
    t.wheel ??= new Map();
    const b = Math.floor(due / BUCKET_MS);
    let slot = t.wheel.get(b);
    if (slot === undefined) {
      slot = { recs: [], gens: [] };
      t.wheel.set(b, slot);
    }
    slot.recs.push(r);
    slot.gens.push(r.gen ?? 0);
  };
  proto.create = function (this: TrackerInternals, hash: number, p: DecodedPacket): void {
    stockCreate.call(this, hash, p);
    const r = this.newest;
    if (r !== null) schedule(this, r, dueOf(this, r));
  };
  proto.remove = function (this: TrackerInternals, r: WheelRecord): void {
    r.gen = (r.gen ?? 0) + 1;
    stockRemove.call(this, r);
  };
  proto.advance = function (this: TrackerInternals, nowMs: number): void {
    this.nextSweep = nowMs + this.sweepEveryMs;
    const wheel = this.wheel;
    if (wheel === undefined) return;
    const o = this.opts;
    const last = Math.floor(nowMs / BUCKET_MS);
    const from = this.wheelDone ?? last - 1;
    const keys: number[] = [];
    if (last - from <= wheel.size) {
      for (let b = from; b <= last; b++) if (wheel.has(b)) keys.push(b);
    } else {
      for (const b of wheel.keys()) if (b <= last) keys.push(b);
      keys.sort((a, b) => a - b);
    }
    for (const b of keys) {
      const slot = wheel.get(b)!;
      wheel.delete(b);
      for (let i = 0; i < slot.recs.length; i++) {
        const r = slot.recs[i]!;
        if ((r.gen ?? 0) !== slot.gens[i]) continue;
        const due = dueOf(this, r);
        if (due > nowMs) {
          schedule(this, r, due);
          continue;
        }
        if (r.proto === PROTO_TCP) {
          if (r.state === 0) {
            r.state = 2;
            this.emitEvent(r, "unanswered", r.firstTs + o.tcpUnansweredMs, o.tcpUnansweredMs);
            schedule(this, r, dueOf(this, r));
          } else if (r.state === 2) this.remove(r);
          else {
            this.expired++;
            this.remove(r);
          }
        } else {
          const endTs = r.lastTs + o.udpIdleMs;
          if (r.state === 0) this.finish(r, "unanswered", endTs);
          else {
            this.emitEvent(r, "closed", endTs, r.lastTs - r.firstTs);
            this.remove(r);
          }
        }
      }
    }
    this.wheelDone = last;
  };
}

/**
 * Hand-rolled DNS message builder for tests: well-formed messages (optionally with name
 * compression) via `buildDns`, and raw byte helpers for crafting hostile ones.
 */
import { ipToWords } from "../../src/net/ip-format.js";

export const T_A = 1;
export const T_NS = 2;
export const T_CNAME = 5;
export const T_MX = 15;
export const T_TXT = 16;
export const T_AAAA = 28;
export const C_IN = 1;
export const C_CH = 3;

export type RecordSpec = { name: string; ttl?: number; cls?: number } & (
  | { type: "A"; ip: string }
  | { type: "AAAA"; ip: string }
  | { type: "CNAME"; target: string }
  | { type: "MX"; preference: number; exchange: string }
  | { type: "TXT"; texts: string[] }
  | { type: number; rdata: number[] }
);

export interface MessageSpec {
  id?: number;
  response?: boolean;
  opcode?: number;
  rcode?: number;
  truncated?: boolean;
  questions?: readonly { name: string; type?: number }[];
  answers?: readonly RecordSpec[];
  authority?: readonly RecordSpec[];
  /** Use compression pointers for repeated name suffixes (RFC 1035 §4.1.4). */
  compress?: boolean;
  /** Override header counts (to lie about them). */
  counts?: { qd?: number; an?: number; ns?: number; ar?: number };
}

/** Growable byte writer with optional name compression. */
export class DnsWriter {
  readonly bytes: number[] = [];
  private readonly suffixes = new Map<string, number>();

  constructor(private readonly compress = false) {}

  get length(): number {
    return this.bytes.length;
  }

  u8(...vals: number[]): this {
    for (const v of vals) this.bytes.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.u8(v >>> 8, v);
  }

  u32(v: number): this {
    return this.u8(v >>> 24, v >>> 16, v >>> 8, v);
  }

  /** Writes a name ("" = root), reusing earlier suffixes when compression is on. */
  name(name: string): this {
    const labels = name === "" ? [] : name.split(".");
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".").toLowerCase();
      const at = this.suffixes.get(suffix);
      if (this.compress && at !== undefined) return this.u16(0xc000 | at);
      if (this.compress && this.length < 0x4000) this.suffixes.set(suffix, this.length);
      const label = Buffer.from(labels[i]!, "latin1");
      this.u8(label.length, ...label);
    }
    return this.u8(0);
  }

  /** Writes RDATA with its length prefix. */
  rdata(fill: (w: this) => void): this {
    const lenAt = this.length;
    this.u16(0);
    fill(this);
    const len = this.length - lenAt - 2;
    this.bytes[lenAt] = (len >>> 8) & 0xff;
    this.bytes[lenAt + 1] = len & 0xff;
    return this;
  }

  record(rr: RecordSpec): this {
    this.name(rr.name);
    const type = typeof rr.type === "number" ? rr.type : TYPE_CODES[rr.type];
    this.u16(type)
      .u16(rr.cls ?? C_IN)
      .u32(rr.ttl ?? 300);
    return this.rdata((w) => {
      if ("ip" in rr) w.u8(...ipBytes(rr.ip));
      else if ("target" in rr) w.name(rr.target);
      else if ("exchange" in rr) w.u16(rr.preference).name(rr.exchange);
      else if ("texts" in rr) for (const t of rr.texts) w.u8(t.length, ...Buffer.from(t, "latin1"));
      else w.u8(...rr.rdata);
    });
  }

  toBuffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

const TYPE_CODES = { A: T_A, AAAA: T_AAAA, CNAME: T_CNAME, MX: T_MX, TXT: T_TXT } as const;

export function ipBytes(ip: string): number[] {
  const words = new Uint32Array(4);
  const v = ipToWords(ip, words);
  if (v === 0) throw new Error(`bad ip ${ip}`);
  const out: number[] = [];
  for (let i = v === 4 ? 3 : 0; i < 4; i++) {
    const w = words[i]!;
    out.push(w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255);
  }
  return out;
}

/** Header flags word. */
export function flags(spec: Pick<MessageSpec, "response" | "opcode" | "rcode" | "truncated">): number {
  return (
    ((spec.response ?? true) ? 0x8000 : 0) |
    ((spec.opcode ?? 0) << 11) |
    (spec.truncated ? 0x0200 : 0) |
    0x0100 | // RD
    ((spec.response ?? true) ? 0x0080 : 0) | // RA
    (spec.rcode ?? 0)
  );
}

/** Writes a 12-byte header. */
export function header(
  w: DnsWriter,
  h: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number },
): DnsWriter {
  return w
    .u16(h.id ?? 0x1234)
    .u16(h.flags ?? flags({}))
    .u16(h.qd ?? 0)
    .u16(h.an ?? 0)
    .u16(h.ns ?? 0)
    .u16(h.ar ?? 0);
}

/** A complete message; by default a response with one A question and no answers. */
export function buildDns(spec: MessageSpec): Buffer {
  const w = new DnsWriter(spec.compress ?? false);
  const questions = spec.questions ?? [];
  const answers = spec.answers ?? [];
  const authority = spec.authority ?? [];
  header(w, {
    id: spec.id ?? 0x1234,
    flags: flags(spec),
    qd: spec.counts?.qd ?? questions.length,
    an: spec.counts?.an ?? answers.length,
    ns: spec.counts?.ns ?? authority.length,
    ar: spec.counts?.ar ?? 0,
  });
  for (const q of questions)
    w.name(q.name)
      .u16(q.type ?? T_A)
      .u16(C_IN);
  for (const rr of answers) w.record(rr);
  for (const rr of authority) w.record(rr);
  return w.toBuffer();
}

/**
 * DNS message parser for answers seen on the wire (RFC 1035 §4). Input is hostile: every
 * read is bounds-checked against the message range, compression pointers must point
 * strictly backwards and are capped, and counts must be plausible for the message size.
 * It never throws and never reads outside buf[offset, offset + length).
 */
import { wordsToIp } from "../net/ip-format.js";

export interface DnsRecord {
  /** Owner name, lower-case, without the trailing dot ("" for the root). */
  name: string;
  type: "A" | "AAAA" | "CNAME";
  /** Address text (canonical, RFC 5952 for IPv6) or, for CNAME, the target name. */
  data: string;
  /** Seconds; values with the top bit set count as 0 (RFC 2181 §8). */
  ttl: number;
}

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  truncated: boolean;
  questions: { name: string; type: number }[];
  /** Only IN-class A, AAAA and CNAME answers; other records are skipped. */
  answers: DnsRecord[];
}

export type DnsParseResult = { ok: true; message: DnsMessage } | { ok: false; error: string };

const HEADER_LEN = 12;
/** Smallest question: root name (1) + type + class. Smallest RR: root name (1) + 10 fixed bytes. */
const MIN_QUESTION_LEN = 5;
const MIN_RR_LEN = 11;
/** Honest names need a handful of jumps; the cap bounds work on crafted chains. */
const MAX_POINTER_JUMPS = 64;
const MAX_NAME_WIRE_LEN = 255;
/** Answers beyond this are ignored: enough for any real response, bounds allocation. */
export const MAX_ANSWERS = 256;
/** Questions beyond this are walked but not decoded (real messages carry one). */
const MAX_QUESTIONS_DECODED = 16;

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;

// readName reports failure as a negative code so the hot path allocates nothing.
const ERR_TRUNCATED = -1;
const ERR_TOO_LONG = -2;
const ERR_LABEL_01 = -3;
const ERR_LABEL_10 = -4;
const ERR_POINTER_RANGE = -5;
const ERR_POINTER_FORWARD = -6;
const ERR_LOOP = -7;

const NAME_ERRORS: Record<number, string> = {
  [ERR_TRUNCATED]: "truncated name",
  [ERR_TOO_LONG]: "name longer than 255 bytes",
  [ERR_LABEL_01]: "label length > 63 (label type 01)",
  [ERR_LABEL_10]: "reserved label type 10",
  [ERR_POINTER_RANGE]: "compression pointer out of range",
  [ERR_POINTER_FORWARD]: "compression pointer not pointing backwards",
  [ERR_LOOP]: "compression pointer loop (too many jumps)",
};

// A name of at most 255 wire bytes is at most 253 text bytes: one scratch buffer serves all.
const nameScratch = Buffer.alloc(256);
const v6Words = new Uint32Array(4);
/** Text of the name decoded by the last successful readName(…, decode = true). */
let lastName = "";

/**
 * Reads the name at message-relative `pos`. In-place bytes must lie before `limit` (the
 * end of the message or of an RDATA); after a jump the whole message is readable.
 * Returns the offset just after the in-place part of the name, or a negative ERR_*.
 */
function readName(
  buf: Buffer,
  base: number,
  len: number,
  pos: number,
  limit: number,
  decode: boolean,
): number {
  let p = pos;
  let end = -1;
  let jumps = 0;
  let wireLen = 1; // the terminating root label
  let out = 0;
  for (;;) {
    if (p >= limit) return ERR_TRUNCATED;
    const b = buf[base + p]!;
    const kind = b & 0xc0;
    if (kind === 0) {
      if (b === 0) {
        if (end < 0) end = p + 1;
        break;
      }
      wireLen += b + 1;
      if (wireLen > MAX_NAME_WIRE_LEN) return ERR_TOO_LONG;
      if (p + 1 + b > limit) return ERR_TRUNCATED;
      if (decode) {
        if (out > 0) nameScratch[out++] = 0x2e;
        const start = base + p + 1;
        for (let i = 0; i < b; i++) {
          const c = buf[start + i]!;
          // ASCII lower-casing only: DNS compares names case-insensitively in ASCII.
          nameScratch[out++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
        }
      }
      p += 1 + b;
    } else if (kind === 0xc0) {
      if (p + 2 > limit) return ERR_TRUNCATED;
      const target = ((b & 0x3f) << 8) | buf[base + p + 1]!;
      if (target >= len) return ERR_POINTER_RANGE;
      if (target >= p) return ERR_POINTER_FORWARD;
      // Backward-only pointers can still loop through labels that overlap a later pointer.
      if (++jumps > MAX_POINTER_JUMPS) return ERR_LOOP;
      if (end < 0) end = p + 2;
      p = target;
      limit = len;
    } else {
      return kind === 0x40 ? ERR_LABEL_01 : ERR_LABEL_10;
    }
  }
  if (decode) lastName = nameScratch.toString("latin1", 0, out);
  return end;
}

function fail(error: string): DnsParseResult {
  return { ok: false, error };
}

function u16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

function u32(buf: Buffer, at: number): number {
  return buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}

export function parseDnsMessage(buf: Buffer, offset: number, length: number): DnsParseResult {
  try {
    return parse(buf, offset, length);
  } catch (err) {
    // Not expected (all reads are checked), but the contract is "never throws".
    return fail(`internal error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parse(buf: Buffer, base: number, len: number): DnsParseResult {
  if (!Number.isSafeInteger(base) || !Number.isSafeInteger(len) || base < 0 || len < 0) {
    return fail("bad offset/length");
  }
  if (base + len > buf.length) return fail("range exceeds buffer");
  if (len < HEADER_LEN) return fail("truncated header");

  const id = u16(buf, base);
  const flags = u16(buf, base + 2);
  const qdcount = u16(buf, base + 4);
  const ancount = u16(buf, base + 6);
  const nscount = u16(buf, base + 8);
  const arcount = u16(buf, base + 10);
  if (qdcount * MIN_QUESTION_LEN + (ancount + nscount + arcount) * MIN_RR_LEN > len - HEADER_LEN) {
    return fail("record counts exceed message length");
  }

  const questions: { name: string; type: number }[] = [];
  let pos = HEADER_LEN;
  for (let i = 0; i < qdcount; i++) {
    const decode = i < MAX_QUESTIONS_DECODED;
    const end = readName(buf, base, len, pos, len, decode);
    if (end < 0) return fail(`question ${i}: ${NAME_ERRORS[end]}`);
    if (end + 4 > len) return fail(`question ${i}: truncated`);
    if (decode) questions.push({ name: lastName, type: u16(buf, base + end) });
    pos = end + 4;
  }

  const answers: DnsRecord[] = [];
  const n = Math.min(ancount, MAX_ANSWERS);
  for (let i = 0; i < n; i++) {
    const end = readName(buf, base, len, pos, len, true);
    if (end < 0) return fail(`answer ${i}: ${NAME_ERRORS[end]}`);
    const name = lastName;
    if (end + 10 > len) return fail(`answer ${i}: truncated record`);
    const at = base + end;
    const type = u16(buf, at);
    const cls = u16(buf, at + 2);
    const rawTtl = u32(buf, at + 4);
    const rdlength = u16(buf, at + 8);
    const rdStart = end + 10;
    const rdEnd = rdStart + rdlength;
    if (rdEnd > len) return fail(`answer ${i}: truncated rdata`);
    pos = rdEnd;
    // The top class bit is mDNS cache-flush; other classes (CH, HS) carry no addresses.
    if ((cls & 0x7fff) !== CLASS_IN) continue;
    const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
    const rd = base + rdStart;
    if (type === TYPE_A) {
      if (rdlength !== 4) return fail(`answer ${i}: A rdlength ${rdlength} != 4`);
      const data = `${buf[rd]!}.${buf[rd + 1]!}.${buf[rd + 2]!}.${buf[rd + 3]!}`;
      answers.push({ name, type: "A", data, ttl });
    } else if (type === TYPE_AAAA) {
      if (rdlength !== 16) return fail(`answer ${i}: AAAA rdlength ${rdlength} != 16`);
      for (let w = 0; w < 4; w++) v6Words[w] = u32(buf, rd + 4 * w);
      answers.push({ name, type: "AAAA", data: wordsToIp(v6Words, 6), ttl });
    } else if (type === TYPE_CNAME) {
      const targetEnd = readName(buf, base, len, rdStart, rdEnd, true);
      if (targetEnd < 0) return fail(`answer ${i}: CNAME target: ${NAME_ERRORS[targetEnd]}`);
      if (targetEnd !== rdEnd) return fail(`answer ${i}: CNAME rdlength does not match target name`);
      answers.push({ name, type: "CNAME", data: lastName, ttl });
    }
    // Any other type: skipped by its RDLENGTH above.
  }

  return {
    ok: true,
    message: {
      id,
      isResponse: (flags & 0x8000) !== 0,
      opcode: (flags >>> 11) & 0xf,
      rcode: flags & 0xf,
      truncated: (flags & 0x0200) !== 0,
      questions,
      answers,
    },
  };
}

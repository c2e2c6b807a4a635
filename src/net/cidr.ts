import { ipToWords, parseIpv4, wordsToIp } from "./ip-format.js";

/**
 * IP networks for policy: "192.0.2.0/24", "192.0.2.7" (= /32), "fd00::/8", "2001:db8::1" (= /128).
 *
 * Rules that matter to callers:
 * - IPv4 and IPv6 never mix: an IPv4 network never contains an IPv6 address and vice versa,
 *   and 0.0.0.0/0 is "every IPv4 address", ::/0 "every IPv6 address".
 * - One exception: an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
 *   reports for an IPv4 peer) is the IPv4 address a.b.c.d, so IPv4 networks contain it. It is
 *   still an IPv6 address too, so ::ffff:0:0/96 and ::/0 contain it as well.
 * - Host bits are masked off: "10.1.2.3/8" is 10.0.0.0/8 (as iptables does); `text` shows it.
 * - IPv4 octets with a leading zero ("010.0.0.1") are rejected: some tools read them as octal.
 */

/** Scratch words for parsing an address on the hot path (the process is single-threaded). */
const scratch = new Uint32Array(4);
const parseScratch = new Uint32Array(4);

/** Mask of the top `bits` bits of a 32-bit word (0 ≤ bits ≤ 32). */
function wordMask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d): the first 80 bits zero, then 16 ones. */
function isV4Mapped(w: ArrayLike<number>): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

export class Cidr {
  /** Network words 0–3 (host bits cleared) then mask words 4–7; IPv4 lives in word 3 / 7. */
  private readonly nm = new Uint32Array(8);
  private textCache: string | null = null;

  /** `words` is the four-word form from ipToWords (IPv4 in words[3]); host bits are masked off. */
  constructor(
    readonly version: 4 | 6,
    words: ArrayLike<number>,
    readonly prefix: number,
  ) {
    const max = version === 4 ? 32 : 128;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new RangeError(`prefix /${prefix} out of range for IPv${version}`);
    }
    const nm = this.nm;
    if (version === 4) {
      nm[7] = wordMask(prefix);
      nm[3] = (words[3] ?? 0) & nm[7]!;
    } else {
      for (let i = 0; i < 4; i++) {
        nm[4 + i] = wordMask(prefix - 32 * i);
        nm[i] = (words[i] ?? 0) & nm[4 + i]!;
      }
    }
  }

  /** Canonical text: "192.0.2.0/24", "fd00::/8"; a single address keeps its /32 or /128. */
  get text(): string {
    // Built on first use: a denylist parses a million of these and never prints most.
    this.textCache ??= `${wordsToIp(this.nm.subarray(0, 4), this.version)}/${this.prefix}`;
    return this.textCache;
  }

  /** Whether the address (any text form) is in this network; false for invalid text. */
  contains(ip: string): boolean {
    const v = ipToWords(ip, scratch);
    return v !== 0 && this.containsWords(scratch, v);
  }

  /** Same on the decoder's four-word form, with no parsing: the hot-path entry point. */
  containsWords(w: ArrayLike<number>, version: 4 | 6): boolean {
    const nm = this.nm;
    if (this.version === 4) {
      if (version === 6 && !isV4Mapped(w)) return false;
      return (w[3]! & nm[7]!) >>> 0 === nm[3];
    }
    if (version !== 6) return false;
    return (
      (w[0]! & nm[4]!) >>> 0 === nm[0] &&
      (w[1]! & nm[5]!) >>> 0 === nm[1] &&
      (w[2]! & nm[6]!) >>> 0 === nm[2] &&
      (w[3]! & nm[7]!) >>> 0 === nm[3]
    );
  }

  /** Network words (IPv4 in words[3]); a copy, so the Cidr stays immutable. */
  networkWords(): Uint32Array {
    return this.nm.slice(0, 4);
  }

  toString(): string {
    return this.text;
  }
}

/** Parses an address or a network; null when the text is not one. Surrounding spaces are ignored. */
export function parseCidr(text: string): Cidr | null {
  const t = text.trim();
  const slash = t.indexOf("/");
  const addr = slash < 0 ? t : t.slice(0, slash);
  const words = parseScratch;
  const version = ipToWords(addr, words);
  if (version === 0) return null;
  if (version === 4 && /(^|\.)0\d/.test(addr)) return null;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    // Plain decimal only: no sign, no leading zeros, no spaces.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return new Cidr(version, words, prefix);
}

/**
 * Many networks with lookups that do not scan them all: one hash set per distinct prefix length,
 * holding masked network keys, so a lookup costs one probe per distinct prefix length (at most
 * 33 for IPv4 and 129 for IPv6; a denylist usually has a handful). Keys, not Cidr objects, are
 * stored so a million-entry denylist stays small; match() builds the Cidr it returns.
 */
export class CidrSet {
  /** IPv4: prefix length → masked network numbers. */
  private readonly v4 = new Map<number, Set<number>>();
  /** IPv6: prefix length → masked network keys (see v6Key). */
  private readonly v6 = new Map<number, Set<string>>();
  /** Distinct prefix lengths, longest first, so the first hit is the most specific. */
  private v4Lengths: number[] = [];
  /** Per entry of v4Lengths: its set and mask, so a lookup does no Map probe or mask building. */
  private v4Sets: Set<number>[] = [];
  private v4Masks: number[] = [];
  private v6Lengths: number[] = [];
  private count = 0;

  constructor(cidrs: Iterable<Cidr> = []) {
    for (const c of cidrs) this.add(c);
  }

  /** Number of distinct networks held (duplicates are added once). */
  get size(): number {
    return this.count;
  }

  /** Adds a network; returns false when the same network was already there. */
  add(cidr: Cidr): boolean {
    const words = cidr.networkWords();
    let added: boolean;
    if (cidr.version === 4) {
      let nets = this.v4.get(cidr.prefix);
      if (nets === undefined) {
        nets = new Set();
        this.v4.set(cidr.prefix, nets);
        this.v4Lengths = [...this.v4.keys()].sort((a, b) => b - a);
        this.v4Sets = this.v4Lengths.map((len) => this.v4.get(len)!);
        this.v4Masks = this.v4Lengths.map(wordMask);
      }
      added = nets.size !== nets.add(words[3]!).size;
    } else {
      let nets = this.v6.get(cidr.prefix);
      if (nets === undefined) {
        nets = new Set();
        this.v6.set(cidr.prefix, nets);
        this.v6Lengths = [...this.v6.keys()].sort((a, b) => b - a);
      }
      added = nets.size !== nets.add(v6Key(words, cidr.prefix)).size;
    }
    if (added) this.count++;
    return added;
  }

  /** Whether any network contains the address (any text form); false for invalid text. */
  has(ip: string): boolean {
    // IPv4 text (nearly every check) goes straight to the prefix sets, without the word scratch.
    if (!ip.includes(":")) {
      const v4 = parseIpv4(ip);
      return v4 !== null && this.match4(v4) >= 0;
    }
    const v = ipToWords(ip, scratch);
    return v !== 0 && this.hasWords(scratch, v);
  }

  /** The most specific network containing the address, or null. */
  match(ip: string): Cidr | null {
    const v = ipToWords(ip, scratch);
    return v === 0 ? null : this.matchWords(scratch, v);
  }

  hasWords(w: ArrayLike<number>, version: 4 | 6): boolean {
    if (version === 4) return this.match4(w[3]!) >= 0;
    return this.match6(w) >= 0 || (isV4Mapped(w) && this.match4(w[3]!) >= 0);
  }

  /**
   * Most specific match on the four-word form. An IPv4-mapped address can match both an IPv4
   * network (a /p there is a /(96+p) in IPv6 terms) and an IPv6 one; the longer prefix wins.
   */
  matchWords(w: ArrayLike<number>, version: 4 | 6): Cidr | null {
    const p4 = version === 4 || isV4Mapped(w) ? this.match4(w[3]!) : -1;
    const p6 = version === 6 ? this.match6(w) : -1;
    if (p4 >= 0 && 96 + p4 >= p6) return new Cidr(4, w, p4);
    return p6 >= 0 ? new Cidr(6, w, p6) : null;
  }

  /** Every network, IPv4 first, each family from the longest prefix. */
  *[Symbol.iterator](): IterableIterator<Cidr> {
    for (const len of this.v4Lengths) {
      for (const net of this.v4.get(len)!) yield new Cidr(4, [0, 0, 0, net], len);
    }
    for (const len of this.v6Lengths) {
      for (const key of this.v6.get(len)!) yield new Cidr(6, v6Words(key), len);
    }
  }

  /** Longest IPv4 prefix length holding the address, or -1. */
  private match4(addr: number): number {
    const sets = this.v4Sets;
    const masks = this.v4Masks;
    for (let i = 0; i < sets.length; i++) {
      if (sets[i]!.has((addr & masks[i]!) >>> 0)) return this.v4Lengths[i]!;
    }
    return -1;
  }

  /** Longest IPv6 prefix length holding the address, or -1. */
  private match6(w: ArrayLike<number>): number {
    for (const len of this.v6Lengths) {
      if (this.v6.get(len)!.has(v6Key(w, len))) return len;
    }
    return -1;
  }
}

/** Set key of an IPv6 address masked to `len` bits; only the words the prefix touches are used. */
function v6Key(w: ArrayLike<number>, len: number): string {
  let key = "";
  for (let i = 0; i * 32 < len; i++) {
    key += `${((w[i]! & wordMask(len - 32 * i)) >>> 0).toString(36)}.`;
  }
  return key;
}

/** Back from a key to four words (untouched words are zero). */
function v6Words(key: string): number[] {
  const words = [0, 0, 0, 0];
  const parts = key.split(".");
  for (let i = 0; i < 4 && i < parts.length - 1; i++) words[i] = Number.parseInt(parts[i]!, 36);
  return words;
}

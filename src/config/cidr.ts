import { ipToWords, wordsToIp } from "../capture/ip-format.js";

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
  /** Canonical text: "192.0.2.0/24", "fd00::/8"; a single address keeps its /32 or /128. */
  readonly text: string;
  /** IPv4: network and mask as unsigned 32-bit numbers (words[3] of the four-word form). */
  private readonly net4: number;
  private readonly mask4: number;
  /** IPv6: four network words and four mask words. */
  private readonly net6: Uint32Array;
  private readonly mask6: Uint32Array;

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
    this.net6 = new Uint32Array(4);
    this.mask6 = new Uint32Array(4);
    if (version === 4) {
      this.mask4 = wordMask(prefix);
      this.net4 = ((words[3] ?? 0) & this.mask4) >>> 0;
      this.net6[3] = this.net4;
    } else {
      this.mask4 = 0;
      this.net4 = 0;
      for (let i = 0; i < 4; i++) {
        this.mask6[i] = wordMask(prefix - 32 * i);
        this.net6[i] = ((words[i] ?? 0) & this.mask6[i]!) >>> 0;
      }
    }
    this.text = `${wordsToIp(this.net6, version)}/${prefix}`;
  }

  /** Whether the address (any text form) is in this network; false for invalid text. */
  contains(ip: string): boolean {
    const v = ipToWords(ip, scratch);
    return v !== 0 && this.containsWords(scratch, v);
  }

  /** Same on the decoder's four-word form, with no parsing: the hot-path entry point. */
  containsWords(w: ArrayLike<number>, version: 4 | 6): boolean {
    if (this.version === 4) {
      if (version === 6 && !isV4Mapped(w)) return false;
      return (w[3]! & this.mask4) >>> 0 === this.net4;
    }
    if (version !== 6) return false;
    const m = this.mask6;
    const n = this.net6;
    return (
      (w[0]! & m[0]!) >>> 0 === n[0] &&
      (w[1]! & m[1]!) >>> 0 === n[1] &&
      (w[2]! & m[2]!) >>> 0 === n[2] &&
      (w[3]! & m[3]!) >>> 0 === n[3]
    );
  }

  /** Network words (IPv4 in words[3]); a copy, so the Cidr stays immutable. */
  networkWords(): Uint32Array {
    return this.net6.slice();
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
  const words = new Uint32Array(4);
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
 * Many networks with lookups that do not scan them all: one map per distinct prefix length,
 * keyed by the masked network, so a lookup costs one map probe per distinct prefix length
 * (at most 33 for IPv4 and 129 for IPv6; a denylist usually has a handful).
 */
export class CidrSet {
  /** IPv4: prefix length → masked network number → Cidr. */
  private readonly v4 = new Map<number, Map<number, Cidr>>();
  /** IPv6: prefix length → masked network key → Cidr. */
  private readonly v6 = new Map<number, Map<string, Cidr>>();
  /** Distinct prefix lengths, longest first, so the first hit is the most specific. */
  private v4Lengths: number[] = [];
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
    if (cidr.version === 4) {
      let byNet = this.v4.get(cidr.prefix);
      if (byNet === undefined) {
        byNet = new Map();
        this.v4.set(cidr.prefix, byNet);
        this.v4Lengths = [...this.v4.keys()].sort((a, b) => b - a);
      }
      const key = cidr.networkWords()[3]!;
      if (byNet.has(key)) return false;
      byNet.set(key, cidr);
    } else {
      let byNet = this.v6.get(cidr.prefix);
      if (byNet === undefined) {
        byNet = new Map();
        this.v6.set(cidr.prefix, byNet);
        this.v6Lengths = [...this.v6.keys()].sort((a, b) => b - a);
      }
      const key = v6Key(cidr.networkWords(), cidr.prefix);
      if (byNet.has(key)) return false;
      byNet.set(key, cidr);
    }
    this.count++;
    return true;
  }

  /** Whether any network contains the address (any text form); false for invalid text. */
  has(ip: string): boolean {
    return this.match(ip) !== null;
  }

  /** The most specific network containing the address, or null. */
  match(ip: string): Cidr | null {
    const v = ipToWords(ip, scratch);
    return v === 0 ? null : this.matchWords(scratch, v);
  }

  hasWords(w: ArrayLike<number>, version: 4 | 6): boolean {
    return this.matchWords(w, version) !== null;
  }

  /**
   * Most specific match on the four-word form. An IPv4-mapped address can match both an IPv4
   * network (a /p there is a /(96+p) in IPv6 terms) and an IPv6 one; the longer prefix wins.
   */
  matchWords(w: ArrayLike<number>, version: 4 | 6): Cidr | null {
    if (version === 4) return this.match4(w[3]!);
    const m6 = this.match6(w);
    if (!isV4Mapped(w)) return m6;
    const m4 = this.match4(w[3]!);
    if (m4 === null) return m6;
    return m6 === null || 96 + m4.prefix >= m6.prefix ? m4 : m6;
  }

  /** Every network, IPv4 first, each family from the longest prefix. */
  *[Symbol.iterator](): IterableIterator<Cidr> {
    for (const len of this.v4Lengths) yield* this.v4.get(len)!.values();
    for (const len of this.v6Lengths) yield* this.v6.get(len)!.values();
  }

  private match4(addr: number): Cidr | null {
    for (const len of this.v4Lengths) {
      const hit = this.v4.get(len)!.get((addr & wordMask(len)) >>> 0);
      if (hit !== undefined) return hit;
    }
    return null;
  }

  private match6(w: ArrayLike<number>): Cidr | null {
    for (const len of this.v6Lengths) {
      const hit = this.v6.get(len)!.get(v6Key(w, len));
      if (hit !== undefined) return hit;
    }
    return null;
  }
}

/** Map key of an IPv6 address masked to `len` bits; only the words the prefix touches are used. */
function v6Key(w: ArrayLike<number>, len: number): string {
  let key = "";
  for (let i = 0; i * 32 < len; i++) {
    key += `${((w[i]! & wordMask(len - 32 * i)) >>> 0).toString(36)}.`;
  }
  return key;
}

/** Turns the four-word address form used by the decoder into text and back. Off the hot path. */

export function wordsToIp(words: Uint32Array | readonly number[], version: number): string {
  if (version === 4) {
    const w = words[3]! >>> 0;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) {
    const w = words[i]! >>> 0;
    groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  }
  return compressIpv6(groups);
}

/** RFC 5952 text: the longest run of two or more zero groups becomes "::". */
function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(":");
  const head = groups.slice(0, bestStart).join(":");
  const tail = groups.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

/** Parses an IPv4 or IPv6 address into four words; returns the version, or 0 when invalid. */
export function ipToWords(ip: string, out: Uint32Array): 0 | 4 | 6 {
  out.fill(0);
  if (ip.includes(":")) return parseIpv6(ip, out) ? 6 : 0;
  const v4 = parseIpv4(ip);
  if (v4 === null) return 0;
  out[3] = v4;
  return 4;
}

/**
 * Dotted-quad IPv4 to a 32-bit number, or null: exactly four parts of 1–3 digits, each ≤ 255.
 * A character loop, not split + regex: the denylist check runs it on every connection attempt.
 */
export function parseIpv4(ip: string): number | null {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46; // a final "." closes the last part
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return null;
      part = part * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++parts > 4) return null;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  return parts === 4 ? value >>> 0 : null;
}

function parseIpv6(ip: string, out: Uint32Array): boolean {
  let text = ip;
  const zone = text.indexOf("%");
  if (zone >= 0) return false;
  const groups: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIpv4(tail);
    if (v4 === null) return false;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const parseHalf = (h: string): number[] | null => {
    if (h === "") return [];
    const out2: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out2.push(Number.parseInt(g, 16));
    }
    return out2;
  };
  const head = parseHalf(halves[0]!);
  const rest = halves.length === 2 ? parseHalf(halves[1]!) : [];
  if (head === null || rest === null) return false;
  if (halves.length === 1) {
    if (head.length !== 8) return false;
    groups.push(...head);
  } else {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return false;
    groups.push(...head, ...new Array<number>(missing).fill(0), ...rest);
  }
  for (let i = 0; i < 4; i++) out[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return true;
}

/** Canonical text form of an address (lower-case, compressed IPv6), or null when invalid. */
export function normalizeIp(ip: string): string | null {
  const words = new Uint32Array(4);
  const v = ipToWords(ip, words);
  return v === 0 ? null : wordsToIp(words, v);
}

import { parseDomain } from "../src/net/public-suffix.js";

/**
 * What dns-abuse reads from one asked name: its registrable domain (Public Suffix List through
 * tldts, private suffixes included, so each customer of a cloud or CDN suffix such as
 * s3.amazonaws.com or cloudfront.net is a domain of its own) and the shape of the labels left of
 * it. Names are hostile input (any byte, any length): nothing here throws.
 */

/** Qtypes that are lookups by design, whatever the cardinality: PTR (reverse), SRV (discovery). */
const QTYPE_PTR = 12;
const QTYPE_SRV = 33;
/** DNS caps a name at 253 characters; anything longer did not come from the parser. */
const MAX_NAME = 253;
/** Labels this long or longer carry data (tunnels fill labels towards the 63-byte limit). */
const LONG_LABEL = 40;
/** A label this long whose subdomain part has this entropy (bits per character) looks encoded. */
const ENCODED_LABEL = 20;
const ENCODED_ENTROPY = 3.5;

const TLDTS_OPTIONS = {
  allowPrivateDomains: true,
  extractHostname: false,
  validateHostname: false,
  detectIp: false,
  mixedInputs: false,
} as const;

export interface NameShape {
  /** Registrable domain ("example.com", "bucket.s3.amazonaws.com"). */
  domain: string;
  /** Characters left of the domain, dots excluded (0 when the name is the domain). */
  subLength: number;
  /** Longest label left of the domain. */
  longestLabel: number;
  /** Shannon entropy of those characters, bits per character (0 when none). */
  entropy: number;
  /** Long, or long enough and random-looking: evidence that the labels carry data. */
  encoded: boolean;
}

const counts = new Uint16Array(256);

/** Shannon entropy (bits per character) of s[0, end), over char codes (latin1 bytes from the parser). */
export function shannonEntropy(s: string, end = s.length): number {
  if (end <= 0) return 0;
  counts.fill(0);
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x2e) counts[c & 0xff]!++;
  }
  let n = 0;
  for (let c = 0; c < 256; c++) n += counts[c]!;
  let h = 0;
  for (let c = 0; c < 256; c++) {
    const k = counts[c]!;
    if (k > 0) h -= (k / n) * Math.log2(k / n);
  }
  return h;
}

/** "4.3.2.1" (DNSBL, reversed IPv4), "10-0-0-1" (nip.io style) or 8+ nibble labels (IPv6 reversed). */
function embedsAddress(labels: readonly string[], n: number): boolean {
  let numeric = 0;
  let nibbles = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (/^\d{1,3}$/.test(l)) numeric++;
    if (/^[0-9a-f]$/.test(l)) nibbles++;
    if (/^\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}$/.test(l)) return true;
  }
  return numeric >= 4 || nibbles >= 8;
}

/** Whether `name` is `suffix` or under it (both lower-case, no trailing dot). */
export function isUnder(name: string, suffix: string): boolean {
  return (
    name === suffix || (name.endsWith(suffix) && name.charCodeAt(name.length - suffix.length - 1) === 0x2e)
  );
}

/**
 * The shape of a name a container asked for, or null when it is none of dns-abuse's business:
 * reverse lookups (.arpa, PTR), service discovery and other underscore labels (SRV, _dmarc,
 * _domainkey, _acme-challenge), names under no public suffix (single labels, .local, .internal,
 * cluster.local: only the local resolver answers those), names that embed an IP address (DNSBL
 * queries, nip.io) and names under `ignored`.
 */
export function nameShape(qname: string, qtype: number, ignored: readonly string[]): NameShape | null {
  if (qtype === QTYPE_PTR || qtype === QTYPE_SRV) return null;
  const name = qname.endsWith(".") ? qname.slice(0, -1) : qname;
  if (name.length === 0 || name.length > MAX_NAME || isUnder(name, "arpa")) return null;
  if (name.startsWith("_") || name.includes("._")) return null;
  for (const s of ignored) if (isUnder(name, s)) return null;
  const parsed = parseDomain(name, TLDTS_OPTIONS);
  const domain = parsed.domain;
  if (domain === null || domain.length === 0 || (parsed.isIcann !== true && parsed.isPrivate !== true))
    return null;
  const subEnd = name.length - domain.length - 1;
  if (subEnd <= 0) return { domain, subLength: 0, longestLabel: 0, entropy: 0, encoded: false };
  const labels = name.slice(0, subEnd).split(".");
  if (embedsAddress(labels, labels.length)) return null;
  let longestLabel = 0;
  let subLength = 0;
  for (const l of labels) {
    subLength += l.length;
    if (l.length > longestLabel) longestLabel = l.length;
  }
  const entropy = shannonEntropy(name, subEnd);
  const encoded = longestLabel >= LONG_LABEL || (longestLabel >= ENCODED_LABEL && entropy >= ENCODED_ENTROPY);
  return { domain, subLength, longestLabel, entropy, encoded };
}

/** A 32-bit FNV-1a hash of a name: distinct names are counted by hash, not held as strings. */
export function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xffff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

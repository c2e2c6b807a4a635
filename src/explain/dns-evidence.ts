import type { DnsNameInfo } from "../flows/dns-cache.js";
import type { LedgerEntry } from "./connection-ledger.js";
import type { Evidence } from "./report.js";

/** "10:41:02Z" on `now`'s (UTC) day, else the full ISO time: the report is read next to its `at`. */
function clock(ms: number, now: number): string {
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11) : iso;
}

/** Why the cache still gives (or no longer gives) the name, in one phrase after "answer seen …". */
function keptText(n: DnsNameInfo, now: number): string {
  const t = (ms: number) => clock(ms, now);
  const answer = `answer seen ${t(n.seenAt)}, TTL ${n.ttlSeconds} s`;
  const byRetention = n.retained
    ? "it let a connection through, so each use of the address keeps it longer"
    : "an earlier answer lasts longer";
  if (n.answerExpiresAt > now)
    return n.expiresAt > n.answerExpiresAt
      ? `${answer}, expires ${t(n.answerExpiresAt)}; kept until ${t(n.expiresAt)}: ${byRetention}`
      : `${answer}, expires ${t(n.answerExpiresAt)}`;
  const expired = `${answer}, expired ${t(n.answerExpiresAt)}`;
  if (n.heldOpen) return `${expired}, kept while a connection to the address is open`;
  if (n.expiresAt > now) return `${expired}, kept until ${t(n.expiresAt)}: ${byRetention}`;
  return `${expired}: no longer live (kept in the cache until it is swept)`;
}

/**
 * The DNS names of the destination: the container's answers the engine's DNS cache holds (when each
 * was seen, its TTL and what keeps it), the name asked about, and names of earlier connections
 * whose answers the cache no longer holds.
 */
export function dnsEvidenceOf(
  ip: string | null,
  answers: readonly DnsNameInfo[],
  earlier: ReadonlyMap<string, LedgerEntry>,
  asked: string | null,
  now: number,
): Evidence[] {
  const out: Evidence[] = answers.map((n) => ({
    kind: "dns",
    source: "DNS cache",
    text: `${n.name} → ${ip ?? "?"}`,
    match: n.live ? "match" : "near",
    why: keptText(n, now),
    answer: {
      name: n.name,
      seenAt: n.seenAt,
      ttlSeconds: n.ttlSeconds,
      answerExpiresAt: n.answerExpiresAt,
      expiresAt: n.expiresAt,
      retained: n.retained,
      heldOpen: n.heldOpen,
    },
  }));
  if (asked !== null && !answers.some((n) => n.live && n.name === asked))
    out.push({
      kind: "dns",
      source: "question",
      text: asked,
      match: "match",
      why: "judged as if the container had just resolved it to this address",
    });
  for (const [name, e] of earlier)
    out.push({
      kind: "dns",
      source: "earlier connections",
      text: `${name} → ${e.ip}`,
      match: "near",
      why: "resolved to this address earlier; the DNS cache no longer holds that answer",
      seen: { first: e.firstSeen, last: e.lastSeen, count: e.attempts },
    });
  return out;
}

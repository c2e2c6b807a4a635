import { readFileSync } from "node:fs";
import { CidrSet, parseCidr } from "../net/cidr.js";
import { NetmonError } from "../util/errors.js";

/**
 * Denylist files: one IP address or CIDR per line; "#" starts a comment (whole line or trailing),
 * and so does ";" (the Spamhaus DROP format: "1.10.16.0/20 ; SBL256894"); blank lines, CRLF
 * line endings and a UTF-8 BOM are fine.
 *
 * A /0 entry is rejected: it would make every connection of that family "denylisted" (and, in
 * enforce mode, blocked) — far more likely a broken feed than an intent.
 */

export const MAX_DENYLIST_ENTRIES = 1_000_000;
/** Bad lines reported one by one; past this, one summary line (a garbage file must not flood the log). */
export const MAX_DENYLIST_ERRORS = 100;

export interface DenylistResult {
  set: CidrSet;
  /** "source:LINE: bad entry \"x\"", at most MAX_DENYLIST_ERRORS of them plus a summary. */
  errors: string[];
  /** Valid entry lines read (a repeated network counts each time; `set.size` counts it once). */
  entries: number;
}

export function parseDenylist(text: string, source: string): DenylistResult {
  const set = new CidrSet();
  const errors: string[] = [];
  let entries = 0;
  let bad = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    const semi = line.indexOf(";");
    if (semi >= 0) line = line.slice(0, semi);
    // trim() also drops the "\r" of CRLF endings.
    line = line.trim();
    if (line === "") continue;
    if (entries >= MAX_DENYLIST_ENTRIES) {
      errors.push(`${source}:${i + 1}: more than ${MAX_DENYLIST_ENTRIES} entries; the rest is ignored`);
      break;
    }
    const cidr = parseCidr(line);
    if (cidr === null || cidr.prefix === 0) {
      bad++;
      if (bad <= MAX_DENYLIST_ERRORS) {
        const why = cidr === null ? "" : " (a /0 would match every address)";
        errors.push(`${source}:${i + 1}: bad entry ${JSON.stringify(line)}${why}`);
      }
      continue;
    }
    set.add(cidr);
    entries++;
  }
  if (bad > MAX_DENYLIST_ERRORS) {
    errors.push(`${source}: ${bad - MAX_DENYLIST_ERRORS} more bad entries not shown`);
  }
  return { set, errors, entries };
}

/** Reads and parses a denylist file; throws an Error naming the path when it cannot be read. */
export function loadDenylist(path: string): DenylistResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new NetmonError(`${path}: cannot read the denylist file (${code})`, 2);
  }
  return parseDenylist(text, path);
}

import { createRequire } from "node:module";
import type * as Tldts from "tldts";

/**
 * tldts (the Public Suffix List as a trie, ~90 ms to load) on the first DNS name, not at import:
 * a replay without DNS, the short CLI commands and the daemon until its first lookup start without
 * it. tldts ships CommonJS, so a synchronous require serves the detectors' synchronous calls.
 */
const requireCjs = createRequire(import.meta.url);
let tldts: typeof Tldts | undefined;

/** tldts.parse, loaded on the first call. */
export function parseDomain(
  name: string,
  options: Parameters<typeof Tldts.parse>[1],
): ReturnType<typeof Tldts.parse> {
  tldts ??= requireCjs("tldts") as typeof Tldts;
  return tldts.parse(name, options);
}

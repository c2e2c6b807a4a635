/** Parsers of the firewall tools' text outputs (pure), for detection and the reconcile loop. */

/** One table of `iptables-save`: chain names, and each chain's rules in order ("-A CHAIN ..." lines). */
export interface SaveTable {
  chains: Set<string>;
  rules: Map<string, string[]>;
}

/**
 * The `*filter` table of an `iptables-save` / `ip6tables-save` output, or null when it has none
 * (iptables-legacy-save prints only the tables the kernel has loaded). Comments and counters are ignored.
 */
export function parseFilterTable(text: string): SaveTable | null {
  let inFilter = false;
  let found = false;
  const chains = new Set<string>();
  const rules = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("*")) {
      inFilter = line === "*filter";
      found ||= inFilter;
      continue;
    }
    if (!inFilter) continue;
    if (line === "COMMIT") {
      inFilter = false;
      continue;
    }
    const chain = /^:(\S+)/.exec(line);
    if (chain) {
      chains.add(chain[1]!);
      continue;
    }
    addRule(rules, line);
  }
  return found ? { chains, rules } : null;
}

/** The rules of `iptables -S CHAIN` (or a save output), by chain. */
export function parseRuleLines(text: string): Map<string, string[]> {
  const rules = new Map<string, string[]>();
  for (const raw of text.split("\n")) addRule(rules, raw.trim());
  return rules;
}

function addRule(rules: Map<string, string[]>, line: string): void {
  // Counters (`-c 0 0` or a leading `[0:0]`) vary from one save to the next.
  const m = /^(?:\[\d+:\d+\]\s+)?-A (\S+)(.*)$/.exec(line);
  if (!m) return;
  const text = `-A ${m[1]}${m[2]!.replace(/ -c \d+ \d+/, "")}`;
  const list = rules.get(m[1]!);
  if (list) list.push(text);
  else rules.set(m[1]!, [text]);
}

/** The tables of `nft list ruleset`, as "family name" (e.g. "ip docker-bridges", "inet firewalld"). */
export function parseNftTables(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^table (\S+) (\S+) \{/gm)) out.add(`${m[1]} ${m[2]}`);
  return out;
}

import { CHAIN, chainRules, PARENT } from "./commands.js";

/** What the reconcile loop found wrong with netmon's part of the firewall (the repair metric's label). */
export type RepairReason =
  | "jump-missing"
  | "jump-not-first"
  | "jump-duplicate"
  | "chain-missing"
  | "chain-changed"
  | "backend-changed";

const JUMP = `-A ${PARENT} -j ${CHAIN}`;

/**
 * Compares DOCKER-USER and NETMON (rules as `iptables -S` prints them; undefined: the chain does not
 * exist) with the layout netmon keeps (pure). Docker's restart or `firewall-cmd --reload` re-creates
 * DOCKER-USER without netmon's jump; a rule inserted at its top afterwards runs before netmon's.
 */
export function layoutProblems(
  dockerUser: readonly string[],
  netmon: readonly string[] | undefined,
  f: 4 | 6,
): RepairReason[] {
  const problems: RepairReason[] = [];
  if (netmon === undefined) problems.push("chain-missing");
  else if (!sameRules(netmon, chainRules(f))) problems.push("chain-changed");
  const jumps = dockerUser.filter((r) => r === JUMP).length;
  if (jumps === 0) problems.push("jump-missing");
  else if (dockerUser[0] !== JUMP) problems.push("jump-not-first");
  else if (jumps > 1) problems.push("jump-duplicate");
  return problems;
}

/**
 * What a NETMON rule does, robust to how iptables prints it back: its ipset matches (set and
 * flags, in order) and its target. A rule replaced in place (`iptables -R NETMON 5 -j ACCEPT`)
 * changes it even when the rule count stays the same.
 */
function ruleSignature(tokens: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === "--match-set") parts.push(`set ${tokens[i + 1]} ${tokens[i + 2]}`);
    if (tokens[i] === "-j") parts.push(`-j ${tokens[i + 1]}`);
  }
  return parts.join(" ");
}

export function sameRules(actual: readonly string[], expected: readonly (readonly string[])[]): boolean {
  if (actual.length !== expected.length) return false;
  return expected.every((rule, i) => ruleSignature(actual[i]!.split(/\s+/)) === ruleSignature(rule));
}

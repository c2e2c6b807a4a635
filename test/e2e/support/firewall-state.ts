import { execFileSync } from "node:child_process";

/** The filter tables (v4 and v6) without counters and comments, plus the ipset names: what must be restored exactly. */
export function firewallSnapshot(): string {
  const strip = (text: string) =>
    text
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ""))
      .join("\n");
  const v4 = execFileSync("iptables-save", ["-t", "filter"], { encoding: "utf8" });
  let v6 = "";
  try {
    v6 = execFileSync("ip6tables-save", ["-t", "filter"], { encoding: "utf8" });
  } catch {
    v6 = "(no ip6tables)";
  }
  const sets = execFileSync("ipset", ["list", "-n"], { encoding: "utf8" }).split("\n").sort().join(",");
  return `${strip(v4)}\n--- v6 ---\n${strip(v6)}\n--- sets ---\n${sets}`;
}

export function ipsetEntries(set: string): string[] {
  try {
    return execFileSync("ipset", ["list", set], { encoding: "utf8" })
      .split("Members:\n")[1]!
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function dockerUserJumps(): number {
  return execFileSync("iptables", ["-w", "-S", "DOCKER-USER"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l === "-A DOCKER-USER -j NETMON").length;
}

import type { BlockEntry } from "./types.js";

/**
 * Every command netmon runs on the firewall, as argument arrays (never a shell string), built in
 * one place so the iptables backend runs exactly what the dry-run backend prints.
 *
 * Layout: chain NETMON (filter table, IPv4 and IPv6), jumped to from the top of DOCKER-USER
 * (Docker evaluates DOCKER-USER before its own rules, including its ESTABLISHED accept, so open
 * connections are cut too). Blocks are entries with a kernel timeout in ipsets, so they expire
 * even if netmon dies:
 *   netmon-dst4/6   hash:ip,port,ip   container IP, proto:port, destination IP
 *   netmon-quar4/6  hash:ip           quarantined container IPs
 *   netmon-safe4/6  hash:net          the never-block list (quarantine still lets these through)
 */
export const CHAIN = "NETMON";
export const PARENT = "DOCKER-USER";

export type Argv = readonly [string, ...string[]];

const family = (f: 4 | 6) => (f === 4 ? "inet" : "inet6");
export const setName = (kind: "dst" | "quar" | "safe", f: 4 | 6) => `netmon-${kind}${f}`;
export const iptablesFor = (f: 4 | 6) => (f === 4 ? "iptables" : "ip6tables");

/** Creates the sets (idempotent with -exist). */
export function createSets(f: 4 | 6, defaultTimeout: number): Argv[] {
  return [
    [
      "ipset",
      "create",
      setName("dst", f),
      "hash:ip,port,ip",
      "family",
      family(f),
      "timeout",
      String(defaultTimeout),
      "-exist",
    ],
    [
      "ipset",
      "create",
      setName("quar", f),
      "hash:ip",
      "family",
      family(f),
      "timeout",
      String(defaultTimeout),
      "-exist",
    ],
    ["ipset", "create", setName("safe", f), "hash:net", "family", family(f), "-exist"],
  ];
}

/** The rules of chain NETMON, in order (as iptables -A arguments after the chain name). */
export function chainRules(f: 4 | 6): string[][] {
  const dst = setName("dst", f);
  const quar = setName("quar", f);
  const safe = setName("safe", f);
  return [
    // Outgoing packets to a blocked destination: TCP gets a reset so the client learns at once.
    [
      "-p",
      "tcp",
      "-m",
      "set",
      "--match-set",
      dst,
      "src,dst,dst",
      "-j",
      "REJECT",
      "--reject-with",
      "tcp-reset",
    ],
    ["-m", "set", "--match-set", dst, "src,dst,dst", "-j", "DROP"],
    // Replies from it: an open connection is cut in both directions.
    ["-m", "set", "--match-set", dst, "dst,src,src", "-j", "DROP"],
    // Quarantine: new egress of the container, except to the never-block list (gateway, DNS).
    ["-m", "set", "--match-set", quar, "src", "-m", "set", "--match-set", safe, "dst", "-j", "RETURN"],
    ["-m", "set", "--match-set", quar, "src", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"],
  ];
}

/** An iptables command; `bin` is the binary that reaches Docker's rules (see firewall-backend.ts). */
export function ipt(bin: string, ...args: string[]): Argv {
  return [bin, "-w", "5", ...args];
}

/** ipset's element syntax for an entry. */
export function element(e: BlockEntry): string {
  return e.scope === "destination" ? `${e.src},${e.proto}:${e.port},${e.dst}` : e.src;
}

export function addEntry(e: BlockEntry, timeoutSeconds: number): Argv {
  const set = setName(e.scope === "destination" ? "dst" : "quar", e.family);
  return [
    "ipset",
    "add",
    set,
    element(e),
    "timeout",
    String(Math.max(1, Math.round(timeoutSeconds))),
    "-exist",
  ];
}

export function delEntry(e: BlockEntry): Argv {
  return [
    "ipset",
    "del",
    setName(e.scope === "destination" ? "dst" : "quar", e.family),
    element(e),
    "-exist",
  ];
}

/** Closes what is already open between the two ends (conntrack), for destination blocks. */
export function conntrackDelete(e: BlockEntry): Argv | null {
  if (e.scope !== "destination") return null;
  return [
    "conntrack",
    "-D",
    "-f",
    e.family === 4 ? "ipv4" : "ipv6",
    "-s",
    e.src,
    "-d",
    e.dst,
    "-p",
    e.proto,
    "--dport",
    String(e.port),
  ];
}

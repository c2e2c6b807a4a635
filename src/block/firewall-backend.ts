import { parseFilterTable, parseNftTables, type SaveTable } from "./firewall-parse.js";

/**
 * Which firewall netmon can block in, decided from captured read-only outputs (pure: no I/O).
 * netmon's chain must hang off the DOCKER-USER chain that FORWARD really jumps to: iptables-nft
 * and iptables-legacy are two separate rule sets, Docker's nftables backend (Docker 29+) has no
 * DOCKER-USER at all, and a chain nothing jumps to sees no packet.
 */

export type Variant = "nft" | "legacy";
export type Family = 4 | 6;

/** What the read-only commands printed; null when the command is missing or failed. */
export interface FamilyProbe {
  /** `iptables -V` / `ip6tables -V`, e.g. "iptables v1.8.9 (nf_tables)". */
  version: string | null;
  /** `iptables-nft-save` / `ip6tables-nft-save`. */
  nftSave: string | null;
  /** `iptables-legacy-save` / `ip6tables-legacy-save`. */
  legacySave: string | null;
}

export interface FirewallProbe {
  4: FamilyProbe;
  6: FamilyProbe;
  /** `nft list ruleset` (null without the nft tool). */
  nftRuleset: string | null;
  /** `firewall-cmd --state`: "running", "not running", or null when firewalld is not installed. */
  firewalldState: string | null;
}

export type BackendName = "iptables-nft" | "iptables-legacy" | "docker-nftables" | "none";

/** Why blocking cannot work (the metric's label); "ok" when it can. */
export type BackendReason =
  | "ok"
  | "no-iptables"
  | "docker-nftables"
  | "docker-user-not-jumped"
  | "no-docker-user"
  | "setup-failed";

export interface BackendReport {
  backend: BackendName;
  ok: boolean;
  reason: BackendReason;
  /** One line: what was found and, when not ok, what to do. */
  message: string;
  /** The iptables binary that reaches Docker's DOCKER-USER, per family; null: no blocking there. */
  binaries: Record<Family, string | null>;
  firewalld: boolean;
  /** Worth a warning at start, never a refusal. */
  notes: string[];
}

/** The variant `iptables -V` names: "(nf_tables)" or "(legacy)"; before 1.8 there was only legacy. */
export function parseVariant(version: string | null): Variant | null {
  if (version === null || !/^ip6?tables v\d/m.test(version)) return null;
  if (version.includes("(nf_tables)")) return "nft";
  return "legacy";
}

export interface DockerUserView {
  /** Chain DOCKER-USER exists in the filter table. */
  exists: boolean;
  /** FORWARD jumps to it: packets cross it. */
  jumped: boolean;
}

export function dockerUserView(table: SaveTable | null): DockerUserView {
  if (table === null) return { exists: false, jumped: false };
  const forward = table.rules.get("FORWARD") ?? [];
  return {
    exists: table.chains.has("DOCKER-USER"),
    jumped: forward.some((r) => / -j DOCKER-USER$/.test(r)),
  };
}

const variantName = (v: Variant): BackendName => (v === "nft" ? "iptables-nft" : "iptables-legacy");

/** `iptables` when the default binary is that variant (what the operator types), else the explicit one. */
function binaryFor(f: Family, v: Variant, defaultVariant: Variant | null): string {
  const base = f === 4 ? "iptables" : "ip6tables";
  return v === defaultVariant ? base : `${base}-${v}`;
}

interface FamilyResult {
  variant: Variant | null;
  views: Record<Variant, DockerUserView>;
}

function familyResult(p: FamilyProbe, defaultVariant: Variant | null): FamilyResult {
  const views = {
    nft: dockerUserView(p.nftSave === null ? null : parseFilterTable(p.nftSave)),
    legacy: dockerUserView(p.legacySave === null ? null : parseFilterTable(p.legacySave)),
  };
  const live = (["nft", "legacy"] as const).filter((v) => views[v].exists && views[v].jumped);
  // Both live (a switch of variant left the old rules): the kernel runs both, Docker writes to the default.
  const variant = live.find((v) => v === defaultVariant) ?? live[0] ?? null;
  return { variant, views };
}

export function detectBackend(probe: FirewallProbe): BackendReport {
  const tables = probe.nftRuleset === null ? new Set<string>() : parseNftTables(probe.nftRuleset);
  const firewalld = probe.firewalldState?.trim() === "running" || tables.has("inet firewalld");
  const dockerNft = tables.has("ip docker-bridges");
  const defaultVariant = parseVariant(probe[4].version);
  const notes: string[] = [];
  const base = { firewalld, notes };
  const refuse = (backend: BackendName, reason: BackendReason, message: string): BackendReport => ({
    ...base,
    backend,
    ok: false,
    reason,
    message,
    binaries: { 4: null, 6: null },
  });
  const fix = "blocking is off until then; monitoring continues";
  if (defaultVariant === null && probe[4].nftSave === null && probe[4].legacySave === null) {
    if (dockerNft) return refuse("docker-nftables", "docker-nftables", dockerNftMessage(fix));
    return refuse(
      "none",
      "no-iptables",
      `iptables is not installed (or not runnable): install iptables, ipset and conntrack; ${fix}`,
    );
  }
  const v4 = familyResult(probe[4], defaultVariant);
  if (v4.variant === null) {
    if (dockerNft) return refuse("docker-nftables", "docker-nftables", dockerNftMessage(fix));
    const stale = (["nft", "legacy"] as const).find((v) => v4.views[v].exists);
    if (stale !== undefined)
      return refuse(
        variantName(stale),
        "docker-user-not-jumped",
        `chain DOCKER-USER exists in ${variantName(stale)} but FORWARD does not jump to it, so no packet crosses it: restart dockerd (it re-adds the jump); ${fix}`,
      );
    return refuse(
      "none",
      "no-docker-user",
      `no DOCKER-USER chain in iptables-nft or iptables-legacy: is dockerd running with its iptables firewall ("iptables": false in daemon.json turns it off)? ${fix}`,
    );
  }
  const chosen = v4.variant;
  if (defaultVariant !== null && chosen !== defaultVariant)
    notes.push(
      `Docker's rules are in ${variantName(chosen)} while \`iptables\` is ${variantName(defaultVariant)} (switched after dockerd started?): netmon uses ${binaryFor(4, chosen, defaultVariant)}`,
    );
  const other: Variant = chosen === "nft" ? "legacy" : "nft";
  if (v4.views[other].exists && v4.views[other].jumped)
    notes.push(
      `Docker's chains are in both iptables-nft and iptables-legacy (left over from a switch of variant): the kernel runs both; netmon uses ${variantName(chosen)}`,
    );
  if (dockerNft)
    notes.push(
      "Docker uses its nftables firewall backend, but a FORWARD -> DOCKER-USER jump left from its iptables backend remains: blocks work until the next reboot removes it",
    );
  if (firewalld)
    notes.push(
      "firewalld is running: `firewall-cmd --reload` can remove netmon's jump from DOCKER-USER; the reconcile loop restores it (blocking.reconcileSeconds)",
    );
  const v6Default = parseVariant(probe[6].version) ?? defaultVariant;
  const v6 = familyResult(probe[6], v6Default);
  if (v6.variant === null)
    notes.push(
      "ip6tables has no DOCKER-USER chain (Docker IPv6 firewalling off): IPv6 blocks are not possible",
    );
  return {
    ...base,
    backend: variantName(chosen),
    ok: true,
    reason: "ok",
    message: `blocking through ${variantName(chosen)} (DOCKER-USER is jumped to from FORWARD)`,
    binaries: {
      4: binaryFor(4, chosen, defaultVariant),
      6: v6.variant === null ? null : binaryFor(6, v6.variant, v6Default),
    },
  };
}

function dockerNftMessage(fix: string): string {
  return `Docker uses its nftables firewall backend (table ip docker-bridges, no DOCKER-USER chain): netmon blocks only through DOCKER-USER; set "firewall-backend": "iptables" in /etc/docker/daemon.json and restart dockerd, or use blocking.mode dry-run or off; ${fix}`;
}

import type { Runner } from "./exec.js";
import { type FamilyProbe, type FirewallProbe, parseVariant } from "./firewall-backend.js";

/**
 * Runs the read-only commands whose outputs detectBackend() reads (the thin I/O side of the
 * detection). Only `-save`, `-V` and `list`: nothing is changed, and iptables-legacy-save reads
 * only the tables the kernel already has (it loads no module).
 */
export function probeFirewall(run: Runner): FirewallProbe {
  const out = (...argv: [string, ...string[]]) => {
    const r = run(argv);
    return r.ok ? r.stdout : null;
  };
  const family = (base: "iptables" | "ip6tables"): FamilyProbe => {
    const version = out(base, "-V");
    const variant = parseVariant(version);
    // The default binary's save is the one Docker wrote to when it uses the same variant.
    const save = (v: "nft" | "legacy") => (variant === v ? out(`${base}-save`) : out(`${base}-${v}-save`));
    return { version, nftSave: save("nft"), legacySave: save("legacy") };
  };
  return {
    4: family("iptables"),
    6: family("ip6tables"),
    nftRuleset: out("nft", "list", "ruleset"),
    firewalldState: firewalldState(run),
  };
}

/** `firewall-cmd --state` prints "running", or "not running" with a non-zero exit. */
function firewalldState(run: Runner): string | null {
  const r = run(["firewall-cmd", "--state"]);
  if (r.ok) return r.stdout.trim();
  return /not running/.test(r.error) ? "not running" : null;
}

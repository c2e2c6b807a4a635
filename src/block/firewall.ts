import type { Cidr } from "../net/cidr.js";
import { normalizeIp } from "../net/ip-format.js";
import {
  type Argv,
  addEntry,
  CHAIN,
  chainRules,
  conntrackDelete,
  createSets,
  delEntry,
  ipt,
  iptablesFor,
  PARENT,
  setName,
} from "./commands.js";
import type { Runner } from "./exec.js";
import { sameRules } from "./firewall-layout.js";
import type { BlockEntry } from "./types.js";

export interface KernelEntry {
  entry: BlockEntry;
  /** Seconds left on the kernel timeout. */
  timeoutLeft: number;
}

export class FirewallError extends Error {
  override name = "FirewallError";
}

/**
 * netmon's own part of the firewall: chain NETMON, its jump from DOCKER-USER and the netmon-* sets.
 * Nothing else is ever touched. With a recording runner it is the dry-run backend.
 */
export class Firewall {
  /** Families whose DOCKER-USER chain exists (IPv6 only when Docker manages ip6tables). */
  private families: (4 | 6)[] = [];
  /** The iptables binary per family (null: no blocking there), as detected by firewall-backend.ts. */
  private bins: Record<4 | 6, string | null> = { 4: iptablesFor(4), 6: iptablesFor(6) };

  constructor(
    private readonly run: Runner,
    private readonly defaultTimeout = 3600,
  ) {}

  /** Uses these binaries from now on (iptables-legacy when Docker's rules are there, say). */
  use(binaries: Record<4 | 6, string | null>): void {
    this.bins = { ...binaries };
  }

  binaries(): Record<4 | 6, string | null> {
    return { ...this.bins };
  }

  /** The rules of one chain as `iptables -S` prints them, or undefined when it does not exist. */
  chain(f: 4 | 6, name: string): string[] | undefined {
    const bin = this.bins[f];
    if (bin === null) return undefined;
    const r = this.run(ipt(bin, "-S", name));
    if (!r.ok) return undefined;
    return r.stdout.split("\n").filter((l) => l.startsWith(`-A ${name} `) || l === `-A ${name}`);
  }

  /**
   * Puts netmon's jump back at the top of DOCKER-USER, once. Only netmon's own jump is ever deleted
   * (by its exact spec), then inserted at 1: between the two, for a few ms, no block applies.
   */
  moveJumpFirst(f: 4 | 6): void {
    const bin = this.bins[f];
    if (bin === null) return;
    for (let i = 0; i < 16 && this.run(ipt(bin, "-C", PARENT, "-j", CHAIN)).ok; i++)
      this.must(ipt(bin, "-D", PARENT, "-j", CHAIN));
    this.must(ipt(bin, "-I", PARENT, "1", "-j", CHAIN));
  }

  private must(argv: Argv): string {
    const r = this.run(argv);
    if (!r.ok) throw new FirewallError(`${argv.join(" ")}: ${r.error}`);
    return r.stdout;
  }

  /** Creates or repairs the layout (idempotent): sets, chain with its rules, one jump, the never-block set. */
  ensure(neverBlock: readonly Cidr[]): { families: (4 | 6)[]; skipped: string[] } {
    const skipped: string[] = [];
    // Assigned only once the whole layout is in place: a failed repair keeps what worked before.
    const families: (4 | 6)[] = [];
    for (const f of [4, 6] as const) {
      const bin = this.bins[f];
      const parent = bin === null ? null : this.run(ipt(bin, "-S", PARENT));
      if (bin === null || parent === null || !parent.ok) {
        if (f === 4) throw new FirewallError(`iptables chain ${PARENT} not found: is dockerd running?`);
        skipped.push(
          `ip6tables has no ${PARENT} chain (Docker IPv6 firewalling off): IPv6 blocks are not possible`,
        );
        continue;
      }
      for (const argv of createSets(f, this.defaultTimeout)) this.must(argv);
      const current = this.chain(f, CHAIN);
      if (current === undefined) this.must(ipt(bin, "-N", CHAIN));
      // The chain is wholly ours: rewritten when it differs, so an upgrade or a hand edit converges;
      // left alone when intact, so a repair of the jump never opens a window without the rules.
      if (current === undefined || !sameRules(current, chainRules(f))) {
        this.must(ipt(bin, "-F", CHAIN));
        for (const rule of chainRules(f)) this.must(ipt(bin, "-A", CHAIN, ...rule));
      }
      if (!this.run(ipt(bin, "-C", PARENT, "-j", CHAIN)).ok)
        this.must(ipt(bin, "-I", PARENT, "1", "-j", CHAIN));
      else if (jumpBelowTop(parent.stdout)) this.moveJumpFirst(f);
      // Filled aside and swapped in: the quarantine rule never sees an empty never-block set.
      const safe = setName("safe", f);
      const next = `${safe}-next`;
      this.must(["ipset", "create", next, "hash:net", "family", f === 4 ? "inet" : "inet6", "-exist"]);
      this.must(["ipset", "flush", next]);
      for (const c of neverBlock) if (c.version === f) this.must(["ipset", "add", next, c.text, "-exist"]);
      this.must(["ipset", "swap", next, safe]);
      this.must(["ipset", "destroy", next]);
      families.push(f);
    }
    this.families = families;
    return { families: [...families], skipped };
  }

  supports(f: 4 | 6): boolean {
    return this.families.includes(f);
  }

  /** Puts a block in the kernel, then closes what is already open between the two ends. */
  add(e: BlockEntry, timeoutSeconds: number): void {
    this.must(addEntry(e, timeoutSeconds));
    const ct = conntrackDelete(e);
    // No matching conntrack entry is not an error (exit 1): nothing was open.
    if (ct) this.run(ct);
  }

  remove(e: BlockEntry): void {
    this.must(delEntry(e));
  }

  /** What netmon's sets hold now (the kernel drops expired entries by itself). */
  list(): KernelEntry[] {
    const out: KernelEntry[] = [];
    for (const f of [4, 6] as const) {
      for (const kind of ["dst", "quar"] as const) {
        const r = this.run(["ipset", "save", setName(kind, f)]);
        if (!r.ok) continue;
        for (const line of r.stdout.split("\n")) {
          const parsed = parseSaveLine(line, kind, f);
          if (parsed) out.push(parsed);
        }
      }
    }
    return out;
  }

  /** Removes everything netmon added (jumps, chain, sets) and nothing else. */
  teardown(): string[] {
    const errors: string[] = [];
    const tryRun = (argv: Argv) => {
      const r = this.run(argv);
      if (!r.ok) errors.push(`${argv.join(" ")}: ${r.error}`);
    };
    for (const f of [4, 6] as const) {
      const bin = this.bins[f] ?? iptablesFor(f);
      if (!this.run(ipt(bin, "-S", CHAIN)).ok) continue;
      // Every jump netmon may have added, even duplicates from a crash mid-setup.
      for (let i = 0; i < 16 && this.run(ipt(bin, "-C", PARENT, "-j", CHAIN)).ok; i++)
        tryRun(ipt(bin, "-D", PARENT, "-j", CHAIN));
      tryRun(ipt(bin, "-F", CHAIN));
      tryRun(ipt(bin, "-X", CHAIN));
    }
    for (const f of [4, 6] as const) {
      // "-next": the never-block set being filled, left behind if netmon died in the middle.
      for (const name of [
        setName("dst", f),
        setName("quar", f),
        setName("safe", f),
        `${setName("safe", f)}-next`,
      ]) {
        if (this.run(["ipset", "list", "-n", name]).ok) tryRun(["ipset", "destroy", name]);
      }
    }
    return errors;
  }
}

/** netmon's jump is in DOCKER-USER (`iptables -S` text) but another rule runs before it. */
function jumpBelowTop(listing: string): boolean {
  const rules = listing.split("\n").filter((l) => l.startsWith(`-A ${PARENT} `));
  const jump = `-A ${PARENT} -j ${CHAIN}`;
  return rules.includes(jump) && rules[0] !== jump;
}

/** Parses `add netmon-dst4 172.18.0.2,tcp:443,203.0.113.7 timeout 57` back into an entry. */
export function parseSaveLine(line: string, kind: "dst" | "quar", f: 4 | 6): KernelEntry | null {
  const m = /^add (\S+) (\S+)(?: timeout (\d+))?/.exec(line.trim());
  if (!m || m[1] !== setName(kind, f)) return null;
  const timeoutLeft = Number(m[3] ?? 0);
  if (kind === "quar") {
    const src = normalizeIp(m[2]!);
    return src ? { entry: { scope: "container", family: f, src }, timeoutLeft } : null;
  }
  const parts = /^(.+),(tcp|udp):(\d+),(.+)$/.exec(m[2]!);
  if (!parts) return null;
  const src = normalizeIp(parts[1]!);
  const dst = normalizeIp(parts[4]!);
  if (!src || !dst) return null;
  return {
    entry: {
      scope: "destination",
      family: f,
      src,
      proto: parts[2] as "tcp" | "udp",
      port: Number(parts[3]),
      dst,
    },
    timeoutLeft,
  };
}

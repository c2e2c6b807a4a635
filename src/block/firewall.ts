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
  PARENT,
  setName,
} from "./commands.js";
import type { Runner } from "./exec.js";
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

  constructor(
    private readonly run: Runner,
    private readonly defaultTimeout = 3600,
  ) {}

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
      if (!this.run(ipt(f, "-S", PARENT)).ok) {
        if (f === 4) throw new FirewallError(`iptables chain ${PARENT} not found: is dockerd running?`);
        skipped.push(
          `ip6tables has no ${PARENT} chain (Docker IPv6 firewalling off): IPv6 blocks are not possible`,
        );
        continue;
      }
      for (const argv of createSets(f, this.defaultTimeout)) this.must(argv);
      if (!this.run(ipt(f, "-S", CHAIN)).ok) this.must(ipt(f, "-N", CHAIN));
      // The chain is wholly ours: rewrite it, so an upgrade or a hand edit converges.
      this.must(ipt(f, "-F", CHAIN));
      for (const rule of chainRules(f)) this.must(ipt(f, "-A", CHAIN, ...rule));
      if (!this.run(ipt(f, "-C", PARENT, "-j", CHAIN)).ok) this.must(ipt(f, "-I", PARENT, "1", "-j", CHAIN));
      const safe = setName("safe", f);
      this.must(["ipset", "flush", safe]);
      for (const c of neverBlock) if (c.version === f) this.must(["ipset", "add", safe, c.text, "-exist"]);
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
      if (!this.run(ipt(f, "-S", CHAIN)).ok) continue;
      // Every jump netmon may have added, even duplicates from a crash mid-setup.
      for (let i = 0; i < 16 && this.run(ipt(f, "-C", PARENT, "-j", CHAIN)).ok; i++)
        tryRun(ipt(f, "-D", PARENT, "-j", CHAIN));
      tryRun(ipt(f, "-F", CHAIN));
      tryRun(ipt(f, "-X", CHAIN));
    }
    for (const f of [4, 6] as const) {
      for (const kind of ["dst", "quar", "safe"] as const) {
        if (this.run(["ipset", "list", "-n", setName(kind, f)]).ok)
          tryRun(["ipset", "destroy", setName(kind, f)]);
      }
    }
    return errors;
  }
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

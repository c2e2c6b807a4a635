import type { Argv } from "../../src/block/commands.js";
import type { ExecResult, Runner } from "../../src/block/exec.js";

export type Family = 4 | 6;

/**
 * A pretend host: just enough iptables/ipset state to answer netmon's commands the way the real
 * tools do (exit status, `ipset save` text). Records every argv; nothing is ever executed.
 * `fail(argv)` returns an error text to make one command fail.
 */
export class FakeHost {
  readonly calls: Argv[] = [];
  readonly dockerUser: Record<Family, boolean>;
  readonly netmonChain: Record<Family, boolean> = { 4: false, 6: false };
  readonly rules: Record<Family, string[][]> = { 4: [], 6: [] };
  readonly jumps: Record<Family, number> = { 4: 0, 6: 0 };
  /** name → element → timeout (null: no timeout). */
  readonly sets = new Map<string, Map<string, number | null>>();
  fail: (argv: Argv) => string | null = () => null;

  constructor(o: { dockerUser4?: boolean; dockerUser6?: boolean } = {}) {
    this.dockerUser = { 4: o.dockerUser4 ?? true, 6: o.dockerUser6 ?? true };
  }

  readonly run: Runner = (argv) => {
    this.calls.push(argv);
    const err = this.fail(argv);
    if (err !== null) return bad(err);
    const [cmd, ...args] = argv;
    if (cmd === "iptables" || cmd === "ip6tables") return this.ipt(cmd === "iptables" ? 4 : 6, args);
    if (cmd === "ipset") return this.ipset(args);
    if (cmd === "conntrack") return bad("0 flow entries have been deleted.");
    return bad(`${cmd}: command not found`);
  };

  private ipt(f: Family, args: string[]): ExecResult {
    if (args[0] !== "-w" || args[1] !== "5") return bad("expected -w 5");
    const [op, chain, ...rest] = args.slice(2);
    const exists = (c: string | undefined) =>
      c === "DOCKER-USER" ? this.dockerUser[f] : c === "NETMON" ? this.netmonChain[f] : false;
    const isJump = chain === "DOCKER-USER" && rest.join(" ").endsWith("-j NETMON");
    switch (op) {
      case "-S": {
        if (!exists(chain)) return bad(`iptables: No chain/target/match by that name.`);
        const rules =
          chain === "NETMON" ? this.rules[f].map((r) => `-A NETMON ${r.join(" ")}\n`).join("") : "";
        return ok(`-N ${chain}\n${rules}`);
      }
      case "-N":
        if (exists(chain)) return bad("iptables: Chain already exists.");
        this.netmonChain[f] = true;
        return ok();
      case "-F":
        if (!exists(chain)) return bad("iptables: No chain/target/match by that name.");
        if (chain === "NETMON") this.rules[f] = [];
        return ok();
      case "-X":
        if (!this.netmonChain[f]) return bad("iptables: No chain/target/match by that name.");
        if (this.jumps[f] > 0 || this.rules[f].length > 0) return bad("iptables: Directory not empty.");
        this.netmonChain[f] = false;
        return ok();
      case "-A":
        if (!exists(chain)) return bad("iptables: No chain/target/match by that name.");
        this.rules[f].push(rest);
        return ok();
      case "-C":
        return isJump && this.jumps[f] > 0 ? ok() : bad("iptables: Bad rule (does a matching rule exist?).");
      case "-I":
        if (!isJump || !exists(chain) || !this.netmonChain[f]) return bad("iptables: No chain/target/match.");
        this.jumps[f]++;
        return ok();
      case "-D":
        if (!isJump || this.jumps[f] === 0) return bad("iptables: Bad rule (does a matching rule exist?).");
        this.jumps[f]--;
        return ok();
      default:
        return bad(`unexpected ${op}`);
    }
  }

  private ipset(args: string[]): ExecResult {
    const [op, name = "", ...rest] = args;
    const set = this.sets.get(name);
    const missing = bad(`ipset v7.17: The set with the given name does not exist`);
    switch (op) {
      case "create":
        if (!set) this.sets.set(name, new Map());
        return ok();
      case "flush":
        if (!set) return missing;
        set.clear();
        return ok();
      case "add": {
        if (!set) return missing;
        const t = rest.indexOf("timeout");
        set.set(rest[0]!, t < 0 ? null : Number(rest[t + 1]));
        return ok();
      }
      case "del":
        if (!set) return missing;
        set.delete(rest[0]!);
        return ok();
      case "save": {
        if (!set) return missing;
        const lines = [`create ${name} hash:ip family inet hashsize 1024 maxelem 65536 timeout 3600`];
        for (const [el, t] of set) lines.push(`add ${name} ${el}${t === null ? "" : ` timeout ${t}`}`);
        return ok(`${lines.join("\n")}\n`);
      }
      case "list":
        return set || this.sets.has(rest[0] ?? "") ? ok(`${rest[0] ?? name}\n`) : missing;
      case "swap": {
        const other = this.sets.get(rest[0] ?? "");
        if (!set || !other) return missing;
        this.sets.set(name, other);
        this.sets.set(rest[0]!, set);
        return ok();
      }
      case "destroy":
        if (!set) return missing;
        this.sets.delete(name);
        return ok();
      default:
        return bad(`unexpected ipset ${op}`);
    }
  }
}

/** A command that succeeded, printing `stdout`. */
export function ok(stdout = ""): ExecResult {
  return { ok: true, stdout, error: "" };
}

/** A command that failed with `error` on stderr. */
export function bad(error: string): ExecResult {
  return { ok: false, stdout: "", error };
}

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const PROFILE = new URL("../../config/apparmor/netmon", import.meta.url).pathname;
const TEXT = readFileSync(PROFILE, "utf8");

/** apparmor_parser from the apparmor package; in CI it must be there (.ci/run installs it). */
function findParser(): string | null {
  for (const p of ["/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"]) if (existsSync(p)) return p;
  try {
    return execFileSync("sh", ["-c", "command -v apparmor_parser"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

const PARSER = findParser();
if (PARSER === null && process.env.CI === "true") {
  throw new Error("apparmor_parser missing in CI: add apparmor to .ci/run's apt-get line");
}
if (PARSER === null) console.warn("skipping the apparmor_parser check: apt-get install -y apparmor");

/** Parses without loading into the kernel (-Q) and without the cache (-K): works on a kernel without AppArmor. */
function parse(file: string): { status: number | null; stderr: string } {
  const r = spawnSync(PARSER!, ["-Q", "-K", file], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

/** The rules of the profile body: one per line, comments and includes left out. */
const rules = TEXT.split("\n")
  .map((l) => l.trim())
  .filter((l) => l.endsWith(",") && !l.startsWith("#"));

describe("config/apparmor/netmon", () => {
  it.runIf(PARSER !== null)("parses with apparmor_parser -Q", () => {
    // The profile as shipped compiles; the kernel need not have AppArmor.
    const r = parse(PROFILE);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
  });

  it.runIf(PARSER !== null)("a broken copy fails to parse (the check is real)", () => {
    // A permission the grammar does not know.
    const dir = mkdtempSync(join(tmpdir(), "netmon-apparmor-"));
    const bad = join(dir, "netmon");
    writeFileSync(bad, TEXT.replace("/var/lib/netmon/** rwk,", "/var/lib/netmon/** rwkQ,"));
    expect(parse(bad).status).not.toBe(0);
  });

  it("defines the profile netmon, the name --security-opt apparmor=netmon loads", () => {
    // The name in the docs and in docker run.
    expect(TEXT).toMatch(/^profile netmon flags=\(attach_disconnected,mediate_deleted\) \{$/m);
  });

  it("writes only its state directory (plus the sockets and lock it must open)", () => {
    // Every rule granting w/a outside /var/lib/netmon is one of these few, and none is a wildcard.
    const allowedWrites = new Set([
      "/var/lib/netmon/",
      "/var/lib/netmon/**",
      "/var/run/docker.sock",
      "/run/docker.sock",
      "/run/xtables.lock",
      "/dev/null",
    ]);
    const writes = rules
      .filter((r) => !r.startsWith("deny ") && /^(\/|@\{PROC\})\S*\s+[a-zA-Z]+,$/.test(r))
      .map((r) => r.split(/\s+/) as [string, string])
      .filter(([, perms]) => /[wa]/.test(perms))
      .map(([path]) => path);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((p) => !allowedWrites.has(p))).toEqual([]);
  });

  it("reads its configuration only, and denies writing it", () => {
    // /etc/netmon is r, with an explicit deny of w.
    expect(rules).toContain("/etc/netmon/** r,");
    expect(rules).toContain("deny /etc/netmon/** wl,");
  });

  it("allows raw/packet capture and the network, and denies ptrace and mount", () => {
    // What capture needs; what it never needs.
    for (const r of [
      "network packet raw,",
      "network netlink raw,",
      "network inet stream,",
      "capability net_raw,",
      "deny ptrace,",
      "deny mount,",
      "deny umount,",
      "deny pivot_root,",
      "deny capability sys_admin,",
      "deny capability sys_ptrace,",
    ]) {
      expect(rules).toContain(r);
    }
    // Other pids' /proc: only their network tables.
    const otherPids = rules.filter((r) => r.startsWith("@{PROC}/[0-9]*/") && !r.startsWith("deny"));
    expect(otherPids.every((r) => /^@\{PROC\}\/\[0-9\]\*\/net\/(tcp|tcp6|udp|udp6) r,$/.test(r))).toBe(true);
  });
});

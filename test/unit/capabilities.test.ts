import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CAP_NET_ADMIN, CAP_NET_RAW, hasCapability } from "../../src/daemon/capabilities.js";

/** /proc/self/status as Linux prints it, with the capability lines given. */
function status(caps: { inh?: string; prm: string; eff: string; bnd?: string }): string {
  return [
    "Name:\tnode",
    "Umask:\t0022",
    "State:\tS (sleeping)",
    "Tgid:\t4242",
    "Pid:\t4242",
    "PPid:\t1",
    "Uid:\t0\t0\t0\t0",
    "Gid:\t0\t0\t0\t0",
    "Groups:\t0",
    "VmRSS:\t   51234 kB",
    "Threads:\t11",
    "SigCgt:\t0000000188004602",
    `CapInh:\t${caps.inh ?? "0000000000000000"}`,
    `CapPrm:\t${caps.prm}`,
    `CapEff:\t${caps.eff}`,
    `CapBnd:\t${caps.bnd ?? "000001ffffffffff"}`,
    "CapAmb:\t0000000000000000",
    "NoNewPrivs:\t0",
    "Seccomp:\t0",
    "Cpus_allowed_list:\t0-1",
    "",
  ].join("\n");
}

const ROOT = status({ prm: "000001ffffffffff", eff: "000001ffffffffff" });
const NONE = status({ prm: "0000000000000000", eff: "0000000000000000" });
const RAW_ONLY = status({ prm: "0000000000002000", eff: "0000000000002000" });

describe("hasCapability", () => {
  it("uses the Linux capability numbers", () => {
    expect(CAP_NET_ADMIN).toBe(12);
    expect(CAP_NET_RAW).toBe(13);
  });

  it("root holds NET_RAW, NET_ADMIN and every capability up to 40", () => {
    expect(hasCapability(CAP_NET_RAW, ROOT)).toBe(true);
    expect(hasCapability(CAP_NET_ADMIN, ROOT)).toBe(true);
    expect(hasCapability(0, ROOT)).toBe(true);
    expect(hasCapability(40, ROOT)).toBe(true);
    expect(hasCapability(41, ROOT)).toBe(false);
  });

  it("an unprivileged process holds nothing", () => {
    expect(hasCapability(CAP_NET_RAW, NONE)).toBe(false);
    expect(hasCapability(CAP_NET_ADMIN, NONE)).toBe(false);
    expect(hasCapability(0, NONE)).toBe(false);
  });

  it("only CAP_NET_RAW (0x2000): raw capture allowed, firewall changes not", () => {
    expect(hasCapability(CAP_NET_RAW, RAW_ONLY)).toBe(true);
    expect(hasCapability(CAP_NET_ADMIN, RAW_ONLY)).toBe(false);
    expect(hasCapability(14, RAW_ONLY)).toBe(false);
  });

  it("reads the effective set, not the permitted or bounding set", () => {
    const permittedOnly = status({ prm: "000001ffffffffff", eff: "0000000000000000" });
    expect(hasCapability(CAP_NET_RAW, permittedOnly)).toBe(false);
    const effectiveOnly = status({
      prm: "0000000000000000",
      eff: "0000000000001000",
      bnd: "0000000000000000",
    });
    expect(hasCapability(CAP_NET_ADMIN, effectiveOnly)).toBe(true);
    expect(hasCapability(CAP_NET_RAW, effectiveOnly)).toBe(false);
  });

  it("reads upper-case hex and bits above 32", () => {
    expect(hasCapability(CAP_NET_ADMIN, "CapEff:\t000000000000F000\n")).toBe(true);
    expect(hasCapability(38, "CapEff:\t0000004000000000\n")).toBe(true);
    expect(hasCapability(37, "CapEff:\t0000004000000000\n")).toBe(false);
  });

  it("text without a CapEff line means no capability", () => {
    expect(hasCapability(CAP_NET_RAW, "")).toBe(false);
    expect(hasCapability(CAP_NET_RAW, "Name:\tnode\nCapPrm:\t000001ffffffffff\n")).toBe(false);
    expect(hasCapability(CAP_NET_RAW, "CapEff:\tzzzz\n")).toBe(false);
  });

  it("without text, reads this process's /proc/self/status", () => {
    const own = readFileSync("/proc/self/status", "utf8");
    expect(hasCapability(CAP_NET_RAW)).toBe(hasCapability(CAP_NET_RAW, own));
    expect(hasCapability(CAP_NET_ADMIN)).toBe(hasCapability(CAP_NET_ADMIN, own));
  });
});

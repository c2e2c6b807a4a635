import { readFileSync } from "node:fs";

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
/** Reading another user's /proc/<pid>/fd (which process holds a socket) is a ptrace access check. */
export const CAP_SYS_PTRACE = 19;

/** Whether this process holds a Linux capability in its effective set (from /proc/self/status). */
export function hasCapability(cap: number, statusText?: string): boolean {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/status", "utf8");
    } catch {
      return false;
    }
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(text);
  if (!m) return false;
  return ((BigInt(`0x${m[1]}`) >> BigInt(cap)) & 1n) === 1n;
}

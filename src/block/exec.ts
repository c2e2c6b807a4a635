import { execFileSync } from "node:child_process";
import type { Argv } from "./commands.js";

export interface ExecResult {
  ok: boolean;
  stdout: string;
  /** stderr, or the spawn error (ENOENT when the tool is not installed). */
  error: string;
}

export type Runner = (argv: Argv) => ExecResult;

/**
 * Runs one firewall command synchronously: an argument array, never a shell. Synchronous on
 * purpose: the alert line that follows must say whether the block is in the kernel, and blocks
 * are rate-limited, so the event loop is held for a few ms at most. A timeout bounds the worst case.
 */
export const runCommand: Runner = (argv) => {
  const [cmd, ...args] = argv;
  try {
    const stdout = execFileSync(cmd, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 5000,
    });
    return { ok: true, stdout, error: "" };
  } catch (err) {
    const e = err as { stderr?: string; code?: string; message: string };
    const error = (e.stderr?.trim() || e.code || e.message).split("\n")[0] ?? "failed";
    return { ok: false, stdout: "", error };
  }
};

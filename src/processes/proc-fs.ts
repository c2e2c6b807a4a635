import { readdir, readFile, readlink } from "node:fs/promises";

/** The few /proc reads process attribution needs; rejects with a Node errno error (code ENOENT, EACCES…). */
export interface ProcFs {
  readFile(path: string): Promise<string>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
}

export const realProcFs: ProcFs = {
  readFile: (path) => readFile(path, "utf8"),
  readlink: (path) => readlink(path),
  readdir: (path) => readdir(path),
};

export function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? "EUNKNOWN";
}

/** EACCES/EPERM: the process exists but netmon may not look (CAP_SYS_PTRACE is missing). */
export function isPermissionError(err: unknown): boolean {
  const code = errnoOf(err);
  return code === "EACCES" || code === "EPERM";
}

import { constants } from "node:fs";
import { open, readdir, readFile, readlink } from "node:fs/promises";

/** The few /proc reads process attribution needs; rejects with a Node errno error (code ENOENT, EACCES…). */
export interface ProcFs {
  /** A kernel-made /proc file (comm, status, stat…). */
  readFile(path: string): Promise<string>;
  /**
   * A file a container controls (its /etc/passwd, through /proc/<pid>/root): a regular file only
   * (never a FIFO or a device that blocks or never ends), at most `maxBytes` of it.
   */
  readContainerFile(path: string, maxBytes: number): Promise<string>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
}

async function readRegularFileHead(path: string, maxBytes: number): Promise<string> {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW is not used because
  // /proc/<pid>/root is itself a link, and the kernel resolves it inside the container's root.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile())
      throw Object.assign(new Error("not a regular file"), { code: "EINVAL" });
    const buf = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buf, 0, maxBytes, 0);
    return buf.toString("utf8", 0, bytesRead);
  } finally {
    await handle.close();
  }
}

export const realProcFs: ProcFs = {
  readFile: (path) => readFile(path, "utf8"),
  readContainerFile: readRegularFileHead,
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

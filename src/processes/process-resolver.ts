import { isPermissionError, type ProcFs, realProcFs } from "./proc-fs.js";
import {
  type ProcessInfo,
  type ProcessUnknown,
  parseBootTime,
  parseCmdline,
  parseStartTicks,
  parseStatusUid,
  printable,
  startedAtIso,
  userNameOf,
} from "./process-info.js";

export type Attribution =
  | { process: ProcessInfo; processUnknown?: undefined }
  | { process: null; processUnknown: ProcessUnknown };

export interface ProcessResolverOptions {
  fs?: ProcFs;
  procRoot?: string;
  /** Bound on the pids looked at per lookup (a host with more is not searched further). */
  maxPids?: number;
  /** Bound on the file descriptors read per lookup. */
  maxFds?: number;
  /** Owners remembered by socket inode (re-checked with one readlink before use). */
  cacheSize?: number;
}

interface CachedOwner {
  /** "/proc/<pid>/fd/<n>": still `socket:[inode]` means the answer still holds. */
  fdPath: string;
  info: ProcessInfo;
}

/** Enough for any honest /etc/passwd; the file is the container's to make as large as it likes. */
const MAX_PASSWD_BYTES = 64 * 1024;

const DEFAULTS = { maxPids: 32_768, maxFds: 262_144, cacheSize: 4096 };

/**
 * Which process in a container holds a socket: the processes whose network namespace is the
 * container's, and among them the one with a `socket:[inode]` file descriptor. Never guesses:
 * when the socket is not held by a visible process it says why (`processUnknown`). When several
 * processes share the socket (a forking server) the lowest pid, normally the parent, is named.
 */
export class ProcessResolver {
  private readonly fs: ProcFs;
  private readonly root: string;
  private readonly maxPids: number;
  private readonly maxFds: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, CachedOwner>();
  private bootSeconds: number | null | undefined;
  /** Lookups by outcome since start (for the metrics). */
  readonly outcomes: Record<"found" | ProcessUnknown, number> = {
    found: 0,
    exited: 0,
    "not-found": 0,
    "no-permission": 0,
  };

  constructor(opts: ProcessResolverOptions = {}) {
    this.fs = opts.fs ?? realProcFs;
    this.root = opts.procRoot ?? "/proc";
    this.maxPids = opts.maxPids ?? DEFAULTS.maxPids;
    this.maxFds = opts.maxFds ?? DEFAULTS.maxFds;
    this.cacheSize = opts.cacheSize ?? DEFAULTS.cacheSize;
  }

  /** The holder of each socket inode in the network namespace of `containerPid`. */
  async owners(containerPid: number, inodes: readonly string[]): Promise<Map<string, Attribution>> {
    const result = new Map<string, Attribution>();
    const wanted = new Set<string>();
    for (const inode of inodes) {
      const cached = await this.fromCache(inode);
      if (cached) result.set(inode, { process: cached });
      else wanted.add(inode);
    }
    if (wanted.size > 0) await this.search(containerPid, wanted, result);
    for (const a of result.values()) this.outcomes[a.process ? "found" : a.processUnknown]++;
    return result;
  }

  private async fromCache(inode: string): Promise<ProcessInfo | null> {
    const hit = this.cache.get(inode);
    if (!hit) return null;
    try {
      if ((await this.fs.readlink(hit.fdPath)) === `socket:[${inode}]`) return hit.info;
    } catch {
      // The fd is gone: search again.
    }
    this.cache.delete(inode);
    return null;
  }

  private async search(containerPid: number, wanted: Set<string>, result: Map<string, Attribution>) {
    const unknown = (why: ProcessUnknown) => {
      for (const inode of wanted) result.set(inode, { process: null, processUnknown: why });
    };
    let netns: string;
    try {
      netns = await this.fs.readlink(`${this.root}/${containerPid}/ns/net`);
    } catch (err) {
      return unknown(isPermissionError(err) ? "no-permission" : "exited");
    }
    let denied = false;
    let fdsRead = 0;
    const holders = new Map<string, { pid: number; fdPath: string }>();
    for (const pid of await this.pids()) {
      if (holders.size === wanted.size || fdsRead >= this.maxFds) break;
      const dir = `${this.root}/${pid}`;
      try {
        if ((await this.fs.readlink(`${dir}/ns/net`)) !== netns) continue;
        for (const fd of await this.fs.readdir(`${dir}/fd`)) {
          if (++fdsRead > this.maxFds) break;
          const fdPath = `${dir}/fd/${fd}`;
          const target = await this.fs.readlink(fdPath).catch(() => "");
          const inode = target.startsWith("socket:[") ? target.slice(8, -1) : "";
          // Lowest pid first (pids() is sorted), so a forked server's parent is kept.
          if (wanted.has(inode) && !holders.has(inode)) holders.set(inode, { pid, fdPath });
        }
      } catch (err) {
        if (isPermissionError(err)) denied = true;
        // ENOENT: the process exited while we looked.
      }
    }
    for (const inode of wanted) {
      const holder = holders.get(inode);
      if (!holder) {
        result.set(inode, { process: null, processUnknown: denied ? "no-permission" : "not-found" });
        continue;
      }
      const info = await this.info(holder.pid);
      if (typeof info === "string") {
        result.set(inode, { process: null, processUnknown: info });
        continue;
      }
      this.remember(inode, { fdPath: holder.fdPath, info });
      result.set(inode, { process: info });
    }
  }

  private async pids(): Promise<number[]> {
    const pids: number[] = [];
    for (const name of await this.fs.readdir(this.root)) {
      const pid = Number(name);
      if (Number.isSafeInteger(pid) && pid > 0) pids.push(pid);
      if (pids.length >= this.maxPids) break;
    }
    return pids.sort((a, b) => a - b);
  }

  /** comm, cmdline, user and start time of a pid, or why they cannot be read. */
  private async info(pid: number): Promise<ProcessInfo | ProcessUnknown> {
    const dir = `${this.root}/${pid}`;
    try {
      const [comm, cmdline, status, stat] = await Promise.all([
        this.fs.readFile(`${dir}/comm`),
        this.fs.readFile(`${dir}/cmdline`),
        this.fs.readFile(`${dir}/status`),
        this.fs.readFile(`${dir}/stat`),
      ]);
      const uid = parseStatusUid(status) ?? -1;
      // The holder's own root: with a shared or host network namespace it may not be the container's.
      const passwd = await this.fs
        .readContainerFile(`${dir}/root/etc/passwd`, MAX_PASSWD_BYTES)
        .catch(() => null);
      return {
        pid,
        comm: printable(comm.trim()),
        cmdline: parseCmdline(cmdline),
        uid,
        user: uid < 0 ? "unknown" : userNameOf(passwd, uid),
        startedAt: startedAtIso(await this.bootTime(), parseStartTicks(stat)),
      };
    } catch (err) {
      return isPermissionError(err) ? "no-permission" : "exited";
    }
  }

  private async bootTime(): Promise<number | null> {
    if (this.bootSeconds === undefined) {
      this.bootSeconds = await this.fs
        .readFile(`${this.root}/stat`)
        .then(parseBootTime)
        .catch(() => null);
    }
    return this.bootSeconds;
  }

  private remember(inode: string, owner: CachedOwner): void {
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(inode, owner);
  }
}

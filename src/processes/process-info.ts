/** Who a socket belongs to, as alert lines show it. */
export interface ProcessInfo {
  pid: number;
  /** /proc/<pid>/comm: the kernel's 15-character name of the program. */
  comm: string;
  /** /proc/<pid>/cmdline with NULs as spaces, at most MAX_CMDLINE characters. */
  cmdline: string;
  /** The user name from the container's /etc/passwd, else the uid as text. */
  user: string;
  uid: number;
  /** ISO time the process started (boot time + its start ticks), or null when unknown. */
  startedAt: string | null;
}

/** Why there is no process: the socket is gone, nobody in the container holds it, or netmon may not look. */
export type ProcessUnknown = "exited" | "not-found" | "no-permission";

export const MAX_CMDLINE = 512;
/** Longer than any real user name (Linux allows 32): a longer one is shown as its uid. */
const MAX_USER = 32;
/**
 * USER_HZ: /proc/<pid>/stat counts start time in clock ticks of 1/100 s on every Linux
 * architecture netmon runs on (the kernel fixes USER_HZ at 100 for the user ABI).
 */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Text a process sets itself (argv, comm) or its container does (/etc/passwd): control characters
 * become "?" so it can never forge a line of an alert's description or log.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?");
}

export function parseCmdline(raw: string): string {
  const text = printable(raw.replace(/\0+$/, "").replace(/\0/g, " "));
  return text.length > MAX_CMDLINE ? `${text.slice(0, MAX_CMDLINE - 1)}…` : text;
}

/** The real uid: the first number of the "Uid:" line of /proc/<pid>/status; null when absent. */
export function parseStatusUid(status: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

/**
 * Start time in ticks after boot: field 22 of /proc/<pid>/stat. The comm (field 2) may hold
 * spaces and parentheses, so fields are counted after its last ")".
 */
export function parseStartTicks(stat: string): number | null {
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  // After ") " come fields 3 (state) onwards: field 22 is the 20th of them.
  const fields = stat.slice(close + 2).split(" ");
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) && ticks >= 0 ? ticks : null;
}

/** btime (boot time, seconds since the epoch) from /proc/stat. */
export function parseBootTime(procStat: string): number | null {
  const m = /^btime\s+(\d+)$/m.exec(procStat);
  return m ? Number(m[1]) : null;
}

export function startedAtIso(bootSeconds: number | null, startTicks: number | null): string | null {
  if (bootSeconds === null || startTicks === null) return null;
  return new Date(bootSeconds * 1000 + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND).toISOString();
}

/** uid → name from an /etc/passwd text (the container's own, since its users are not the host's). */
export function userNameOf(passwd: string | null, uid: number): string {
  if (passwd !== null) {
    for (const line of passwd.split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id !== undefined && Number(id) === uid && /^\d+$/.test(id)) {
        return name.length > MAX_USER ? String(uid) : printable(name);
      }
    }
  }
  return String(uid);
}

/** "nc (pid 120, user app): nc -l -p 4444": the holder as an alert's text names it. */
export function processText(p: ProcessInfo): string {
  return `${p.comm} (pid ${p.pid}, user ${p.user}): ${p.cmdline}`;
}

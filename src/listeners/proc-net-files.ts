/**
 * Reads a process's /proc/<pid>/net tables, the way every reader of them needs it: a missing IPv6
 * table (IPv6 disabled in the namespace) is an empty one; a missing IPv4 table means the process
 * is gone (the container exited); any other failure is reported, with no partial result.
 */
import type { ProcNetFile } from "./proc-net-parser.js";

/** Containers read at the same time: bounds open file descriptors on hosts with hundreds of containers. */
export const PROC_READ_CONCURRENCY = 8;

export type ReadTextFile = (path: string) => Promise<string>;

export type NetTablesOutcome =
  | { kind: "failed"; problems: string[] }
  /** The texts in the order of the files asked for ("" for a missing IPv6 table). */
  | { kind: "read"; texts: string[] };

export async function readNetTables(
  readFile: ReadTextFile,
  procRoot: string,
  pid: number,
  files: readonly ProcNetFile[],
): Promise<NetTablesOutcome> {
  const dir = `${procRoot}/${pid}/net`;
  const results = await Promise.all(
    files.map((f) =>
      Promise.resolve()
        .then(() => readFile(`${dir}/${f}`))
        .then(
          (text) => ({ ok: true as const, text }),
          (err: unknown) => ({ ok: false as const, err }),
        ),
    ),
  );

  const failures: string[] = [];
  let gone = false;
  const texts = results.map((r, i) => {
    if (r.ok) return r.text;
    const file = files[i]!;
    const code = errnoCode(r.err);
    const ipv6 = file === "tcp6" || file === "udp6";
    if (code === "ENOENT" && ipv6) return ""; // IPv6 disabled in this namespace
    if ((code === "ENOENT" || code === "ESRCH") && !ipv6) gone = true;
    else failures.push(`net/${file}: ${errorMessage(r.err)}`);
    return "";
  });
  if (gone) return { kind: "failed", problems: [`process ${pid} not found (container exited?)`] };
  if (failures.length > 0) return { kind: "failed", problems: failures };
  return { kind: "read", texts };
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

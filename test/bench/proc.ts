/** Child processes for the benchmark: run to completion with a deadline, or keep running. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";

export const NODE = process.execPath;
export const DIST = new URL("../../", import.meta.url).pathname;
/** What ships (package.json `bin`): the bundle `npm run build` writes. */
export const CLI = `${DIST}bundle/netmon.js`;
export const BENCH = `${DIST}test/bench/`;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** Runs a command to completion (bounded by timeoutMs) and times it with the monotonic clock. */
export function run(cmd: string, args: string[], timeoutMs = 120_000): RunResult {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", wallMs };
}

export function runOk(cmd: string, args: string[], timeoutMs = 120_000): RunResult {
  const r = run(cmd, args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).slice(0, 2000)}`);
  }
  return r;
}

/** The last stdout line parsed as JSON (workers print one result line). */
export function lastJson<T>(r: RunResult): T {
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "null") as T;
}

/** A background process we started; stop() ends it (SIGTERM, then SIGKILL) by its pid only. */
export class Background {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(cmd: string, args: string[], opts: { keepStdout?: boolean } = {}) {
    this.child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const keep = (into: string[]) => (c: Buffer) => {
      into.push(c.toString());
      if (into.length > 400) into.shift();
    };
    if (opts.keepStdout !== false) this.child.stdout?.on("data", keep(this.stdout));
    else this.child.stdout?.resume();
    this.child.stderr?.on("data", keep(this.stderr));
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  async stop(graceMs = 5000): Promise<number | null> {
    if (this.running) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async wait(timeoutMs: number): Promise<number | null> {
    const timer = setTimeout(() => this.signal("SIGKILL"), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** A `netmon run` child for the live parts: JSON log lines with arrival time, /metrics, /readyz, CPU. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { CLI, NODE } from "./proc.js";
import { sleep } from "./stats.js";

export interface LogLine {
  msg: string;
  /** Date.now() when this process read the line. */
  receivedAt: number;
  [key: string]: unknown;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Sum of the samples of a metric whose labels contain every given pair. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || line.startsWith("#")) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const close = rest.indexOf("}");
    const labelText = rest[0] === "{" ? rest.slice(1, close) : "";
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    const value = Number(
      rest
        .slice(rest[0] === "{" ? close + 1 : 0)
        .trim()
        .split(" ")[0],
    );
    if (Number.isFinite(value)) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

/** utime + stime of a process in seconds (from /proc/PID/stat; clock ticks assumed 100/s). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** RSS split: anonymous (JS heap, native allocations) and file-backed (node binary, libraries, pcap ring). */
export function rssDetail(pid: number): { rssMb: number; anonMb: number; fileMb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string): number =>
      Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb("VmRSS") / 1024, anonMb: kb("RssAnon") / 1024, fileMb: kb("RssFile") / 1024 };
  } catch {
    return { rssMb: Number.NaN, anonMb: Number.NaN, fileMb: Number.NaN };
  }
}

export class NetmonDaemon {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  startedAt = 0;

  constructor(
    readonly configPath: string,
    readonly httpPort: number,
    private readonly keep: (l: LogLine) => boolean = () => true,
  ) {}

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  start(): void {
    this.startedAt = Date.now();
    const child = spawn(NODE, [CLI, "run", "--config", this.configPath], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const receivedAt = Date.now();
      try {
        const l = { ...(JSON.parse(line) as object), receivedAt } as LogLine;
        if (this.keep(l)) this.lines.push(l);
      } catch {
        this.stderr.push(`(stdout) ${line}`);
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 200) this.stderr.shift();
    });
  }

  async metrics(): Promise<string> {
    const r = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`);
    return r.text();
  }

  async ready(): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${this.httpPort}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }

  async waitFor(pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline || this.child?.exitCode != null) {
        throw new Error(
          `netmon: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-10).join("\n")}`,
        );
      }
      await sleep(20);
    }
  }

  async waitReady(timeoutMs: number, pollMs = 10): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.ready()) return Date.now();
      if (Date.now() > deadline || this.child?.exitCode != null) {
        throw new Error(
          `netmon not ready within ${timeoutMs} ms; stderr: ${this.stderr.slice(-10).join("\n")}`,
        );
      }
      await sleep(pollMs);
    }
  }

  async stop(): Promise<number | null> {
    const child = this.child;
    if (child === null) return null;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 8000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

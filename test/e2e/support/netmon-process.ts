import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CLI } from "./docker.js";

export interface LogLine {
  msg: string;
  level: string;
  /** When this test process read the line (ms since the epoch). */
  receivedAt: number;
  [key: string]: unknown;
}

let portCounter = 0;

/** A `netmon run` child process whose JSON log lines are collected for assertions. */
export class NetmonProcess {
  readonly lines: LogLine[] = [];
  /** The port of its /metrics, /healthz and /readyz endpoint. */
  httpPort = 0;
  /** The config file it was started with. */
  configPath = "";
  readonly stderr: string[] = [];
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> | null = null;

  constructor(
    private readonly configYaml: string,
    private readonly args: string[] = ["--log-events"],
  ) {}

  start(): void {
    const dir = mkdtempSync(join(tmpdir(), "netmon-e2e-"));
    const configPath = join(dir, "netmon.yaml");
    this.configPath = configPath;
    // Each run gets its own metrics port, so a daemon left running elsewhere never collides.
    this.httpPort = 20_000 + ((process.pid * 7 + portCounter++) % 20_000);
    const http =
      this.configYaml.includes("\nhttp:") || this.configYaml.startsWith("http:")
        ? ""
        : `\nhttp:\n  port: ${this.httpPort}\n`;
    writeFileSync(configPath, `${this.configYaml}${http}`);
    const child = spawn(process.execPath, [CLI, "run", "--config", configPath, ...this.args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        this.lines.push({ ...(JSON.parse(line) as object), receivedAt: Date.now() } as LogLine);
      } catch {
        this.stderr.push(`(stdout, not JSON) ${line}`);
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => this.stderr.push(line));
  }

  /** Waits until a log line matches, or fails with what was logged. */
  async waitFor(pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        const tail = this.lines.slice(-15).map((l) => JSON.stringify(l).slice(0, 300));
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}\nstderr: ${this.stderr.join("\n")}\nlast lines:\n${tail.join("\n")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a real signal to the daemon. */
  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  /** Resolves with the exit code when the process exits (null if it never started). */
  waitExit(): Promise<number | null> {
    return this.exited ?? Promise.resolve(null);
  }

  /** SIGKILL: no clean-up at all, as after a crash. */
  kill(): void {
    this.child?.kill("SIGKILL");
  }

  async stop(): Promise<number | null> {
    if (!this.child || !this.exited) return null;
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), 5000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

interface EventEndpoint {
  ip: string;
  port: number;
  container: { name: string } | null;
}

export interface ConnectionLine extends LogLine {
  event: {
    ts: string;
    proto: string;
    state: string;
    src: EventEndpoint;
    dst: EventEndpoint;
    durationMs?: number;
  };
}

export function isConnection(l: LogLine): l is ConnectionLine {
  return l.msg === "connection";
}

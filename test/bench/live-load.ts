/** Runs several bounded generator processes at once and sums what they achieved. */
import { Background } from "./proc.js";

export interface StepLoad {
  /** Connections or datagrams per second over the step, all generators together. */
  achieved: number;
  seconds: number;
  started: number;
  errors: number;
}

interface GeneratorResult {
  started?: number;
  sent?: number;
  errors?: number;
  seconds?: number;
}

export function loadgenArgs(
  kind: "tcp" | "udp",
  dst: string,
  ratePerProcess: number,
  seconds: number,
  ports: { tcpPort: number; tcpPorts: number; udpPort: number },
): (string | number)[] {
  const rate = Math.max(1, Math.round(ratePerProcess));
  return kind === "tcp"
    ? ["tcp-client", dst, ports.tcpPort, ports.tcpPorts, rate, seconds]
    : ["udp-flood", dst, ports.udpPort, rate, seconds, 64];
}

export async function startLoad(argvs: [string, string[]][], timeoutMs: number): Promise<StepLoad> {
  const procs = argvs.map(([cmd, args]) => new Background(cmd, args));
  await Promise.all(procs.map((p) => p.wait(timeoutMs)));
  let started = 0;
  let errors = 0;
  let seconds = 0;
  for (const p of procs) {
    const text = p.stdout.join("").trim().split("\n").pop() ?? "";
    let r: GeneratorResult = {};
    try {
      r = JSON.parse(text) as GeneratorResult;
    } catch {
      throw new Error(`load generator failed: ${p.stderr.join("").slice(0, 500) || text}`);
    }
    started += r.started ?? r.sent ?? 0;
    errors += r.errors ?? 0;
    seconds = Math.max(seconds, r.seconds ?? 0);
  }
  return { achieved: seconds > 0 ? started / seconds : 0, seconds, started, errors };
}

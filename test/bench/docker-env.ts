/**
 * Docker objects for the live parts of the benchmark. Every network is --internal, on
 * 198.18.<100..120>.0/24 (clear of the test suite's subnets), and everything is labelled
 * netmon-bench=1 so cleanup() removes leftovers of a crashed run too.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIST } from "./proc.js";

export const DOCKER = "/usr/bin/docker";
export const TEST_IMAGE = "netmon-test/busybox";
export const BENCH_LABEL = "netmon-bench=1";

export function docker(...args: string[]): string {
  try {
    return execFileSync(DOCKER, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Why the live parts cannot run here, or null. */
export function liveUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (capture, Docker socket, nsenter)";
  if (!existsSync(DOCKER)) return `${DOCKER} not found`;
  try {
    docker("version", "--format", "{{.Server.Version}}");
  } catch {
    return "dockerd is not running (test/e2e/support/start-dockerd.sh)";
  }
  try {
    docker("image", "inspect", TEST_IMAGE);
  } catch {
    const script = new URL("../../../test/e2e/support/build-test-image.sh", import.meta.url).pathname;
    if (!existsSync(script)) return `test image ${TEST_IMAGE} missing`;
    const r = spawnSync("bash", [script], { stdio: "ignore", timeout: 120_000 });
    if (r.status !== 0) return `test image ${TEST_IMAGE} missing and ${script} failed`;
  }
  return null;
}

export interface BenchNetwork {
  name: string;
  id: string;
  bridge: string;
  subnet: string;
  prefix: string;
}

/** An --internal network 198.18.<third>.0/24 (third in 100..120). */
export function createNetwork(name: string, third: number): BenchNetwork {
  if (third < 100 || third > 120) throw new Error(`bench subnets are 198.18.100-120.0/24, not ${third}`);
  const subnet = `198.18.${third}.0/24`;
  const id = docker("network", "create", "--internal", "--label", BENCH_LABEL, "--subnet", subnet, name);
  return { name, id, bridge: `br-${id.slice(0, 12)}`, subnet, prefix: `198.18.${third}.` };
}

export function runContainer(
  name: string,
  network: string,
  opts: { ip?: string; command?: string; labels?: string[] } = {},
): string {
  const labels = (opts.labels ?? []).flatMap((l) => ["--label", l]);
  return docker(
    "run",
    "-d",
    "--init",
    "--label",
    BENCH_LABEL,
    ...labels,
    "--name",
    name,
    "--network",
    network,
    ...(opts.ip ? ["--ip", opts.ip] : []),
    TEST_IMAGE,
    "sh",
    "-c",
    opts.command ?? "sleep 3600",
  );
}

export function containerPid(name: string): number {
  return Number(docker("inspect", "-f", "{{.State.Pid}}", name));
}

/** Removes every container and network labelled netmon-bench=1. */
export function cleanup(): void {
  const containers = docker("ps", "-aq", "--filter", `label=${BENCH_LABEL}`).split("\n").filter(Boolean);
  for (let i = 0; i < containers.length; i += 50) docker("rm", "-f", ...containers.slice(i, i + 50));
  const networks = docker("network", "ls", "-q", "--filter", `label=${BENCH_LABEL}`)
    .split("\n")
    .filter(Boolean);
  for (const n of networks) docker("network", "rm", n);
}

/** argv to run a bench script with the host's node inside a container's network namespace. */
export function inNetns(pid: number, script: string, args: (string | number)[]): [string, string[]] {
  return [
    "nsenter",
    ["-t", String(pid), "-n", process.execPath, `${DIST}test/bench/${script}`, ...args.map(String)],
  ];
}

const tempDirs: string[] = [];

/** Removes the config/state dirs this run created. */
export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A temp dir with a netmon config (stateDir inside it); returns the config path. */
export function netmonConfig(yaml: (stateDir: string) => string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), "netmon-bench-"));
  tempDirs.push(dir);
  const config = join(dir, "netmon.yaml");
  writeFileSync(config, yaml(join(dir, "state")));
  return { dir, config };
}

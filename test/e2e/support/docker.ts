import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The Debian client matches the Debian daemon (/usr/local/bin/docker may be newer than the engine). */
export const DOCKER = "/usr/bin/docker";
export const TEST_IMAGE = "netmon-test/busybox";
export const E2E_LABEL = "netmon-e2e=1";
/** The shipped artefact (package.json `bin`, the image, the unit): the bundle `npm run build` makes. */
export const CLI = new URL("../../../dist/bundle/netmon.js", import.meta.url).pathname;
export const SUPPORT = new URL(".", import.meta.url).pathname;

export function docker(...args: string[]): string {
  try {
    return execFileSync(DOCKER, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000,
    }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Why the end-to-end prerequisites are missing, or null when all are there. */
function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return "e2e tests need root (capture, Docker socket)";
  if (!existsSync(DOCKER)) return `${DOCKER} not found (apt-get install docker.io)`;
  if (!existsSync(CLI)) return `${CLI} not built (npm run build)`;
  try {
    docker("version", "--format", "{{.Server.Version}}");
  } catch {
    return "dockerd is not running (test/e2e/support/start-dockerd.sh)";
  }
  try {
    docker("image", "inspect", TEST_IMAGE);
  } catch {
    return `test image ${TEST_IMAGE} missing (test/e2e/support/build-test-image.sh)`;
  }
  return null;
}

/**
 * True when the e2e prerequisites are there. In CI (CI=true) a missing prerequisite throws, so
 * the file fails instead of skipping; on a developer machine the file is skipped with the reason.
 */
export function e2eReady(): boolean {
  const missing = missingPrerequisite();
  if (missing === null) return true;
  if (process.env.CI === "true") throw new Error(`e2e prerequisite missing in CI: ${missing}`);
  console.warn(`skipping e2e: ${missing}`);
  return false;
}

let counter = 0;

/** A unique name for this run's Docker objects. */
export function uniqueName(prefix: string): string {
  counter++;
  return `netmon-e2e-${prefix}-${process.pid}-${counter}`;
}

/**
 * An --internal network (no route off the host) on a subnet from 198.18.0.0/15, the range set
 * aside for benchmarking: traffic between our test containers never leaves the machine.
 */
export function createInternalNetwork(
  name: string,
  thirdOctet: number,
): { name: string; id: string; subnet: string } {
  const subnet = `198.18.${thirdOctet}.0/24`;
  const id = docker("network", "create", "--internal", "--label", E2E_LABEL, "--subnet", subnet, name);
  return { name, id, subnet };
}

/**
 * `docker run` flags that make a container one Compose service (its own workload, since every test
 * container runs the same image), with --init so it stops at once; `extra` flags follow.
 */
export function composeService(project: string, name: string, extra: string[] = []): string[] {
  return [
    "--init",
    "--label",
    `com.docker.compose.project=${project}`,
    "--label",
    `com.docker.compose.service=${name}`,
    ...extra,
  ];
}

export function runContainer(name: string, network: string, command: string, extra: string[] = []): string {
  return docker(
    "run",
    "-d",
    "--label",
    E2E_LABEL,
    "--name",
    name,
    "--network",
    network,
    ...extra,
    TEST_IMAGE,
    "sh",
    "-c",
    command,
  );
}

/** Removes every container and network an e2e run labelled, including leftovers of crashed runs. */
export function cleanupDocker(): void {
  const containers = docker("ps", "-aq", "--filter", `label=${E2E_LABEL}`).split("\n").filter(Boolean);
  if (containers.length > 0) docker("rm", "-f", ...containers);
  const networks = docker("network", "ls", "-q", "--filter", `label=${E2E_LABEL}`)
    .split("\n")
    .filter(Boolean);
  for (const n of networks) removeNetwork(n);
}

/**
 * Removes a test network. Docker may still list an endpoint of a container just removed (or of one
 * a test started without the label): those are on our --internal test network, so they go too.
 */
function removeNetwork(id: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      docker("network", "rm", id);
      return;
    } catch (err) {
      if (attempt >= 5) {
        // A stale endpoint (seen after heavy container churn) pins the network until dockerd restarts.
        // Its name is unique, so it harms no later test: warn rather than fail an unrelated file.
        console.warn(`could not remove test network ${id}: ${(err as Error).message}`);
        return;
      }
    }
    const endpoints = docker("network", "inspect", "-f", "{{range $k, $v := .Containers}}{{$k}} {{end}}", id)
      .split(" ")
      .filter(Boolean);
    for (const c of endpoints) {
      spawnSync(DOCKER, ["network", "disconnect", "-f", id, c]);
      spawnSync(DOCKER, ["rm", "-f", c]);
    }
    spawnSync("sleep", ["0.5"]);
  }
}

import { execFileSync } from "node:child_process";
import { SUPPORT } from "./docker.js";

function dockerdPid(): number | null {
  try {
    const out = execFileSync("pidof", ["dockerd"], { encoding: "utf8" }).trim();
    return out ? Number(out.split(/\s+/)[0]) : null;
  } catch {
    return null;
  }
}

/** Stops dockerd (SIGTERM) and waits until the process is gone. */
export async function stopDockerd(timeoutMs = 60_000): Promise<void> {
  const pid = dockerdPid();
  if (pid === null) throw new Error("dockerd is not running");
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (dockerdPid() !== null) {
    if (Date.now() > deadline) throw new Error(`dockerd (pid ${pid}) did not stop within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts dockerd the way CI does (test/e2e/support/start-dockerd.sh) and waits until it answers. */
export function startDockerd(): void {
  execFileSync("bash", [`${SUPPORT}start-dockerd.sh`], { stdio: "inherit", timeout: 90_000 });
}

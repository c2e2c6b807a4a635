import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, e2eReady } from "./support/docker.js";
import { firewallSnapshot } from "./support/firewall-state.js";
import { NetmonProcess } from "./support/netmon-process.js";

const ready = e2eReady();
const RECONCILE_SECONDS = 2;
const JUMP = "-A DOCKER-USER -j NETMON";
/** The test's own rule, put above netmon's jump: it matches only the benchmarking range, and returns. */
const OURS = ["-s", "198.18.66.0/24", "-m", "comment", "--comment", "netmon-e2e", "-j", "RETURN"];

const iptables = (...args: string[]) => execFileSync("iptables", ["-w", "5", ...args], { encoding: "utf8" });
const dockerUser = () =>
  iptables("-S", "DOCKER-USER")
    .split("\n")
    .filter((l) => l.startsWith("-A "));

async function metric(port: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

async function until(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.runIf(ready)("enforce mode keeps netmon's jump at the top of the real DOCKER-USER", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmon-reconcile-"));
  let before = "";
  let netmon: NetmonProcess;

  beforeAll(async () => {
    before = firewallSnapshot();
    netmon = new NetmonProcess(
      [
        `stateDir: ${join(dir, "state")}`,
        `blocking:\n  mode: enforce\n  reconcileSeconds: ${RECONCILE_SECONDS}`,
      ].join("\n"),
      [],
    );
    netmon.start();
    await netmon.waitFor((l) => l.msg === "blocking ready", 30_000, "blocking to be ready");
  });

  afterAll(async () => {
    // Only the test's own rule and netmon's layout go; nothing else is touched.
    for (
      let i = 0;
      i < 4 && spawnSync("iptables", ["-w", "5", "-C", "DOCKER-USER", ...OURS]).status === 0;
      i++
    )
      spawnSync("iptables", ["-w", "5", "-D", "DOCKER-USER", ...OURS]);
    await netmon?.stop();
    spawnSync(process.execPath, [CLI, "blocks", "flush", "--config", netmon.configPath], {
      encoding: "utf8",
    });
  });

  it("detects the backend this host has and says blocking works", async () => {
    const backend = execFileSync("iptables", ["-V"], { encoding: "utf8" }).includes("nf_tables")
      ? "iptables-nft"
      : "iptables-legacy";
    expect(await metric(netmon.httpPort, "netmon_block_backend_ok", `backend="${backend}"`)).toBe(1);
    expect(dockerUser()[0]).toBe(JUMP);
    expect(netmon.lines.filter((l) => l.level === "error")).toEqual([]);
  });

  it("restores a deleted jump within the reconcile interval and counts the repair", async () => {
    iptables("-D", "DOCKER-USER", "-j", "NETMON");
    expect(dockerUser()).not.toContain(JUMP);
    const deletedAt = Date.now();
    await until("the jump to be back", (RECONCILE_SECONDS + 3) * 1000, () => dockerUser()[0] === JUMP);
    expect(Date.now() - deletedAt).toBeLessThan((RECONCILE_SECONDS + 3) * 1000);
    await until(
      "the repair counter",
      3000,
      async () => (await metric(netmon.httpPort, "netmon_block_repairs_total", 'reason="jump-missing"')) >= 1,
    );
    expect(dockerUser().filter((r) => r === JUMP)).toHaveLength(1);
  });

  it("moves the jump back above a rule inserted at the top, and keeps that rule", async () => {
    iptables("-I", "DOCKER-USER", "1", ...OURS);
    expect(dockerUser()[0]).not.toBe(JUMP);
    await until("the jump to be first again", (RECONCILE_SECONDS + 3) * 1000, () => dockerUser()[0] === JUMP);
    expect(dockerUser()[1]).toContain("netmon-e2e");
    await until(
      "the repair counter",
      3000,
      async () =>
        (await metric(netmon.httpPort, "netmon_block_repairs_total", 'reason="jump-not-first"')) >= 1,
    );
    iptables("-D", "DOCKER-USER", ...OURS);
  });

  it("blocks flush after stop leaves the rule set as it was before netmon started", async () => {
    await netmon.stop();
    const r = spawnSync(process.execPath, [CLI, "blocks", "flush", "--config", netmon.configPath], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(firewallSnapshot()).toBe(before);
  });
});

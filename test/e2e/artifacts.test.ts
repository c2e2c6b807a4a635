import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupDocker,
  createInternalNetwork,
  DOCKER,
  docker,
  E2E_LABEL,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const BASE_IMAGE = "node:20-bookworm-slim";
const IMAGE = "netmon-test/netmon";

describe("systemd unit", () => {
  // CI treats any stderr of systemd-analyze verify as a failure, and wants exposure ≤ 3.0.
  it("passes systemd-analyze verify and scores 3.0 or better in systemd-analyze security", () => {
    if (!existsSync("/usr/bin/systemd-analyze")) {
      if (process.env.CI === "true")
        throw new Error("systemd-analyze missing in CI (apt-get install systemd)");
      console.warn("skipping: systemd-analyze not installed");
      return;
    }
    const out = execFileSync("bash", [join(ROOT, "systemd/check.sh")], { encoding: "utf8" });
    const score = Number(/exposure score: ([\d.]+)/.exec(out)?.[1]);
    expect(score).toBeLessThanOrEqual(3.0);
  });
});

function baseImagePresent(): boolean {
  if (spawnSync(DOCKER, ["image", "inspect", BASE_IMAGE]).status === 0) return true;
  if (process.env.CI === "true")
    throw new Error(`${BASE_IMAGE} missing in CI (../shared/tools/make-node-base.sh)`);
  console.warn(`skipping: ${BASE_IMAGE} not present (../shared/tools/make-node-base.sh builds it)`);
  return false;
}

const ready = e2eReady() && baseImagePresent();

describe.runIf(ready)("the container image", () => {
  const name = uniqueName("netmon-ctr");
  const dir = mkdtempSync(join(tmpdir(), "netmon-img-"));
  const port = 20_000 + (process.pid % 20_000);
  const server = uniqueName("server");
  const client = uniqueName("client");

  beforeAll(() => {
    cleanupDocker();
    const build = spawnSync(DOCKER, ["build", "-t", IMAGE, ROOT], {
      encoding: "utf8",
      env: { ...process.env, DOCKER_BUILDKIT: "1" },
      timeout: 600_000,
    });
    if (build.status !== 0)
      throw new Error(`docker build failed:\n${build.stdout}\n${build.stderr}`.slice(-4000));
    const cfg = join(dir, "netmon.yaml");
    writeFileSync(cfg, `log:\n  events: true\nhttp:\n  port: ${port}\n`);
    chmodSync(cfg, 0o644);
    const sock = "/var/run/docker.sock";
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--label",
      E2E_LABEL,
      "--network",
      "host",
      "--pid",
      "host",
      "--cap-drop",
      "ALL",
      "--cap-add",
      "NET_RAW",
      "-v",
      `${sock}:${sock}:ro`,
      "--group-add",
      String(statSync(sock).gid),
      "-v",
      `${cfg}:/etc/netmon/netmon.yaml:ro`,
      IMAGE,
    );
  }, 660_000);

  afterAll(() => cleanupDocker());

  it("runs as a non-root user and loads the pcap addon", () => {
    expect(docker("exec", name, "id", "-u")).not.toBe("0");
    expect(
      docker(
        "exec",
        name,
        "node",
        "-e",
        'require("/app/node_modules/pcap/build/Release/pcap_binding.node"); console.log("ok")',
      ),
    ).toBe("ok");
  });

  it("sees a real container's connection and reports it", async () => {
    const net = createInternalNetwork(uniqueName("net"), 67);
    runContainer(server, net.name, "httpd -f -p 8080 -h /www", ["--init", "--ip", "198.18.67.10"]);
    runContainer(client, net.name, "sleep 3; wget -q -O /dev/null http://198.18.67.10:8080/; sleep 60", [
      "--init",
    ]);
    const deadline = Date.now() + 40_000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      const logs = spawnSync(DOCKER, ["logs", name], { encoding: "utf8" }).stdout;
      seen = logs.split("\n").some((line) => {
        if (!line.includes('"msg":"connection"')) return false;
        const ev = (
          JSON.parse(line) as {
            event: {
              state: string;
              src: { container: { name: string } | null };
              dst: { container: { name: string } | null };
            };
          }
        ).event;
        return (
          ev.state === "accepted" && ev.src.container?.name === client && ev.dst.container?.name === server
        );
      });
      if (!seen) await new Promise((r) => setTimeout(r, 500));
    }
    expect(seen).toBe(true);
  }, 60_000);
});

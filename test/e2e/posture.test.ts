import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { listContainers } from "../../src/commands/containers.js";
import { parseConfigText } from "../../src/config/load.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { DockerSocketClient } from "../../src/inventory/docker-api.js";
import type { ConnectionEvent } from "../../src/model/events.js";
import { type AuditReport, runAudit } from "../../src/posture/audit.js";
import { readConnectionEvents } from "../../src/posture/event-file.js";
import { type PolicySuggestion, policyChainName, suggestPolicy } from "../../src/posture/suggest.js";
import type { PostureFinding } from "../../src/posture/types.js";
import { parseEgressList } from "../../src/rules/egress-rule.js";
import { parseListenList } from "../../src/rules/listen-rule.js";
import { createLogger } from "../../src/util/logger.js";
import {
  CLI,
  createInternalNetwork,
  DOCKER,
  docker,
  e2eReady,
  runContainer,
  uniqueName,
} from "./support/docker.js";
import { isConnection, type LogLine, NetmonProcess } from "./support/netmon-process.js";

/**
 * Posture audit and policy suggestion on real containers. Its Docker objects carry E2E_LABEL and
 * OWN_LABEL; only those with OWN_LABEL (and networks named netmon-e2e-posture-*) are removed, so
 * other e2e files running against the same dockerd are left alone.
 */
const ready = e2eReady();
const NET = 74;
const GATEWAY = `198.18.${NET}.1`;
const SRV_IP = `198.18.${NET}.10`;
const OTHER_IP = `198.18.${NET}.20`;
const HOST_PORT = 17_974;
const OWN_LABEL = "netmon-e2e-posture=1";
const PROJECT = "e2e-posture";
const WORKLOAD = `${PROJECT}/client`;

const tmp = mkdtempSync(join(tmpdir(), "netmon-e2e-posture-"));

function cleanupOwn(): void {
  const containers = docker("ps", "-aq", "--filter", `label=${OWN_LABEL}`).split("\n").filter(Boolean);
  if (containers.length > 0) docker("rm", "-f", ...containers);
  const networks = docker("network", "ls", "-q", "--filter", "name=netmon-e2e-posture")
    .split("\n")
    .filter(Boolean);
  for (const n of networks) docker("network", "rm", n);
}

/** Compose labels make each container its own workload (they all run the same test image). */
const service = (name: string, extra: string[] = []): string[] => [
  "--init",
  "--label",
  OWN_LABEL,
  "--label",
  `com.docker.compose.project=${PROJECT}`,
  "--label",
  `com.docker.compose.service=${name}`,
  ...extra,
];

function config(yaml: string): NetmonConfig {
  const r = parseConfigText(yaml, "e2e.yaml");
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.config;
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const checksOf = (findings: readonly PostureFinding[], name: string): string[] =>
  findings.filter((f) => f.container.name === name).map((f) => f.check);

/** The client's traffic: three rounds to the srv container and to a port on the host (the gateway). */
const SAME_TRAFFIC = `for i in 1 2 3; do wget -q -O /dev/null http://${SRV_IP}:8080/; echo hi | nc -w 1 ${GATEWAY} ${HOST_PORT}; sleep 0.3; done`;

interface AlertLine extends LogLine {
  alert: { detector: string; container: { name: string }; dst?: { ip: string; port: number } };
}
const isAlert = (l: LogLine): l is AlertLine => l.msg === "alert";

describe.runIf(ready)("posture audit and policy suggest on real containers", () => {
  let network = "";
  let hostServer: Server | null = null;
  const names = {
    root: uniqueName("posture-root"),
    hardened: uniqueName("posture-hard"),
    srv: uniqueName("posture-srv"),
    other: uniqueName("posture-other"),
    client: uniqueName("posture-client"),
    client2: uniqueName("posture-client2"),
  };
  const stateLearn = join(tmp, "state-learn");
  const configLearn = join(tmp, "learn.yaml");
  const eventsFile = join(tmp, "events.log");
  let suggestion: PolicySuggestion | null = null;

  beforeAll(async () => {
    cleanupOwn();
    network = createInternalNetwork(uniqueName("posture-net"), NET).name;
    // A root container with an added capability and a writable root filesystem…
    runContainer(names.root, network, "sleep 600", ["--label", OWN_LABEL, "--cap-add", "NET_ADMIN"]);
    // …and a hardened one: non-root, read-only, no capabilities, internal network.
    runContainer(names.hardened, network, "sleep 600", [
      "--label",
      OWN_LABEL,
      "--user",
      "1000",
      "--read-only",
      "--cap-drop",
      "ALL",
    ]);
    runContainer(names.srv, network, "httpd -f -p 8080 -h /www", service("srv", ["--ip", SRV_IP]));
    runContainer(names.other, network, "httpd -f -p 8080 -h /www", service("other", ["--ip", OTHER_IP]));
    // A TCP service on the host, at the network's gateway address: a destination by IP, not a container.
    hostServer = createServer((s) => s.end("ok\n"));
    await new Promise<void>((resolve, reject) => {
      hostServer!.once("error", reject);
      hostServer!.listen(HOST_PORT, GATEWAY, () => resolve());
    });
    writeFileSync(
      configLearn,
      [
        `stateDir: ${stateLearn}`,
        "baseline:",
        "  learnForSeconds: 3600",
        "http:",
        "  enabled: false",
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    hostServer?.close();
    cleanupOwn();
  });

  describe("audit", () => {
    let report: AuditReport;

    beforeAll(async () => {
      report = await runAudit(new DockerSocketClient("/var/run/docker.sock"));
    });

    it("flags the root container with NET_ADMIN and a writable root filesystem", () => {
      // Real inspect answers from dockerd; the shell is found through the archive API.
      const checks = checksOf(report.findings, names.root);
      expect(checks).toEqual(
        expect.arrayContaining(["root-user", "capabilities", "writable-rootfs", "image-shell"]),
      );
      const caps = report.findings.find((f) => f.container.name === names.root && f.check === "capabilities");
      expect(caps).toMatchObject({ severity: "warning" });
      expect(caps?.summary).toContain("NET_ADMIN");
      expect(
        report.findings.find((f) => f.container.name === names.root && f.check === "image-shell")?.summary,
      ).toContain("/bin/sh");
    });

    it("finds no root, capability or root-filesystem problem in the hardened one", () => {
      // --user 1000 --read-only --cap-drop ALL on an --internal network.
      const checks = checksOf(report.findings, names.hardened);
      for (const c of [
        "root-user",
        "privileged",
        "capabilities",
        "cap-net-raw",
        "writable-rootfs",
        "host-network",
        "host-pid",
        "docker-socket",
        "seccomp",
        "internal-network",
      ]) {
        expect(checks).not.toContain(c);
      }
      expect(checks).toContain("image-shell"); // busybox is a shell: true for this image
    });

    it("ran nothing inside the containers", () => {
      // The filesystem probe is a stat through the archive API: no exec was ever created.
      for (const name of [names.root, names.hardened]) {
        expect(docker("inspect", "--format", "{{json .ExecIDs}}", name)).toBe("null");
      }
    });

    it("CLI: netmon audit --json reports the same findings, and the table names them", () => {
      // Needs `audit` wired into src/cli.ts.
      const r = cli(["audit", "--json", "--config", configLearn]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout) as AuditReport;
      expect(checksOf(json.findings, names.root)).toEqual(checksOf(report.findings, names.root));
      expect(checksOf(json.findings, names.hardened)).toEqual(checksOf(report.findings, names.hardened));
      const table = cli(["audit", "--config", configLearn]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^SEVERITY +CONTAINER +CHECK +FINDING$/m);
      expect(table.stdout).toMatch(
        new RegExp(`^warning +${names.root} +capabilities +adds capabilities .*NET_ADMIN`, "m"),
      );
      expect(table.stdout).toMatch(/^ +fix: remove --cap-add NET_ADMIN/m);
    });
  });

  describe("policy suggest from a baseline learned from real traffic", () => {
    it("learns the client's traffic with netmon run, and suggests labels that parse back", async () => {
      // Phase 1: netmon learns (learnForSeconds 3600) while the client talks to srv and to the host.
      const netmon = new NetmonProcess(readFileSync(configLearn, "utf8"));
      netmon.start();
      try {
        await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
        runContainer(names.client, network, `sleep 2; ${SAME_TRAFFIC}; sleep 600`, service("client"));
        const attempts = (ip: string) =>
          netmon.lines.filter(
            (l) =>
              isConnection(l) &&
              l.event.state === "attempt" &&
              l.event.src.container?.name === names.client &&
              l.event.dst.ip === ip,
          ).length;
        await netmon.waitFor(
          () => attempts(SRV_IP) >= 3 && attempts(GATEWAY) >= 3,
          30_000,
          "the client's traffic",
        );
      } finally {
        expect(await netmon.stop()).toBe(0); // SIGTERM saves the baseline
      }
      writeFileSync(eventsFile, `${netmon.lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
      expect(netmon.lines.filter((l) => isAlert(l))).toEqual([]); // learning: no alerts

      const baseline = Baseline.fromJSON(JSON.parse(readFileSync(join(stateLearn, "baseline.json"), "utf8")));
      expect(baseline.describe(WORKLOAD)?.egress).toEqual([`${GATEWAY}|${HOST_PORT}|tcp`, "srv|8080|tcp"]);
      const cfg = config(readFileSync(configLearn, "utf8"));
      const containers = await listContainers(cfg, createLogger("silent"));
      const events: ConnectionEvent[] = (await readConnectionEvents(eventsFile)).events;
      suggestion = suggestPolicy(baseline, WORKLOAD, containers, events);

      expect(suggestion.labels).toEqual({ "netmon.egress": `${GATEWAY}:${HOST_PORT}/tcp,srv:8080/tcp` });
      expect(parseEgressList(suggestion.labels["netmon.egress"]!).errors).toEqual([]);
      // srv listens: its own suggestion has the listen label, parsing back too.
      const srv = suggestPolicy(baseline, `${PROJECT}/srv`, containers, events);
      expect(srv.labels["netmon.listen"]).toBe("8080/tcp");
      expect(parseListenList(srv.labels["netmon.listen"]!).errors).toEqual([]);
      // Dry run over the traffic it learned from: nothing would alert or be blocked.
      expect(suggestion.dryRun.observed).toBeGreaterThanOrEqual(6);
      expect(suggestion.dryRun.labels.wouldAlert).toEqual([]);
      expect(suggestion.dryRun.iptables.wouldBlock).toEqual([]);
      expect(suggestion.dryRun.iptables.unfiltered).toEqual([]);
    }, 90_000);

    it("the iptables rules, applied to DOCKER-USER, let the same traffic through and refuse a new destination", () => {
      // Real iptables: srv:8080 (allowed, by its current IP) works; other:8080 is refused; undo restores it.
      // (timeout(1), not wget -T: this busybox build crashes on -T.)
      const s = suggestion!;
      const commands = (lines: string[]) => lines.filter((l) => !l.startsWith("#")).map((l) => l.split(" "));
      const run = (argv: string[]) => execFileSync(argv[0]!, ["-w", ...argv.slice(1)], { stdio: "pipe" });
      const wget = (ip: string) =>
        spawnSync(
          DOCKER,
          ["exec", names.client, "timeout", "3", "wget", "-q", "-O", "/dev/null", `http://${ip}:8080/`],
          {
            encoding: "utf8",
            timeout: 20_000,
          },
        ).status;
      expect(s.iptablesRules).toContain(
        `iptables -A ${policyChainName(WORKLOAD)} -d ${SRV_IP} -p tcp --dport 8080 -j RETURN`,
      );
      try {
        for (const argv of commands(s.iptablesRules)) run(argv);
        expect(wget(SRV_IP)).toBe(0);
        expect(wget(OTHER_IP)).not.toBe(0);
      } finally {
        for (const argv of commands(s.iptablesUndo)) run(argv);
      }
      expect(wget(OTHER_IP)).toBe(0);
    }, 60_000);

    it("CLI: netmon policy suggest --json gives the same suggestion, and the text form the labels", () => {
      // Needs `policy suggest` wired into src/cli.ts.
      const r = cli([
        "policy",
        "suggest",
        WORKLOAD,
        "--config",
        configLearn,
        "--events",
        eventsFile,
        "--json",
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const [fromCli] = JSON.parse(r.stdout) as PolicySuggestion[];
      expect(fromCli?.labels).toEqual(suggestion!.labels);
      expect(fromCli?.iptablesRules).toEqual(suggestion!.iptablesRules);
      expect(fromCli?.dryRun.labels.wouldAlert).toEqual([]);
      const text = cli(["policy", "suggest", WORKLOAD, "--config", configLearn, "--events", eventsFile]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`      netmon.egress: "${GATEWAY}:${HOST_PORT}/tcp,srv:8080/tcp"`);
      expect(text.stdout).toContain("#   the iptables rules would block 0 destination(s)");
      const unknown = cli(["policy", "suggest", "nope/none", "--config", configLearn]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^netmon: no baseline for workload "nope\/none"/);
    });

    it("applied as labels to a fresh run of the workload: the same traffic raises nothing, a new destination one alert", async () => {
      // Phase 2: a new netmon with no baseline (monitoring at once), the client re-created with the labels.
      docker("rm", "-f", names.client);
      const labels = Object.entries(suggestion!.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
      const netmon = new NetmonProcess(
        [
          `stateDir: ${join(tmp, "state-fresh")}`,
          "baseline:",
          "  learnForSeconds: 0",
          "http:",
          "  enabled: false",
          "",
        ].join("\n"),
      );
      netmon.start();
      try {
        await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
        runContainer(
          names.client2,
          network,
          `sleep 2; ${SAME_TRAFFIC}; sleep 2; timeout 3 wget -q -O /dev/null http://${OTHER_IP}:8080/; sleep 600`,
          service("client", labels),
        );
        await netmon.waitFor(
          (l) => isAlert(l) && l.alert.container.name === names.client2,
          30_000,
          "the alert for the new destination",
        );
        await new Promise((r) => setTimeout(r, 2000)); // anything late would show up here
      } finally {
        await netmon.stop();
      }
      const sameTraffic = netmon.lines.filter(
        (l) =>
          isConnection(l) &&
          l.event.state === "accepted" &&
          l.event.src.container?.name === names.client2 &&
          [SRV_IP, GATEWAY].includes(l.event.dst.ip),
      );
      expect(sameTraffic.length).toBeGreaterThanOrEqual(6); // the same traffic really happened
      const alerts = netmon.lines.filter(
        (l): l is AlertLine =>
          isAlert(l) &&
          l.alert.detector === "unexpected-outbound" &&
          l.alert.container.name === names.client2,
      );
      expect(alerts.map((a) => `${a.alert.dst?.ip}:${a.alert.dst?.port}`)).toEqual([`${OTHER_IP}:8080`]);
    }, 90_000);
  });

  describe("the daemon's scheduled audit", () => {
    it("logs each finding once and exports netmon_posture_findings", async () => {
      // Needs PostureAuditor wired into src/daemon/daemon.ts and its gauge into the metrics registry.
      const netmon = new NetmonProcess(`stateDir: ${join(tmp, "state-daemon")}\n`, []);
      netmon.start();
      try {
        await netmon.waitFor((l) => l.msg === "netmon started", 30_000, "netmon to start");
        const line = await netmon.waitFor(
          (l) =>
            l.msg === "posture finding" &&
            (l.posture as { container?: { name?: string }; check?: string } | undefined)?.container?.name ===
              names.root &&
            (l.posture as { check?: string }).check === "capabilities",
          30_000,
          "the posture finding for the root container",
        );
        expect(line).toMatchObject({ level: "warn", posture: { severity: "warning" } });
        const text = await (await fetch(`http://127.0.0.1:${netmon.httpPort}/metrics`)).text();
        const value = (check: string, severity: string) =>
          Number(
            new RegExp(
              `^netmon_posture_findings\\{check="${check}",severity="${severity}"\\} (\\d+)$`,
              "m",
            ).exec(text)?.[1],
          );
        expect(value("capabilities", "warning")).toBeGreaterThanOrEqual(1);
        expect(value("privileged", "critical")).toBe(0);
      } finally {
        await netmon.stop();
      }
      const once = netmon.lines.filter(
        (l) =>
          l.msg === "posture finding" &&
          (l.posture as { container?: { name?: string } }).container?.name === names.root,
      );
      expect(new Set(once.map((l) => (l.posture as { check: string }).check)).size).toBe(once.length);
    }, 60_000);
  });
});

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import type { ConnectionEvent, ContainerRef } from "../../src/model/events.js";
import { runAudit } from "../../src/posture/audit.js";
import { ListenHitTracker, PostureAuditor } from "../../src/posture/auditor.js";
import { formatAuditJson, formatAuditTable } from "../../src/posture/format.js";
import { registerPostureMetrics } from "../../src/posture/metrics.js";
import type { PostureContainerApi, PostureDockerClient } from "../../src/posture/probe.js";
import { pathExists } from "../../src/posture/probe.js";
import { firstFileInTar } from "../../src/posture/tar.js";
import { connectionEvent, containerRef } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const hex = (c: string) => c.repeat(64);
const NET_OPEN = hex("e");
const NET_INTERNAL = hex("f");

type Json = Record<string, unknown>;

function container(
  id: string,
  name: string,
  over: { Config?: Json; HostConfig?: Json; top?: Json } = {},
): Json {
  return {
    Id: id,
    Name: `/${name}`,
    Image: `sha256:${hex("0")}`,
    AppArmorProfile: "docker-default",
    State: { Running: true, Pid: 100, StartedAt: new Date(T0).toISOString() },
    Config: { User: "", Image: "shop/app:1", Labels: {}, ...over.Config },
    HostConfig: { NetworkMode: "app", ReadonlyRootfs: false, ...over.HostConfig },
    Mounts: [],
    NetworkSettings: {
      Ports: {},
      Networks: { app: { NetworkID: NET_OPEN, IPAddress: "172.18.0.5", Gateway: "172.18.0.1" } },
    },
    ...over.top,
  };
}

/** A ustar archive of one file, as dockerd's GET /containers/{id}/archive returns it. */
function ustar(name: string, content: string): Buffer {
  const body = Buffer.from(content);
  const h = Buffer.alloc(512);
  h.write(name, 0, "latin1");
  h.write("0100644\0", 100);
  h.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
  h.write("0", 156);
  h.write("ustar\x0000", 257, "latin1");
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad, Buffer.alloc(1024)]);
}

interface FakeFs {
  /** path → symlink target ("" = a regular file). */
  files: Record<string, string>;
  passwd?: string;
  failProbe?: boolean;
}

/** A fake Docker API: the answers dockerd 20.10 gives, from in-memory containers. */
function fakeDocker(
  containers: Json[],
  fs: Record<string, FakeFs>,
  opts: { security?: string[]; gone?: string[]; networks?: Json[] } = {},
): PostureDockerClient & { calls: string[] } {
  const calls: string[] = [];
  const notFound = () => Object.assign(new Error("(HTTP code 404) no such container"), { statusCode: 404 });
  return {
    calls,
    listContainers: async () =>
      [...containers, ...(opts.gone ?? []).map((Id) => ({ Id }))].map((c) => ({ Id: c.Id })),
    listNetworks: async () =>
      opts.networks ?? [
        {
          Id: NET_OPEN,
          Name: "app",
          Driver: "bridge",
          Internal: false,
          IPAM: { Config: [{ Subnet: "172.18.0.0/16" }] },
        },
        {
          Id: NET_INTERNAL,
          Name: "backend",
          Driver: "bridge",
          Internal: true,
          IPAM: { Config: [{ Subnet: "172.19.0.0/16" }] },
        },
      ],
    info: async () => ({
      SecurityOptions: opts.security ?? ["name=apparmor", "name=seccomp,profile=default"],
    }),
    getContainer(id: string): PostureContainerApi {
      const c = containers.find((x) => x.Id === id);
      const f = fs[id] ?? { files: {} };
      return {
        inspect: async () => {
          calls.push(`inspect ${id.slice(0, 4)}`);
          if (c === undefined) throw notFound();
          return c;
        },
        infoArchive: async ({ path }) => {
          calls.push(`stat ${id.slice(0, 4)} ${path}`);
          if (f.failProbe)
            throw Object.assign(new Error("(HTTP code 500) server error"), { statusCode: 500 });
          const link = f.files[path];
          if (link === undefined) throw notFound();
          const stat = { name: path.split("/").pop(), size: 7, mode: 0o777, linkTarget: link };
          return {
            headers: { "x-docker-container-path-stat": Buffer.from(JSON.stringify(stat)).toString("base64") },
            resume: () => {},
          };
        },
        getArchive: async ({ path }) => {
          calls.push(`read ${id.slice(0, 4)} ${path}`);
          if (path !== "/etc/passwd" || f.passwd === undefined) throw notFound();
          return Readable.from([ustar("passwd", f.passwd)]);
        },
      };
    },
  };
}

describe("runAudit with a fake Docker API", () => {
  const root = container(hex("a"), "web-1", { HostConfig: { CapAdd: ["NET_ADMIN"] } });
  const named = container(hex("b"), "api-1", {
    Config: { User: "app" },
    HostConfig: { CapDrop: ["ALL"], ReadonlyRootfs: true, NetworkMode: "backend" },
    top: {
      NetworkSettings: {
        Networks: { backend: { NetworkID: NET_INTERNAL, IPAddress: "172.19.0.5", Gateway: "172.19.0.1" } },
      },
    },
  });
  const stopped = container(hex("c"), "old-1", { top: { State: { Running: false, Pid: 0 } } });
  const fs: Record<string, FakeFs> = {
    [hex("a")]: { files: { "/bin/sh": "busybox", "/bin/busybox": "", "/usr/bin/apt-get": "" } },
    // /bin/sh dangles (its target was deleted): no shell. A named user resolved through passwd.
    [hex("b")]: {
      files: { "/bin/sh": "/bin/dash" },
      passwd: "root:x:0:0::/root:/bin/sh\napp:x:0:0::/app:/bin/false\n",
    },
  };

  it("audits the running containers and resolves what inspect alone cannot tell", async () => {
    // uid of "app" is 0 in its passwd; a dangling /bin/sh is no shell; a stopped or vanished one is skipped.
    const docker = fakeDocker([root, named, stopped], fs, { gone: [hex("d")] });
    const report = await runAudit(docker, { now: T0 + HOUR });
    expect(report.containers).toBe(2);
    expect(report.errors).toEqual([]);
    const by = (name: string) =>
      report.findings.filter((f) => f.container.name === name).map((f) => `${f.severity} ${f.check}`);
    expect(by("web-1")).toEqual([
      "warning capabilities",
      "warning root-user",
      "info cap-net-raw",
      "info writable-rootfs",
      "info image-package-manager",
      "info image-shell",
    ]);
    expect(by("api-1")).toEqual(["warning root-user"]);
    expect(report.findings.find((f) => f.check === "image-shell")?.summary).toContain("/bin/sh");
    // Sorted by severity, then container name: api-1's warning comes first.
    expect(report.findings[0]).toMatchObject({ check: "root-user", container: { name: "api-1" } });
    expect(report.findings[1]).toMatchObject({ key: `capabilities|${hex("a")}|`, workload: "shop/app" });
    // Sorted: every warning before every info.
    const sev = report.findings.map((f) => f.severity);
    expect(sev.lastIndexOf("warning")).toBeLessThan(sev.indexOf("info"));
    // Nothing ran in a container: only inspect, stat and one archive read of /etc/passwd.
    expect(docker.calls.filter((c) => !/^(inspect|stat|read \w+ \/etc\/passwd)/.test(c))).toEqual([]);
  });

  it("keeps going when a probe or an inspect answer fails, and says so", async () => {
    // A 500 on the archive API leaves the files unknown; an unreadable inspect skips that container only.
    const bad = { ...container(hex("e"), "weird"), Id: "not-hex" };
    const docker = fakeDocker([root, bad], { [hex("a")]: { files: {}, failProbe: true } });
    docker.listContainers = async () => [{ Id: hex("a") }, { Id: hex("e") }];
    docker.getContainer = ((orig) => (id: string) => {
      const api = orig(id);
      return id === hex("e") ? { ...api, inspect: async () => bad } : api;
    })(docker.getContainer.bind(docker));
    const report = await runAudit(docker);
    expect(report.containers).toBe(1);
    expect(report.errors).toEqual([
      expect.stringContaining("unreadable inspect answer"),
      expect.stringContaining("web-1: filesystem probe failed"),
    ]);
    expect(report.findings.some((f) => f.check === "image-shell")).toBe(false);
  });

  it("runs the internal-network check from a finished baseline only", async () => {
    // web-1 learned only the gateway and a container; still learning 10 min in, judged after 1 h.
    const baseline = new Baseline();
    baseline.recordEgress("shop/app", "172.18.0.1", 53, "udp", T0);
    baseline.recordEgress("shop/app", "api-1", 8080, "tcp", T0);
    const docker = fakeDocker([root, named], fs);
    const learning = await runAudit(docker, { baseline, learnForMs: HOUR, now: T0 + HOUR / 6 });
    expect(learning.findings.some((f) => f.check === "internal-network")).toBe(false);
    const done = await runAudit(docker, { baseline, learnForMs: HOUR, now: T0 + 2 * HOUR });
    const f = done.findings.filter((x) => x.check === "internal-network");
    expect(f.map((x) => x.container.name)).toEqual(["web-1"]); // api-1 is already on an internal network
  });

  it("runs the published-port check from observed inbound connections", async () => {
    // 8080 was used, 9090 never, over 3 hours of watching.
    const web = container(hex("a"), "web-1", {
      top: {
        NetworkSettings: {
          Ports: {
            "8080/tcp": [{ HostIp: "", HostPort: "80" }],
            "9090/tcp": [{ HostIp: "", HostPort: "9090" }],
          },
          Networks: { app: { NetworkID: NET_OPEN, IPAddress: "172.18.0.5", Gateway: "172.18.0.1" } },
        },
      },
    });
    const report = await runAudit(fakeDocker([web], {}), {
      observedListenHits: new Set([`${hex("a")}|8080/tcp`]),
      observedSinceMs: T0,
      now: T0 + 3 * HOUR,
      probeFiles: false,
    });
    const f = report.findings.filter((x) => x.check === "unused-published-port");
    expect(f.map((x) => x.key)).toEqual([`unused-published-port|${hex("a")}|9090/tcp`]);
    expect(f[0]?.summary).toContain("0.0.0.0:9090");
  });
});

describe("filesystem probe", () => {
  it("follows relative and absolute symbolic links and stops on a loop", async () => {
    // /bin/sh → busybox (relative to /bin); a → b → a never ends.
    const stat = (link: string) => ({
      headers: {
        "x-docker-container-path-stat": Buffer.from(JSON.stringify({ linkTarget: link })).toString("base64"),
      },
    });
    const links: Record<string, string> = {
      "/bin/sh": "busybox",
      "/bin/busybox": "",
      "/a": "/b",
      "/b": "/a",
    };
    const api: PostureContainerApi = {
      inspect: async () => ({}),
      getArchive: async () => Readable.from([]),
      infoArchive: async ({ path }) => {
        const l = links[path];
        if (l === undefined) throw Object.assign(new Error("404"), { statusCode: 404 });
        return stat(l);
      },
    };
    expect(await pathExists(api, "/bin/sh")).toBe(true);
    expect(await pathExists(api, "/usr/bin/apt")).toBe(false);
    expect(await pathExists(api, "/a")).toBe(true);
  });

  it("reads the first file of a ustar archive and of a pax archive made by tar(1)", () => {
    // dockerd writes ustar; a pax extended header before the file must be skipped.
    expect(firstFileInTar(ustar("passwd", "root:x:0:0:root:/:/bin/sh\n"))?.toString()).toBe(
      "root:x:0:0:root:/:/bin/sh\n",
    );
    const dir = mkdtempSync(join(tmpdir(), "netmon-tar-"));
    writeFileSync(join(dir, "passwd"), "node:x:1000:1000::/home/node:/bin/sh\n");
    const pax = execFileSync("tar", [
      "--format=pax",
      "--pax-option=mtime:=0",
      "-cf",
      "-",
      "-C",
      dir,
      "passwd",
    ]);
    expect(firstFileInTar(pax)?.toString()).toBe("node:x:1000:1000::/home/node:/bin/sh\n");
    expect(firstFileInTar(Buffer.alloc(100))).toBeNull(); // cut short
  });
});

const ref = (id: string, name: string): ContainerRef => containerRef(name, { id, image: "shop/app:1" });

function accepted(dst: ContainerRef | null, port: number): ConnectionEvent {
  return connectionEvent({
    ts: T0,
    state: "accepted",
    srcIp: "203.0.113.9",
    ip: "172.18.0.5",
    port,
    to: dst,
    direction: "inbound",
    packets: 2,
    iface: "br-x",
  });
}

describe("PostureAuditor (the daemon's scheduled audit)", () => {
  it("logs a finding once when it appears and once when it is resolved; the gauge follows", async () => {
    // Second audit: same findings, no new line; third: the container got --read-only.
    const { log, lines } = captureLog();
    const docker = fakeDocker(
      [container(hex("a"), "web-1", { Config: { User: "1000" }, HostConfig: { CapDrop: ["ALL"] } })],
      {},
    );
    const auditor = new PostureAuditor({ docker, log });
    const registry = new Registry();
    registerPostureMetrics(registry, () => auditor.findings());
    await auditor.runOnce();
    await auditor.runOnce();
    const found = lines.filter((l) => l.msg === "posture finding");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      level: "info",
      posture: {
        check: "writable-rootfs",
        severity: "info",
        container: { name: "web-1" },
        workload: "shop/app",
      },
    });
    const text = await registry.metrics();
    expect(text).toContain('netmon_posture_findings{check="writable-rootfs",severity="info"} 1');
    expect(text).toContain('netmon_posture_findings{check="privileged",severity="critical"} 0');
    expect(text).toContain('netmon_posture_findings{check="capabilities",severity="warning"} 0');

    docker.getContainer = ((orig) => (id: string) => {
      const api = orig(id);
      return {
        ...api,
        inspect: async () =>
          container(hex("a"), "web-1", {
            Config: { User: "1000" },
            HostConfig: { CapDrop: ["ALL"], ReadonlyRootfs: true },
          }),
      };
    })(docker.getContainer.bind(docker));
    await auditor.runOnce();
    expect(lines.filter((l) => l.msg === "posture finding resolved")).toHaveLength(1);
    expect(await registry.metrics()).toContain(
      'netmon_posture_findings{check="writable-rootfs",severity="info"} 0',
    );
  });

  it("logs warnings and criticals at warn level, and an audit failure without throwing", async () => {
    // Root → warning at level warn; a Docker error is one warn line, findings kept.
    const { log, lines } = captureLog();
    const docker = fakeDocker([container(hex("a"), "web-1")], {});
    const auditor = new PostureAuditor({ docker, log });
    await auditor.runOnce();
    expect(
      lines.find((l) => (l.posture as { check?: string } | undefined)?.check === "root-user")?.level,
    ).toBe("warn");
    const before = auditor.findings().length;
    docker.info = async () => {
      throw new Error("connect ENOENT /var/run/docker.sock");
    };
    await auditor.runOnce();
    expect(lines.at(-1)).toMatchObject({ level: "warn", msg: "posture audit failed" });
    expect(auditor.findings()).toHaveLength(before);
  });

  it("counts only accepted inbound connections to a container as listen hits, bounded", () => {
    // An attempt, or a connection to a non-container, is no evidence; past max the oldest goes.
    const t = new ListenHitTracker(T0, 2);
    t.onEvent(accepted(ref(hex("a"), "web-1"), 8080));
    t.onEvent({ ...accepted(ref(hex("a"), "web-1"), 9090), state: "attempt" });
    t.onEvent(accepted(null, 22));
    expect([...t.snapshot()]).toEqual([`${hex("a")}|8080/tcp`]);
    t.onEvent(accepted(ref(hex("b"), "db-1"), 5432));
    t.onEvent(accepted(ref(hex("c"), "x-1"), 80));
    expect(t.size).toBe(2);
    expect(t.snapshot().has(`${hex("a")}|8080/tcp`)).toBe(false);
  });
});

describe("audit output", () => {
  it("prints a table with the fix under each finding, a summary and what was not audited", async () => {
    // The layout people read; --json is the same report as one document.
    const report = await runAudit(
      fakeDocker([container(hex("a"), "web-1", { HostConfig: { CapAdd: ["SYS_ADMIN"] } })], {}),
      {
        now: T0,
        probeFiles: false,
      },
    );
    report.errors.push("container 123456789abc: inspect failed: boom");
    const table = formatAuditTable(report).split("\n");
    expect(table[0]).toMatch(/^SEVERITY {2}CONTAINER {2}CHECK {12}FINDING$/);
    expect(table[1]).toMatch(
      /^critical {2}web-1 {6}capabilities {5}adds capabilities beyond Docker's default set: SYS_ADMIN/,
    );
    expect(table[2]).toMatch(/^ {38}fix: remove --cap-add SYS_ADMIN/);
    expect(table).toContain("4 findings on 1 container: 1 critical, 1 warning, 2 info");
    expect(table).toContain("not audited: container 123456789abc: inspect failed: boom");
    const json = JSON.parse(formatAuditJson(report)) as { findings: { check: string }[]; containers: number };
    expect(json.containers).toBe(1);
    expect(json.findings.map((f) => f.check)).toEqual([
      "capabilities",
      "root-user",
      "cap-net-raw",
      "writable-rootfs",
    ]);
    expect(formatAuditTable({ findings: [], containers: 3, errors: [] })).toBe(
      "no findings on 3 containers\n",
    );
  });
});

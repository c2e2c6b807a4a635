import { describe, expect, it } from "vitest";
import { parseContainerInspect } from "../../src/inventory/parse-inspect.js";
import {
  type ContainerPosture,
  checkContainer,
  formatDuration,
  type ListenObservation,
  uidOf,
} from "../../src/posture/checks.js";
import {
  type HostSecurity,
  type NetworkFacts,
  normalizeCapability,
  parseHostSecurity,
  parseNetworks,
  parseSecurityFacts,
} from "../../src/posture/inspect-schema.js";
import type { FindingDraft, PostureCheckId } from "../../src/posture/types.js";

const ID = "8c817bd0e159075947227f91314f3ef0dcc9d890277020f6c525db204cfd68d1";
const NET_OPEN = "b4007ceaa3fb1ddcdaf24a081a284ed7237cc6a1c50b79d5e16ec462f854cb98";
const NET_INTERNAL = "5d7028e5163e5edb53ad171c55c20b0e5fe88b1c8e16b7f70f8e9146f76aba58";
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

type Json = Record<string, unknown>;

/**
 * A `docker inspect` object as this machine's dockerd (20.10) returns it for
 * `docker run -d --network app netmon-test/busybox sleep 300`, trimmed to what netmon reads;
 * `over` replaces top-level sections (merged one level deep).
 */
function inspect(over: { Config?: Json; HostConfig?: Json; top?: Json; networkId?: string } = {}): Json {
  return {
    Id: ID,
    Name: "/web-1",
    Image: "sha256:52c07b083fbddb5c88752062854916d3dcc804d38a65dfce316f4d0fd82480f5",
    AppArmorProfile: "docker-default",
    State: {
      Running: true,
      Pid: 15202,
      StartedAt: new Date(T0).toISOString(),
      FinishedAt: "0001-01-01T00:00:00Z",
    },
    Config: {
      Hostname: "8c817bd0e159",
      User: "",
      Env: ["PATH=/bin"],
      Cmd: ["sleep", "300"],
      Image: "shop/web:1.2",
      Labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "web" },
      ...over.Config,
    },
    HostConfig: {
      NetworkMode: "app",
      CapAdd: null,
      CapDrop: null,
      Privileged: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      PidMode: "",
      UsernsMode: "",
      IpcMode: "private",
      ...over.HostConfig,
    },
    Mounts: [],
    NetworkSettings: {
      Ports: {},
      Networks: {
        app: {
          NetworkID: over.networkId ?? NET_OPEN,
          Gateway: "172.18.0.1",
          IPAddress: "172.18.0.5",
          MacAddress: "02:42:ac:12:00:05",
        },
      },
    },
    ...over.top,
  };
}

const HOST_APPARMOR: HostSecurity = { apparmor: true, seccomp: true, selinux: false, userns: false };

const NETWORKS: NetworkFacts[] = [
  { id: NET_OPEN, name: "app", driver: "bridge", internal: false, subnets: ["172.18.0.0/16"] },
  { id: NET_INTERNAL, name: "backend", driver: "bridge", internal: true, subnets: ["172.19.0.0/16"] },
];

function posture(raw: Json, extra: Partial<ContainerPosture> = {}): ContainerPosture {
  const info = parseContainerInspect(raw, new Map());
  const sec = parseSecurityFacts(raw);
  if (!info.ok || !sec.ok) throw new Error("fixture does not parse");
  return {
    info: info.value,
    sec: sec.value,
    host: HOST_APPARMOR,
    uid: uidOf(sec.value.user, null),
    files: { shell: null, packageManager: null },
    networks: NETWORKS,
    learnedEgress: null,
    containerNames: new Set(["web-1", "web", "db-1", "db"]),
    listen: null,
    ...extra,
  };
}

const run = (p: ContainerPosture, check: PostureCheckId): FindingDraft[] =>
  checkContainer(p).filter((f) => f.check === check);

/** A hardened container: non-root, read-only, every capability dropped, on an internal network. */
const hardened = () =>
  inspect({
    Config: { User: "1000:1000" },
    HostConfig: { CapDrop: ["ALL"], ReadonlyRootfs: true, NetworkMode: "backend" },
    networkId: NET_INTERNAL,
  });

describe("posture checks on docker-inspect fixtures", () => {
  it("a hardened container has no finding at all (with AppArmor on the host and no shell)", () => {
    // The reference negative for every check at once.
    expect(checkContainer(posture(hardened()))).toEqual([]);
  });

  describe("root-user", () => {
    it("flags a container with no User", () => {
      // Docker's default is root.
      const [f] = run(posture(inspect()), "root-user");
      expect(f).toMatchObject({ severity: "warning", summary: "runs as root (no User set)" });
      expect(f?.fix).toContain("--user");
    });
    it("flags an explicit uid 0 and the name root", () => {
      // "0:0" and "root" are root however written.
      expect(run(posture(inspect({ Config: { User: "0:0" } })), "root-user")).toHaveLength(1);
      expect(run(posture(inspect({ Config: { User: "root" } })), "root-user")).toHaveLength(1);
    });
    it("flags a named user that /etc/passwd maps to uid 0", () => {
      // A name is resolved through the container's passwd, not trusted.
      const raw = inspect({ Config: { User: "admin" } });
      const p = posture(raw, { uid: uidOf("admin", "root:x:0:0::/root:/bin/sh\nadmin:x:0:0::/:/bin/sh\n") });
      expect(run(p, "root-user")).toHaveLength(1);
    });
    it("does not flag a numeric non-root uid or a resolved non-root name", () => {
      // uid 1000, and "node" → 1000 in passwd.
      expect(run(posture(inspect({ Config: { User: "1000" } })), "root-user")).toEqual([]);
      expect(run(posture(inspect({ Config: { User: "node" } }), { uid: 1000 }), "root-user")).toEqual([]);
    });
    it("does not flag a name it cannot resolve", () => {
      // Unknown is not evidence of root.
      expect(run(posture(inspect({ Config: { User: "app" } })), "root-user")).toEqual([]);
    });
    it("is only info when dockerd remaps uids (userns-remap or rootless)", () => {
      // uid 0 inside is an unprivileged uid on the host.
      const p = posture(inspect(), { host: { ...HOST_APPARMOR, userns: true } });
      expect(run(p, "root-user")[0]?.severity).toBe("info");
    });
  });

  describe("privileged", () => {
    it("flags --privileged as critical and does not pile up the checks it implies", () => {
      // Privileged already means all capabilities, no AppArmor, no seccomp.
      const p = posture(
        inspect({
          HostConfig: { Privileged: true, CapAdd: ["SYS_ADMIN"] },
          top: { AppArmorProfile: "unconfined" },
        }),
      );
      const checks = checkContainer(p).map((f) => f.check);
      expect(run(p, "privileged")[0]?.severity).toBe("critical");
      expect(checks).not.toContain("capabilities");
      expect(checks).not.toContain("apparmor");
      expect(checks).not.toContain("seccomp");
      expect(checks).not.toContain("root-user");
    });
    it("does not flag a normal container", () => {
      // Privileged false.
      expect(run(posture(inspect()), "privileged")).toEqual([]);
    });
  });

  describe("capabilities", () => {
    it("flags NET_ADMIN as a warning, naming it in the fix", () => {
      // Beyond Docker's default set, but no way out of the container by itself.
      const [f] = run(posture(inspect({ HostConfig: { CapAdd: ["NET_ADMIN"] } })), "capabilities");
      expect(f).toMatchObject({ severity: "warning" });
      expect(f?.summary).toContain("NET_ADMIN");
      expect(f?.fix).toContain("--cap-add NET_ADMIN");
    });
    it("flags SYS_ADMIN and ALL as critical, whatever the spelling", () => {
      // CAP_ prefix and case do not matter; these can escape the container.
      const p = posture(inspect({ HostConfig: { CapAdd: ["cap_sys_admin", "NET_ADMIN"] } }));
      expect(run(p, "capabilities")[0]).toMatchObject({ severity: "critical" });
      expect(run(p, "capabilities")[0]?.summary).toContain("NET_ADMIN, SYS_ADMIN");
      expect(run(posture(inspect({ HostConfig: { CapAdd: ["ALL"] } })), "capabilities")[0]?.severity).toBe(
        "critical",
      );
    });
    it("does not flag adding back a default capability after --cap-drop ALL", () => {
      // NET_BIND_SERVICE is in Docker's default set.
      const p = posture(inspect({ HostConfig: { CapDrop: ["ALL"], CapAdd: ["NET_BIND_SERVICE"] } }));
      expect(run(p, "capabilities")).toEqual([]);
    });
  });

  describe("cap-net-raw", () => {
    it("flags root keeping Docker's default NET_RAW", () => {
      // Raw sockets let root forge packets on the bridge.
      expect(run(posture(inspect()), "cap-net-raw")).toHaveLength(1);
    });
    it("does not flag NET_RAW dropped, a non-root user, or NET_RAW asked for on purpose", () => {
      // Dropped; no effective capability for uid 1000; explicitly added.
      expect(run(posture(inspect({ HostConfig: { CapDrop: ["NET_RAW"] } })), "cap-net-raw")).toEqual([]);
      expect(run(posture(inspect({ Config: { User: "1000" } })), "cap-net-raw")).toEqual([]);
      expect(run(posture(inspect({ HostConfig: { CapAdd: ["NET_RAW"] } })), "cap-net-raw")).toEqual([]);
    });
  });

  describe("apparmor", () => {
    it("flags apparmor=unconfined where the host has AppArmor", () => {
      // Docker applies docker-default unless told otherwise.
      const p = posture(
        inspect({
          HostConfig: { SecurityOpt: ["apparmor=unconfined"] },
          top: { AppArmorProfile: "unconfined" },
        }),
      );
      expect(run(p, "apparmor")[0]).toMatchObject({ severity: "warning" });
    });
    it("flags a missing profile on an AppArmor host", () => {
      // "" on a host with AppArmor means none was applied.
      expect(run(posture(inspect({ top: { AppArmorProfile: "" } })), "apparmor")).toHaveLength(1);
    });
    it("does not flag docker-default or a custom profile", () => {
      // Confined.
      expect(run(posture(inspect()), "apparmor")).toEqual([]);
      expect(run(posture(inspect({ top: { AppArmorProfile: "netmon" } })), "apparmor")).toEqual([]);
    });
    it("is info on a host without AppArmor, and nothing on an SELinux host", () => {
      // The container cannot fix what the host lacks; SELinux confines instead.
      const none = { apparmor: false, seccomp: true, selinux: false, userns: false };
      expect(
        run(posture(inspect({ top: { AppArmorProfile: "" } }), { host: none }), "apparmor")[0]?.severity,
      ).toBe("info");
      const selinux = { ...none, selinux: true };
      expect(run(posture(inspect({ top: { AppArmorProfile: "" } }), { host: selinux }), "apparmor")).toEqual(
        [],
      );
    });
  });

  describe("seccomp", () => {
    it("flags seccomp=unconfined (both spellings)", () => {
      // Old clients wrote "seccomp:unconfined".
      expect(
        run(posture(inspect({ HostConfig: { SecurityOpt: ["seccomp=unconfined"] } })), "seccomp"),
      ).toHaveLength(1);
      expect(
        run(posture(inspect({ HostConfig: { SecurityOpt: ["seccomp:unconfined"] } })), "seccomp"),
      ).toHaveLength(1);
    });
    it("does not flag the default filter or a custom profile", () => {
      // No option, or a profile given inline (long JSON, kept to its start).
      expect(run(posture(inspect()), "seccomp")).toEqual([]);
      const custom = `seccomp=${JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [] }).padEnd(5000, " ")}`;
      expect(run(posture(inspect({ HostConfig: { SecurityOpt: [custom] } })), "seccomp")).toEqual([]);
    });
  });

  describe("writable-rootfs", () => {
    it("flags a writable root filesystem", () => {
      // ReadonlyRootfs false is Docker's default.
      expect(run(posture(inspect()), "writable-rootfs")).toHaveLength(1);
    });
    it("does not flag --read-only", () => {
      // ReadonlyRootfs true.
      expect(run(posture(inspect({ HostConfig: { ReadonlyRootfs: true } })), "writable-rootfs")).toEqual([]);
    });
  });

  describe("host-network / host-pid", () => {
    it("flags --network host and --pid host", () => {
      // Shared namespaces with the host.
      const p = posture(inspect({ HostConfig: { NetworkMode: "host", PidMode: "host" } }));
      expect(run(p, "host-network")).toHaveLength(1);
      expect(run(p, "host-pid")).toHaveLength(1);
    });
    it("does not flag a bridge network and a private PID namespace", () => {
      // The defaults.
      const p = posture(inspect());
      expect(run(p, "host-network")).toEqual([]);
      expect(run(p, "host-pid")).toEqual([]);
    });
  });

  describe("docker-socket", () => {
    const bind = (Source: string, Destination: string, RW = true) => ({
      top: { Mounts: [{ Type: "bind", Source, Destination, RW }] },
    });
    it("flags the socket mounted read-only (read-only does not stop API calls)", () => {
      // -v /var/run/docker.sock:/var/run/docker.sock:ro
      const [f] = run(
        posture(inspect(bind("/var/run/docker.sock", "/var/run/docker.sock", false))),
        "docker-socket",
      );
      expect(f).toMatchObject({ severity: "critical", subject: "/var/run/docker.sock" });
    });
    it("flags a directory above the socket, a rootless socket and containerd's", () => {
      // /run, /run/user/1000/docker.sock, /run/containerd/containerd.sock all reach an engine.
      expect(run(posture(inspect(bind("/run", "/host-run"))), "docker-socket")).toHaveLength(1);
      expect(
        run(posture(inspect(bind("/run/user/1000/docker.sock", "/d.sock"))), "docker-socket"),
      ).toHaveLength(1);
      expect(
        run(posture(inspect(bind("/run/containerd/containerd.sock", "/c.sock"))), "docker-socket"),
      ).toHaveLength(1);
    });
    it("does not flag other binds and volumes", () => {
      // /var/lib/app and a named volume are not the socket.
      expect(run(posture(inspect(bind("/var/lib/app", "/data"))), "docker-socket")).toEqual([]);
      const volume = {
        top: { Mounts: [{ Type: "volume", Source: "/var/lib/docker/volumes/x/_data", Destination: "/x" }] },
      };
      expect(run(posture(inspect(volume)), "docker-socket")).toEqual([]);
    });
  });

  describe("image-shell / image-package-manager", () => {
    it("flags the shell and the package manager the probe found", () => {
      // The paths come from the filesystem probe (src/posture/probe.ts).
      const p = posture(inspect(), { files: { shell: "/bin/sh", packageManager: "/usr/bin/apt-get" } });
      expect(run(p, "image-shell")[0]?.summary).toContain("/bin/sh");
      expect(run(p, "image-package-manager")[0]?.summary).toContain("/usr/bin/apt-get");
    });
    it("does not flag a distroless filesystem, nor one that was not probed", () => {
      // Nothing found; probe failed or disabled.
      expect(run(posture(inspect()), "image-shell")).toEqual([]);
      expect(run(posture(inspect(), { files: null }), "image-package-manager")).toEqual([]);
    });
  });

  describe("internal-network", () => {
    it("flags a workload that only reached containers and the host, on a network with outside access", () => {
      // db (a container name), 172.18.0.1 (the gateway, inside a Docker subnet).
      const p = posture(inspect(), { learnedEgress: ["172.18.0.1|53|udp", "db|5432|tcp"] });
      const [f] = run(p, "internal-network");
      expect(f).toMatchObject({ severity: "warning" });
      expect(f?.summary).toContain("app");
      expect(f?.fix).toContain("--internal");
    });
    it("does not flag a workload that reached an outside address or a DNS name", () => {
      // 203.0.113.7 is outside every Docker subnet; api.example.com was resolved on the wire.
      expect(
        run(
          posture(inspect(), { learnedEgress: ["db|5432|tcp", "203.0.113.7|443|tcp"] }),
          "internal-network",
        ),
      ).toEqual([]);
      expect(
        run(posture(inspect(), { learnedEgress: ["api.example.com|443|tcp"] }), "internal-network"),
      ).toEqual([]);
    });
    it("does not flag without a finished baseline, on an internal network, or with a published port", () => {
      // No evidence; already internal; an internal network cannot publish ports.
      expect(run(posture(inspect()), "internal-network")).toEqual([]);
      expect(run(posture(hardened(), { learnedEgress: [] }), "internal-network")).toEqual([]);
      const published = inspect({
        top: {
          NetworkSettings: {
            Ports: { "8080/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }] },
            Networks: { app: { NetworkID: NET_OPEN, IPAddress: "172.18.0.5", Gateway: "172.18.0.1" } },
          },
        },
      });
      expect(run(posture(published, { learnedEgress: [] }), "internal-network")).toEqual([]);
    });
  });

  describe("unused-published-port", () => {
    const published = inspect({
      top: {
        NetworkSettings: {
          Ports: {
            "8080/tcp": [
              { HostIp: "0.0.0.0", HostPort: "8080" },
              { HostIp: "::", HostPort: "8080" },
            ],
            "9090/tcp": [{ HostIp: "127.0.0.1", HostPort: "9090" }],
          },
          Networks: { app: { NetworkID: NET_OPEN, IPAddress: "172.18.0.5", Gateway: "172.18.0.1" } },
        },
      },
    });
    const seen = (hits: string[], untilMs = T0 + 2 * HOUR): ListenObservation => ({
      hits: new Set(hits),
      sinceMs: T0 - HOUR,
      untilMs,
      minObservedMs: HOUR,
    });
    it("flags a published port with no accepted connection, once per port", () => {
      // 8080 had traffic (12-character id in the key, as in log lines); 9090 had none.
      const p = posture(published, { listen: seen([`${ID.slice(0, 12)}|8080/tcp`]) });
      const found = run(p, "unused-published-port");
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ subject: "9090/tcp" });
      expect(found[0]?.summary).toContain("127.0.0.1:9090");
      expect(found[0]?.summary).toContain("2 h");
    });
    it("does not judge before the port was watched long enough, nor without observations", () => {
      // Started at T0, watched 30 min of the 1 h needed; no observation at all.
      expect(run(posture(published, { listen: seen([], T0 + HOUR / 2) }), "unused-published-port")).toEqual(
        [],
      );
      expect(run(posture(published), "unused-published-port")).toEqual([]);
    });
  });
});

describe("posture inputs", () => {
  it("uidOf reads numbers, root, and names through passwd", () => {
    // "" is Docker's default (root); a name missing from passwd is unknown.
    expect(uidOf("", null)).toBe(0);
    expect(uidOf("1000:1000", null)).toBe(1000);
    expect(uidOf("node", "node:x:1000:1000::/home/node:/bin/sh")).toBe(1000);
    expect(uidOf("ghost", "node:x:1000:1000::/home/node:/bin/sh")).toBeNull();
  });

  it("normalizes capability names", () => {
    // Docker accepts all three spellings.
    expect(["cap_net_admin", "CAP_NET_ADMIN", "net_admin"].map(normalizeCapability)).toEqual([
      "NET_ADMIN",
      "NET_ADMIN",
      "NET_ADMIN",
    ]);
  });

  it("reads docker info SecurityOptions", () => {
    // As dockerd 20.10 prints them; junk means nothing is available.
    expect(
      parseHostSecurity({
        SecurityOptions: ["name=seccomp,profile=default", "name=apparmor", "name=userns"],
      }),
    ).toEqual({ apparmor: true, seccomp: true, selinux: false, userns: true });
    expect(parseHostSecurity({ SecurityOptions: "nope" })).toEqual({
      apparmor: false,
      seccomp: false,
      selinux: false,
      userns: false,
    });
  });

  it("reads the network list and drops unreadable entries", () => {
    // Internal and IPAM subnets; an entry without an id is ignored.
    const nets = parseNetworks([
      {
        Id: NET_INTERNAL,
        Name: "backend",
        Driver: "bridge",
        Internal: true,
        IPAM: { Config: [{ Subnet: "172.19.0.0/16" }] },
      },
      { Name: "broken" },
    ]);
    expect(nets).toEqual([
      { id: NET_INTERNAL, name: "backend", driver: "bridge", internal: true, subnets: ["172.19.0.0/16"] },
    ]);
  });

  it("rejects an inspect answer with a bad id or oversized lists", () => {
    // External input: checked, never half-trusted.
    expect(parseSecurityFacts({ Id: "zz" }).ok).toBe(false);
    expect(parseSecurityFacts({ Id: ID, HostConfig: { CapAdd: new Array(300).fill("NET_ADMIN") } }).ok).toBe(
      false,
    );
  });

  it("formats durations", () => {
    // Minutes under 2 h, hours under 2 d, then days.
    expect([45 * 60_000, 3 * HOUR, 72 * HOUR].map(formatDuration)).toEqual(["45 min", "3 h", "3 d"]);
  });
});

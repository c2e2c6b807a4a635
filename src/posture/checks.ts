// A long file (about 470 lines) on purpose: one small pure function per posture check, side by side,
// so the checks read as one table; splitting them would scatter the table across files.
import type { ContainerInfo } from "../inventory/types.js";
import { type Cidr, parseCidr } from "../net/cidr.js";
import type { HostSecurity, NetworkFacts, SecurityFacts } from "./inspect-schema.js";
import type { FindingDraft, PostureCheckId, PostureSeverity } from "./types.js";

/**
 * The posture checks: small pure functions from what Docker says about one container (plus what
 * netmon learned and saw of it) to findings, each with a one-line fix. No I/O here: the audit
 * gathers the facts (src/posture/audit.ts), the checks only judge them.
 */

/** Everything the checks may look at for one running container. */
export interface ContainerPosture {
  info: ContainerInfo;
  sec: SecurityFacts;
  host: HostSecurity;
  /**
   * The uid its processes start as: Config.User, a name resolved through the container's
   * /etc/passwd; null when it cannot be told (a name missing from an unreadable passwd).
   */
  uid: number | null;
  /** The first shell and package manager found in its filesystem (null = none); null when not probed. */
  files: { shell: string | null; packageManager: string | null } | null;
  /** Every network of the host (for Internal and the subnets). */
  networks: readonly NetworkFacts[];
  /**
   * The workload's learned egress ("dest|port|proto" entries) once its learning period is over
   * and nothing was dropped; null when there is no complete baseline to judge by.
   */
  learnedEgress: readonly string[] | null;
  /** Lower-cased names and Compose services of the host's containers: baseline destinations that are containers. */
  containerNames: ReadonlySet<string>;
  /** Inbound connections netmon saw, for the published-port check; null = not observed (the check is skipped). */
  listen: ListenObservation | null;
}

export interface ListenObservation {
  /** "containerId|port/proto" of accepted inbound connections (full or 12-character ids). */
  hits: ReadonlySet<string>;
  /** The window netmon watched (ms since the epoch). */
  sinceMs: number;
  untilMs: number;
  /** A port is only judged once watched at least this long (ms). */
  minObservedMs: number;
}

export interface PostureCheck {
  id: PostureCheckId;
  /** The severities it can report (the metric's series are created from these). */
  severities: readonly PostureSeverity[];
  /** What it looks for, for the README and `--help`. */
  title: string;
  run(c: ContainerPosture): FindingDraft[];
}

/** Docker's default capability set (moby/oci/caps/defaults.go): what a container gets unless told otherwise. */
export const DOCKER_DEFAULT_CAPS: ReadonlySet<string> = new Set([
  "CHOWN",
  "DAC_OVERRIDE",
  "FSETID",
  "FOWNER",
  "MKNOD",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SETFCAP",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
  "KILL",
  "AUDIT_WRITE",
]);

/** Added capabilities that amount to a way out of the container (or to root on the host's kernel). */
export const ESCAPE_CAPS: ReadonlySet<string> = new Set([
  "ALL",
  "SYS_ADMIN",
  "SYS_MODULE",
  "SYS_PTRACE",
  "SYS_RAWIO",
  "SYS_BOOT",
  "DAC_READ_SEARCH",
  "BPF",
  "MAC_ADMIN",
  "MAC_OVERRIDE",
]);

/** Paths probed in the container's filesystem, in order; the first present one is reported. */
export const SHELL_PATHS = ["/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/ash"] as const;
export const PACKAGE_MANAGER_PATHS = [
  "/usr/bin/apt-get",
  "/usr/bin/apt",
  "/usr/bin/dpkg",
  "/sbin/apk",
  "/usr/bin/dnf",
  "/usr/bin/yum",
  "/usr/bin/microdnf",
  "/usr/bin/rpm",
] as const;

/** Where a Docker (or containerd) API socket lives on the host. */
const SOCKET_PATHS = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock"];

/**
 * The uid of Config.User: "" means root (Docker's default), "1000" or "1000:1000" is numeric, a
 * name is looked up in the container's /etc/passwd text (null when it is not there or unreadable).
 */
export function uidOf(user: string, passwd: string | null): number | null {
  const name = user.split(":")[0]?.trim() ?? "";
  if (name === "" || name === "root") return 0;
  if (/^\d{1,10}$/.test(name)) return Number(name);
  if (passwd === null) return null;
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f[2] !== undefined && /^\d{1,10}$/.test(f[2])) return Number(f[2]);
  }
  return null;
}

const hasOpt = (sec: SecurityFacts, key: string, value: string): boolean =>
  sec.securityOpt.some((o) => o === `${key}=${value}` || o === `${key}:${value}`);

/** Human duration: "45 min", "3 h", "2 d". */
export function formatDuration(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min < 120) return `${min} min`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} d`;
}

const rootUser: PostureCheck = {
  id: "root-user",
  severities: ["warning", "info"],
  title: "runs as root (no User, or uid 0)",
  run({ sec, uid, host }) {
    if (uid !== 0 || sec.privileged) return []; // privileged is its own (worse) finding
    const who = sec.user === "" ? "no User set" : `User ${JSON.stringify(sec.user)}`;
    const remapped = host.userns && sec.usernsMode !== "host";
    return [
      {
        check: "root-user",
        severity: remapped ? "info" : "warning",
        summary: `runs as root (${who})${remapped ? "; uid 0 is remapped on the host (userns/rootless)" : ""}`,
        fix: 'run as a non-root user: --user 1000:1000 (Compose: user: "1000:1000") or USER in the Dockerfile',
      },
    ];
  },
};

const privileged: PostureCheck = {
  id: "privileged",
  severities: ["critical"],
  title: "privileged",
  run({ sec }) {
    if (!sec.privileged) return [];
    return [
      {
        check: "privileged",
        severity: "critical",
        summary: "runs privileged: every capability and host device, no AppArmor or seccomp",
        fix: "remove --privileged (Compose: privileged) and add only the capabilities it needs with --cap-add",
      },
    ];
  },
};

const capabilities: PostureCheck = {
  id: "capabilities",
  severities: ["critical", "warning"],
  title: "capabilities added beyond Docker's default set",
  run({ sec }) {
    if (sec.privileged) return [];
    const added = [...new Set(sec.capAdd)].filter((c) => !DOCKER_DEFAULT_CAPS.has(c)).sort();
    if (added.length === 0) return [];
    const escaping = added.filter((c) => ESCAPE_CAPS.has(c));
    return [
      {
        check: "capabilities",
        severity: escaping.length > 0 ? "critical" : "warning",
        summary: `adds capabilities beyond Docker's default set: ${added.join(", ")}${escaping.length > 0 ? ` (${escaping.join(", ")} can escape the container)` : ""}`,
        fix: `remove --cap-add ${added.join(" --cap-add ")} (Compose: cap_add), or grant a narrower one`,
      },
    ];
  },
};

const capNetRaw: PostureCheck = {
  id: "cap-net-raw",
  severities: ["info"],
  title: "root with Docker's default NET_RAW (packet forging on the bridge)",
  run({ sec, uid }) {
    if (uid !== 0 || sec.privileged) return [];
    if (sec.capDrop.includes("ALL") || sec.capDrop.includes("NET_RAW")) return [];
    if (sec.capAdd.includes("NET_RAW") || sec.capAdd.includes("ALL")) return []; // asked for on purpose
    return [
      {
        check: "cap-net-raw",
        severity: "info",
        summary:
          "runs as root with NET_RAW (a Docker default): it can forge packets and spoof ARP/DNS on its bridge",
        fix: "--cap-drop NET_RAW (Compose: cap_drop: [NET_RAW]), or better --cap-drop ALL",
      },
    ];
  },
};

const apparmor: PostureCheck = {
  id: "apparmor",
  severities: ["warning", "info"],
  title: "no AppArmor profile, or unconfined",
  run({ sec, host }) {
    if (sec.privileged) return [];
    const unconfined = sec.appArmorProfile === "unconfined" || hasOpt(sec, "apparmor", "unconfined");
    if (host.apparmor) {
      if (!unconfined && sec.appArmorProfile !== "") return [];
      return [
        {
          check: "apparmor",
          severity: "warning",
          summary: `runs without an AppArmor profile (${unconfined ? "apparmor=unconfined" : "none applied"})`,
          fix: "drop --security-opt apparmor=unconfined (Docker applies docker-default) or load a profile: --security-opt apparmor=NAME",
        },
      ];
    }
    if (host.selinux) return [];
    return [
      {
        check: "apparmor",
        severity: "info",
        summary: "no AppArmor profile: the host kernel has no AppArmor (nor SELinux), so nothing confines it",
        fix: "enable AppArmor on the host (kernel: apparmor=1 security=apparmor), restart dockerd: containers get docker-default",
      },
    ];
  },
};

const seccomp: PostureCheck = {
  id: "seccomp",
  severities: ["warning", "info"],
  title: "seccomp unconfined",
  run({ sec, host }) {
    if (sec.privileged) return [];
    if (hasOpt(sec, "seccomp", "unconfined")) {
      return [
        {
          check: "seccomp",
          severity: "warning",
          summary: "runs without a seccomp filter (seccomp=unconfined): every system call reaches the kernel",
          fix: "drop --security-opt seccomp=unconfined (Compose: security_opt); give a custom profile if the default blocks a call it needs",
        },
      ];
    }
    if (host.seccomp) return [];
    return [
      {
        check: "seccomp",
        severity: "info",
        summary: "no seccomp filter: dockerd runs without seccomp support",
        fix: "run dockerd built with seccomp on a kernel with CONFIG_SECCOMP_FILTER (docker info shows name=seccomp)",
      },
    ];
  },
};

const writableRootfs: PostureCheck = {
  id: "writable-rootfs",
  severities: ["info"],
  title: "writable root filesystem",
  run({ sec }) {
    if (sec.readonlyRootfs) return [];
    return [
      {
        check: "writable-rootfs",
        severity: "info",
        summary: "its root filesystem is writable: an intruder can drop tools and change the application",
        fix: "--read-only plus a tmpfs or volume for what it writes (Compose: read_only: true, tmpfs: [/tmp])",
      },
    ];
  },
};

const hostNetwork: PostureCheck = {
  id: "host-network",
  severities: ["warning"],
  title: "host network namespace",
  run({ sec }) {
    if (sec.networkMode !== "host") return [];
    return [
      {
        check: "host-network",
        severity: "warning",
        summary:
          "shares the host's network: reaches every host port and interface, and netmon cannot see its traffic",
        fix: "use a bridge network and publish only the ports it serves (remove --network host / network_mode: host)",
      },
    ];
  },
};

const hostPid: PostureCheck = {
  id: "host-pid",
  severities: ["warning"],
  title: "host PID namespace",
  run({ sec }) {
    if (sec.pidMode !== "host") return [];
    return [
      {
        check: "host-pid",
        severity: "warning",
        summary: "shares the host's PID namespace: sees every host process, and can signal them as root",
        fix: "remove --pid host (Compose: pid: host)",
      },
    ];
  },
};

/** Whether a bind source exposes a container-engine socket: the socket itself or a directory above it. */
function exposesSocket(source: string): string | null {
  const s = source.length > 1 ? source.replace(/\/+$/, "") : source;
  if (s.endsWith("/docker.sock") || s.endsWith("/containerd.sock")) return s;
  for (const sock of SOCKET_PATHS) if (s === "/" || sock.startsWith(`${s}/`)) return sock;
  return null;
}

const dockerSocket: PostureCheck = {
  id: "docker-socket",
  severities: ["critical"],
  title: "Docker socket mounted",
  run({ sec }) {
    const out: FindingDraft[] = [];
    for (const m of sec.mounts) {
      if (m.type !== "bind") continue;
      const sock = exposesSocket(m.source);
      if (sock === null) continue;
      const via = m.source === sock ? "" : ` through the bind of ${m.source}`;
      out.push({
        check: "docker-socket",
        severity: "critical",
        summary: `can reach the container engine: ${sock}${via} is mounted at ${m.destination} (read-only or not, that is root on the host)`,
        fix: "remove the mount, or give it a socket proxy that allows only the API calls it needs (read-only list/inspect)",
        subject: m.destination,
      });
    }
    return out;
  },
};

const imageShell: PostureCheck = {
  id: "image-shell",
  severities: ["info"],
  title: "a shell in the image",
  run({ files }) {
    if (files?.shell == null) return [];
    return [
      {
        check: "image-shell",
        severity: "info",
        summary: `its filesystem has a shell (${files.shell}): an intruder can run commands in it`,
        fix: "build the final stage FROM a distroless or scratch base, or delete the shell there",
      },
    ];
  },
};

const imagePackageManager: PostureCheck = {
  id: "image-package-manager",
  severities: ["info"],
  title: "a package manager in the image",
  run({ files }) {
    if (files?.packageManager == null) return [];
    return [
      {
        check: "image-package-manager",
        severity: "info",
        summary: `its filesystem has a package manager (${files.packageManager}): an intruder can install tools`,
        fix: "remove the package manager from the final stage (multi-stage build, distroless base)",
      },
    ];
  },
};

/** Whether a learned egress destination lies inside the host's Docker networks. */
function insideDocker(dest: string, subnets: readonly Cidr[], names: ReadonlySet<string>): boolean {
  if (parseCidr(dest) !== null) return subnets.some((s) => s.contains(dest));
  // A name: a container (or Compose service) is inside; a DNS name resolved on the wire is not.
  return names.has(dest.toLowerCase());
}

const internalNetwork: PostureCheck = {
  id: "internal-network",
  severities: ["warning"],
  title: "only talks inside the host, but sits on a network with outside access",
  run({ info, sec, networks, learnedEgress, containerNames }) {
    if (learnedEgress === null) return [];
    // A published port needs a network with outside access: an --internal one cannot publish.
    if (info.publishedPorts.length > 0 || sec.networkMode === "host" || sec.networkMode === "none") return [];
    const byId = new Map(networks.map((n) => [n.id, n]));
    const open = info.networks
      .map((a) => byId.get(a.networkId))
      .filter(
        (n): n is NetworkFacts =>
          n !== undefined && !n.internal && n.driver !== "null" && n.driver !== "host",
      );
    if (open.length === 0) return [];
    const subnets = networks.flatMap((n) => n.subnets.map(parseCidr)).filter((c): c is Cidr => c !== null);
    for (const entry of learnedEgress) {
      const dest = entry.split("|")[0] ?? "";
      if (!insideDocker(dest, subnets, containerNames)) return [];
    }
    const names = open.map((n) => n.name).join(", ");
    return [
      {
        check: "internal-network",
        severity: "warning",
        summary: `talked only to containers and the host while learning (${learnedEgress.length} destinations), yet ${names} lets it reach outside`,
        fix: "attach it to an --internal network instead (Compose: networks: { backend: { internal: true } })",
      },
    ];
  },
};

const unusedPublishedPort: PostureCheck = {
  id: "unused-published-port",
  severities: ["info"],
  title: "a published port nobody connected to",
  run({ info, listen }) {
    if (listen === null) return [];
    const watchedMs = listen.untilMs - Math.max(listen.sinceMs, info.startedAt);
    if (watchedMs < listen.minObservedMs) return [];
    const id = info.ref.id;
    const out: FindingDraft[] = [];
    const seen = new Set<string>();
    for (const p of info.publishedPorts) {
      const port = `${p.containerPort}/${p.proto}`;
      if (seen.has(port)) continue;
      seen.add(port);
      if (listen.hits.has(`${id}|${port}`) || listen.hits.has(`${id.slice(0, 12)}|${port}`)) continue;
      const binds = info.publishedPorts
        .filter((q) => q.containerPort === p.containerPort && q.proto === p.proto)
        .map((q) => `${q.hostIp || "0.0.0.0"}:${q.hostPort}`);
      out.push({
        check: "unused-published-port",
        severity: "info",
        summary: `publishes ${port} on ${binds.join(", ")}, but nothing connected to it in the ${formatDuration(watchedMs)} netmon watched`,
        fix: "remove the -p / ports: entry, or bind it to 127.0.0.1 if only the host uses it",
        subject: port,
      });
    }
    return out;
  },
};

/** Every check, in the order the audit reports them. */
export const CHECKS: readonly PostureCheck[] = [
  privileged,
  dockerSocket,
  capabilities,
  hostNetwork,
  hostPid,
  rootUser,
  apparmor,
  seccomp,
  capNetRaw,
  writableRootfs,
  imagePackageManager,
  imageShell,
  internalNetwork,
  unusedPublishedPort,
];

/** Runs every check on one container. */
export function checkContainer(c: ContainerPosture): FindingDraft[] {
  return CHECKS.flatMap((check) => check.run(c));
}

import type { Baseline } from "../baseline/baseline.js";
import { containerIdOf, parseContainerInspect } from "../inventory/parse-inspect.js";
import type { ContainerInfo } from "../inventory/types.js";
import { workloadOf } from "../model/workload.js";
import { mapLimit } from "../util/map-limit.js";
import {
  CHECKS,
  type ContainerPosture,
  checkContainer,
  type ListenObservation,
  PACKAGE_MANAGER_PATHS,
  SHELL_PATHS,
  uidOf,
} from "./checks.js";
import {
  type HostSecurity,
  type NetworkFacts,
  parseHostSecurity,
  parseNetworks,
  parseSecurityFacts,
  type SecurityFacts,
} from "./inspect-schema.js";
import { firstPresent, type PostureDockerClient, readContainerFile } from "./probe.js";
import { type PostureFinding, SEVERITIES } from "./types.js";

export interface AuditOptions {
  /** The learned baseline (the daemon's live one, or stateDir/baseline.json): enables the internal-network check. */
  baseline?: Baseline | null;
  /** baseline.learnForSeconds in ms: a workload is judged by its baseline only once it finished learning. */
  learnForMs?: number;
  /**
   * "containerId|port/proto" of the inbound connections netmon saw accepted (full or 12-character
   * ids); enables the published-port check. Without it that check is skipped.
   */
  observedListenHits?: ReadonlySet<string>;
  /** Start and end of the observation behind observedListenHits (ms since the epoch; default: end = now). */
  observedSinceMs?: number;
  observedUntilMs?: number;
  /** A published port is judged only once watched this long (ms; default 1 hour). */
  minObservedMs?: number;
  /** Look for a shell and a package manager in each container's filesystem (default true). */
  probeFiles?: boolean;
  /** Containers inspected at once (default 4). */
  concurrency?: number;
  now?: number;
}

export interface AuditReport {
  generatedAt: string;
  /** Running containers audited. */
  containers: number;
  host: HostSecurity;
  /** Sorted: critical first, then container name, then check order. */
  findings: PostureFinding[];
  /** Containers or probes that could not be read (the rest of the audit went on). */
  errors: string[];
}

const DEFAULT_MIN_OBSERVED_MS = 3_600_000;

const statusOf = (err: unknown): number | undefined =>
  typeof err === "object" && err !== null ? (err as { statusCode?: number }).statusCode : undefined;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

interface Gathered {
  info: ContainerInfo;
  sec: SecurityFacts;
  uid: number | null;
  files: ContainerPosture["files"];
}

/** Reads one container: inspect, the uid behind a named User, and the filesystem probes. */
async function gather(
  docker: PostureDockerClient,
  id: string,
  probeFiles: boolean,
  errors: string[],
): Promise<Gathered | null> {
  const api = docker.getContainer(id);
  let raw: unknown;
  try {
    raw = await api.inspect();
  } catch (err) {
    if (statusOf(err) === 404) return null; // removed since the list
    errors.push(`container ${id.slice(0, 12)}: inspect failed: ${message(err)}`);
    return null;
  }
  const parsed = parseContainerInspect(raw, new Map());
  const sec = parseSecurityFacts(raw);
  if (!parsed.ok || !sec.ok) {
    const why = !parsed.ok ? parsed.error : !sec.ok ? sec.error : "";
    errors.push(`container ${id.slice(0, 12)}: unreadable inspect answer (${why}); not audited`);
    return null;
  }
  if (!parsed.value.running) return null;
  const name = parsed.value.ref.name;
  let passwd: string | null = null;
  const userName = sec.value.user.split(":")[0] ?? "";
  if (userName !== "" && userName !== "root" && !/^\d+$/.test(userName)) {
    try {
      passwd = await readContainerFile(api, "/etc/passwd");
    } catch (err) {
      errors.push(`container ${name}: cannot read /etc/passwd to resolve User ${userName}: ${message(err)}`);
    }
  }
  let files: ContainerPosture["files"] = null;
  if (probeFiles) {
    try {
      files = {
        shell: await firstPresent(api, SHELL_PATHS),
        packageManager: await firstPresent(api, PACKAGE_MANAGER_PATHS),
      };
    } catch (err) {
      errors.push(`container ${name}: filesystem probe failed: ${message(err)}`);
    }
  }
  return { info: parsed.value, sec: sec.value, uid: uidOf(sec.value.user, passwd), files };
}

/** The workload's learned egress when its learning is complete; null otherwise. */
function learnedEgressOf(
  baseline: Baseline | null | undefined,
  workload: string,
  learnForMs: number,
  now: number,
): string[] | null {
  const w = baseline?.describe(workload) ?? null;
  if (w === null || w.dropped > 0 || now < w.firstSeen + learnForMs) return null;
  return w.egress;
}

const severityRank = (s: string): number => SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);
const checkRank = new Map(CHECKS.map((c, i) => [c.id, i]));

/** Sort order of a report: severity, then container name, then the order of CHECKS. */
export function compareFindings(a: PostureFinding, b: PostureFinding): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    a.container.name.localeCompare(b.container.name) ||
    (checkRank.get(a.check) ?? 0) - (checkRank.get(b.check) ?? 0) ||
    a.key.localeCompare(b.key)
  );
}

/**
 * Audits every running container: its configuration (inspect), the daemon's confinement support
 * (info), the networks, its filesystem (stat only, through the archive API: nothing runs in the
 * container), and, when given, its learned baseline and the inbound connections netmon saw.
 */
export async function runAudit(docker: PostureDockerClient, opts: AuditOptions = {}): Promise<AuditReport> {
  const now = opts.now ?? Date.now();
  const errors: string[] = [];
  const host = parseHostSecurity(await docker.info());
  const networks: NetworkFacts[] = parseNetworks(await docker.listNetworks());
  const ids = (await docker.listContainers()).map(containerIdOf).filter((id): id is string => id !== null);
  const gathered = (
    await mapLimit(ids, opts.concurrency ?? 4, (id) => gather(docker, id, opts.probeFiles !== false, errors))
  ).filter((g): g is Gathered => g !== null);

  const containerNames = new Set<string>();
  for (const g of gathered) {
    containerNames.add(g.info.ref.name.toLowerCase());
    if (g.info.ref.service) containerNames.add(g.info.ref.service.toLowerCase());
  }
  const listen: ListenObservation | null =
    opts.observedListenHits === undefined
      ? null
      : {
          hits: opts.observedListenHits,
          sinceMs: opts.observedSinceMs ?? 0,
          untilMs: opts.observedUntilMs ?? now,
          minObservedMs: opts.minObservedMs ?? DEFAULT_MIN_OBSERVED_MS,
        };
  const findings: PostureFinding[] = [];
  for (const g of gathered) {
    const workload = workloadOf(g.info.ref);
    const drafts = checkContainer({
      ...g,
      host,
      networks,
      learnedEgress: learnedEgressOf(opts.baseline, workload, opts.learnForMs ?? 0, now),
      containerNames,
      listen,
    });
    for (const d of drafts) {
      findings.push({
        check: d.check,
        severity: d.severity,
        container: g.info.ref,
        workload,
        summary: d.summary,
        fix: d.fix,
        key: `${d.check}|${g.info.ref.id}|${d.subject ?? ""}`,
      });
    }
  }
  findings.sort(compareFindings);
  errors.sort();
  return { generatedAt: new Date(now).toISOString(), containers: gathered.length, host, findings, errors };
}

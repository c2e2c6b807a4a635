import type { Alert } from "../alerts/alert.js";
import type { Baseline } from "../baseline/baseline.js";
import { type BlockRecord, entryText } from "../block/types.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { ContainerRef } from "../model/events.js";
import type { Severity } from "../model/finding.js";
import type { Mode } from "../model/mode.js";
import { LABEL_EGRESS, LABEL_LISTEN, LABEL_MODE, labelPolicyOf } from "../rules/label-policy.js";

/** Labels shown on the page: netmon's own and Compose's. Others may carry secrets, and the page is readable by every local user. */
const SHOWN_LABELS = new Set([
  LABEL_MODE,
  LABEL_EGRESS,
  LABEL_LISTEN,
  "com.docker.compose.project",
  "com.docker.compose.service",
]);

export interface ContainerDetailsAlert {
  fingerprint: string;
  detector: string;
  severity: Severity;
  summary: string;
  /** The container the latest finding came from (alerts belong to the workload). */
  container: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  action: string;
  dst?: { ip: string; port: number; proto: string; names?: string[] };
}

export interface ContainerDetails {
  id: string;
  name: string;
  image: string;
  project: string | null;
  service: string | null;
  workload: string;
  running: boolean;
  startedAt: number;
  networks: { name: string; ipv4: string | null; ipv6: string | null }[];
  mode: { configured: Mode; effective: Mode; learningUntil: number | null };
  /** netmon.* and com.docker.compose.{project,service} labels only. */
  labels: Record<string, string>;
  /** How many other labels the container has (not shown). */
  otherLabels: number;
  policy: {
    /** The netmon.egress / netmon.listen label values as written, or null. */
    egress: string | null;
    listen: string | null;
    /** "port/proto" from EXPOSE and published ports. */
    declaredPorts: string[];
    /** Why a label is ignored (from the image, malformed). */
    warnings: string[];
  };
  baseline: { firstSeen: number; egress: string[]; listen: string[]; dropped: number } | null;
  alerts: ContainerDetailsAlert[];
  blocks: { id: string; block: string; reason: string; createdAt: number; expiresAt: number }[];
}

export interface ContainerDetailsSources {
  containers: { get(id: string): ContainerInfo | undefined; all(): ContainerInfo[] };
  policy: {
    workloadOf(c: ContainerRef): string;
    modeOf(c: ContainerRef, ts: number): Mode;
    configuredMode(c: ContainerRef): Mode;
  };
  baseline: Pick<Baseline, "describe">;
  alerts: { active(): readonly Alert[] };
  blocks?: { active(): readonly BlockRecord[] } | null;
  /** baseline.learnForSeconds in ms (0: no learning period). */
  learnForMs: number;
  now(): number;
}

/** A container by full id, by name, or by a unique id prefix of at least 12 characters. */
export function findContainer(
  containers: ContainerDetailsSources["containers"],
  key: string,
): ContainerInfo | undefined {
  const exact = containers.get(key);
  if (exact !== undefined) return exact;
  const all = containers.all();
  const byName = all.find((c) => c.ref.name === key);
  if (byName !== undefined) return byName;
  if (key.length < 12) return undefined;
  const prefixed = all.filter((c) => c.ref.id.startsWith(key));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/**
 * What the page's side panel shows for one container: identity, mode, its policy (labels, declared
 * ports, baseline) and its workload's active alerts and blocks. Null when the container is unknown.
 */
export function containerDetails(key: string, src: ContainerDetailsSources): ContainerDetails | null {
  const info = findContainer(src.containers, key);
  if (info === undefined) return null;
  const ref = info.ref;
  const workload = src.policy.workloadOf(ref);
  const now = src.now();
  const labels: Record<string, string> = {};
  let otherLabels = 0;
  for (const [k, v] of Object.entries(info.labels)) {
    if (SHOWN_LABELS.has(k)) labels[k] = v;
    else otherLabels++;
  }
  const declared = new Set<string>();
  for (const e of info.exposedPorts) declared.add(e.includes("/") ? e : `${e}/tcp`);
  for (const p of info.publishedPorts) declared.add(`${p.containerPort}/${p.proto}`);
  const baseline = src.baseline.describe(workload);
  const alerts = src.alerts
    .active()
    .filter((a) => a.state === "active" && (a.workload === workload || a.container.id === ref.id))
    .sort((a, b) => b.lastSeen - a.lastSeen)
    .map((a) => {
      const out: ContainerDetailsAlert = {
        fingerprint: a.fingerprint,
        detector: a.detector,
        severity: a.severity,
        summary: a.summary,
        container: a.container.name,
        count: a.count,
        firstSeen: a.firstSeen,
        lastSeen: a.lastSeen,
        action: a.action,
      };
      if (a.dst !== undefined) out.dst = { ...a.dst };
      return out;
    });
  const blocks = (src.blocks?.active() ?? [])
    .filter((b) => b.workload === workload || b.container === ref.name)
    .map((b) => ({
      id: b.id,
      block: entryText(b.entry),
      reason: b.reason,
      createdAt: b.createdAt,
      expiresAt: b.expiresAt,
    }));
  return {
    id: ref.id,
    name: ref.name,
    image: ref.image,
    project: ref.project,
    service: ref.service,
    workload,
    running: info.running,
    startedAt: info.startedAt,
    networks: info.networks.map((n) => ({ name: n.networkName, ipv4: n.ipv4, ipv6: n.ipv6 })),
    mode: {
      configured: src.policy.configuredMode(ref),
      effective: src.policy.modeOf(ref, now),
      learningUntil: baseline !== null && src.learnForMs > 0 ? baseline.firstSeen + src.learnForMs : null,
    },
    labels,
    otherLabels,
    policy: {
      egress: info.labels[LABEL_EGRESS] ?? null,
      listen: info.labels[LABEL_LISTEN] ?? null,
      declaredPorts: [...declared].sort(),
      warnings: labelPolicyOf(info).warnings,
    },
    baseline,
    alerts,
    blocks,
  };
}

import type { ContainerRef } from "../model/events.js";

export type PostureSeverity = "critical" | "warning" | "info";

export const SEVERITIES: readonly PostureSeverity[] = ["critical", "warning", "info"];

/** Every check's identifier: the `check` label of netmon_posture_findings, so the set is fixed. */
export type PostureCheckId =
  | "root-user"
  | "privileged"
  | "capabilities"
  | "cap-net-raw"
  | "apparmor"
  | "seccomp"
  | "writable-rootfs"
  | "host-network"
  | "host-pid"
  | "docker-socket"
  | "image-shell"
  | "image-package-manager"
  | "internal-network"
  | "unused-published-port";

/** One thing to tighten on one container. */
export interface PostureFinding {
  check: PostureCheckId;
  severity: PostureSeverity;
  container: ContainerRef;
  /** Workload identity (as in baselines and policy): Compose project/service, image repository, or name. */
  workload: string;
  /** What is wrong, one line. */
  summary: string;
  /** What to change, one line (a docker run flag and its Compose key where there is one). */
  fix: string;
  /** Stable identity across audits: check, container id, and the subject (a port, a path) when a check can fire more than once. */
  key: string;
}

/** What a check returns; the audit adds the container, workload and key. */
export interface FindingDraft {
  check: PostureCheckId;
  severity: PostureSeverity;
  summary: string;
  fix: string;
  /** Distinguishes several findings of one check on one container (e.g. the port). */
  subject?: string;
}

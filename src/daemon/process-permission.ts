import type { ProcessesConfig } from "../config/processes-schema.js";
import { CAP_SYS_PTRACE, hasCapability } from "./capabilities.js";

export interface PtraceProbe {
  root: boolean;
  ptrace: boolean;
}

export function probePtrace(): PtraceProbe {
  return { root: process.getuid?.() === 0, ptrace: hasCapability(CAP_SYS_PTRACE) };
}

export interface ProcessAttribution {
  enabled: boolean;
  /** The one start-up line about it, or null when it runs with what it needs. */
  notice: { level: "info" | "warn"; msg: string } | null;
}

const GRANT =
  "grant CAP_SYS_PTRACE with a systemd drop-in (systemctl edit netmon: [Service] AmbientCapabilities=CAP_NET_RAW CAP_SYS_PTRACE, CapabilityBoundingSet=CAP_NET_RAW CAP_SYS_PTRACE) or docker run --cap-add SYS_PTRACE; the trade-off: it gives netmon ptrace read access to every process's /proc/<pid>/fd and environ on the host";

/** Whether listener events and connection alerts name their process (`processes.enabled`), and what to say at start. */
export function processAttribution(
  config: ProcessesConfig,
  probe: PtraceProbe = probePtrace(),
): ProcessAttribution {
  const capable = probe.root || probe.ptrace;
  if (config.enabled === false) {
    return {
      enabled: false,
      notice: {
        level: "info",
        msg: `process attribution off (processes.enabled: false): alerts name no process; to turn it on set processes.enabled: auto and ${GRANT}`,
      },
    };
  }
  if (capable) return { enabled: true, notice: null };
  if (config.enabled === "auto") {
    return {
      enabled: false,
      notice: {
        level: "warn",
        msg: `process attribution off: netmon lacks CAP_SYS_PTRACE to read other users' /proc/<pid>/fd, so alerts name no process; ${GRANT} (processes.enabled: false silences this line)`,
      },
    };
  }
  return {
    enabled: true,
    notice: {
      level: "warn",
      msg: `process attribution forced on (processes.enabled: true) without CAP_SYS_PTRACE: processes of other users show as processUnknown "no-permission"; ${GRANT}`,
    },
  };
}

import { accessSync, constants, mkdirSync } from "node:fs";
import type { NetmonConfig } from "../config/schema.js";
import { NetmonError } from "../util/errors.js";
import { CAP_NET_ADMIN, CAP_NET_RAW, hasCapability } from "./capabilities.js";

/** How the checks look at the host (tests pass fakes). */
export interface HostProbe {
  hasCapability(cap: number): boolean;
  /** Creates the directory when missing and checks it is writable; throws the errno error otherwise. */
  ensureWritableDir(path: string): void;
}

export const realHost: HostProbe = {
  hasCapability: (cap) => hasCapability(cap),
  ensureWritableDir(path) {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK);
  },
};

/**
 * What the daemon needs before it touches any file, in the order a person fixes them:
 * capabilities first, then the state directory (the Docker socket is checked when it connects).
 * Each message says what to run. Throws a NetmonError (one clear line).
 */
export function checkPrerequisites(config: NetmonConfig, host: HostProbe = realHost): void {
  if (!host.hasCapability(CAP_NET_RAW)) {
    throw new NetmonError(
      "netmon needs CAP_NET_RAW to capture packets: run it as root (sudo netmon run), or grant the capability (setcap cap_net_raw+ep $(readlink -f $(which node)), or AmbientCapabilities=CAP_NET_RAW as in systemd/netmon.service)",
    );
  }
  if (config.blocking.mode === "enforce" && !host.hasCapability(CAP_NET_ADMIN)) {
    throw new NetmonError(
      "blocking.mode enforce needs CAP_NET_ADMIN: run as root, add CAP_NET_ADMIN to AmbientCapabilities (systemctl edit netmon), or set blocking.mode to dry-run or off",
    );
  }
  try {
    host.ensureWritableDir(config.stateDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new NetmonError(
      `state directory ${config.stateDir} is not writable (${code}): create it for the user netmon runs as (sudo install -d -o "$(id -un)" ${config.stateDir}), or set stateDir in the config to a writable directory`,
    );
  }
}

import { hostname } from "node:os";
import { z } from "zod";
import { doc } from "../model/config-meta.js";

/**
 * Fleet identity (README "Many hosts"): `host`, the name every log line, event line and
 * Alertmanager alert carries, and `metrics.hostLabel`, which adds it to every metric as well.
 */

export const hostSchema = doc(
  z
    .string()
    .min(1)
    .max(253)
    // It becomes a label value and a log field: no spaces or control characters to trip a query.
    .regex(/^[^\s\p{Cc}]+$/u, "no spaces or control characters")
    .nullable()
    .default(null),
  "The name of this host on every log line (top-level `host`, next to `app`), event line and Alertmanager alert (label `host`), and with metrics.hostLabel on every metric: how a fleet's log pipeline and Alertmanager tell the hosts apart. null = the machine's hostname (os.hostname(), read once at start; in `netmon replay` the replaying machine's).",
  { restart: true },
);

export const metricsSchema = z
  .strictObject({
    hostLabel: doc(
      z.boolean().default(false),
      "Add a constant label host=<host> to every metric on /metrics. Off by default: Prometheus already tells the hosts apart by the scrape's `instance` label (and the shipped rules keep it); turn it on when the instance is not a meaningful host name (a load balancer, a Kubernetes pod address) or for a central Prometheus fed by federation or remote-write. A target label `host` set in the scrape config wins unless honor_labels is on.",
    ),
  })
  .prefault({});

/** The configured host name, else the machine's: call once at start, the result is the host for the run. */
export function hostOf(config: { host: string | null }): string {
  return config.host ?? hostname();
}

import { z } from "zod";
import { doc } from "../model/config-meta.js";

/**
 * `alertmanager:` in the configuration: netmon pushes its alerts straight to Alertmanager (API v2).
 * Maps to AlertmanagerSinkOptions (seconds here, ms there); no URL = no push.
 */
export const alertmanagerSchema = z
  .strictObject({
    urls: doc(
      z
        .array(z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" }))
        .default([])
        .superRefine((urls, ctx) => {
          // The same peer twice would get every alert twice, and its failures would count double.
          const seen = new Set<string>();
          urls.forEach((url, i) => {
            const key = url.replace(/\/+$/, "");
            if (seen.has(key)) ctx.addIssue({ code: "custom", path: [i], message: `listed twice: ${url}` });
            seen.add(key);
          });
        }),
      "Push every alert straight to Alertmanager (API v2), besides the Prometheus rules path.\nBase URLs of the peers of ONE Alertmanager cluster (HA): every alert goes to each, each retried on its own, and the cluster sends one notification. Separate, unclustered Alertmanagers here would each notify. http or https; empty = no push.",
    ),
    resendIntervalSeconds: doc(
      z.number().int().min(1).max(3600).default(60),
      "Active alerts are pushed again this often (s); keep it well under Alertmanager's resolve_timeout (5 min), or it resolves them between pushes.",
    ),
    timeoutSeconds: doc(
      z.number().int().min(1).max(300).default(5),
      "Per request (s): a hung Alertmanager is aborted and retried with back-off.",
    ),
    maxQueue: doc(
      z.number().int().min(10).max(1_000_000).default(1000),
      "Alerts waiting per URL while Alertmanager is unreachable; the oldest is dropped (and counted in netmon_alertmanager_dropped_total) beyond it, so memory stays bounded.",
    ),
  })
  .prefault({});

export type AlertmanagerConfig = z.output<typeof alertmanagerSchema>;

import { z } from "zod";

/**
 * `alertmanager:` in the configuration: netmon pushes its alerts straight to Alertmanager (API v2).
 * Maps to AlertmanagerSinkOptions (seconds here, ms there); no URL = no push.
 */
export const alertmanagerSchema = z
  .strictObject({
    /** Base URLs (http/https, optional path prefix, optional user:password@); each gets every alert. */
    urls: z.array(z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })).default([]),
    /** Re-send of active alerts (s): must stay well under Alertmanager's resolve_timeout (5 m), or it resolves them; shorter = more requests. */
    resendIntervalSeconds: z.number().int().min(1).max(3600).default(60),
    /** Per request (s): a hung Alertmanager is aborted and retried; too short fails on a slow but healthy one. */
    timeoutSeconds: z.number().int().min(1).max(300).default(5),
    /** Alerts waiting per URL while Alertmanager is unreachable; the oldest is dropped beyond it (memory bound). */
    maxQueue: z.number().int().min(10).max(1_000_000).default(1000),
  })
  .prefault({});

export type AlertmanagerConfig = z.output<typeof alertmanagerSchema>;

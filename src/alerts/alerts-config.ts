import { z } from "zod";
import { doc } from "../model/config-meta.js";
import { DEFAULT_RUNBOOK_BASE_URL } from "./runbooks.js";

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" });

/** `alerts:` in the config: how findings fold into alerts and how many lines they may write. */
export const alertsSchema = z
  .strictObject({
    suppressSeconds: doc(
      z.number().int().min(0).default(600),
      "An active incident logs at most one `alert updated` line per window (s) while it grows; findings in between only add to its count (counted as suppressed): longer = quieter logs, staler counts.",
    ),
    resolveAfterSeconds: doc(
      z.number().int().min(1).default(900),
      "An alert with no new finding for this long (s) is resolved (logged once).",
    ),
    fanOutAfter: doc(
      z.number().int().min(1).default(3),
      "Destination hosts nothing allows that one workload gets alerts of their own for at once; the next ones (a sweep, fast-flux C2, a crawler) fold into one fan-out incident with counts and samples until it resolves. Higher: more detail, more lines in an attack.",
    ),
    maxActive: doc(
      z.number().int().min(10).default(10_000),
      "Active alerts kept at most; when full, the one quiet the longest is resolved early.",
    ),
    logLinesPerSecond: doc(
      z.number().min(0.1).default(50),
      "Alert log lines per second at most (event time), on top of the per-alert suppression, so a flood of distinct alerts cannot fill the disk; the dropped lines are counted and summarised. Critical alerts always pass.",
    ),
    logLineBurst: doc(
      z.number().int().min(1).default(500),
      "Lines allowed in one burst before the per-second budget applies.",
    ),
    runbookBaseUrl: doc(
      httpUrl.default(DEFAULT_RUNBOOK_BASE_URL),
      "Where the runbooks live: each alert's `runbook` (and Alertmanager's `runbook_url`) is this URL with the anchor of its `### Runbook: …` heading. Point it at your own copy of the README (a wiki page with the same headings) to keep links inside your network.",
    ),
    externalUrl: doc(
      httpUrl.nullable().default(null),
      "netmon's own address as people reach it (a reverse proxy, a host name): alerts link to the container's map there (Alertmanager's `generatorURL` → `/ui`). null = http://<http.listen>:<http.port>.",
    ),
  })
  .prefault({});

export type AlertsConfig = z.output<typeof alertsSchema>;

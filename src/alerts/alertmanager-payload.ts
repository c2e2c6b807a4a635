import type { FindingEndpoint } from "../model/finding.js";
import { type ProcessInfo, processText } from "../processes/process-info.js";
import type { Alert, AlertTargets } from "./alert.js";
import { alertCommunityId } from "./alert-community-id.js";

/** One alert as Alertmanager's API v2 takes it (`POST /api/v2/alerts`, a JSON array of these). */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: string;
  /** Where the alert comes from: the container in netmon's map (`/ui`). */
  generatorURL?: string;
  /** Only on resolutions: a firing alert is kept alive by re-sending it, as Prometheus does. */
  endsAt?: string;
}

/**
 * `Netmon` + the detector name in PascalCase: "unexpected-outbound" → "NetmonUnexpectedOutbound".
 * One alertname per detector so Alertmanager routes and inhibits per kind of finding, like one
 * Prometheus alerting rule per condition; `detector` carries the raw name as well.
 */
export function alertnameOf(detector: string): string {
  const pascal = detector
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
  return `Netmon${pascal}`;
}

/** ISO 8601 for a ms timestamp; undefined for one Date cannot represent. */
export function iso(ms: number): string | undefined {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** "ip:port/proto (name, name)"; IPv6 in brackets. */
export function describeEndpoint(e: FindingEndpoint): string {
  const host = e.ip.includes(":") ? `[${e.ip}]` : e.ip;
  const names = e.names !== undefined && e.names.length > 0 ? ` (${e.names.join(", ")})` : "";
  return `${host}:${e.port}/${e.proto}${names}`;
}

/** "15 (22/tcp, 23/tcp, …)": how many distinct targets an incident took in, and the first few. */
export function describeTargets(t: AlertTargets): string {
  const more = t.distinct > t.samples.length ? ", …" : "";
  return `${t.distinct}${t.capped ? "+" : ""} (${t.samples.join(", ")}${more})`;
}

/** The daemon's base URL as people reach it: alerts.externalUrl, else built from the http listen address. */
export function externalBaseUrl(externalUrl: string | null, listen: string, port: number): string {
  if (externalUrl !== null) return externalUrl.replace(/\/+$/, "");
  const host = listen.includes(":") ? `[${listen}]` : listen;
  return `http://${host}:${port}`;
}

/** The container's place in the map: `/ui?container=<short id>`. */
export function containerUiUrl(baseUrl: string, containerId: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/ui?container=${encodeURIComponent(containerId.slice(0, 12))}`;
}

/**
 * The process that holds the alert's socket (details.process, filled by process attribution), or
 * why it is unknown; undefined when netmon did not look.
 */
function processAnnotation(details: Alert["details"]): string | undefined {
  if (details === undefined || !("process" in details)) return undefined;
  // Set only by netmon's attribution (ProcessInfo or null); its texts are made printable there.
  const p = details.process as ProcessInfo | null | undefined;
  if (p === undefined) return undefined;
  if (p !== null) return processText(p);
  const why = details.processUnknown;
  return `unknown (${typeof why === "string" ? why : "not looked up"})`;
}

/** What the links in an alert point at; without a base URL the alert has no generatorURL. */
export interface AmLinks {
  /** netmon's external base URL (see externalBaseUrl). */
  baseUrl?: string;
}

/**
 * The API v2 alert for a netmon alert. Labels (the alert's identity in Alertmanager, all strings,
 * empty ones dropped): alertname, detector, severity, container (name), workload, host, fingerprint.
 * `endsAt` (resolutions only) is the alert's last finding time.
 */
export function toAmAlert(alert: Alert, host: string, resolved: boolean, links: AmLinks = {}): AmAlert {
  const labels: Record<string, string> = {};
  const put = (name: string, value: string): void => {
    if (value !== "") labels[name] = value;
  };
  put("alertname", alertnameOf(alert.detector));
  put("detector", alert.detector);
  put("severity", alert.severity);
  put("container", alert.container.name);
  put("workload", alert.workload);
  put("host", host);
  put("fingerprint", alert.fingerprint);

  const firstSeen = iso(alert.firstSeen);
  const lastSeen = iso(alert.lastSeen);
  const destination = alert.dst !== undefined ? describeEndpoint(alert.dst) : undefined;
  const communityId = alertCommunityId(alert);
  const fix = alert.fix ?? null;
  // The next step first, then the evidence (an alert the alert manager did not judge names none).
  const lines = [alert.summary];
  if (alert.fix !== undefined) {
    lines.push(fix !== null ? `fix: ${fix}` : "fix: none, it must not be allowed (see the runbook)");
  }
  if (alert.runbook !== undefined) lines.push(`runbook: ${alert.runbook}`);
  if (destination !== undefined) lines.push(`destination: ${destination}`);
  if (communityId !== undefined) lines.push(`community id: ${communityId}`);
  const holder = processAnnotation(alert.details);
  if (holder !== undefined) lines.push(`process: ${holder}`);
  lines.push(`count: ${alert.count}`);
  const targets = alert.targets !== undefined ? describeTargets(alert.targets) : undefined;
  if (targets !== undefined) lines.push(`${alert.targets!.of}: ${targets}`);
  if (alert.folded !== undefined) lines.push(`folded in: ${alert.folded}`);
  if (firstSeen !== undefined) lines.push(`first seen: ${firstSeen}`);
  if (lastSeen !== undefined) lines.push(`last seen: ${lastSeen}`);
  const annotations: Record<string, string> = {
    summary: alert.summary,
    description: lines.join("\n"),
    count: String(alert.count),
  };
  if (fix !== null) annotations.fix = fix;
  if (alert.runbook !== undefined) annotations.runbook_url = alert.runbook;
  if (destination !== undefined) annotations.destination = destination;
  // An annotation, not a label: it changes with the latest flow and must not split the alert.
  if (communityId !== undefined) annotations.community_id = communityId;
  if (targets !== undefined) annotations.targets = targets;
  if (holder !== undefined) annotations.process = holder;

  const out: AmAlert = { labels, annotations };
  if (links.baseUrl !== undefined) out.generatorURL = containerUiUrl(links.baseUrl, alert.container.id);
  // Without startsAt Alertmanager uses its receive time: better than failing on a bad timestamp.
  if (firstSeen !== undefined) out.startsAt = firstSeen;
  if (resolved) out.endsAt = lastSeen ?? new Date().toISOString();
  return out;
}

/** Alertmanager tells alerts apart by their label set: this is the queue's dedupe key. */
export function amAlertIdentity(a: AmAlert): string {
  return JSON.stringify(a.labels);
}

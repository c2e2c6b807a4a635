import { alertnameOf } from "./alertmanager-payload.js";

/**
 * The README on the project's repository: package.json names no repository or homepage, so this
 * placeholder is the default of `alerts.runbookBaseUrl` until it does.
 */
export const DEFAULT_RUNBOOK_BASE_URL = "https://github.com/netmon/netmon/blob/main/README.md";

/**
 * Finding kinds whose runbook is not their detector's alertname (NetmonUnexpectedOutbound, …):
 * the ones the shipped Prometheus rules alert on apart, by severity.
 */
const RUNBOOK_OF_KIND: Readonly<Record<string, string>> = {
  "unexpected-outbound/denylisted": "NetmonUnexpectedOutboundCritical",
  "unusual-listener/undeclared-loopback-port": "NetmonUnusualListenerInfo",
};

/** The README heading of a finding kind's runbook, without "### ": "Runbook: NetmonConnectionBurst". */
export function runbookHeadingOf(detector: string, kind: string | undefined): string {
  const name =
    (kind !== undefined ? RUNBOOK_OF_KIND[`${detector}/${kind}`] : undefined) ?? alertnameOf(detector);
  return `Runbook: ${name}`;
}

/** GitHub's anchor for a heading: lower case, punctuation but "-" and "_" dropped, spaces to "-". */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The runbook URL of a finding kind: the base URL (a README) and the heading's anchor. */
export function runbookUrlOf(baseUrl: string, detector: string, kind: string | undefined): string {
  const base = baseUrl.replace(/#.*$/, "");
  return `${base}#${githubSlug(runbookHeadingOf(detector, kind))}`;
}

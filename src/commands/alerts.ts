import { type AlertRow, formatAlertRows } from "../explain/alert-rows.js";
import { getDaemonBody } from "./daemon-api.js";

/** `netmon alerts [--json]`: the running daemon's active incidents, as a table or JSON. */
export async function alertsCommand(opts: { url: string; json: boolean }): Promise<string> {
  const body = await getDaemonBody(opts.url, "/api/alerts", "alert list");
  const rows = (body as { alerts?: AlertRow[] } | null)?.alerts ?? [];
  return opts.json ? `${JSON.stringify(rows, null, 2)}\n` : formatAlertRows(rows);
}

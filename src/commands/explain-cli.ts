import type { Command } from "commander";
import type { NetmonConfig } from "../config/schema.js";
import { DEFAULT_DAEMON_URL } from "./daemon-api.js";

const URL_HELP = `the daemon's local HTTP address (default: from --config, else ${DEFAULT_DAEMON_URL})`;

/**
 * `netmon explain` and `netmon alerts` (triage: why allowed, what is open), registered here so the
 * CLI's main file only names them. `configOf` is the CLI's config loader (exit 2 on a bad file).
 * The commands' modules are imported in their actions: every other command starts without them.
 */
export function addTriageCommands(
  program: Command,
  configOf: (path: string | undefined) => Promise<NetmonConfig>,
): void {
  const urlOf = async (opts: { url?: string; config?: string }): Promise<string> => {
    if (opts.url !== undefined) return opts.url;
    if (!opts.config) return DEFAULT_DAEMON_URL;
    const { graphUrlFromConfig } = await import("./graph.js");
    return graphUrlFromConfig(await configOf(opts.config));
  };

  program
    .command("explain")
    .description(
      "why a connection (or a listening port) of a container is allowed or not: its mode and why, every rule, label, DNS name and baseline entry that matches or nearly does, the verdict, and what enforce mode would do",
    )
    .argument("<container>", "container name, full id or id prefix (12+)")
    .argument(
      "[destination]",
      "IP, container or DNS name, with :PORT[/PROTO] (an IPv6 address with a port: [fd00::1]:443)",
    )
    .option("--listen <port>", "explain a listening port PORT[/PROTO] instead of a destination")
    .option("--json", "print JSON")
    .option("--url <url>", URL_HELP)
    .option("-c, --config <file>", "configuration file (http.listen/http.port; offline: the policy)")
    .option(
      "--replay-inventory <file>",
      "offline: the containers (docker inspect JSON), instead of the daemon",
    )
    .option("--baseline <file>", "offline: a saved baseline (default: empty)")
    .action(
      async (
        container: string,
        destination: string | undefined,
        opts: {
          listen?: string;
          json?: boolean;
          url?: string;
          config?: string;
          replayInventory?: string;
          baseline?: string;
        },
      ) => {
        const config = await configOf(opts.config);
        const url = await urlOf(opts);
        const { explainCommand } = await import("./explain.js");
        process.stdout.write(await explainCommand(config, container, destination, { ...opts, url }));
      },
    );

  program
    .command("alerts")
    .description(
      "the running daemon's active incidents: container, detector, severity, first and last seen, count, action",
    )
    .option("--json", "print JSON")
    .option("--url <url>", URL_HELP)
    .option("-c, --config <file>", "configuration file (for http.listen and http.port)")
    .action(async (opts: { json?: boolean; url?: string; config?: string }) => {
      const url = await urlOf(opts);
      const { alertsCommand } = await import("./alerts.js");
      process.stdout.write(await alertsCommand({ url, json: opts.json === true }));
    });
}

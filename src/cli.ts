#!/usr/bin/env node
import { Command, CommanderError } from "commander";
// Each command's module is imported in its action (import() below), and so are the config
// schema, the YAML parser and the logger: `netmon --help` loads commander and nothing else, a
// replay or check-config loads no Docker client, metrics registry, firewall or topology code.
import { DEFAULT_DAEMON_URL } from "./commands/daemon-api.js";
import { addTriageCommands } from "./commands/explain-cli.js";
import type { ConfigResult } from "./config/load.js";
import type { NetmonConfig } from "./config/schema.js";
import type { Daemon } from "./daemon/daemon.js";
import { NetmonError } from "./util/errors.js";
import type { Logger, LoggerOptions } from "./util/logger.js";

const VERSION = "0.1.0";

/**
 * The file's configuration, or exit 2 with its errors. Without a file: the embedded defaults,
 * read from their generated JSON (src/config/default-config.ts) without loading the schema.
 */
async function configOrThrow(path: string | undefined): Promise<NetmonConfig> {
  if (path === undefined) return (await import("./config/default-config.js")).defaultConfig();
  const { loadConfig } = await import("./config/load.js");
  const result = loadConfig(path);
  if (!result.ok)
    throw new NetmonError(`invalid configuration${path ? ` in ${path}` : ""}`, 2, result.errors);
  return result.config;
}

/** The JSON logger for a command, with the run's host name on every line. */
async function loggerFor(config: NetmonConfig, opts: Omit<LoggerOptions, "host"> = {}): Promise<Logger> {
  const [{ createLogger }, { hostOf }] = await Promise.all([
    import("./util/logger.js"),
    import("./config/fleet-schema.js"),
  ]);
  return createLogger(config.log.level, { ...opts, host: hostOf(config) });
}

async function runDaemon(opts: { config?: string; logEvents?: boolean }): Promise<void> {
  const config = await configOrThrow(opts.config);
  const log = await loggerFor(config);
  const [{ Daemon }, { loadConfig }] = await Promise.all([
    import("./daemon/daemon.js"),
    import("./config/load.js"),
  ]);
  const daemon = new Daemon({
    config,
    log,
    version: VERSION,
    logEvents: opts.logEvents === true || config.log.events,
    ...(opts.config === undefined ? {} : { configPath: opts.config }),
  });
  await daemon.start();
  process.on("SIGHUP", () => reloadConfig(daemon, loadConfig(opts.config), log));
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  // A second signal while draining means "now".
  const now = (s: string) => {
    log.warn({ signal: s }, "second signal: exiting at once");
    process.exit(1);
  };
  process.once("SIGTERM", () => now("SIGTERM"));
  process.once("SIGINT", () => now("SIGINT"));
  log.info({ signal }, "stopping");
  await daemon.stop();
  log.info("stopped");
  // Closed capture handles may keep the event loop alive (see live-capture.ts): exit explicitly
  // once the last log line is written.
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  process.exit(0);
}

/** SIGHUP: a bad new config is rejected with its errors and the old one stays in force. */
function reloadConfig(daemon: Daemon, result: ConfigResult, log: Logger): void {
  if (!result.ok) {
    daemon.status.reload(false, Date.now());
    log.error(
      { errors: result.errors },
      "reload rejected: the new configuration is invalid; the old one stays in force",
    );
    return;
  }
  try {
    const { applied, needRestart } = daemon.reload(result.config);
    daemon.status.reload(true, Date.now());
    log.info(
      { applied, needRestart },
      needRestart.length > 0 ? "reloaded; some changes need a restart" : "reloaded",
    );
  } catch (err) {
    daemon.status.reload(false, Date.now());
    log.error(
      { err: err instanceof Error ? err.message : String(err) },
      "reload rejected; the old configuration stays in force",
    );
  }
}

/** A baseline change: its result on stdout, the note that it is queued for the daemon on stderr. */
function writeChange(change: { out: string; note: string }): void {
  process.stdout.write(change.out);
  process.stderr.write(change.note);
}

function buildProgram(): Command {
  const program = new Command()
    .name("netmon")
    .description("Runtime network anomaly monitor for Docker hosts")
    .version(VERSION)
    .showHelpAfterError("(run netmon --help for usage)")
    .exitOverride();

  program
    .command("run")
    .description("run the daemon: follow Docker, capture on the bridges, report")
    .option("-c, --config <file>", "configuration file (default: the embedded defaults)")
    .option("--log-events", "log every connection and listener event as a JSON line")
    .action(runDaemon);

  program
    .command("replay")
    .description("replay a pcap/pcapng file through the detection pipeline, printing alerts as JSON lines")
    .argument("<file>", "capture file (pcap or pcapng)")
    .option("-i, --inventory <file>", "containers of the capture: the JSON array printed by docker inspect")
    .option("-c, --config <file>", "configuration file")
    .option("-b, --baseline <file>", "a saved baseline to judge against (default: empty)")
    .option("--log-events", "also print every connection and listener event")
    .option(
      "--graph <file>",
      "also write the capture's connection map: .dot (Graphviz), .mmd (Mermaid) or .json",
    )
    .action(
      async (
        file: string,
        opts: { inventory?: string; config?: string; baseline?: string; logEvents?: boolean; graph?: string },
      ) => {
        const config = await configOrThrow(opts.config);
        const log = await loggerFor(config, { sync: true });
        const { replayCommand } = await import("./commands/replay.js");
        const summary = await replayCommand(file, opts, config, log);
        log.info({ summary }, "replay finished");
      },
    );

  program
    .command("graph")
    .description("print the running daemon's connection map (last 15 min) as Graphviz DOT, Mermaid or JSON")
    .option("-f, --format <format>", "dot, mermaid or json", "dot")
    .option(
      "--url <url>",
      `the daemon's local HTTP address (default: from --config, else ${DEFAULT_DAEMON_URL})`,
    )
    .option("-c, --config <file>", "configuration file (for http.listen and http.port)")
    .action(async (opts: { format: string; url?: string; config?: string }) => {
      const { graphCommand, graphUrlFromConfig } = await import("./commands/graph.js");
      const url =
        opts.url ?? (opts.config ? graphUrlFromConfig(await configOrThrow(opts.config)) : DEFAULT_DAEMON_URL);
      process.stdout.write(await graphCommand({ format: opts.format, url }));
    });

  addTriageCommands(program, configOrThrow);

  program
    .command("containers")
    .description("list the running containers with each one's workload and effective mode")
    .option("-c, --config <file>", "configuration file")
    .option("--json", "print JSON instead of a table")
    .action(async (opts: { config?: string; json?: boolean }) => {
      const { containersCommand } = await import("./commands/containers.js");
      process.stdout.write(await containersCommand(await configOrThrow(opts.config), opts.json === true));
    });

  const baseline = program
    .command("baseline")
    .description(
      "see what workloads learned and why they have their mode; forget, reset, export or import it",
    );
  baseline
    .command("status")
    .description("per workload: mode, why that mode, learning since / time left, learned entries")
    .option("-c, --config <file>", "configuration file (Docker socket, stateDir)")
    .option("--json", "print JSON")
    .action(async (opts: { config?: string; json?: boolean }) => {
      const { baselineStatusCommand } = await import("./commands/baseline.js");
      process.stdout.write(await baselineStatusCommand(await configOrThrow(opts.config), opts.json === true));
    });
  baseline
    .command("forget")
    .description(
      "forget what a workload learned (it learns again), or one entry of it; the daemon applies it",
    )
    .argument("<workload>", "workload identity")
    .argument("[entry]", "PORT/PROTO or DEST:PORT/PROTO, as baseline status prints it")
    .option("-c, --config <file>", "configuration file (for stateDir)")
    .action(async (workload: string, entry: string | undefined, opts: { config?: string }) => {
      const { forgetBaseline } = await import("./commands/baseline.js");
      writeChange(forgetBaseline(await configOrThrow(opts.config), workload, entry));
    });
  baseline
    .command("show")
    .description("print the learned baseline of every workload, or of one")
    .argument("[workload]", "workload identity (compose project/service, image repository, or name)")
    .option("-c, --config <file>", "configuration file (for stateDir)")
    .option("--json", "print JSON")
    .action(async (workload: string | undefined, opts: { config?: string; json?: boolean }) => {
      const { showBaseline } = await import("./commands/baseline.js");
      process.stdout.write(showBaseline(await configOrThrow(opts.config), workload, opts.json === true));
    });
  baseline
    .command("reset")
    .description("forget what every workload learned (given one: that one); the daemon applies it")
    .argument("[workload]", "only this workload (as baseline forget)")
    .option("-c, --config <file>", "configuration file (for stateDir)")
    .action(async (workload: string | undefined, opts: { config?: string }) => {
      const { resetBaseline } = await import("./commands/baseline.js");
      writeChange(resetBaseline(await configOrThrow(opts.config), workload));
    });
  baseline
    .command("export")
    .description("print what workloads learned as a versioned JSON document, to ship to other hosts")
    .argument("[workloads...]", "only these workloads (default: every workload)")
    .option("-c, --config <file>", "configuration file (for stateDir)")
    .action(async (workloads: string[], opts: { config?: string }) => {
      const { exportBaselineCommand } = await import("./commands/baseline-share.js");
      process.stdout.write(exportBaselineCommand(await configOrThrow(opts.config), workloads));
    });
  baseline
    .command("import")
    .description(
      "replace (or --merge into) workloads' baselines from an export; checked whole, the daemon applies it",
    )
    .argument("<file>", "a document printed by baseline export")
    .option("--merge", "merge into what the workloads learned here instead of replacing it")
    .option("-c, --config <file>", "configuration file (for stateDir, baseline.maxEntriesPerWorkload)")
    .action(async (file: string, opts: { config?: string; merge?: boolean }) => {
      const { importBaselineCommand } = await import("./commands/baseline-share.js");
      writeChange(importBaselineCommand(await configOrThrow(opts.config), file, opts.merge === true));
    });

  const blocks = program.command("blocks").description("list or lift the firewall blocks netmon holds");
  blocks
    .command("list")
    .description("active blocks: id, container, what is blocked, expiry, reason")
    .option("-c, --config <file>", "configuration file (for stateDir)")
    .option("--json", "print JSON")
    .action(async (opts: { config?: string; json?: boolean }) => {
      const { listBlocks } = await import("./commands/blocks.js");
      process.stdout.write(listBlocks(await configOrThrow(opts.config), opts.json === true));
    });
  blocks
    .command("remove")
    .description("lift one block now")
    .argument("<id>", "block id from netmon blocks list")
    .option("-c, --config <file>", "configuration file (for stateDir)")
    .action(async (id: string, opts: { config?: string }) => {
      const { removeBlock } = await import("./commands/blocks.js");
      process.stdout.write(removeBlock(await configOrThrow(opts.config), id));
    });
  blocks
    .command("flush")
    .description("remove everything netmon added to the firewall (chain, jumps, sets) and nothing else")
    .option("-c, --config <file>", "configuration file (for stateDir)")
    .action(async (opts: { config?: string }) => {
      const { flushBlocks } = await import("./commands/blocks.js");
      process.stdout.write(flushBlocks(await configOrThrow(opts.config)));
    });

  program
    .command("audit")
    .description(
      "check how every running container is hardened (user, capabilities, AppArmor/seccomp, read-only root, host namespaces, Docker socket, shell/package manager, --internal candidates, unused published ports)",
    )
    .option("-c, --config <file>", "configuration file (Docker socket, stateDir for the baseline)")
    .option("--json", "print the report as JSON instead of a table")
    .option("--events <file>", "a log of netmon run --log-events: enables the unused-published-port check")
    .action(async (opts: { config?: string; json?: boolean; events?: string }) => {
      const { auditCommand } = await import("./commands/audit.js");
      process.stdout.write(await auditCommand(await configOrThrow(opts.config), opts));
    });

  const policy = program.command("policy").description("least-privilege policy from what workloads learned");
  policy
    .command("suggest")
    .description(
      "labels, netmon.yaml rule and DOCKER-USER iptables rules allowing exactly what a workload learned, with a dry run over observed connections",
    )
    .argument("[workload]", "workload identity (default: every workload in the baseline)")
    .option("-c, --config <file>", "configuration file (stateDir, policy.dnsResolvers, Docker socket)")
    .option("--events <file>", "a log of netmon run --log-events: dry-run the rules over its connections")
    .option("--hours <n>", "dry-run window: the last N hours of the events file", "24")
    .option("--json", "print JSON (an array, one suggestion per workload)")
    .action(
      async (
        workload: string | undefined,
        opts: { config?: string; events?: string; hours?: string; json?: boolean },
      ) => {
        const { policySuggestCommand } = await import("./commands/policy-suggest.js");
        process.stdout.write(await policySuggestCommand(await configOrThrow(opts.config), workload, opts));
      },
    );

  program
    .command("check-config")
    .description("validate a configuration file: exit 0, or exit 2 with every error and its key path")
    .argument("<file>", "configuration file")
    .option("--explain", "also print each detector's help, findings and options (with this file's values)")
    .action(async (file: string, opts: { explain?: boolean }) => {
      const config = await configOrThrow(file);
      process.stdout.write(`${file}: ok\n`);
      if (opts.explain) {
        const { explainDetectors } = await import("./commands/explain-detectors.js");
        process.stdout.write(`\n${explainDetectors(config)}`);
      }
    });

  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the message (or the help/version).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof NetmonError) {
      process.stderr.write(`netmon: ${err.message}\n`);
      for (const d of err.details) process.stderr.write(`  ${d}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`netmon: unexpected error: ${message}\n`);
    return 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);

import type { Logger } from "../util/logger.js";
import type { Argv } from "./commands.js";
import type { Runner } from "./exec.js";

/**
 * The dry-run backend: logs the exact command it would run and reports success, so the same code
 * path decides and "applies" blocks while the kernel is never touched.
 */
export function recordingRunner(log: Logger, sink?: Argv[]): Runner {
  return (argv) => {
    sink?.push(argv);
    // Read-only probes are not firewall changes: only changes are logged.
    const readOnly = argv.includes("-S") || argv.includes("-C") || argv[1] === "save" || argv[1] === "list";
    if (!readOnly) log.info({ command: argv.join(" "), argv }, "dry-run: would run");
    return { ok: true, stdout: "", error: "" };
  };
}

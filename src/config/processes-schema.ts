import { z } from "zod";
import { doc } from "../model/config-meta.js";

/**
 * `processes:` naming the process behind a listener or a connection alert (from /proc/<pid>/fd).
 * Reading another user's fds needs CAP_SYS_PTRACE, which also grants reading every process's
 * environment on the host: hence a choice, on by default only when netmon already has it.
 */
export const processesSchema = z
  .strictObject({
    enabled: doc(
      z.union([z.literal("auto"), z.boolean()]).default("auto"),
      'Name the process holding a listening socket or an alerted connection (pid, comm, cmdline, user, start). "auto": on when netmon runs as root or has CAP_SYS_PTRACE (needed to read other users\' /proc/<pid>/fd; it also allows reading every process\'s fds and environ on the host); true: on anyway (lookups it may not make say processUnknown "no-permission"); false: off, alerts name no process.',
    ),
  })
  .prefault({});

export type ProcessesConfig = z.output<typeof processesSchema>;

import { z } from "zod";
import { parseCidr } from "../config/cidr.js";

const ruleSchema = z.strictObject({
  detector: z.string().min(1),
  /** Severities that may block (any when absent). */
  severities: z.array(z.enum(["info", "warning", "critical"])).optional(),
  /** connection-burst shapes that may block (any when absent). */
  shapes: z.array(z.enum(["burst", "port-scan", "host-scan", "brute-force"])).optional(),
  /** destination: this container → that IP:port/proto; container: quarantine its new egress. */
  scope: z.enum(["destination", "container"]),
});

export type BlockRule = z.output<typeof ruleSchema>;

const cidrSchema = z.string().refine((t) => parseCidr(t) !== null, "must be an IP or CIDR");

/** `blocking:` in the config. Decisions live here, apart from detection; off by default. */
export const blockingSchema = z
  .strictObject({
    /** off: never touch the firewall; dry-run: log and count the exact commands; enforce: run them. Only workloads in `enforce` mode are ever blocked. */
    mode: z.enum(["off", "dry-run", "enforce"]).default("off"),
    /** Which alerts may block, and how. */
    rules: z.array(ruleSchema).default([
      { detector: "unexpected-outbound", severities: ["critical"], scope: "destination" },
      { detector: "connection-burst", shapes: ["port-scan", "host-scan"], scope: "container" },
      { detector: "connection-burst", shapes: ["brute-force"], scope: "destination" },
    ]),
    /** First block of a target lasts this long (s); the kernel expires it even if netmon is gone. */
    durationSeconds: z.number().int().min(1).max(2_000_000).default(3600),
    /** Repeat offenders (same workload and target within 24 h) get double the last duration, up to this (s). */
    maxDurationSeconds: z.number().int().min(1).max(2_000_000).default(86_400),
    /** Never blocked, whatever an alert says (checked before every block); gateways and DNS resolvers are added. */
    neverBlock: z.array(cidrSchema).default([]),
    /** New blocks per minute at most: a flood of alerts cannot firewall the host into the ground. */
    maxBlocksPerMinute: z.number().int().min(1).default(10),
    /** Active blocks at most. */
    maxActiveBlocks: z.number().int().min(1).default(1000),
    /** On SIGTERM: keep the blocks (they expire by their kernel timeout) or remove them. */
    onShutdown: z.enum(["keep", "remove"]).default("keep"),
  })
  .prefault({});

export type BlockingConfig = z.output<typeof blockingSchema>;

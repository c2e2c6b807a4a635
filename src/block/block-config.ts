import { z } from "zod";
import { doc } from "../model/config-meta.js";
import { parseCidr } from "../net/cidr.js";

const ruleSchema = z.strictObject({
  detector: z.string().min(1),
  /** Severities that may block (any when absent). */
  severities: z.array(z.enum(["info", "warning", "critical"])).optional(),
  /**
   * Finding kinds of that detector that may block (any when absent), e.g. connection-burst's
   * port-scan; checked against the detector's declared findings when the config loads.
   */
  shapes: z.array(z.string().min(1)).optional(),
  /** destination: this container → that IP:port/proto; container: quarantine its new egress. */
  scope: z.enum(["destination", "container"]),
});

export type BlockRule = z.output<typeof ruleSchema>;

const cidrSchema = z.string().refine((t) => parseCidr(t) !== null, "must be an IP or CIDR");

/** `blocking:` in the config. Decisions live here, apart from detection; off by default. */
export const blockingSchema = z
  .strictObject({
    mode: doc(
      z.enum(["off", "dry-run", "enforce"]).default("off"),
      "off: never touch the firewall · dry-run: log and count the exact commands it would run · enforce: run them. Only workloads whose mode is `enforce` are ever blocked.",
    ),
    rules: doc(
      z.array(ruleSchema).default([
        { detector: "unexpected-outbound", severities: ["critical"], scope: "destination" },
        { detector: "connection-burst", shapes: ["port-scan", "host-scan"], scope: "container" },
        { detector: "connection-burst", shapes: ["brute-force"], scope: "destination" },
      ]),
      "Which alerts may block, and how: destination = this container -> that IP:port/proto (open connections are cut too); container = quarantine all its new egress except the never-block list. Optional filters: severities, shapes (connection-burst).",
    ),
    durationSeconds: doc(
      z.number().int().min(1).max(2_000_000).default(3600),
      "First block lasts this long (s); the kernel expires it even if netmon is gone.",
    ),
    maxDurationSeconds: doc(
      z.number().int().min(1).max(2_000_000).default(86_400),
      "Repeat offenders (same workload and target within 24 h) get twice the last duration, up to this (s).",
    ),
    neverBlock: doc(
      z.array(cidrSchema).default([]),
      "Never blocked, whatever an alert says (CIDRs); network gateways and policy.dnsResolvers are added.",
    ),
    maxBlocksPerMinute: doc(
      z.number().int().min(1).default(10),
      "New blocks per minute at most, so a flood of alerts cannot firewall the host into the ground.",
    ),
    maxActiveBlocks: doc(z.number().int().min(1).default(1000), "Active blocks at most."),
    onShutdown: doc(
      z.enum(["keep", "remove"]).default("keep"),
      "On SIGTERM: keep the blocks (they expire by their kernel timeout) or remove them.",
    ),
    reconcileSeconds: doc(
      z.number().int().min(1).max(3600).default(30),
      "In enforce mode, how often (s) netmon checks its jump at the top of DOCKER-USER and its chain, and restores them when a Docker restart or `firewall-cmd --reload` removed or pushed them down (netmon_block_repairs_total).",
    ),
  })
  .prefault({});

export type BlockingConfig = z.output<typeof blockingSchema>;

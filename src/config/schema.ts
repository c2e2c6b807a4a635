import cron from "node-cron";
import { z } from "zod";
import { DETECTORS } from "../../detectors/index.js";
import { alertmanagerSchema } from "../alerts/alertmanager-options.js";
import { blockingSchema } from "../block/block-config.js";
import { normalizeIp } from "../capture/ip-format.js";
import { parseEgressRule } from "./egress-rule.js";
import { parseListenList } from "./listen-rule.js";

/**
 * The configuration file's schema. Every key has a default, so an empty file (or none) is a
 * complete configuration; unknown keys are errors, so a typo never silently does nothing.
 */
export const modeSchema = z.enum(["learn", "monitor", "enforce", "off"]);
export type Mode = z.infer<typeof modeSchema>;

const captureSchema = z
  .strictObject({
    /** "auto" = every Docker bridge that carries a running container; or a fixed list. */
    interfaces: z.union([z.literal("auto"), z.array(z.string().min(1).max(15))]).default("auto"),
    /** libpcap buffer timeout (ms): how long the kernel may hold packets before waking us. 0 = immediate mode. */
    bufferTimeoutMs: z.number().int().min(0).max(1000).default(10),
    /** Kernel capture buffer per interface (MiB): larger absorbs bursts, costs locked memory. */
    bufferSizeMb: z.number().int().min(1).max(1024).default(16),
    /** Bytes kept per packet: enough for headers and a full DNS answer. */
    snaplen: z.number().int().min(128).max(65535).default(4352),
  })
  .prefault({});

const flowsSchema = z
  .strictObject({
    /** Flow table cap; the oldest flow is evicted (and counted) when full. */
    maxFlows: z.number().int().min(100).max(10_000_000).default(200_000),
    /** A SYN with no answer after this long is reported `unanswered` (ms of packet time). */
    tcpUnansweredMs: z.number().int().min(100).default(5_000),
    /** An established TCP flow with no control packet for this long is dropped from the table (ms). */
    tcpEstablishedIdleMs: z.number().int().min(1_000).default(3_600_000),
    /** A UDP pseudo-flow with no packet for this long is closed (ms). */
    udpIdleMs: z.number().int().min(100).default(30_000),
  })
  .prefault({});

const dnsSchema = z
  .strictObject({
    maxEntries: z.number().int().min(10).max(10_000_000).default(100_000),
    /** Answers are kept at least this long, whatever their TTL (s): short TTLs would lose names mid-connection. */
    minTtlSeconds: z.number().int().min(0).default(60),
    maxTtlSeconds: z.number().int().min(1).default(86_400),
  })
  .prefault({});

const listenersSchema = z
  .strictObject({
    /** node-cron expression with seconds; default every 15 s. */
    schedule: z
      .string()
      .refine(
        (s) => cron.validate(s),
        "not a valid cron expression (six fields, seconds first: */15 * * * * *)",
      )
      .default("*/15 * * * * *"),
    /** Listening sockets read per container per scan, at most. */
    maxPerContainer: z.number().int().min(1).max(65_536).default(4096),
  })
  .prefault({});

const dockerSchema = z
  .strictObject({
    socketPath: z.string().min(1).default("/var/run/docker.sock"),
    /** Reconnect back-off after the Docker socket breaks (ms): first wait and cap. */
    reconnectMinMs: z.number().int().min(10).default(500),
    reconnectMaxMs: z.number().int().min(100).default(30_000),
  })
  .prefault({});

const httpSchema = z
  .strictObject({
    /** Serve /metrics, /healthz and /readyz. */
    enabled: z.boolean().default(true),
    /** Address to bind: loopback by default, so nothing outside the host can read the metrics. */
    listen: z.string().min(1).default("127.0.0.1"),
    /** TCP port (9797: clear of Prometheus, Alertmanager and the common exporters on 9090-9115). */
    port: z.number().int().min(1).max(65535).default(9797),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
    /** Log every connection and listener event (verbose: for debugging and until detectors exist). */
    events: z.boolean().default(false),
  })
  .prefault({});

/** One egress rule per item: IP-or-CIDR[:port[/proto]], host.name[:port[/proto]], *.domain[:port[/proto]]. */
const egressRuleSchema = z.string().transform((text, ctx) => {
  const parsed = parseEgressRule(text);
  if (parsed.ok) return parsed.rule;
  ctx.addIssue({ code: "custom", message: parsed.error });
  return z.NEVER;
});

/** port[/proto] or a range, one per item. */
const listenRuleSchema = z.string().transform((text, ctx) => {
  const parsed = parseListenList(text);
  if (parsed.errors.length === 0 && parsed.rules.length === 1) return parsed.rules[0]!;
  ctx.addIssue({
    code: "custom",
    message: parsed.errors[0] ?? `expected one port[/proto], got ${JSON.stringify(text)}`,
  });
  return z.NEVER;
});

const workloadRuleSchema = z.strictObject({
  /** Every given field must match. `name` and `image` accept * wildcards. */
  match: z
    .strictObject({
      name: z.string().min(1).optional(),
      image: z.string().min(1).optional(),
      service: z.string().min(1).optional(),
      /** "key=value", or "key" for any value. */
      label: z.string().min(1).optional(),
    })
    .refine((m) => Object.keys(m).length > 0, "match needs at least one of name, image, service, label"),
  mode: modeSchema.optional(),
  egress: z.array(egressRuleSchema).default([]),
  listen: z.array(listenRuleSchema).default([]),
});

export type WorkloadRule = z.output<typeof workloadRuleSchema>;

const policySchema = z
  .strictObject({
    /** Destinations every container may reach. */
    egress: z.array(egressRuleSchema).default([]),
    /** DNS servers every container may query on port 53 (each network's gateway is always allowed). */
    dnsResolvers: z
      .array(z.string().refine((ip) => normalizeIp(ip) !== null, "must be an IPv4 or IPv6 address"))
      .default([]),
    /** File of IPs/CIDRs (one per line, # comments): a connection there is critical whatever allows it. */
    denylistFile: z.string().min(1).nullable().default(null),
    workloads: z.array(workloadRuleSchema).default([]),
  })
  .prefault({});

const baselineSchema = z
  .strictObject({
    /** A workload seen for the first time learns this long (s) before it is monitored; 0 = never learn. */
    learnForSeconds: z.number().int().min(0).default(600),
    /** Learned entries kept per workload: bounds what a noisy workload can make us remember. */
    maxEntriesPerWorkload: z.number().int().min(1).max(1_000_000).default(1000),
    /** How often (s) a changed baseline is written to the state directory. */
    saveIntervalSeconds: z.number().int().min(1).default(60),
  })
  .prefault({});

const alertsSchema = z
  .strictObject({
    /** A repeat of an active alert within this window (s) only increments its count. */
    suppressSeconds: z.number().int().min(0).default(600),
    /** An alert with no new finding for this long (s) is resolved. */
    resolveAfterSeconds: z.number().int().min(1).default(900),
    /** Active alerts kept at most; the stalest is resolved early when full. */
    maxActive: z.number().int().min(10).default(10_000),
    /** Alert log lines per second at most (burst logLineBurst), beyond the per-alert suppression; critical ones always pass. */
    logLinesPerSecond: z.number().min(0.1).default(50),
    logLineBurst: z.number().int().min(1).default(500),
  })
  .prefault({});

/** `detectors.<name>` holds that detector's options; unknown names and unknown options are errors. */
const detectorsSchema = z
  .strictObject(Object.fromEntries(DETECTORS.map((d) => [d.name, (d.options as z.ZodType).prefault({})])))
  .prefault({});

export const configSchema = z.strictObject({
  mode: modeSchema.default("monitor"),
  stateDir: z.string().min(1).default("/var/lib/netmon"),
  capture: captureSchema,
  flows: flowsSchema,
  dns: dnsSchema,
  listeners: listenersSchema,
  docker: dockerSchema,
  log: logSchema,
  http: httpSchema,
  policy: policySchema,
  baseline: baselineSchema,
  alerts: alertsSchema,
  alertmanager: alertmanagerSchema,
  blocking: blockingSchema,
  detectors: detectorsSchema,
});

export type NetmonConfig = z.infer<typeof configSchema>;

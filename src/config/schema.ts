import cron from "node-cron";
import { z } from "zod";

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

const logSchema = z
  .strictObject({
    level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
    /** Log every connection and listener event (verbose: for debugging and until detectors exist). */
    events: z.boolean().default(false),
  })
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
});

export type NetmonConfig = z.infer<typeof configSchema>;

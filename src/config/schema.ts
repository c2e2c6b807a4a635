import cron from "node-cron";
import { z } from "zod";
import { DETECTORS } from "../../detectors/index.js";
import { alertmanagerSchema } from "../alerts/alertmanager-options.js";
import { alertsSchema } from "../alerts/alerts-config.js";
import { blockingSchema } from "../block/block-config.js";
import { doc } from "../model/config-meta.js";
import { modeSchema } from "../model/mode.js";
import { normalizeIp } from "../net/ip-format.js";
import { parseEgressRule } from "../rules/egress-rule.js";
import { parseListenList } from "../rules/listen-rule.js";
import { eventsFileSchema } from "./events-file-schema.js";
import { hostSchema, metricsSchema } from "./fleet-schema.js";
import { processesSchema } from "./processes-schema.js";

/**
 * The configuration file's schema. Every key has a default, so an empty file (or none) is a
 * complete configuration; unknown keys are errors, so a typo never silently does nothing. Each key
 * carries its description (and restart flag) as metadata: config/netmon.yaml and the README's
 * reference are generated from them (config-doc.ts).
 */

const captureSchema = z
  .strictObject({
    interfaces: doc(
      z.union([z.literal("auto"), z.array(z.string().min(1).max(15))]).default("auto"),
      '"auto": every Docker bridge (docker0, br-*) that carries a running container; or a list.',
    ),
    bufferTimeoutMs: doc(
      z.number().int().min(0).max(1000).default(10),
      "How long (ms) the kernel may hold captured packets before waking netmon: lower = faster detection, more wake-ups. 0 = libpcap immediate mode.",
    ),
    bufferSizeMb: doc(
      z.number().int().min(1).max(1024).default(16),
      "Kernel capture buffer per interface (MiB), and as much again in netmon's own queue (filled only while it is behind): larger absorbs bursts without drops.",
    ),
    snaplen: doc(
      z.number().int().min(128).max(65535).default(4352),
      "Bytes kept per packet: headers plus a full DNS answer.",
    ),
    seedEstablished: z
      .strictObject({
        maxPerContainer: doc(
          z.number().int().min(0).max(65_536).default(1024),
          'TCP connections already open in a container (ESTABLISHED in its /proc/<pid>/net/tcp{,6}, remote side not loopback) seeded into the flow table at start, after a Docker reconnect and when the container starts, at most this many per container: each is judged once like a new connection (a reverse shell open before netmon started alerts), with source "proc"; the rest are counted in netmon_connections_seeded_total{outcome="over-limit"}. 0: no seeding (connections open before netmon are then judged only if the wire shows their SYN-ACK, FIN or RST).',
        ),
      })
      .prefault({}),
  })
  .prefault({});

const flowsSchema = z
  .strictObject({
    maxFlows: doc(
      z.number().int().min(100).max(10_000_000).default(200_000),
      "Flow table cap: when full, the oldest flow is evicted and counted.",
    ),
    tcpUnansweredMs: doc(
      z.number().int().min(100).default(5_000),
      "A SYN with no answer after this long (ms) is reported as unanswered.",
    ),
    tcpEstablishedIdleMs: doc(
      z.number().int().min(1_000).default(3_600_000),
      "An open TCP connection with no FIN/RST for this long (ms) is dropped from the table.",
    ),
    tcpHalfCloseMs: doc(
      z.number().int().min(1_000).default(60_000),
      "A TCP connection that one side has closed (FIN) while the other has not is reported closed after this long (ms) without a control packet; its durationMs runs to that point. Control packets only reach netmon (data is filtered in the kernel), so a tail that is still sending counts as silent. Longer: a long half-closed tail (a client still uploading after the server's FIN) keeps its connection and its true end; shorter: the flow table frees the record and the close is reported sooner. 60 s is how long Linux keeps a socket in FIN_WAIT_2.",
    ),
    udpIdleMs: doc(
      z.number().int().min(100).default(30_000),
      "A UDP pseudo-flow with no packet for this long (ms) is closed.",
    ),
  })
  .prefault({});

const dnsSchema = z
  .strictObject({
    maxEntries: doc(
      z.number().int().min(10).max(10_000_000).default(100_000),
      "Cache of DNS answers seen on the wire (ip -> names, per asking container).",
    ),
    minTtlSeconds: doc(
      z.number().int().min(0).default(60),
      "Answers are kept at least this long (s), whatever their TTL: clients reuse addresses past short TTLs, and losing the name would turn an allowed connection into an alert.",
    ),
    maxTtlSeconds: doc(
      z.number().int().min(1).default(86_400),
      "Answers are kept at most this long (s), whatever their TTL.",
    ),
    retainSeconds: doc(
      z.number().int().min(0).max(604_800).default(21_600),
      "How long (s) a DNS name that let a connection through (a host-name rule or the baseline matched it) stays on the addresses of its answer after the container last connected to one of them, whatever the answer's TTL; every name also stays while the container has a connection open to the address. Longer: fewer false alarms for clients that keep an address for hours without a new lookup (NTP daemons, connection pools, JVMs); shorter: an address that changed hands stops vouching for the name sooner. 0: names live their TTL only.",
    ),
  })
  // Written so that an invalid bound (reported on its own) does not also report this.
  .refine((d) => !(d.minTtlSeconds > d.maxTtlSeconds), {
    message: "must be at least minTtlSeconds",
    path: ["maxTtlSeconds"],
  })
  .prefault({});

export const listenersSchema = z
  .strictObject({
    schedule: doc(
      z
        .string()
        .refine(
          (s) => cron.validate(s),
          "not a valid cron expression (six fields, seconds first: */15 * * * * *)",
        )
        .default("*/15 * * * * *"),
      "node-cron expression (with seconds) for the /proc/<pid>/net scan of listening sockets.",
    ),
    maxPerContainer: doc(
      z.number().int().min(1).max(65_536).default(4096),
      "Listening sockets read per container per scan, at most (bounds work for hostile containers).",
    ),
  })
  .prefault({});

const dockerSchema = z
  .strictObject({
    socketPath: doc(
      z.string().min(1).default("/var/run/docker.sock"),
      "The Docker API socket (or a read-only socket proxy's).",
    ),
    reconnectMinMs: doc(
      z.number().int().min(10).default(500),
      "First wait (ms) before reconnecting when the Docker socket breaks; doubles each attempt.",
    ),
    reconnectMaxMs: doc(
      z.number().int().min(100).default(30_000),
      "Longest wait (ms) between reconnect attempts.",
    ),
  })
  .prefault({});

const httpSchema = z
  .strictObject({
    enabled: doc(z.boolean().default(true), "Serve /metrics (Prometheus), /healthz and /readyz."),
    listen: doc(
      z.string().min(1).default("127.0.0.1"),
      "Address to bind: loopback keeps the metrics (container names) on this host.",
    ),
    port: doc(
      z.number().int().min(1).max(65535).default(9797),
      "TCP port; 9797 stays clear of Prometheus (9090), Alertmanager (9093) and common exporters.",
    ),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: doc(
      z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
      "trace | debug | info | warn | error | fatal",
    ),
    events: doc(
      z.boolean().default(false),
      "Log every connection and listener event as one JSON line (verbose); to the log stream, or to log.eventsFile.path when set.",
      { restart: true },
    ),
    // Opened at start: SIGHUP reports a change instead of applying it (the rest of `log` applies).
    eventsFile: eventsFileSchema.meta({ restart: true }),
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
    egress: doc(
      z.array(egressRuleSchema).default([]),
      [
        "Destinations every container may reach, one rule per item:",
        "  IP-or-CIDR[:port[/proto]]   e.g. 10.0.0.0/8, 192.0.2.7:443/tcp, [fd00::/8]:53/udp",
        "  host.name[:port[/proto]]    matched against the DNS names the container itself resolved",
        "  *.domain[:port[/proto]]     any subdomain (not the domain itself)",
        "Port may be a range (8000-8100); no proto means tcp and udp.",
      ].join("\n"),
    ),
    dnsResolvers: doc(
      z
        .array(z.string().refine((ip) => normalizeIp(ip) !== null, "must be an IPv4 or IPv6 address"))
        .default([]),
      "DNS servers every container may query on port 53 (each network's gateway always may be).",
    ),
    denylistFile: doc(
      z.string().min(1).nullable().default(null),
      "File of IPs/CIDRs, one per line, # comments: a connection there is critical whatever allows it.",
    ),
    workloads: doc(
      z.array(workloadRuleSchema).default([]),
      [
        'Per-workload rules. `match` takes name / image (with * wildcards), service (compose service or project/service) and label ("key=value" or "key"); all given must match. Example:',
        "  - match: { service: shop/web }",
        "    mode: enforce",
        '    egress: ["*.stripe.com:443/tcp", "db:5432/tcp"]',
        '    listen: ["8080/tcp"]',
      ].join("\n"),
    ),
  })
  .prefault({});

const baselineSchema = z
  .strictObject({
    learnForSeconds: doc(
      z.number().int().min(0).default(600),
      "A workload that declares nothing (no netmon.* label, no matching policy.workloads rule) learns this long (s) from its first sighting before the global mode applies; one that declares anything is judged at once. Longer learns more of its rare paths (fewer false alarms), shorter leaves less time for an attacker to be learned as normal (denylisted destinations and connection-burst shapes alert while learning anyway). 0 = never learn.",
    ),
    maxEntriesPerWorkload: doc(
      z.number().int().min(1).max(1_000_000).default(1000),
      "Learned entries kept per workload: bounds what a noisy workload can make netmon remember.",
    ),
    saveIntervalSeconds: doc(
      z.number().int().min(1).default(60),
      "How often (s) a changed baseline is written to stateDir/baseline.json; the daemon applies queued `netmon baseline forget|reset|import` requests at the same time.",
    ),
  })
  .prefault({});

/** `detectors.<name>` holds that detector's options; unknown names and unknown options are errors. */
const detectorsSchema = z
  .strictObject(Object.fromEntries(DETECTORS.map((d) => [d.name, (d.options as z.ZodType).prefault({})])))
  .prefault({});

/**
 * `restart: true` marks the sections a running daemon cannot change (they hold sockets, files or
 * sized tables): SIGHUP reports them as needing a restart. The others apply at once.
 */
const NEEDS_RESTART = { restart: true } as const;

export const configSchema = z
  .strictObject({
    mode: doc(
      modeSchema.default("monitor"),
      "learn: record a baseline, no alerts · monitor: alerts · enforce: alerts + blocking · off",
    ),
    stateDir: doc(
      z.string().min(1).default("/var/lib/netmon"),
      "Where learned baselines and block state are kept.",
      NEEDS_RESTART,
    ),
    host: hostSchema,
    capture: captureSchema.meta(NEEDS_RESTART),
    flows: flowsSchema.meta(NEEDS_RESTART),
    dns: dnsSchema.meta(NEEDS_RESTART),
    listeners: listenersSchema.meta(NEEDS_RESTART),
    processes: processesSchema.meta(NEEDS_RESTART),
    docker: dockerSchema.meta(NEEDS_RESTART),
    log: logSchema,
    http: httpSchema.meta(NEEDS_RESTART),
    metrics: metricsSchema.meta(NEEDS_RESTART),
    policy: policySchema,
    baseline: baselineSchema,
    alerts: alertsSchema.meta(NEEDS_RESTART),
    alertmanager: alertmanagerSchema.meta(NEEDS_RESTART),
    blocking: blockingSchema.meta(NEEDS_RESTART),
    detectors: detectorsSchema,
  })
  .superRefine((config, ctx) => {
    // A misspelled detector or shape would make enforce mode silently never block.
    const names = DETECTORS.map((d) => d.name);
    config.blocking.rules.forEach((rule, i) => {
      const detector = DETECTORS.find((d) => d.name === rule.detector);
      if (detector === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["blocking", "rules", i, "detector"],
          message: `unknown detector ${JSON.stringify(rule.detector)}: use one of ${names.join(", ")}`,
        });
        return;
      }
      const kinds = Object.keys(detector.findings);
      (rule.shapes ?? []).forEach((shape, j) => {
        if (kinds.includes(shape)) return;
        ctx.addIssue({
          code: "custom",
          path: ["blocking", "rules", i, "shapes", j],
          message: `${detector.name} raises no ${JSON.stringify(shape)}: use one of ${kinds.join(", ")}`,
        });
      });
    });
  });

export type NetmonConfig = z.infer<typeof configSchema>;

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";
import type { ConnectionEvent } from "../model/events.js";

/**
 * Reads the connection events back from a log of `netmon run --log-events` (or log.events: true):
 * one JSON object per line, `msg: "connection"`. Other lines (alerts, start-up, journald noise)
 * are skipped. The log is input from outside: each line is checked, and kept events are bounded.
 */

const containerSchema = z
  .looseObject({
    id: z.string().max(64),
    name: z.string().max(256),
    image: z.string().max(512).nullish(),
    service: z.string().max(256).nullish(),
  })
  .nullable();

const endpointSchema = z.looseObject({
  ip: z.string().max(64),
  port: z.number().int().min(0).max(65535),
  container: containerSchema,
  names: z.array(z.string().max(256)).max(64).nullish(),
});

const lineSchema = z.looseObject({
  msg: z.literal("connection"),
  event: z.looseObject({
    ts: z.string().max(64),
    proto: z.enum(["tcp", "udp"]),
    state: z.enum(["attempt", "accepted", "rejected", "unanswered", "closed"]),
    direction: z.enum(["outbound", "inbound", "internal", "external"]),
    src: endpointSchema,
    dst: endpointSchema,
    durationMs: z.number().nullish(),
    packets: z.number().nullish(),
    iface: z.string().max(64).nullish(),
    // Issue 15's connection-tracking fields: absent on the events of an ordinary connection.
    midstream: z.literal(true).nullish(),
    initiator: z.literal("unknown").nullish(),
    source: z.literal("proc").nullish(),
    closedBy: z.enum(["initiator", "responder"]).nullish(),
    corrects: z.literal("unanswered").nullish(),
  }),
});

export interface EventFileResult {
  events: ConnectionEvent[];
  /** Connection lines read (kept or not). */
  connections: number;
  /**
   * Of those, lines that correct an outcome already reported (`corrects`: a late RST or SYN-ACK
   * after "unanswered"): the same connection again, not another one.
   */
  corrections: number;
  /** Lines that were not JSON, or connection lines that did not check. */
  bad: number;
  /** Events past maxEvents, not kept. */
  dropped: number;
  /** Time span of the connection lines read (ms since the epoch), null when none. */
  firstTs: number | null;
  lastTs: number | null;
}

type Endpoint = z.infer<typeof endpointSchema>;

const toEndpoint = (e: Endpoint): ConnectionEvent["src"] => ({
  ip: e.ip,
  port: e.port,
  container:
    e.container === null
      ? null
      : {
          id: e.container.id,
          name: e.container.name,
          image: e.container.image ?? "",
          service: e.container.service ?? null,
          project: null, // not in the log line
        },
  ...(e.names ? { names: e.names } : {}),
});

/** Parses one log line; null when it is not a (valid) connection line. */
export function parseEventLine(line: string): ConnectionEvent | "bad" | null {
  if (!line.includes('"connection"')) return null; // cheap pre-filter: most lines are something else
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return "bad";
  }
  if ((raw as { msg?: unknown } | null)?.msg !== "connection") return null;
  const parsed = lineSchema.safeParse(raw);
  if (!parsed.success) return "bad";
  const e = parsed.data.event;
  const ts = Date.parse(e.ts);
  if (!Number.isFinite(ts)) return "bad";
  return {
    kind: "connection",
    ts,
    proto: e.proto,
    state: e.state,
    direction: e.direction,
    src: toEndpoint(e.src),
    dst: toEndpoint(e.dst),
    ...(e.durationMs != null ? { durationMs: e.durationMs } : {}),
    packets: e.packets ?? 0,
    iface: e.iface ?? "log",
    ...(e.midstream ? { midstream: true } : {}),
    ...(e.initiator ? { initiator: e.initiator } : {}),
    ...(e.source ? { source: e.source } : {}),
    ...(e.closedBy ? { closedBy: e.closedBy } : {}),
    ...(e.corrects ? { corrects: e.corrects } : {}),
  };
}

/** Streams the file; keeps the events `keep` accepts (at most maxEvents). Throws on a read error. */
export async function readConnectionEvents(
  path: string,
  keep: (ev: ConnectionEvent) => boolean = () => true,
  maxEvents = 1_000_000,
): Promise<EventFileResult> {
  const out: EventFileResult = {
    events: [],
    connections: 0,
    corrections: 0,
    bad: 0,
    dropped: 0,
    firstTs: null,
    lastTs: null,
  };
  const stream = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.length > 1_000_000) {
      out.bad++;
      continue;
    }
    const ev = parseEventLine(line);
    if (ev === null) continue;
    if (ev === "bad") {
      out.bad++;
      continue;
    }
    out.connections++;
    if (ev.corrects !== undefined) out.corrections++;
    out.firstTs = out.firstTs === null ? ev.ts : Math.min(out.firstTs, ev.ts);
    out.lastTs = out.lastTs === null ? ev.ts : Math.max(out.lastTs, ev.ts);
    if (!keep(ev)) continue;
    if (out.events.length >= maxEvents) out.dropped++;
    else out.events.push(ev);
  }
  return out;
}

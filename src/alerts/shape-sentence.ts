import type { AllowedBy } from "../model/verdict.js";
import { formatDuration } from "../util/duration.js";
import { allowedByWords } from "./target-name.js";

/** The connection shapes connection-burst names (its finding kinds). */
export type ShapeName = "burst" | "port-scan" | "host-scan" | "brute-force";

/**
 * What one sentence about a connection shape says. The detector fills it from one finding; the
 * alert manager from the incident as it stands (the distinct ports or hosts it counted, the
 * connections of all its findings, its whole span), so the line says the exact number, never the
 * threshold that was crossed.
 */
export interface ShapeFacts {
  shape: ShapeName;
  /** The initiating container's name. */
  container: string;
  /** What the shape is about, named: "trial-cache [172.30.0.3]" (port-scan), "22/tcp" (host-scan), an endpoint (brute force). */
  on: string | null;
  /** Ports (port-scan), hosts (host-scan), or failed or short connections (brute-force, burst). */
  count: number;
  /** Scans: how many of the ports or hosts answered. */
  open?: number;
  /** First counted connection to the latest. */
  spanMs: number;
  slow?: boolean;
  /** Brute force against an allowed destination: its normal (p99 per 10 s). */
  normalPer10s?: number;
  /** Brute force: what allows the destination (null: nothing). */
  allowedBy?: AllowedBy;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** One sentence naming the shape in words, with its exact numbers and a human duration. */
export function shapeSentence(f: ShapeFacts): string {
  const span = formatDuration(f.spanMs);
  const slow = f.slow === true ? "slow " : "";
  const on = f.on ?? "one destination";
  switch (f.shape) {
    case "port-scan":
      return `${f.container} ran a ${slow}port scan of ${on}: ${plural(f.count, "port", "ports")}, ${f.open ?? 0} open, in ${span}`;
    case "host-scan":
      return `${f.container} ran a ${slow}host sweep of ${plural(f.count, "host", "hosts")} on ${on}: ${f.open ?? 0} answered, in ${span}`;
    case "brute-force": {
      const normal =
        f.normalPer10s !== undefined ? `, normal for it is at most ${f.normalPer10s} per 10 s` : "";
      const by =
        f.allowedBy === undefined
          ? ""
          : f.allowedBy === null
            ? "; nothing allows the destination"
            : `; allowed by ${allowedByWords(f.allowedBy)}`;
      return `${f.container} ran a brute force against ${on}: ${plural(f.count, "failed or short connection", "failed or short connections")} in ${span}${normal}${by}`;
    }
    case "burst":
      return `${f.container} made a burst of ${plural(f.count, "failed or short connection", "failed or short connections")} in ${span}`;
  }
}

const SHAPES: ReadonlySet<string> = new Set<ShapeName>(["burst", "port-scan", "host-scan", "brute-force"]);
const ALLOWED_BY: ReadonlySet<unknown> = new Set<AllowedBy>([
  null,
  "config",
  "label",
  "baseline",
  "dns-name",
  "dns-resolver",
  "declared",
]);

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/**
 * The facts a connection-burst finding's details carry (ConnectionBurstDetails), or null for
 * details of another shape of evidence. `count` is the finding's own number: `distinct` for scans
 * (ports or hosts so far in the window), `count` (connections) otherwise.
 */
export function shapeFactsOf(
  container: string,
  details: Record<string, unknown> | undefined,
): ShapeFacts | null {
  if (details === undefined || typeof details.shape !== "string" || !SHAPES.has(details.shape)) return null;
  const shape = details.shape as ShapeName;
  const scan = shape === "port-scan" || shape === "host-scan";
  const count = num(scan ? (details.distinct ?? details.count) : details.count);
  const spanMs = num(details.spanMs) ?? num(details.windowMs);
  if (count === undefined || spanMs === undefined) return null;
  const facts: ShapeFacts = {
    shape,
    container,
    on: typeof details.on === "string" ? details.on : null,
    count,
    spanMs,
  };
  const open = num(details.open);
  if (open !== undefined) facts.open = open;
  if (details.slow === true) facts.slow = true;
  const normal = num(details.normalPer10s);
  if (normal !== undefined) facts.normalPer10s = normal;
  if (shape === "brute-force" && ALLOWED_BY.has(details.allowedBy))
    facts.allowedBy = details.allowedBy as AllowedBy;
  return facts;
}

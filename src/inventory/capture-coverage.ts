import { IP_INDEX_DEFAULTS, type IpIndexOptions } from "./ip-index.js";
import type { ContainerLifetime } from "./static-inventory.js";

/** Times of the first and last packet of a capture (epoch ms). */
export interface CaptureSpan {
  firstMs: number;
  lastMs: number;
}

export type CoverageSlack = Pick<IpIndexOptions, "startSlackMs" | "endSlackMs">;

/** Names listed in the warning line; the rest are counted. */
const MAX_NAMED = 10;

/**
 * The containers of a replay inventory that held no IP at any moment of the capture, with the same
 * slack attribution allows: [start − startSlackMs, finish + endSlackMs, or on while running]
 * misses [firstMs, lastMs]. None of their packets can be attributed; the usual cause is an
 * inventory taken from containers started after the capture. A container never started is always
 * one of them. Call it only for a capture that had packets.
 */
export function lifetimesOutsideCapture(
  lifetimes: readonly ContainerLifetime[],
  capture: CaptureSpan,
  slack: CoverageSlack = IP_INDEX_DEFAULTS,
): ContainerLifetime[] {
  return lifetimes.filter(({ span }) => {
    if (span === null) return true;
    const startsAfter = span.fromMs - slack.startSlackMs > capture.lastMs;
    const endsBefore = span.toMs !== null && span.toMs + slack.endSlackMs < capture.firstMs;
    return startsAfter || endsBefore;
  });
}

const iso = (ms: number): string => new Date(ms).toISOString();

function whyOutside({ span }: ContainerLifetime, capture: CaptureSpan): string {
  if (span === null) return "never started";
  if (span.fromMs > capture.lastMs) return `started ${iso(span.fromMs)}`;
  return `finished ${iso(span.toMs ?? span.fromMs)}`;
}

/**
 * The one warning line naming the containers lifetimesOutsideCapture found (null when there are
 * none), each with its start or finish, so the user sees the inventory does not match the capture.
 */
export function outsideCaptureWarning(
  outside: readonly ContainerLifetime[],
  capture: CaptureSpan,
): string | null {
  if (outside.length === 0) return null;
  const named = outside.slice(0, MAX_NAMED).map((c) => `${c.ref.name} (${whyOutside(c, capture)})`);
  if (outside.length > MAX_NAMED) named.push(`and ${outside.length - MAX_NAMED} more`);
  const count = outside.length === 1 ? "1 container" : `${outside.length} containers`;
  return (
    `inventory: ${count} did not run during the capture (${iso(capture.firstMs)} to ` +
    `${iso(capture.lastMs)}), so no packet is attributed to them: ${named.join(", ")} ` +
    "(was the inventory taken from containers started after the capture?)"
  );
}

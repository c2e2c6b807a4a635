import { z } from "zod";
import { doc } from "../src/model/config-meta.js";
import { type DetectorModule, isAlerting, NO_FINDINGS, verdictOf } from "../src/model/detector-api.js";
import type { NetmonEvent } from "../src/model/events.js";
import type { Finding } from "../src/model/finding.js";

const options = z.strictObject({
  udp: doc(
    z.boolean().default(true),
    "Judge UDP flows too (once, at the first datagram). Off hides UDP exfiltration and C2.",
  ),
  internal: doc(
    z.boolean().default(true),
    "Judge connections to other containers like any destination (lateral movement). Off silences it where containers talk to each other freely.",
  ),
  severity: doc(
    z.enum(["info", "warning", "critical"]).default("warning"),
    "Severity of a destination nothing allows (a denylisted one is always critical).",
  ),
});

export type UnexpectedOutboundOptions = z.output<typeof options>;

/** The kinds of finding unexpected-outbound raises. */
export const UNEXPECTED_OUTBOUND_FINDINGS = {
  unexpected: "a connection attempt to a destination nothing allows",
  denylisted: "a connection attempt to a denylisted destination (critical)",
} as const;

/** unexpected-outbound's Finding.details. */
export interface UnexpectedOutboundDetails {
  denylisted: boolean;
  allowedBy: string | null;
  direction: string;
}

/**
 * A container opens a connection (TCP SYN, or the first datagram of a UDP flow) to a destination
 * that no config rule, container label, DNS name or learned baseline allows; or to a denylisted one.
 */
export const unexpectedOutbound: DetectorModule<typeof options> = {
  name: "unexpected-outbound",
  help: "a container connects to a destination that no rule, label, DNS name or baseline allows (critical when denylisted)",
  findings: UNEXPECTED_OUTBOUND_FINDINGS,
  options,
  create(opts, ctx) {
    let judged = 0;
    let raised = 0;
    return {
      onEvent(ev: NetmonEvent): readonly Finding[] {
        if (ev.kind !== "connection" || ev.state !== "attempt") return NO_FINDINGS;
        const src = ev.src.container;
        if (src === null) return NO_FINDINGS;
        if (ev.proto === "udp" && !opts.udp) return NO_FINDINGS;
        if (ev.dst.container !== null && !opts.internal) return NO_FINDINGS;
        // The engine's one verdict of this attempt (mode, allowed-by, denylisted).
        const verdict = verdictOf(ctx, ev);
        if (verdict === null || !isAlerting(verdict.mode)) return NO_FINDINGS;
        judged++;
        const names = ev.dst.names ?? [];
        if (!verdict.denylisted && verdict.allowedBy !== null) return NO_FINDINGS;
        raised++;
        const target = ev.dst.container ? `${ev.dst.container.name} (${ev.dst.ip})` : (names[0] ?? ev.dst.ip);
        const why = verdict.denylisted
          ? "a denylisted destination"
          : "which no rule, label, DNS name or baseline allows";
        const dst = {
          ip: ev.dst.ip,
          port: ev.dst.port,
          proto: ev.proto,
          ...(names.length > 0 ? { names: [...names] } : {}),
        };
        return [
          {
            detector: "unexpected-outbound",
            kind: verdict.denylisted ? "denylisted" : "unexpected",
            severity: verdict.denylisted ? "critical" : opts.severity,
            key: `${ev.dst.ip}:${ev.dst.port}/${ev.proto}`,
            container: src,
            workload: verdict.workload,
            summary: `${src.name} connected to ${target}:${ev.dst.port}/${ev.proto}, ${why}`,
            ts: ev.ts,
            src: { ip: ev.src.ip, port: ev.src.port, proto: ev.proto },
            dst,
            details: {
              denylisted: verdict.denylisted,
              allowedBy: verdict.allowedBy,
              direction: ev.direction,
            } satisfies UnexpectedOutboundDetails,
          },
        ];
      },
      status: () => `judged ${judged} connections, raised ${raised} findings`,
    };
  },
};

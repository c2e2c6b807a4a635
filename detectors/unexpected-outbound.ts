import { z } from "zod";
import type { Finding } from "../src/alerts/finding.js";
import { type DetectorModule, egressTargetOf, isAlerting, NO_FINDINGS } from "../src/detector-api.js";
import type { NetmonEvent } from "../src/events.js";

const options = z.strictObject({
  /** Judge UDP flows too (a UDP flow counts once, at its first datagram). Off hides UDP exfiltration and C2. */
  udp: z.boolean().default(true),
  /**
   * Judge connections to other containers like any destination, so lateral movement shows. Off
   * silences it for hosts where containers talk to each other freely.
   */
  internal: z.boolean().default(true),
  /** Severity of a destination nothing allows (a denylisted one is always critical). */
  severity: z.enum(["info", "warning", "critical"]).default("warning"),
});

export type UnexpectedOutboundOptions = z.output<typeof options>;

/**
 * A container opens a connection (TCP SYN, or the first datagram of a UDP flow) to a destination
 * that no config rule, container label, DNS name or learned baseline allows; or to a denylisted one.
 */
export const unexpectedOutbound: DetectorModule<typeof options> = {
  name: "unexpected-outbound",
  help: "a container connects to a destination that no rule, label, DNS name or baseline allows (critical when denylisted)",
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
        if (!isAlerting(ctx.modeOf(src, ev.ts))) return NO_FINDINGS;
        judged++;
        const dstTarget = egressTargetOf(ev);
        const verdict = ctx.egress(src, dstTarget);
        const names = dstTarget.names;
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
            severity: verdict.denylisted ? "critical" : opts.severity,
            key: `${ev.dst.ip}:${ev.dst.port}/${ev.proto}`,
            container: src,
            workload: ctx.workloadOf(src),
            summary: `${src.name} connected to ${target}:${ev.dst.port}/${ev.proto}, ${why}`,
            ts: ev.ts,
            src: { ip: ev.src.ip, port: ev.src.port, proto: ev.proto },
            dst,
            details: {
              denylisted: verdict.denylisted,
              allowedBy: verdict.allowedBy,
              direction: ev.direction,
            },
          },
        ];
      },
      status: () => `judged ${judged} connections, raised ${raised} findings`,
    };
  },
};

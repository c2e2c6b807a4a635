import { z } from "zod";
import { egressLabelFix, type FindingNextStep } from "../src/alerts/next-step.js";
import { namedEndpoint } from "../src/alerts/target-name.js";
import { doc } from "../src/model/config-meta.js";
import { type DetectorModule, isAlerting, NO_FINDINGS, verdictOf } from "../src/model/detector-api.js";
import type { ConnectionEvent, NetmonEvent } from "../src/model/events.js";
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
  "fan-out":
    "many destinations nothing allows from one workload, folded by the alert manager into one incident past alerts.fanOutAfter",
} as const;

/** unexpected-outbound's Finding.details. */
export interface UnexpectedOutboundDetails {
  denylisted: boolean;
  allowedBy: string | null;
  /** The exact rule or label that allowed it (a denylisted destination a rule allows), else null. */
  allowedRule: string | null;
  direction: string;
  /** The destination port of this attempt (the alert is per host: its ports are counted in alert.targets). */
  port: number;
  proto: string;
}

/**
 * The destination host an alert is about: the DNS name the container reached it by, else the
 * container it is, else its IP. More ports and repeats on one host are one alert.
 */
function hostOf(ev: ConnectionEvent): string {
  return ev.dst.names?.[0] ?? ev.dst.container?.name ?? ev.dst.ip;
}

/**
 * A container opens a connection (TCP SYN, or the first datagram of a UDP flow) to a destination
 * that no config rule, container label, DNS name or learned baseline allows; or to a denylisted one.
 */
export const unexpectedOutbound: DetectorModule<typeof options> = {
  name: "unexpected-outbound",
  help: "a container connects to a destination that no rule, label, DNS name or baseline allows (critical when denylisted)",
  findings: UNEXPECTED_OUTBOUND_FINDINGS,
  reads: ["connection:attempt"],
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
        // Learning never silences what is never normal: a denylisted destination alerts in learn too.
        if (
          verdict === null ||
          !(isAlerting(verdict.mode) || (verdict.denylisted && verdict.mode === "learn"))
        )
          return NO_FINDINGS;
        judged++;
        const names = ev.dst.names ?? [];
        if (!verdict.denylisted && verdict.allowedBy !== null) return NO_FINDINGS;
        raised++;
        const host = hostOf(ev);
        const target = namedEndpoint(ev.dst.ip, ev.dst.port, ev.proto, ev.dst.container?.name ?? names[0]);
        const why = verdict.denylisted
          ? "a denylisted destination, which must not be allowed"
          : "which no rule, label, DNS name or baseline allows";
        const dstContainer = ev.dst.container;
        const dst = {
          ip: ev.dst.ip,
          port: ev.dst.port,
          proto: ev.proto,
          ...(names.length > 0 ? { names: [...names] } : {}),
        };
        const finding: FindingNextStep = {
          detector: "unexpected-outbound",
          kind: verdict.denylisted ? "denylisted" : "unexpected",
          severity: verdict.denylisted ? "critical" : opts.severity,
          // Denylisted apart: critical, and blocked per destination.
          key: verdict.denylisted ? `denylisted:${host}` : host,
          container: src,
          workload: verdict.workload,
          summary: `${src.name} connected to ${target}, ${why}`,
          ts: ev.ts,
          src: { ip: ev.src.ip, port: ev.src.port, proto: ev.proto },
          dst,
          details: {
            denylisted: verdict.denylisted,
            allowedBy: verdict.allowedBy,
            allowedRule: verdict.allowedRule ?? null,
            direction: ev.direction,
            port: ev.dst.port,
            proto: ev.proto,
          } satisfies UnexpectedOutboundDetails,
          target: { of: "ports", value: `${ev.dst.port}/${ev.proto}` },
          // A denylisted destination is never folded into a fan-out: each is its own critical alert.
          ...(verdict.denylisted ? {} : { host }),
          // The label that allows this destination; none for a denylisted one. Built when read: a
          // flood's findings fold into one incident, whose line reads the latest one's.
          get fix() {
            return verdict.denylisted ? null : egressLabelFix({ ...dst, container: dstContainer });
          },
        };
        return [finding];
      },
      status: () => `judged ${judged} connections, raised ${raised} findings`,
    };
  },
};

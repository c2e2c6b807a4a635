import { z } from "zod";
import type { Finding } from "../src/alerts/finding.js";
import { type DetectorModule, isAlerting, NO_FINDINGS } from "../src/detector-api.js";
import type { ContainerRef, NetmonEvent, Proto } from "../src/events.js";

const severity = z.enum(["info", "warning", "critical"]);

const options = z.strictObject({
  /** Severity of an undeclared port reachable from the network. */
  severity: severity.default("warning"),
  /**
   * Severity of an undeclared port bound to loopback only: reachable from inside the container
   * alone, so usually a debug or admin endpoint, not an exposure.
   */
  loopbackSeverity: severity.default("info"),
  /**
   * Also take a SYN-ACK (or UDP reply) from a container on the wire as proof it listens: works in
   * replay and between scans. Off relies on the /proc scan alone (slower, misses short-lived listeners).
   */
  wireEvidence: z.boolean().default(true),
});

export type UnusualListenerOptions = z.output<typeof options>;

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:7f");
}

/**
 * A container listens on a port it did not declare: not in the image's EXPOSE, its published
 * ports, `netmon.listen`, the policy or the baseline. Evidence: the /proc scan, or the wire.
 */
export const unusualListener: DetectorModule<typeof options> = {
  name: "unusual-listener",
  help: "a container listens on a port it did not declare (EXPOSE, published, netmon.listen, policy, baseline)",
  options,
  create(opts, ctx) {
    let raised = 0;
    const judge = (
      container: ContainerRef,
      port: number,
      proto: Proto,
      ts: number,
      address: string,
      evidence: string,
    ): readonly Finding[] => {
      if (!isAlerting(ctx.modeOf(container, ts))) return NO_FINDINGS;
      if (ctx.listenAllowed(container, port, proto) !== null) return NO_FINDINGS;
      raised++;
      const loopback = isLoopback(address);
      return [
        {
          detector: "unusual-listener",
          severity: loopback ? opts.loopbackSeverity : opts.severity,
          key: `${port}/${proto}`,
          container,
          workload: ctx.workloadOf(container),
          summary: `${container.name} listens on undeclared port ${port}/${proto}${loopback ? " (loopback only)" : ""}`,
          ts,
          dst: { ip: address, port, proto },
          details: { evidence, loopback },
        },
      ];
    };
    return {
      onEvent(ev: NetmonEvent): readonly Finding[] {
        if (ev.kind === "listener") {
          if (ev.state !== "opened" || ev.dockerDns) return NO_FINDINGS;
          return judge(ev.container, ev.port, ev.proto, ev.ts, ev.address, "proc");
        }
        if (!opts.wireEvidence || ev.state !== "accepted" || ev.dst.container === null) return NO_FINDINGS;
        return judge(ev.dst.container, ev.dst.port, ev.proto, ev.ts, ev.dst.ip, `answered ${ev.src.ip}`);
      },
      status: () => `raised ${raised} findings`,
    };
  },
};

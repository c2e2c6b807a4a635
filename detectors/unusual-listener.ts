import { z } from "zod";
import { type FindingNextStep, listenLabelFix } from "../src/alerts/next-step.js";
import { namedHost } from "../src/alerts/target-name.js";
import { doc } from "../src/model/config-meta.js";
import { type DetectorModule, isAlerting, NO_FINDINGS } from "../src/model/detector-api.js";
import type { ContainerRef, ListenerEvent, NetmonEvent, Proto } from "../src/model/events.js";
import type { Finding } from "../src/model/finding.js";

const severity = z.enum(["info", "warning", "critical"]);

const options = z.strictObject({
  severity: doc(severity.default("warning"), "Severity of an undeclared port reachable from the network."),
  loopbackSeverity: doc(
    severity.default("info"),
    "Severity of an undeclared port bound to loopback only (reachable from inside the container alone: usually a debug or admin endpoint, not an exposure).",
  ),
  wireEvidence: doc(
    z.boolean().default(true),
    "Take a SYN-ACK (or UDP reply) from a container on the wire as proof it listens: works in replay and between scans. Off relies on the /proc scan alone.",
  ),
});

export type UnusualListenerOptions = z.output<typeof options>;

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:7f");
}

/**
 * A container listens on a port it did not declare: not in the image's EXPOSE, its published
 * ports, `netmon.listen`, the policy or the baseline. Evidence: the /proc scan, or the wire.
 */
/** The kinds of finding unusual-listener raises. */
export const UNUSUAL_LISTENER_FINDINGS = {
  "undeclared-port": "a port reachable from the network that nothing declares",
  "undeclared-loopback-port": "an undeclared port bound to loopback only",
} as const;

/** unusual-listener's Finding.details. */
export interface UnusualListenerDetails {
  /** "proc" (the /proc scan) or "answered <ip>" (a SYN-ACK or UDP reply on the wire). */
  evidence: string;
  loopback: boolean;
  /** The process holding the socket (live /proc scan), or null with `processUnknown`; absent when not looked up. */
  process?: ListenerEvent["process"];
  processUnknown?: ListenerEvent["processUnknown"];
}

/** The socket's holder as the /proc scan named it; nothing when it did not look (wire, replay, attribution off). */
function holderOf(ev: ListenerEvent): Pick<UnusualListenerDetails, "process" | "processUnknown"> {
  if (ev.process === undefined) return {};
  if (ev.process !== null) return { process: ev.process };
  return ev.processUnknown === undefined
    ? { process: null }
    : { process: null, processUnknown: ev.processUnknown };
}

export const unusualListener: DetectorModule<typeof options> = {
  name: "unusual-listener",
  help: "a container listens on a port it did not declare (EXPOSE, published, netmon.listen, policy, baseline)",
  findings: UNUSUAL_LISTENER_FINDINGS,
  options,
  reads: ["listener", "connection:accepted"],
  create(opts, ctx) {
    let raised = 0;
    const judge = (
      container: ContainerRef,
      port: number,
      proto: Proto,
      ts: number,
      address: string,
      evidence: string,
      holder: Pick<UnusualListenerDetails, "process" | "processUnknown"> = {},
    ): readonly Finding[] => {
      if (!isAlerting(ctx.modeOf(container, ts))) return NO_FINDINGS;
      if (ctx.listenAllowed(container, port, proto) !== null) return NO_FINDINGS;
      raised++;
      const loopback = isLoopback(address);
      const finding: FindingNextStep = {
        detector: "unusual-listener",
        kind: loopback ? "undeclared-loopback-port" : "undeclared-port",
        severity: loopback ? opts.loopbackSeverity : opts.severity,
        key: `${port}/${proto}`,
        container,
        workload: ctx.workloadOf(container),
        summary: `${container.name} listens on undeclared port ${port}/${proto} on ${namedHost(address)}${loopback ? " (loopback only)" : ""}, ${evidence === "proc" ? "seen in its sockets" : `seen on the wire (it ${evidence})`}${holder.process ? `, held by ${holder.process.comm} (pid ${holder.process.pid})` : ""}`,
        ts,
        dst: { ip: address, port, proto },
        details: { evidence, loopback, ...holder } satisfies UnusualListenerDetails,
        fix: listenLabelFix(port, proto),
      };
      return [finding];
    };
    return {
      onEvent(ev: NetmonEvent): readonly Finding[] {
        if (ev.kind === "listener") {
          if (ev.state !== "opened" || ev.dockerDns) return NO_FINDINGS;
          return judge(ev.container, ev.port, ev.proto, ev.ts, ev.address, "proc", holderOf(ev));
        }
        if (ev.kind !== "connection") return NO_FINDINGS;
        if (!opts.wireEvidence || ev.state !== "accepted" || ev.dst.container === null) return NO_FINDINGS;
        return judge(ev.dst.container, ev.dst.port, ev.proto, ev.ts, ev.dst.ip, `answered ${ev.src.ip}`);
      },
      status: () => `raised ${raised} findings`,
    };
  },
};

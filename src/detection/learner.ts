import type { Baseline } from "../baseline/baseline.js";
import type { ContainerRef, NetmonEvent } from "../model/events.js";
import type { Policy } from "./policy.js";

/**
 * Records what workloads in `learn` mode do: the egress destinations they open (by DNS name when
 * they resolved one, by container name for another container, else by IP) and the ports they
 * listen on. Also starts each workload's learning clock the first time it is seen.
 */
export class Learner {
  constructor(
    private readonly policy: Policy,
    private readonly baseline: Baseline,
  ) {}

  /** Starts the learning clock, except while the workload is off: switched on later, it learns then. */
  private touch(c: ContainerRef | null, ts: number): void {
    if (c !== null && this.policy.configuredMode(c) !== "off")
      this.baseline.touch(this.policy.workloadOf(c), ts);
  }

  onEvent(ev: NetmonEvent): void {
    const { policy, baseline } = this;
    if (ev.kind === "listener") {
      this.touch(ev.container, ev.ts);
      if (ev.state === "opened" && !ev.dockerDns && policy.modeOf(ev.container, ev.ts) === "learn") {
        baseline.recordListen(policy.workloadOf(ev.container), ev.port, ev.proto, ev.ts);
      }
      return;
    }
    const src = ev.src.container;
    const dst = ev.dst.container;
    this.touch(src, ev.ts);
    this.touch(dst, ev.ts);
    if (
      ev.state === "attempt" &&
      src !== null &&
      (ev.verdict?.mode ?? policy.modeOf(src, ev.ts)) === "learn"
    ) {
      const workload = policy.workloadOf(src);
      // Container names lower-cased, as Policy.egress looks them up.
      const dests = dst !== null ? [(dst.service ?? dst.name).toLowerCase()] : (ev.dst.names ?? [ev.dst.ip]);
      for (const dest of dests) baseline.recordEgress(workload, dest, ev.dst.port, ev.proto, ev.ts);
    } else if (ev.state === "accepted" && dst !== null && policy.modeOf(dst, ev.ts) === "learn") {
      baseline.recordListen(policy.workloadOf(dst), ev.dst.port, ev.proto, ev.ts);
    }
  }
}

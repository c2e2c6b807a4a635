import type { Baseline } from "../baseline/baseline.js";
import { egressTargetOf } from "../model/detector-api.js";
import type { ConnectionEvent, ContainerRef, NetmonEvent } from "../model/events.js";
import type { Policy } from "./policy.js";

/**
 * Records what workloads in `learn` mode do: the egress destinations they reach (by DNS name when
 * they resolved one, by container name for another container, else by IP) and the ports they
 * listen on. Also starts each workload's learning clock the first time it is seen.
 *
 * Only what is normal is learned: a destination once the connection succeeded (TCP accepted, UDP
 * answered), never a refused or unanswered one, never a denylisted one, and nothing of a container
 * while connection-burst has recently found it scanning, brute-forcing or flooding.
 */
export class Learner {
  /** Container id → event time until which its connections and listeners are not learned. */
  private readonly quietUntil = new Map<string, number>();

  /**
   * @param burstQuietMs how long after a connection-burst finding a container is not learned from
   *   (the life of its alert: alerts.resolveAfterSeconds)
   */
  constructor(
    private readonly policy: Policy,
    private readonly baseline: Baseline,
    private readonly burstQuietMs = 15 * 60_000,
  ) {}

  /** connection-burst found something for `container` at `ts`: learn nothing of it for a while. */
  onBurst(container: ContainerRef, ts: number): void {
    const until = ts + this.burstQuietMs;
    if (until > (this.quietUntil.get(container.id) ?? Number.NEGATIVE_INFINITY))
      this.quietUntil.set(container.id, until);
  }

  /** Packet time passed `nowMs`: forgets the quiet windows that ended. */
  tick(nowMs: number): void {
    for (const [id, until] of this.quietUntil) if (until <= nowMs) this.quietUntil.delete(id);
  }

  private quiet(c: ContainerRef | null, ts: number): boolean {
    if (c === null || this.quietUntil.size === 0) return false;
    const until = this.quietUntil.get(c.id);
    return until !== undefined && ts < until;
  }

  /** Starts the learning clock, except while the workload is off: switched on later, it learns then. */
  private touch(c: ContainerRef | null, ts: number): void {
    if (c !== null && this.policy.configuredMode(c) !== "off")
      this.baseline.touch(this.policy.workloadOf(c), ts);
  }

  onEvent(ev: NetmonEvent): void {
    const { policy, baseline } = this;
    if (ev.kind === "listener") {
      this.touch(ev.container, ev.ts);
      if (
        ev.state === "opened" &&
        !ev.dockerDns &&
        !this.quiet(ev.container, ev.ts) &&
        policy.modeOf(ev.container, ev.ts) === "learn"
      ) {
        baseline.recordListen(policy.workloadOf(ev.container), ev.port, ev.proto, ev.ts);
      }
      return;
    }
    // DNS responses teach nothing: the names reached are learned from the connections that follow.
    if (ev.kind === "dns") return;
    const src = ev.src.container;
    const dst = ev.dst.container;
    this.touch(src, ev.ts);
    this.touch(dst, ev.ts);
    if (ev.state !== "accepted" || this.quiet(src, ev.ts) || this.quiet(dst, ev.ts)) return;
    if (src !== null && policy.modeOf(src, ev.ts) === "learn") this.learnEgress(src, ev);
    if (dst !== null && policy.modeOf(dst, ev.ts) === "learn")
      baseline.recordListen(policy.workloadOf(dst), ev.dst.port, ev.proto, ev.ts);
  }

  private learnEgress(src: ContainerRef, ev: ConnectionEvent): void {
    // The verdict is on the attempt only; the denylist is asked again here (accepted events are few).
    if (this.policy.egress(src, egressTargetOf(ev)).denylisted) return;
    const workload = this.policy.workloadOf(src);
    const dst = ev.dst.container;
    // Container names lower-cased, as Policy.egress looks them up.
    const dests = dst !== null ? [(dst.service ?? dst.name).toLowerCase()] : (ev.dst.names ?? [ev.dst.ip]);
    for (const dest of dests) this.baseline.recordEgress(workload, dest, ev.dst.port, ev.proto, ev.ts);
  }
}

import type { z } from "zod";
import type { RateProfiles } from "../counting/rate-profiles.js";
import type { ConnectionEvent, ConnectionState, ContainerRef, NetmonEvent, Proto } from "./events.js";
import type { Finding } from "./finding.js";
import type { Mode } from "./mode.js";
import type { AllowedBy, ConnectionVerdict, EgressVerdict } from "./verdict.js";

export type { AllowedBy, ConnectionVerdict, EgressVerdict };

export interface EgressTarget {
  ip: string;
  port: number;
  proto: Proto;
  names: readonly string[];
  container: ContainerRef | null;
}

/** The destination of a connection event, as the policy judges it. */
export function egressTargetOf(ev: ConnectionEvent): EgressTarget {
  return {
    ip: ev.dst.ip,
    port: ev.dst.port,
    proto: ev.proto,
    names: ev.dst.names ?? [],
    container: ev.dst.container,
  };
}

/** Judges an attempt from `container` (the initiator): mode first, then the destination. */
export function judgeAttempt(
  ctx: DetectorContext,
  container: ContainerRef,
  ev: ConnectionEvent,
): ConnectionVerdict {
  const workload = ctx.workloadOf(container);
  const mode = ctx.modeOf(container, ev.ts);
  if (mode === "off") return { workload, mode, allowedBy: null, allowedRule: null, denylisted: false };
  const v = ctx.egress(container, egressTargetOf(ev));
  return {
    workload,
    mode,
    allowedBy: v.allowedBy,
    allowedRule: v.allowedRule ?? null,
    denylisted: v.denylisted,
  };
}

/**
 * The verdict of an attempt whose initiator is a container: the one the engine attached, or (for
 * events fed to a detector directly, as unit tests do) the same judgement made here.
 */
export function verdictOf(ctx: DetectorContext, ev: ConnectionEvent): ConnectionVerdict | null {
  if (ev.verdict !== undefined) return ev.verdict;
  const src = ev.src.container;
  return src === null || ev.state !== "attempt" ? null : judgeAttempt(ctx, src, ev);
}

/**
 * What detectors may ask about the world: synchronous, in-memory, no I/O. The daemon and replay
 * build it from the config, the container labels, the inventory and the learned baseline.
 */
export interface DetectorContext {
  /** Workload identity of a container. */
  workloadOf(container: ContainerRef): string;
  /** Effective mode of the container's workload at packet time `ts` (learning ends by itself). */
  modeOf(container: ContainerRef, ts: number): Mode;
  /**
   * Verdict on a connection from `container` to a destination: `names` are the DNS names the
   * container resolved to that IP; `container` is the destination container, if it is one.
   */
  egress(container: ContainerRef, dst: EgressTarget): EgressVerdict;
  /** Whether the container declared (EXPOSE, published, label, config) or learned this listening port. */
  listenAllowed(container: ContainerRef, port: number, proto: Proto): AllowedBy;
  /**
   * The engine's rolling rate profiles (per workload and destination), which outlive a detector's
   * re-creation and are saved next to the baseline. Absent (a context built by hand), a detector
   * that needs one keeps its own, in memory only.
   */
  rateProfiles?: RateProfiles;
}

export interface DetectorInstance {
  onEvent(ev: NetmonEvent): readonly Finding[];
  /** Called with packet time (or the clock when traffic is quiet). */
  onTick?(nowMs: number): readonly Finding[];
  /** One line for `netmon status` and debug logs: what the detector holds. */
  status(): string;
}

/** A kind of event a detector reads: DNS responses, listeners, or connection events of one state. */
export type EventRoute = "dns" | "listener" | `connection:${ConnectionState}`;

/**
 * One detector: a module with a name, a help text, an options schema whose every key has a
 * default, and a factory. Pure and synchronous: time comes from the events.
 */
export interface DetectorModule<S extends z.ZodType = z.ZodType> {
  name: string;
  help: string;
  /**
   * Every kind of finding the detector can raise (Finding.kind) with one line of help: what
   * `blocking.rules[].shapes` may name and `check-config --explain` lists, as `<detector>/<kind>`.
   */
  findings: Readonly<Record<string, string>>;
  options: S;
  /**
   * The only events its onEvent acts on (it returns NO_FINDINGS and changes nothing for any other):
   * the others are not handed to it. Absent: every event.
   */
  reads?: readonly EventRoute[];
  create(opts: z.output<S>, ctx: DetectorContext): DetectorInstance;
}

/** Shared empty result: most events raise nothing, and that should cost no allocation. */
export const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/** Only containers whose workload is monitored (monitor or enforce) raise findings. */
export function isAlerting(mode: Mode): boolean {
  return mode === "monitor" || mode === "enforce";
}

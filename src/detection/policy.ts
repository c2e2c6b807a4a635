import type { Baseline } from "../baseline/baseline.js";
import type { NetmonConfig, WorkloadRule } from "../config/schema.js";
import type { RateProfiles } from "../counting/rate-profiles.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { AllowedBy, DetectorContext, EgressTarget, EgressVerdict } from "../model/detector-api.js";
import type { ContainerRef, Proto } from "../model/events.js";
import type { Mode } from "../model/mode.js";
import { imageRepository, workloadOf } from "../model/workload.js";
import type { CidrSet } from "../net/cidr.js";
import { normalizeIp } from "../net/ip-format.js";
import { type EgressRule, ruleMatches } from "../rules/egress-rule.js";
import { LABEL_EGRESS, LABEL_LISTEN, LABEL_MODE, labelPolicyOf } from "../rules/label-policy.js";
import { type ListenRule, listenMatches } from "../rules/listen-rule.js";
import { EventMemo } from "./event-memo.js";

/** The config sections the policy reads: the global mode, the policy rules, the learning period. */
export type PolicyConfig = Pick<NetmonConfig, "mode" | "policy" | "baseline">;

/** Stricter modes win when an image label may only tighten. */
const STRICTNESS: Record<Mode, number> = { off: 0, learn: 1, monitor: 2, enforce: 3 };

/** A rule that applies to a container, with where it is written. */
export interface SourcedRule<R> {
  rule: R;
  by: "config" | "label";
  /** "policy.egress[0]", "policy.workloads[1].egress[0]", "label netmon.egress". */
  source: string;
}

/** An egress rule with the words a verdict it allows carries ("label netmon.egress: db:5432/tcp"). */
interface PolicyEgressRule extends SourcedRule<EgressRule> {
  allowedRule: string;
}

/** The rules that apply to a container, as the policy tries them (Policy.rulesOf). */
export interface ContainerRules {
  /** Indexes of the policy.workloads rules that select it. */
  workloads: readonly number[];
  /** policy.egress, then the selected workload rules' egress, then the netmon.egress label. */
  egress: readonly SourcedRule<EgressRule>[];
  /** The selected workload rules' listen, then the netmon.listen label (declared ports apart). */
  listen: readonly SourcedRule<ListenRule>[];
}

/** Everything policy says about one container, computed once per inventory version of it. */
interface ContainerPolicy {
  workload: string;
  mode: Mode;
  /** Why it has that mode ("label netmon.mode", "policy.workloads[2]", "global mode"). */
  modeSource: string;
  /**
   * What it declares (the first netmon.* label, or the first matching policy.workloads rule), or
   * null: only a workload that declares nothing learns before it is judged.
   */
  declaredBy: string | null;
  workloads: number[];
  egress: PolicyEgressRule[];
  listen: SourcedRule<ListenRule>[];
  /** "port/proto" from EXPOSE and published ports. */
  declared: Set<string>;
  /**
   * Addresses the container may always query on port 53 (its networks' gateways and the configured
   * resolvers), each with the words a verdict it allows carries.
   */
  resolvers: Map<string, string>;
}

export interface PolicySources {
  config: PolicyConfig;
  containers: { get(id: string): ContainerInfo | undefined };
  baseline: Baseline;
  denylist: CidrSet | null;
  /** Called once per container version with each ignored label or rule. */
  warn: (message: string) => void;
  /**
   * The engine's store of short-connection rate profiles: not policy, but detectors receive the
   * policy as their DetectorContext (src/detection/detection.ts), so it travels with it.
   */
  rateProfiles?: RateProfiles;
}

function glob(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return re.test(value);
}

function ruleApplies(rule: WorkloadRule, info: ContainerInfo): boolean {
  const m = rule.match;
  const ref = info.ref;
  if (m.name !== undefined && !glob(m.name, ref.name)) return false;
  if (
    m.image !== undefined &&
    !glob(m.image, ref.image) &&
    !glob(m.image, imageRepository(ref.image) ?? "")
  ) {
    return false;
  }
  if (m.service !== undefined && m.service !== ref.service && m.service !== `${ref.project}/${ref.service}`)
    return false;
  if (m.label !== undefined) {
    const eq = m.label.indexOf("=");
    const key = eq < 0 ? m.label : m.label.slice(0, eq);
    const value = info.labels[key];
    if (value === undefined || (eq >= 0 && value !== m.label.slice(eq + 1))) return false;
    // A label the image set may not select a rule: the rule could loosen policy (mode off, egress).
    if (info.imageLabels !== null && info.imageLabels[key] === value) return false;
  }
  return true;
}

const portKey = (port: number, proto: Proto): string => `${port}/${proto}`;

/**
 * What a container declares, in words: any netmon.* label (even a malformed one, or one from the
 * image: judging at once only tightens), else the first matching policy.workloads rule; else null.
 */
function declarationOf(info: ContainerInfo, firstRule: number | undefined): string | null {
  const label = Object.keys(info.labels)
    .filter((k) => k.startsWith("netmon."))
    .sort()[0];
  if (label !== undefined) return `label ${label}`;
  return firstRule === undefined ? null : `policy.workloads[${firstRule}]`;
}

/** Configured resolvers in canonical text, as destination IPs arrive ("2001:DB8:0::53" → "2001:db8::53"). */
function configuredResolvers(config: PolicyConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of config.policy.dnsResolvers) {
    const ip = normalizeIp(r) ?? r;
    out.set(ip, `policy.dnsResolvers: ${ip}:53`);
  }
  return out;
}

function egressEntry(rule: EgressRule, by: "config" | "label", source: string): PolicyEgressRule {
  return { rule, by, source, allowedRule: `${source}: ${rule.text}` };
}

const globalEgress = (config: PolicyConfig): PolicyEgressRule[] =>
  config.policy.egress.map((rule, i) => egressEntry(rule, "config", `policy.egress[${i}]`));

/**
 * The policy model: config file + container labels + learned baseline + denylist, answering the
 * detectors' questions synchronously. Per-container results are cached against the inventory's
 * ContainerInfo object, which is replaced whenever the container changes.
 */
export class Policy implements DetectorContext {
  private cache = new WeakMap<ContainerInfo, ContainerPolicy>();
  /** Global-only policies of containers the inventory does not know, per ref (built once, not per event). */
  private unknownCache = new WeakMap<ContainerRef, ContainerPolicy>();
  /** The policies of the event being handled (eventStarted … eventEnded). */
  private readonly inEvent = new EventMemo<ContainerPolicy>();
  private learnForMs: number;

  readonly rateProfiles: RateProfiles | undefined;

  constructor(private src: PolicySources) {
    this.learnForMs = src.config.baseline.learnForSeconds * 1000;
    this.rateProfiles = src.rateProfiles;
  }

  /** SIGHUP: a new config and denylist; every container's policy is computed again on next use. */
  update(config: PolicyConfig, denylist: CidrSet | null): void {
    this.src = { ...this.src, config, denylist };
    this.learnForMs = config.baseline.learnForSeconds * 1000;
    this.cache = new WeakMap();
    this.unknownCache = new WeakMap();
    this.inEvent.end();
  }

  /**
   * The engine handles one event (eventStarted, then eventEnded when every stage has seen it): the
   * policy of its containers is looked up once for all of them.
   */
  eventStarted(): void {
    this.inEvent.start();
  }

  eventEnded(): void {
    this.inEvent.end();
  }

  private resolve(ref: ContainerRef): ContainerPolicy {
    const memo = this.inEvent.get(ref);
    if (memo !== null) return memo;
    const info = this.src.containers.get(ref.id);
    let p: ContainerPolicy | undefined;
    if (info === undefined) p = this.unknown(ref);
    else {
      p = this.cache.get(info);
      if (p === undefined) {
        p = this.build(info);
        this.cache.set(info, p);
      }
    }
    this.inEvent.set(ref, p);
    return p;
  }

  /** A container the inventory no longer knows (events after destroy): global policy only. */
  private unknown(ref: ContainerRef): ContainerPolicy {
    const cached = this.unknownCache.get(ref);
    if (cached !== undefined) return cached;
    const { config } = this.src;
    const p: ContainerPolicy = {
      workload: workloadOf(ref),
      mode: config.mode,
      modeSource: "global mode",
      declaredBy: null,
      workloads: [],
      egress: globalEgress(config),
      listen: [],
      declared: new Set(),
      resolvers: configuredResolvers(config),
    };
    this.unknownCache.set(ref, p);
    return p;
  }

  private build(info: ContainerInfo): ContainerPolicy {
    const { config } = this.src;
    const labels = labelPolicyOf(info);
    for (const w of labels.warnings) this.src.warn(w);
    const matching = config.policy.workloads.flatMap((rule, i) =>
      ruleApplies(rule, info) ? [{ rule, i }] : [],
    );
    let mode: Mode = config.mode;
    let modeSource = "global mode";
    const ruleMode = matching.find((m) => m.rule.mode !== undefined);
    if (ruleMode?.rule.mode !== undefined) {
      mode = ruleMode.rule.mode;
      modeSource = `policy.workloads[${ruleMode.i}]`;
    }
    if (labels.mode !== null) {
      if (!labels.modeFromImage) {
        mode = labels.mode;
        modeSource = `label ${LABEL_MODE}`;
      } else if (STRICTNESS[labels.mode] > STRICTNESS[mode]) {
        mode = labels.mode;
        modeSource = `label ${LABEL_MODE} (from the image, which may only tighten)`;
      } else if (labels.mode !== mode) {
        this.src.warn(
          `container ${info.ref.name}: label netmon.mode comes from the image and may only tighten the mode; ignored`,
        );
      }
    }
    const declared = new Set<string>();
    for (const e of info.exposedPorts) {
      const [port, proto = "tcp"] = e.split("/");
      declared.add(`${port}/${proto}`);
    }
    for (const p of info.publishedPorts) declared.add(portKey(p.containerPort, p.proto as Proto));
    const resolvers = configuredResolvers(config);
    for (const n of info.networks)
      if (n.gateway) resolvers.set(n.gateway, `gateway of network ${n.networkName}: ${n.gateway}:53`);
    return {
      workload: workloadOf(info.ref),
      mode,
      modeSource,
      declaredBy: declarationOf(info, matching[0]?.i),
      workloads: matching.map((m) => m.i),
      egress: [
        ...globalEgress(config),
        ...matching.flatMap(({ rule, i }) =>
          rule.egress.map((r, j) => egressEntry(r, "config", `policy.workloads[${i}].egress[${j}]`)),
        ),
        ...labels.egress.map((r) => egressEntry(r, "label", `label ${LABEL_EGRESS}`)),
      ],
      listen: [
        ...matching.flatMap(({ rule, i }) =>
          rule.listen.map((r, j) => ({
            rule: r,
            by: "config" as const,
            source: `policy.workloads[${i}].listen[${j}]`,
          })),
        ),
        ...labels.listen.map((rule) => ({ rule, by: "label" as const, source: `label ${LABEL_LISTEN}` })),
      ],
      declared,
      resolvers,
    };
  }

  workloadOf(container: ContainerRef): string {
    return this.resolve(container).workload;
  }

  /** The mode set by config and labels, before the learning period is applied. */
  configuredMode(container: ContainerRef): Mode {
    return this.resolve(container).mode;
  }

  /**
   * A workload that declares anything is judged by its mode from its first packet; one that
   * declares nothing learns for baseline.learnForSeconds from its first sighting, then takes it.
   */
  modeOf(container: ContainerRef, ts: number): Mode {
    const p = this.resolve(container);
    if (!this.learnsFirst(p)) return p.mode;
    const first = this.src.baseline.firstSeen(p.workload);
    return first === undefined || ts < first + this.learnForMs ? "learn" : p.mode;
  }

  private learnsFirst(p: ContainerPolicy): boolean {
    return p.declaredBy === null && this.learnForMs > 0 && (p.mode === "monitor" || p.mode === "enforce");
  }

  /**
   * The learning period of a container that declares nothing: from its workload's first sighting
   * (null before it), learnForSeconds long. Null for a container judged at once or learning for good.
   */
  learningPeriod(container: ContainerRef): { since: number | null; until: number | null } | null {
    const p = this.resolve(container);
    if (!this.learnsFirst(p)) return null;
    const first = this.src.baseline.firstSeen(p.workload);
    return first === undefined
      ? { since: null, until: null }
      : { since: first, until: first + this.learnForMs };
  }

  /**
   * What the container declares ("label netmon.egress", "policy.workloads[1]": the first netmon.*
   * label, else the first matching policy.workloads rule), or null when it declares nothing.
   */
  declaredBy(container: ContainerRef): string | null {
    return this.resolve(container).declaredBy;
  }

  /** Where the configured mode comes from ("label netmon.mode", "policy.workloads[2]", "global mode"). */
  configuredModeSource(container: ContainerRef): string {
    return this.resolve(container).modeSource;
  }

  /** The policy.workloads rules that select the container, and the egress and listen rules that apply. */
  rulesOf(container: ContainerRef): ContainerRules {
    const p = this.resolve(container);
    return { workloads: p.workloads, egress: p.egress, listen: p.listen };
  }

  /** Why the container has the mode modeOf gives at `ts`, in words, for `baseline status` and the log. */
  modeSource(container: ContainerRef, ts: number): string {
    const p = this.resolve(container);
    if (this.learnsFirst(p)) {
      return this.modeOf(container, ts) === "learn"
        ? "learning: declares no netmon.* label and no policy.workloads rule (baseline.learnForSeconds)"
        : "global mode after learning";
    }
    if (p.declaredBy === null || p.modeSource !== "global mode") return p.modeSource;
    return `${p.declaredBy} (declared: judged at once)`;
  }

  egress(container: ContainerRef, dst: EgressTarget): EgressVerdict {
    const p = this.resolve(container);
    const denylisted = this.src.denylist?.has(dst.ip) ?? false;
    const resolver = dst.port === 53 ? p.resolvers.get(dst.ip) : undefined;
    if (resolver !== undefined) return { allowedBy: "dns-resolver", denylisted, allowedRule: resolver };
    // A destination container is also known by its name and Compose service (Docker's embedded DNS
    // resolves those inside dockerd, so no answer is ever seen on the wire). Lower-cased like every
    // host name in rules and in the baseline (Docker allows upper case in container names).
    const names =
      dst.container === null
        ? dst.names
        : [
            ...dst.names,
            dst.container.name.toLowerCase(),
            ...(dst.container.service ? [dst.container.service.toLowerCase()] : []),
          ];
    const target = { ip: dst.ip, port: dst.port, proto: dst.proto, names };
    for (const { rule, by, allowedRule } of p.egress) {
      if (ruleMatches(rule, target))
        return { allowedBy: rule.kind === "cidr" ? by : "dns-name", denylisted, allowedRule };
    }
    // The baseline answers yes or no, not which entry: explain finds the entry when asked.
    if (this.src.baseline.hasEgress(p.workload, dst.ip, names, dst.port, dst.proto)) {
      return { allowedBy: "baseline", denylisted, allowedRule: null };
    }
    return { allowedBy: null, denylisted, allowedRule: null };
  }

  listenAllowed(container: ContainerRef, port: number, proto: Proto): AllowedBy {
    const p = this.resolve(container);
    if (p.declared.has(portKey(port, proto))) return "declared";
    for (const { rule, by } of p.listen) if (listenMatches(rule, port, proto)) return by;
    if (this.src.baseline.hasListen(p.workload, port, proto)) return "baseline";
    return null;
  }
}

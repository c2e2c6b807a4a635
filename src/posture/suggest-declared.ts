import { Baseline } from "../baseline/baseline.js";
import { Policy, type PolicyConfig } from "../detection/policy.js";
import { egressRulesOf, type Sourced } from "../explain/rule-sources.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { EgressTarget } from "../model/detector-api.js";
import type { ContainerRef, Proto } from "../model/events.js";
import { type EgressRule, parseEgressList } from "../rules/egress-rule.js";
import { LABEL_EGRESS, LABEL_LISTEN } from "../rules/label-policy.js";
import { parseListenList, splitList } from "../rules/listen-rule.js";

/**
 * What a workload already declares (its netmon.egress / netmon.listen labels, policy.egress and
 * policy.workloads), as `policy suggest` keeps it: suggestions are merged into the labels, never
 * replace them, and the iptables rules and the dry run allow it first.
 */

/** One allow-list label of the workload's container, as netmon reads it. */
export interface DeclaredLabel {
  key: string;
  /** The value as set, or null when the label is not set. */
  current: string | null;
  /** Its items as written (empty when ignored). */
  items: string[];
  /** Why netmon ignores it (from the image, malformed), or null. */
  ignored: string | null;
}

/** A label after the merge, and the change as a diff ("- key=old", "+ key=new"). */
export interface LabelChange {
  key: string;
  current: string | null;
  value: string | null;
  diff: string[];
}

function readLabel(info: ContainerInfo | null, key: string): DeclaredLabel {
  const value = info?.labels[key];
  if (info === null || value === undefined) return { key, current: null, items: [], ignored: null };
  if (info.imageLabels?.[key] === value) {
    return { key, current: value, items: [], ignored: "it comes from the image: netmon ignores it" };
  }
  const errors = (key === LABEL_EGRESS ? parseEgressList(value) : parseListenList(value)).errors;
  if (errors.length > 0) {
    return { key, current: value, items: [], ignored: `malformed, netmon ignores it (${errors.join("; ")})` };
  }
  return { key, current: value, items: splitList(value, key).items, ignored: null };
}

/** The label with `add` appended (kept as written when nothing is added), and the diff. */
export function mergeLabel(d: DeclaredLabel, add: readonly string[]): LabelChange {
  const value = add.length === 0 && d.ignored === null ? d.current : [...d.items, ...add].join(",") || null;
  const diff: string[] = [];
  if (d.current !== null && value === d.current) diff.push(`  ${d.key}=${d.current} (unchanged)`);
  else {
    if (d.current !== null)
      diff.push(`- ${d.key}=${d.current}${d.ignored === null ? "" : `  (${d.ignored})`}`);
    if (value !== null) diff.push(`+ ${d.key}=${value}`);
  }
  return { key: d.key, current: d.current, value, diff };
}

export class Declarations {
  /** The container whose labels are read: the workload's first running one. */
  readonly container: ContainerInfo | null;
  readonly egressLabel: DeclaredLabel;
  readonly listenLabel: DeclaredLabel;
  /** Declared egress rules (config and labels), in the order the policy tries them. */
  readonly egressRules: Sourced<EgressRule>[];
  readonly notes: string[] = [];
  /** The engine's Policy with an empty baseline: it answers exactly "is this declared". */
  private readonly policy: Policy;

  constructor(own: readonly ContainerInfo[], all: readonly ContainerInfo[], config: PolicyConfig) {
    this.container = own[0] ?? null;
    this.egressLabel = readLabel(this.container, LABEL_EGRESS);
    this.listenLabel = readLabel(this.container, LABEL_LISTEN);
    for (const c of own.slice(1)) {
      for (const key of [LABEL_EGRESS, LABEL_LISTEN]) {
        if (c.labels[key] !== this.container?.labels[key])
          this.notes.push(
            `${c.ref.name} and ${this.container?.ref.name} carry different ${key} labels: merged into ${this.container?.ref.name}'s`,
          );
      }
    }
    for (const l of [this.egressLabel, this.listenLabel]) {
      if (l.ignored !== null) this.notes.push(`${this.container?.ref.name}: label ${l.key} ${l.ignored}`);
    }
    this.egressRules = this.container === null ? [] : egressRulesOf(this.container, config);
    this.policy = new Policy({
      config: { ...config, baseline: { ...config.baseline, learnForSeconds: 0 } },
      containers: new Map(all.map((c) => [c.ref.id, c])),
      baseline: new Baseline(),
      denylist: null,
      warn: () => {},
    });
  }

  /**
   * What declares the destination for the container (default: the one whose labels are read), or
   * null: nothing but a baseline would allow it. With no container, the global rules answer.
   */
  egressAllowedBy(dst: EgressTarget, container?: ContainerRef): string | null {
    const ref = container ?? this.container?.ref;
    return ref === undefined ? null : this.policy.egress(ref, dst).allowedBy;
  }

  listenDeclared(port: number, proto: Proto): boolean {
    return this.container !== null && this.policy.listenAllowed(this.container.ref, port, proto) !== null;
  }
}

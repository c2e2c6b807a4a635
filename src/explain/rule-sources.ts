import { Baseline } from "../baseline/baseline.js";
import { Policy, type PolicyConfig, type SourcedRule } from "../detection/policy.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { EgressRule } from "../rules/egress-rule.js";

/** A rule that applies to a container, with where it is written ("policy.workloads[1].egress[0]"). */
export type Sourced<R> = SourcedRule<R>;

/**
 * The egress rules that apply to a container under `config`, in the order the policy tries them,
 * for callers without the engine's Policy (`policy suggest`): a Policy of this one container says
 * it, so there is no second implementation of `match`. Explain asks the engine's Policy.rulesOf.
 */
export function egressRulesOf(info: ContainerInfo, config: PolicyConfig): Sourced<EgressRule>[] {
  const policy = new Policy({
    config,
    containers: { get: (id) => (id === info.ref.id ? info : undefined) },
    baseline: new Baseline(),
    denylist: null,
    warn: () => {},
  });
  return [...policy.rulesOf(info.ref).egress];
}

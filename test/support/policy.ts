import { Baseline } from "../../src/baseline/baseline.js";
import { parseConfigText } from "../../src/config/load.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { Policy, type PolicySources } from "../../src/detection/policy.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { CidrSet } from "../../src/net/cidr.js";

/** The config a YAML text gives; throws with the loader's errors when it does not parse. */
export function configFromYaml(yaml = "", source = "test.yaml"): NetmonConfig {
  const r = parseConfigText(yaml, source);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.config;
}

export interface PolicyOptions {
  /** Default: an empty one sized by the config. */
  baseline?: Baseline;
  /** Default: none. */
  denylist?: CidrSet | null;
  /** Default: any warning fails the test. */
  warn?: (message: string) => void;
  /** The file name the config errors would name. */
  source?: string;
}

export interface PolicyWorld {
  policy: Policy;
  config: NetmonConfig;
  baseline: Baseline;
}

/** The real Policy from a YAML config over a hand-built inventory (a list, or any id lookup). */
export function policyFromYaml(
  yaml: string,
  containers: readonly ContainerInfo[] | PolicySources["containers"],
  o: PolicyOptions = {},
): PolicyWorld {
  const config = configFromYaml(yaml, o.source);
  const baseline = o.baseline ?? new Baseline(config.baseline.maxEntriesPerWorkload);
  const policy = new Policy({
    config,
    containers: isList(containers) ? new Map(containers.map((i) => [i.ref.id, i])) : containers,
    baseline,
    denylist: o.denylist ?? null,
    warn:
      o.warn ??
      ((m) => {
        throw new Error(`unexpected policy warning: ${m}`);
      }),
  });
  return { policy, config, baseline };
}

function isList(c: readonly ContainerInfo[] | PolicySources["containers"]): c is readonly ContainerInfo[] {
  return Array.isArray(c);
}

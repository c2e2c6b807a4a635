import { describe, expect, it } from "vitest";
import type { Baseline } from "../../src/baseline/baseline.js";
import type { Policy } from "../../src/detection/policy.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { AllowedBy, EgressTarget, EgressVerdict } from "../../src/model/detector-api.js";
import type { ContainerRef, Proto } from "../../src/model/events.js";
import type { Mode } from "../../src/model/mode.js";
import { CidrSet, parseCidr } from "../../src/net/cidr.js";
import { bridgeNetwork, containerInfo, containerRef as ref } from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const SEC = 1_000;
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

function info(r: ContainerRef, o: Partial<Omit<ContainerInfo, "ref">> = {}): ContainerInfo {
  return containerInfo(r, {
    imageId: DIGEST,
    networks: [bridgeNetwork({ mac: "02:42:ac:12:00:02" })],
    startedAt: T0,
    ...o,
  });
}

interface World {
  policy: Policy;
  baseline: Baseline;
  warnings: string[];
  containers: Map<string, ContainerInfo>;
}

function world(
  yaml: string,
  infos: ContainerInfo[],
  o: { denylist?: CidrSet | null; baseline?: Baseline } = {},
): World {
  const warnings: string[] = [];
  const containers = new Map(infos.map((i) => [i.ref.id, i]));
  const { policy, baseline } = policyFromYaml(yaml, containers, {
    baseline: o.baseline,
    denylist: o.denylist,
    warn: (m) => warnings.push(m),
  });
  return { policy, baseline, warnings, containers };
}

function target(
  ip: string,
  port: number,
  proto: Proto = "tcp",
  more: Partial<EgressTarget> = {},
): EgressTarget {
  return { ip, port, proto, names: [], container: null, ...more };
}

const NO_LEARNING = "baseline:\n  learnForSeconds: 0\n";

/** The verdict's kind and denylist flag (the rule's words are checked on their own). */
const kindOf = (v: EgressVerdict) => ({ allowedBy: v.allowedBy, denylisted: v.denylisted });

describe("workload identity", () => {
  const cases: { why: string; r: ContainerRef; want: string }[] = [
    {
      // Compose identity survives restarts and scaling (shop-web-1, shop-web-2 are one workload).
      why: "compose project/service",
      r: ref("shop-web-1", { image: "shop-web:latest", project: "shop", service: "web" }),
      want: "shop/web",
    },
    {
      // A tag and a digest are versions of the same workload; the registry port is not a tag.
      why: "image repository without tag and digest",
      r: ref("app-1", { image: `registry:5000/app:1.2@${DIGEST}` }),
      want: "registry:5000/app",
    },
    {
      // The registry port colon must not be mistaken for a tag separator.
      why: "registry port kept when there is no tag",
      r: ref("app-2", { image: "registry:5000/team/app" }),
      want: "registry:5000/team/app",
    },
    {
      // Plain tagged image.
      why: "plain image with tag",
      r: ref("proxy", { image: "nginx:1.25" }),
      want: "nginx",
    },
    {
      // A digest-only reference still names the repository.
      why: "digest-only reference",
      r: ref("pinned", { image: `alpine@${DIGEST}` }),
      want: "alpine",
    },
    {
      // A bare image id names no workload: fall back to the container name.
      why: "bare sha256 image id",
      r: ref("mystery", { image: DIGEST }),
      want: "mystery",
    },
    {
      // A short (12 hex) image id is also an id, not a repository.
      why: "short image id",
      r: ref("mystery-2", { image: "0123456789ab" }),
      want: "mystery-2",
    },
    {
      // A service without a project is not a Compose identity: the image decides.
      why: "service without project",
      r: ref("lonely", { image: "busybox:latest", service: "web" }),
      want: "busybox",
    },
  ];
  it.each(cases)("$why", ({ r, want }) => {
    const { policy } = world("", [info(r)]);
    expect(policy.workloadOf(r)).toBe(want);
  });

  it("is the same for a container the inventory no longer knows", () => {
    // Events arriving after a container is destroyed must still land on its workload.
    const { policy } = world("", []);
    expect(policy.workloadOf(ref("x", { project: "shop", service: "db" }))).toBe("shop/db");
  });
});

describe("modes", () => {
  it("global mode applies when nothing else says otherwise", () => {
    // The top-level `mode` is the default for every container.
    const c = ref("web-1");
    const { policy } = world(`mode: enforce\n${NO_LEARNING}`, [info(c)]);
    expect(policy.configuredMode(c)).toBe("enforce");
    expect(policy.modeOf(c, T0)).toBe("enforce");
  });

  const WORKLOADS = `${NO_LEARNING}policy:
  workloads:
    - match: { name: "web-*" }
      mode: enforce
    - match: { image: "registry:5000/app" }
      mode: learn
    - match: { image: "nginx:1.*" }
      mode: "off"
    - match: { service: "shop/db" }
      mode: learn
    - match: { service: "cache" }
      mode: enforce
    - match: { label: "tier=front" }
      mode: "off"
    - match: { label: "audit" }
      mode: enforce
    - match: { name: "batch-*", label: "team=data" }
      mode: learn
`;
  const ruleCases: { why: string; c: ContainerInfo; want: Mode }[] = [
    // Name globs select a family of containers.
    { why: "name glob", c: info(ref("web-7")), want: "enforce" },
    // A glob is anchored: "web-*" does not match "old-web-1".
    { why: "name glob anchored", c: info(ref("old-web-1")), want: "monitor" },
    // An image rule without a tag matches every tag of that repository.
    { why: "image repository", c: info(ref("a", { image: "registry:5000/app:2.0" })), want: "learn" },
    // An image rule with a wildcard matches the full reference.
    { why: "image glob on full reference", c: info(ref("b", { image: "nginx:1.25" })), want: "off" },
    // project/service form.
    { why: "service project/service", c: info(ref("c", { project: "shop", service: "db" })), want: "learn" },
    // Bare service form.
    { why: "service alone", c: info(ref("d", { project: "other", service: "cache" })), want: "enforce" },
    // key=value label.
    { why: "label key=value", c: info(ref("e"), { labels: { tier: "front" } }), want: "off" },
    // key=value needs the same value.
    { why: "label other value", c: info(ref("f"), { labels: { tier: "back" } }), want: "monitor" },
    // Bare key: any value matches.
    { why: "label key only", c: info(ref("g"), { labels: { audit: "" } }), want: "enforce" },
    // Every given field must match: name alone is not enough.
    { why: "all fields must match (miss)", c: info(ref("batch-1")), want: "monitor" },
    // ... and name plus label is.
    { why: "all fields match", c: info(ref("batch-2"), { labels: { team: "data" } }), want: "learn" },
    // A label the image set cannot select a rule (here one that would turn monitoring off).
    {
      why: "label from the image does not match",
      c: info(ref("h"), { labels: { tier: "front" }, imageLabels: { tier: "front" } }),
      want: "monitor",
    },
    // The same label set on the container itself (a different value than the image's) does.
    {
      why: "label set on the container matches",
      c: info(ref("i"), { labels: { tier: "front" }, imageLabels: { tier: "back" } }),
      want: "off",
    },
  ];
  it.each(ruleCases)("workload rule: $why", ({ c, want }) => {
    const { policy } = world(WORKLOADS, [c]);
    expect(policy.configuredMode(c.ref)).toBe(want);
  });

  it("a container's own netmon.mode label overrides the workload rule, even loosening it", () => {
    // The operator who starts the container has the last word (`docker run --label netmon.mode=off`).
    const c = ref("web-1");
    const { policy, warnings } = world(WORKLOADS, [info(c, { labels: { "netmon.mode": "off" } })]);
    expect(policy.configuredMode(c)).toBe("off");
    expect(warnings).toEqual([]);
  });

  it("an image-provided netmon.mode may not loosen the mode", () => {
    // Images are third-party input: an image must not switch its own monitoring off.
    const c = ref("web-1");
    const labels = { "netmon.mode": "off" };
    const { policy, warnings } = world(WORKLOADS, [info(c, { labels, imageLabels: { ...labels } })]);
    expect(policy.configuredMode(c)).toBe("enforce");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("web-1");
    expect(warnings[0]).toContain("netmon.mode");
  });

  it("an image-provided netmon.mode may tighten the mode", () => {
    // Tightening is always safe, whoever asks for it.
    const c = ref("plain");
    const labels = { "netmon.mode": "enforce" };
    const { policy, warnings } = world(NO_LEARNING, [info(c, { labels, imageLabels: { ...labels } })]);
    expect(policy.configuredMode(c)).toBe("enforce");
    expect(warnings).toEqual([]);
  });

  it("a container label that differs from the image's label is the operator's, not the image's", () => {
    // `docker run --label netmon.mode=learn` over an image saying enforce is an explicit choice.
    const c = ref("plain");
    const { policy } = world(NO_LEARNING, [
      info(c, { labels: { "netmon.mode": "learn" }, imageLabels: { "netmon.mode": "enforce" } }),
    ]);
    expect(policy.configuredMode(c)).toBe("learn");
  });

  it("a malformed netmon.mode label is ignored with a warning naming the container and the label", () => {
    // A typo must not silently change or disable monitoring.
    const c = ref("typo-1");
    const { policy, warnings } = world(`mode: enforce\n${NO_LEARNING}`, [
      info(c, { labels: { "netmon.mode": "monitr" } }),
    ]);
    expect(policy.configuredMode(c)).toBe("enforce");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("typo-1");
    expect(warnings[0]).toContain("netmon.mode");
    expect(warnings[0]).toContain("monitr");
  });

  it("a label value with surrounding spaces is accepted", () => {
    // Labels are often written by hand in compose files.
    const c = ref("spaces");
    const { policy, warnings } = world(NO_LEARNING, [info(c, { labels: { "netmon.mode": " learn " } })]);
    expect(policy.configuredMode(c)).toBe("learn");
    expect(warnings).toEqual([]);
  });

  it("an unknown container gets the global mode", () => {
    // No labels or rules to apply once the inventory forgot it.
    const { policy } = world(`mode: enforce\n${NO_LEARNING}`, []);
    expect(policy.modeOf(ref("gone"), T0)).toBe("enforce");
  });
});

describe("learning period", () => {
  const LEARN60 = "baseline:\n  learnForSeconds: 60\n";

  it("a workload first touched at t learns until t+60s, then is monitored", () => {
    // The learning clock runs in packet time, so replay behaves like live traffic.
    const c = ref("web-1");
    const { policy, baseline } = world(LEARN60, [info(c)]);
    baseline.touch(policy.workloadOf(c), T0);
    expect(policy.modeOf(c, T0)).toBe("learn");
    expect(policy.modeOf(c, T0 + 60 * SEC - 1)).toBe("learn");
    expect(policy.modeOf(c, T0 + 60 * SEC)).toBe("monitor");
    expect(policy.configuredMode(c)).toBe("monitor");
  });

  it("a workload never touched is still learning", () => {
    // Nothing is known about it yet, so nothing can be judged.
    const c = ref("web-1");
    const { policy } = world(LEARN60, [info(c)]);
    expect(policy.modeOf(c, T0)).toBe("learn");
  });

  it("enforce also learns first, then enforces", () => {
    // Blocking before a baseline exists would cut legitimate traffic.
    const c = ref("web-1");
    const { policy, baseline } = world(`mode: enforce\n${LEARN60}`, [info(c)]);
    baseline.touch(policy.workloadOf(c), T0);
    expect(policy.modeOf(c, T0 + 30 * SEC)).toBe("learn");
    expect(policy.modeOf(c, T0 + 61 * SEC)).toBe("enforce");
  });

  it("learnForSeconds 0 never learns", () => {
    // Operators who only want explicit rules must get alerts from the first packet.
    const c = ref("web-1");
    const { policy } = world(NO_LEARNING, [info(c)]);
    expect(policy.modeOf(c, T0)).toBe("monitor");
  });

  const staying: { why: string; mode: Mode }[] = [
    // off means off: learning must not turn monitoring (or recording) on.
    { why: "off stays off", mode: "off" },
    // learn means learn forever, not for 60 s.
    { why: "learn stays learn", mode: "learn" },
  ];
  it.each(staying)("$why during and after the learning period", ({ mode }) => {
    const c = ref("web-1");
    const { policy, baseline } = world(`mode: "${mode}"\n${LEARN60}`, [info(c)]);
    baseline.touch(policy.workloadOf(c), T0);
    expect(policy.modeOf(c, T0)).toBe(mode);
    expect(policy.modeOf(c, T0 + 3600 * SEC)).toBe(mode);
  });

  it("the clock is per workload: a new replica of a learned workload does not learn again", () => {
    // Workload identity, not container id, carries the baseline across restarts and scaling.
    const a = ref("shop-web-1", { project: "shop", service: "web" });
    const b = ref("shop-web-2", { project: "shop", service: "web" });
    const { policy, baseline } = world(LEARN60, [info(a), info(b)]);
    baseline.touch(policy.workloadOf(a), T0);
    expect(policy.modeOf(b, T0 + 120 * SEC)).toBe("monitor");
  });
});

describe("declared policy is judged at once", () => {
  const LEARN60 = "baseline:\n  learnForSeconds: 60\n";
  const declaring: {
    why: string;
    yaml?: string;
    o: Partial<Omit<ContainerInfo, "ref">>;
    want: Mode;
    source: string;
  }[] = [
    {
      // An operator who wrote netmon.mode=monitor wants alerts from the first packet.
      why: "a netmon.mode label",
      o: { labels: { "netmon.mode": "enforce" } },
      want: "enforce",
      source: "label netmon.mode",
    },
    {
      // An allow-list says what is normal: nothing is left to learn.
      why: "a netmon.egress label",
      o: { labels: { "netmon.egress": "db:5432/tcp" } },
      want: "monitor",
      source: "label netmon.egress (declared: judged at once)",
    },
    {
      // Even a label from the image: judging at once only tightens (its allow-list is still ignored).
      why: "a netmon.* label from the image",
      o: { labels: { "netmon.egress": "0.0.0.0/0" }, imageLabels: { "netmon.egress": "0.0.0.0/0" } },
      want: "monitor",
      source: "label netmon.egress (declared: judged at once)",
    },
    {
      // A rule in netmon.yaml that names the workload is a declaration too.
      why: "a matching policy.workloads rule",
      yaml: `${LEARN60}policy:\n  workloads:\n    - match: { name: other }\n      egress: ["10.0.0.1"]\n    - match: { name: web-1 }\n      egress: ["10.0.0.2"]\n`,
      o: {},
      want: "monitor",
      source: "policy.workloads[1] (declared: judged at once)",
    },
    {
      // The rule that sets the mode is named.
      why: "a policy.workloads rule with a mode",
      yaml: `${LEARN60}policy:\n  workloads:\n    - match: { name: web-1 }\n      mode: enforce\n`,
      o: {},
      want: "enforce",
      source: "policy.workloads[0]",
    },
  ];
  it.each(declaring)("$why: no learning period", ({ yaml, o, want, source }) => {
    const c = ref("web-1");
    const { policy, baseline } = world(yaml ?? LEARN60, [info(c, o)]);
    expect(policy.modeOf(c, T0)).toBe(want);
    baseline.touch(policy.workloadOf(c), T0);
    expect(policy.modeOf(c, T0 + 1)).toBe(want);
    expect(policy.learningPeriod(c)).toBeNull();
    expect(policy.modeSource(c, T0)).toBe(source);
  });

  it("declaredBy and configuredModeSource: what declares a container, and where its mode comes from", () => {
    const yaml = `${LEARN60}policy:\n  workloads:\n    - match: { name: web-1 }\n      egress: ["10.0.0.2"]\n    - match: { name: web-1 }\n      mode: enforce\n`;
    const web = ref("web-1");
    const labelled = ref("api-1");
    const plain = ref("job-1");
    const { policy } = world(yaml, [
      info(web),
      info(labelled, { labels: { "netmon.listen": "80/tcp" } }),
      info(plain),
    ]);
    expect(policy.declaredBy(web)).toBe("policy.workloads[0]");
    expect(policy.configuredModeSource(web)).toBe("policy.workloads[1]");
    expect(policy.rulesOf(web).workloads).toEqual([0, 1]);
    expect(policy.declaredBy(labelled)).toBe("label netmon.listen");
    expect(policy.configuredModeSource(labelled)).toBe("global mode");
    expect(policy.rulesOf(labelled).listen.map((r) => `${r.source}: ${r.rule.text}`)).toEqual([
      "label netmon.listen: 80/tcp",
    ]);
    expect(policy.declaredBy(plain)).toBeNull();
  });

  it("a workload that declares nothing learns, then takes the global mode; the why follows", () => {
    // Only the undeclared is learned; status says which phase it is in.
    const c = ref("web-1");
    const { policy, baseline } = world(LEARN60, [info(c, { labels: { team: "shop" } })]);
    expect(policy.learningPeriod(c)).toEqual({ since: null, until: null });
    baseline.touch(policy.workloadOf(c), T0);
    expect(policy.learningPeriod(c)).toEqual({ since: T0, until: T0 + 60 * SEC });
    expect(policy.modeSource(c, T0)).toMatch(/^learning: declares no netmon\.\* label/);
    expect(policy.modeSource(c, T0 + 60 * SEC)).toBe("global mode after learning");
  });

  it("a declared netmon.mode=learn still learns, for good", () => {
    // Learning on purpose is a declaration too: it never ends by itself.
    const c = ref("web-1");
    const { policy } = world(LEARN60, [info(c, { labels: { "netmon.mode": "learn" } })]);
    expect(policy.modeOf(c, T0 + 3600 * SEC)).toBe("learn");
  });
});

describe("egress verdicts", () => {
  const YAML = `${NO_LEARNING}policy:
  egress:
    - "10.0.0.0/8:443/tcp"
    - "api.example.com:443"
    - "*.cdn.example.net"
  dnsResolvers: ["192.0.2.53"]
  workloads:
    - match: { name: "web-*" }
      egress: ["198.51.100.0/24", "db:5432/tcp", "cache-1:6379/tcp"]
`;
  const WEB = ref("web-1");
  const OTHER = ref("other-1");
  const DB = ref("shop-db-1", { project: "shop", service: "db" });
  const CACHE = ref("cache-1", { image: "redis:7" });
  const WEB_INFO = info(WEB, {
    labels: { "netmon.egress": "203.0.113.9:8443/tcp, files.example.org:443/tcp" },
  });

  function make(): World {
    const w = world(YAML, [WEB_INFO, info(OTHER), info(DB), info(CACHE)]);
    w.baseline.recordEgress(w.policy.workloadOf(WEB), "203.0.113.77", 22, "tcp", T0);
    w.baseline.recordEgress(w.policy.workloadOf(WEB), "learned.example.org", 443, "tcp", T0);
    return w;
  }

  const cases: { why: string; from?: ContainerRef; dst: EgressTarget; want: AllowedBy }[] = [
    // Global CIDR rule with port and proto.
    { why: "global CIDR rule", dst: target("10.1.2.3", 443), want: "config" },
    // The proto of a rule is enforced.
    { why: "global rule, wrong proto", dst: target("10.1.2.3", 443, "udp"), want: null },
    // The port of a rule is enforced.
    { why: "global rule, wrong port", dst: target("10.1.2.3", 80), want: null },
    // Global rules apply to every container.
    { why: "global rule, other container", from: OTHER, dst: target("10.9.9.9", 443), want: "config" },
    // A workload rule with no port allows every port and proto.
    { why: "workload rule", dst: target("198.51.100.7", 9999, "udp"), want: "config" },
    // A workload rule does not leak to other workloads.
    { why: "workload rule, other container", from: OTHER, dst: target("198.51.100.7", 9999), want: null },
    // A CIDR rule in the container's own label.
    { why: "label CIDR rule", dst: target("203.0.113.9", 8443), want: "label" },
    // A host rule allows by the names the container resolved.
    {
      why: "host name rule",
      dst: target("203.0.113.50", 443, "tcp", { names: ["api.example.com"] }),
      want: "dns-name",
    },
    // Host rules never match the bare IP.
    { why: "host name rule, no names", dst: target("203.0.113.50", 443), want: null },
    // A host rule in a label is still a name match.
    {
      why: "label host rule",
      dst: target("203.0.113.51", 443, "tcp", { names: ["files.example.org"] }),
      want: "dns-name",
    },
    // *.domain matches subdomains at any depth.
    {
      why: "wildcard rule",
      dst: target("203.0.113.60", 80, "tcp", { names: ["img.eu.cdn.example.net"] }),
      want: "dns-name",
    },
    // *.domain does not match the domain itself.
    {
      why: "wildcard rule, the domain itself",
      dst: target("203.0.113.60", 80, "tcp", { names: ["cdn.example.net"] }),
      want: null,
    },
    // A destination container is known by its Compose service (Docker DNS is never on the wire).
    {
      why: "destination container by service",
      dst: target("172.18.0.9", 5432, "tcp", { container: DB }),
      want: "dns-name",
    },
    // ... and by its container name.
    {
      why: "destination container by name",
      dst: target("172.18.0.10", 6379, "tcp", { container: CACHE }),
      want: "dns-name",
    },
    // The same port on a container that is not named by a rule.
    {
      why: "destination container not named",
      dst: target("172.18.0.11", 5432, "tcp", { container: CACHE }),
      want: null,
    },
    // DNS to the network's gateway is always allowed.
    { why: "DNS to the gateway", dst: target("172.18.0.1", 53, "udp"), want: "dns-resolver" },
    // DNS over TCP too.
    { why: "DNS to the gateway over TCP", dst: target("172.18.0.1", 53, "tcp"), want: "dns-resolver" },
    // A configured resolver is allowed on port 53.
    { why: "configured resolver", dst: target("192.0.2.53", 53, "udp"), want: "dns-resolver" },
    // Only port 53: mDNS-like ports on the gateway are not DNS.
    { why: "gateway on port 5353", dst: target("172.18.0.1", 5353, "udp"), want: null },
    // A resolver that is not configured is not allowed.
    { why: "unknown resolver", dst: target("192.0.2.54", 53, "udp"), want: null },
    // Learned by IP.
    { why: "baseline by IP", dst: target("203.0.113.77", 22), want: "baseline" },
    // Learned by name: the IP behind a name may change.
    {
      why: "baseline by name",
      dst: target("203.0.113.78", 443, "tcp", { names: ["learned.example.org"] }),
      want: "baseline",
    },
    // The baseline is per port.
    { why: "baseline, other port", dst: target("203.0.113.77", 23), want: null },
    // Nothing allows it.
    { why: "nothing allows it", dst: target("203.0.113.99", 443), want: null },
  ];
  it.each(cases)("$why → $want", ({ from, dst, want }) => {
    const { policy } = make();
    expect(kindOf(policy.egress(from ?? WEB, dst))).toEqual({ allowedBy: want, denylisted: false });
  });

  // The verdict names the rule that allowed it, so the alert and the API need not search for it.
  const rules: { why: string; dst: EgressTarget; want: string | null }[] = [
    { why: "global CIDR rule", dst: target("10.1.2.3", 443), want: "policy.egress[0]: 10.0.0.0/8:443/tcp" },
    {
      why: "workload rule",
      dst: target("198.51.100.7", 9999, "udp"),
      want: "policy.workloads[0].egress[0]: 198.51.100.0/24",
    },
    {
      why: "host name rule",
      dst: target("203.0.113.50", 443, "tcp", { names: ["api.example.com"] }),
      want: "policy.egress[1]: api.example.com:443",
    },
    {
      why: "destination container by service",
      dst: target("172.18.0.9", 5432, "tcp", { container: DB }),
      want: "policy.workloads[0].egress[1]: db:5432/tcp",
    },
    {
      why: "label CIDR rule",
      dst: target("203.0.113.9", 8443),
      want: "label netmon.egress: 203.0.113.9:8443/tcp",
    },
    { why: "gateway", dst: target("172.18.0.1", 53, "udp"), want: "gateway of network app: 172.18.0.1:53" },
    {
      why: "configured resolver",
      dst: target("192.0.2.53", 53, "udp"),
      want: "policy.dnsResolvers: 192.0.2.53:53",
    },
    // The baseline says yes or no: explain finds the entry when asked.
    { why: "baseline", dst: target("203.0.113.77", 22), want: null },
    { why: "nothing", dst: target("203.0.113.99", 443), want: null },
  ];
  it.each(rules)("$why: allowedRule $want", ({ dst, want }) => {
    expect(make().policy.egress(WEB, dst).allowedRule).toBe(want);
  });

  it("rulesOf: the workload rules that select a container and the rules that apply, with their source", () => {
    const { policy } = make();
    const web = policy.rulesOf(WEB);
    expect(web.workloads).toEqual([0]);
    expect(web.egress.map((r) => [r.source, r.by, r.rule.text])).toEqual([
      ["policy.egress[0]", "config", "10.0.0.0/8:443/tcp"],
      ["policy.egress[1]", "config", "api.example.com:443"],
      ["policy.egress[2]", "config", "*.cdn.example.net"],
      ["policy.workloads[0].egress[0]", "config", "198.51.100.0/24"],
      ["policy.workloads[0].egress[1]", "config", "db:5432/tcp"],
      ["policy.workloads[0].egress[2]", "config", "cache-1:6379/tcp"],
      ["label netmon.egress", "label", "203.0.113.9:8443/tcp"],
      ["label netmon.egress", "label", "files.example.org:443/tcp"],
    ]);
    const other = policy.rulesOf(OTHER);
    expect(other.workloads).toEqual([]);
    expect(other.egress.map((r) => r.source)).toEqual([
      "policy.egress[0]",
      "policy.egress[1]",
      "policy.egress[2]",
    ]);
    // A container the inventory no longer knows: global rules only.
    expect(policy.rulesOf(ref("gone-1")).egress).toHaveLength(3);
  });

  it("a container the inventory no longer knows gets only global rules", () => {
    // After destroy, labels and workload rules are gone; the global allow list still applies.
    const { policy } = world(YAML, []);
    expect(policy.egress(WEB, target("10.1.2.3", 443)).allowedBy).toBe("config");
    expect(policy.egress(WEB, target("198.51.100.7", 80)).allowedBy).toBeNull();
    expect(policy.egress(WEB, target("192.0.2.53", 53, "udp")).allowedBy).toBe("dns-resolver");
  });
});

describe("denylist", () => {
  const denylist = new CidrSet([parseCidr("10.9.0.0/16")!, parseCidr("203.0.113.66")!]);
  const c = ref("web-1");
  const YAML = `${NO_LEARNING}policy:\n  egress: ["10.0.0.0/8"]\n`;

  const cases: { why: string; dst: EgressTarget; want: { allowedBy: AllowedBy; denylisted: boolean } }[] = [
    // Denylisted wins over an allow rule: the verdict carries both facts.
    {
      why: "allowed and denylisted",
      dst: target("10.9.1.1", 443),
      want: { allowedBy: "config", denylisted: true },
    },
    // Denylisted and not allowed.
    { why: "denylisted only", dst: target("203.0.113.66", 80), want: { allowedBy: null, denylisted: true } },
    // Allowed and not on the list.
    { why: "allowed only", dst: target("10.8.1.1", 443), want: { allowedBy: "config", denylisted: false } },
    // Neither allowed nor listed.
    { why: "neither", dst: target("198.51.100.1", 80), want: { allowedBy: null, denylisted: false } },
  ];
  it.each(cases)("$why", ({ dst, want }) => {
    const { policy } = world(YAML, [info(c)], { denylist });
    expect(kindOf(policy.egress(c, dst))).toEqual(want);
  });

  it("the gateway as resolver is still flagged when denylisted", () => {
    // dns-resolver returns early; the denylist flag must not be lost on that path.
    const gw = new CidrSet([parseCidr("172.18.0.1")!]);
    const { policy } = world(NO_LEARNING, [info(c)], { denylist: gw });
    expect(kindOf(policy.egress(c, target("172.18.0.1", 53, "udp")))).toEqual({
      allowedBy: "dns-resolver",
      denylisted: true,
    });
  });

  it("no denylist flags nothing", () => {
    // denylistFile: null is the default.
    const { policy } = world(YAML, [info(c)], { denylist: null });
    expect(policy.egress(c, target("10.9.1.1", 443)).denylisted).toBe(false);
  });
});

describe("egress and listen labels", () => {
  it("an image-provided netmon.egress is ignored with a warning", () => {
    // An image must not allow its own traffic (a backdoored image would allow its C2).
    const c = ref("web-1");
    const labels = { "netmon.egress": "203.0.113.0/24" };
    const { policy, warnings } = world(NO_LEARNING, [info(c, { labels, imageLabels: { ...labels } })]);
    expect(policy.egress(c, target("203.0.113.5", 443)).allowedBy).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("web-1");
    expect(warnings[0]).toContain("netmon.egress");
    expect(warnings[0]).toContain("image");
  });

  it("an image-provided netmon.listen is ignored with a warning", () => {
    // Same rule for listening ports: the image cannot declare its own backdoor port.
    const c = ref("web-1");
    const labels = { "netmon.listen": "4444/tcp" };
    const { policy, warnings } = world(NO_LEARNING, [info(c, { labels, imageLabels: { ...labels } })]);
    expect(policy.listenAllowed(c, 4444, "tcp")).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("netmon.listen");
  });

  it("a malformed netmon.egress is ignored whole with a warning", () => {
    // A half-applied allow list would be misleading: the good rule is dropped too.
    const c = ref("web-1");
    const { policy, warnings } = world(NO_LEARNING, [
      info(c, { labels: { "netmon.egress": "203.0.113.9:443/tcp, bad host!" } }),
    ]);
    expect(policy.egress(c, target("203.0.113.9", 443)).allowedBy).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("web-1");
    expect(warnings[0]).toContain("netmon.egress");
    expect(warnings[0]).toContain("malformed");
  });

  it("a malformed netmon.listen is ignored whole with a warning", () => {
    // Same for listen rules.
    const c = ref("web-1");
    const { policy, warnings } = world(NO_LEARNING, [
      info(c, { labels: { "netmon.listen": "8080, 99999" } }),
    ]);
    expect(policy.listenAllowed(c, 8080, "tcp")).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("netmon.listen");
  });

  it("warnings are given once per container version, not per question", () => {
    // A warning per packet would flood the log.
    const c = ref("web-1");
    const { policy, warnings } = world(NO_LEARNING, [info(c, { labels: { "netmon.mode": "bogus" } })]);
    for (let i = 0; i < 5; i++) {
      policy.modeOf(c, T0 + i);
      policy.egress(c, target("203.0.113.1", 80));
      policy.listenAllowed(c, 80, "tcp");
    }
    expect(warnings).toHaveLength(1);
  });
});

describe("listenAllowed", () => {
  const YAML = `${NO_LEARNING}policy:
  workloads:
    - match: { name: "web-*" }
      listen: ["9100/tcp", "6000-6010"]
`;
  const c = ref("web-1");
  function make(): World {
    const w = world(YAML, [
      info(c, {
        exposedPorts: ["8080/tcp", "9000", "5353/udp"],
        publishedPorts: [{ containerPort: 5000, proto: "udp", hostIp: "0.0.0.0", hostPort: 15000 }],
        labels: { "netmon.listen": "7000-7010/tcp" },
      }),
    ]);
    w.baseline.recordListen(w.policy.workloadOf(c), 3000, "tcp", T0);
    return w;
  }
  const cases: { why: string; port: number; proto: Proto; want: AllowedBy }[] = [
    // EXPOSE in the image.
    { why: "EXPOSE 8080/tcp", port: 8080, proto: "tcp", want: "declared" },
    // EXPOSE is per proto.
    { why: "EXPOSE 8080/tcp, asked udp", port: 8080, proto: "udp", want: null },
    // An EXPOSE without proto means tcp (Docker's default).
    { why: "EXPOSE 9000 (no proto)", port: 9000, proto: "tcp", want: "declared" },
    // A UDP EXPOSE.
    { why: "EXPOSE 5353/udp", port: 5353, proto: "udp", want: "declared" },
    // A published port is declared.
    { why: "published 5000/udp", port: 5000, proto: "udp", want: "declared" },
    // The label range, inclusive at both ends.
    { why: "netmon.listen low end", port: 7000, proto: "tcp", want: "label" },
    { why: "netmon.listen high end", port: 7010, proto: "tcp", want: "label" },
    // The label's proto is enforced.
    { why: "netmon.listen, wrong proto", port: 7005, proto: "udp", want: null },
    // A workload rule.
    { why: "workload rule", port: 9100, proto: "tcp", want: "config" },
    // A workload rule range without proto allows both protos.
    { why: "workload rule range, udp", port: 6005, proto: "udp", want: "config" },
    // Learned.
    { why: "baseline", port: 3000, proto: "tcp", want: "baseline" },
    // Nothing declares it.
    { why: "nothing", port: 4444, proto: "tcp", want: null },
  ];
  it.each(cases)("$why → $want", ({ port, proto, want }) => {
    const { policy } = make();
    expect(policy.listenAllowed(c, port, proto)).toBe(want);
  });

  it("a container the inventory no longer knows has declared nothing", () => {
    // Without its ContainerInfo, only the baseline could speak for it.
    const { policy } = world(YAML, []);
    expect(policy.listenAllowed(c, 9100, "tcp")).toBeNull();
  });
});

describe("per-container cache", () => {
  it("a new ContainerInfo object for the same id is recomputed (label change)", () => {
    // The inventory replaces the object on every change; the policy must follow it.
    const c = ref("web-1");
    const before = info(c);
    const { policy, containers } = world(NO_LEARNING, [before]);
    expect(policy.egress(c, target("203.0.113.5", 443)).allowedBy).toBeNull();
    expect(policy.configuredMode(c)).toBe("monitor");
    containers.set(c.id, {
      ...before,
      labels: { "netmon.egress": "203.0.113.5:443/tcp", "netmon.mode": "enforce" },
    });
    expect(policy.egress(c, target("203.0.113.5", 443)).allowedBy).toBe("label");
    expect(policy.configuredMode(c)).toBe("enforce");
  });

  it("the same object is not recomputed (its warnings are not repeated)", () => {
    // Cached per object: a second lookup costs nothing and says nothing.
    const c = ref("web-1");
    const i = info(c, { labels: { "netmon.mode": "nope" } });
    const { policy, containers, warnings } = world(NO_LEARNING, [i]);
    policy.workloadOf(c);
    containers.set(c.id, i);
    policy.workloadOf(c);
    expect(warnings).toHaveLength(1);
    containers.set(c.id, { ...i });
    policy.workloadOf(c);
    expect(warnings).toHaveLength(2);
  });
});

describe("text forms", () => {
  it("a configured IPv6 resolver matches whatever text form the config uses", () => {
    // Destinations arrive in canonical form (lower-case, compressed); the config is hand-written.
    const c = ref("web-1");
    const { policy } = world(`${NO_LEARNING}policy:\n  dnsResolvers: ["2001:DB8:0:0::53"]\n`, [info(c)]);
    expect(policy.egress(c, target("2001:db8::53", 53, "udp")).allowedBy).toBe("dns-resolver");
  });

  it("a destination container's name matches rules case-insensitively", () => {
    // Docker allows upper-case container names; rules are lower-cased like every host name.
    const c = ref("web-1");
    const dst = ref("MyCache", { image: "redis:7" });
    const { policy } = world(`${NO_LEARNING}policy:\n  egress: ["MyCache:6379/tcp"]\n`, [info(c), info(dst)]);
    expect(policy.egress(c, target("172.18.0.5", 6379, "tcp", { container: dst })).allowedBy).toBe(
      "dns-name",
    );
  });
});

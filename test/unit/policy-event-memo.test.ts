/**
 * While the engine handles one event, Policy looks the policy of that event's containers up once
 * (eventStarted … eventEnded, src/detection/event-memo.ts). These tests show its answers within an
 * event are those of a policy that remembers nothing, for any sequence of containers asked about,
 * and that nothing is remembered across events (an inventory change between two is seen) or
 * outside of one.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventMemo } from "../../src/detection/event-memo.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type { ContainerRef } from "../../src/model/events.js";
import { containerInfo, containerRef } from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

const YAML = `
mode: monitor
policy:
  egress: ["192.0.2.0/24"]
  workloads:
    - match: { name: "db*" }
      mode: enforce
      egress: ["198.51.100.7:5432/tcp"]
`;

const REFS = [containerRef("web-1"), containerRef("db-1"), containerRef("gone-1"), containerRef("cache-1")];

function inventory(): Map<string, ContainerInfo> {
  // gone-1 is not in the inventory: it gets the global-only policy.
  return new Map(
    [REFS[0]!, REFS[1]!, REFS[3]!].map((r) => [r.id, containerInfo(r, { labels: {} })] as const),
  );
}

/** Every answer the detectors ask of the policy about one container. */
function answers(p: ReturnType<typeof policyFromYaml>["policy"], ref: ContainerRef, ts: number): unknown {
  return {
    workload: p.workloadOf(ref),
    configured: p.configuredMode(ref),
    mode: p.modeOf(ref, ts),
    source: p.modeSource(ref, ts),
    egress: p.egress(ref, { ip: "198.51.100.7", port: 5432, proto: "tcp", names: [], container: null }),
    listen: p.listenAllowed(ref, 8080, "tcp"),
  };
}

describe("Policy within one event", () => {
  it("answers as a policy that remembers nothing, whichever containers are asked about", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...REFS), { minLength: 1, maxLength: 6 }), { maxLength: 20 }),
        (events) => {
          const memo = policyFromYaml(YAML, inventory()).policy;
          const plain = policyFromYaml(YAML, inventory()).policy;
          events.forEach((asked, i) => {
            memo.eventStarted();
            for (const ref of asked) expect(answers(memo, ref, i)).toEqual(answers(plain, ref, i));
            memo.eventEnded();
          });
        },
      ),
    );
  });

  it("sees an inventory change between two events", () => {
    const containers = inventory();
    const { policy } = policyFromYaml(YAML, containers);
    const web = REFS[0]!;
    policy.eventStarted();
    expect(policy.configuredMode(web)).toBe("monitor");
    policy.eventEnded();
    containers.set(web.id, containerInfo(web, { labels: { "netmon.mode": "off" } }));
    policy.eventStarted();
    expect(policy.configuredMode(web)).toBe("off");
    policy.eventEnded();
    // Outside of any event too.
    containers.set(web.id, containerInfo(web, { labels: {} }));
    expect(policy.configuredMode(web)).toBe("monitor");
  });
});

describe("EventMemo", () => {
  it("remembers the last two containers of an event, and nothing outside of one", () => {
    const memo = new EventMemo<string>();
    const [a, b, c] = REFS as [ContainerRef, ContainerRef, ContainerRef];
    memo.set(a, "a");
    expect(memo.get(a)).toBeNull();
    memo.start();
    memo.set(a, "a");
    memo.set(b, "b");
    expect([memo.get(a), memo.get(b)]).toEqual(["a", "b"]);
    memo.set(c, "c");
    expect([memo.get(a), memo.get(b), memo.get(c)]).toEqual([null, "b", "c"]);
    memo.end();
    expect([memo.get(b), memo.get(c)]).toEqual([null, null]);
  });
});

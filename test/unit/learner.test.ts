import { describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import { Learner } from "../../src/detection/learner.js";
import type { Policy } from "../../src/detection/policy.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import type {
  ConnectionEvent,
  ConnectionState,
  ContainerRef,
  ListenerEvent,
} from "../../src/model/events.js";
import { CidrSet, parseCidr } from "../../src/net/cidr.js";
import {
  type ConnectionOptions,
  connectionEvent,
  containerInfo,
  listenerEvent,
  containerRef as ref,
} from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const SEC = 1_000;

function info(r: ContainerRef): ContainerInfo {
  return containerInfo(r, { imageId: `sha256:${"ef".repeat(32)}`, startedAt: T0 });
}

const WEB = ref("shop-web-1", { project: "shop", service: "web" });
const DB = ref("shop-db-1", { project: "shop", service: "db" });
const LONE = ref("lone-1", { image: "busybox:latest" });
const OFF = ref("off-1");
const MON = ref("mon-1");
/** Declares a netmon.* label: judged at once, never learned. */
const LABELLED = ref("labelled-1");

interface Setup {
  learner: Learner;
  baseline: Baseline;
  policy: Policy;
}

/** Real Policy (global mode monitor, off-* off) over a hand-built inventory; learnForSeconds 60 by default. */
function setup(learnForSeconds = 60, burstQuietMs?: number): Setup {
  const yaml = `
baseline:
  learnForSeconds: ${learnForSeconds}
policy:
  workloads:
    - match: { name: "off-*" }
      mode: "off"
`;
  const baseline = new Baseline();
  const denylist = new CidrSet([parseCidr("192.0.2.66/32")!]);
  const infos = [WEB, DB, LONE, OFF, MON].map(info);
  infos.push(containerInfo(LABELLED, { labels: { "netmon.listen": "8080/tcp" }, startedAt: T0 }));
  const { policy } = policyFromYaml(yaml, infos, { baseline, denylist });
  return { learner: new Learner(policy, baseline, burstQuietMs), baseline, policy };
}

type EvOpts = Pick<ConnectionOptions, "ts" | "from" | "to" | "ip" | "port" | "proto" | "names">;

/** From WEB unless given, 2 ms after the attempt for later states; the direction is always "outbound". */
function conn(state: ConnectionState, o: EvOpts = {}): ConnectionEvent {
  return connectionEvent({
    ...o,
    state,
    ts: o.ts ?? T0,
    from: o.from === undefined ? WEB : o.from,
    direction: "outbound",
    durationMs: state === "attempt" ? undefined : 2,
  });
}

function listener(o: Partial<Omit<ListenerEvent, "kind">> = {}): ListenerEvent {
  const { container = WEB, ...rest } = o;
  return listenerEvent(container, { ts: T0, family: 4, ...rest });
}

const egressOf = (b: Baseline, w: string) => b.describe(w)?.egress ?? [];
const listenOf = (b: Baseline, w: string) => b.describe(w)?.listen ?? [];

describe("learning egress", () => {
  it("records the DNS names the container resolved, not the IP", () => {
    // Names survive address rotation; the IP of a CDN edge would go stale.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { names: ["api.example.com", "edge.cdn.example.net"] }));
    expect(egressOf(baseline, "shop/web")).toEqual([
      "api.example.com|443|tcp",
      "edge.cdn.example.net|443|tcp",
    ]);
  });

  it("records the IP when no name is known", () => {
    // Direct-to-IP traffic is learned by address.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { ip: "203.0.113.9", port: 53, proto: "udp" }));
    expect(egressOf(baseline, "shop/web")).toEqual(["203.0.113.9|53|udp"]);
  });

  it("records a destination container by its Compose service", () => {
    // Replicas and restarts change names and IPs, not the service.
    const { learner, baseline, policy } = setup();
    learner.onEvent(conn("accepted", { to: DB, ip: "172.18.0.9", port: 5432 }));
    expect(egressOf(baseline, "shop/web")).toEqual(["db|5432|tcp"]);
    // ... and the policy then allows another replica of that service at another IP.
    const replica = ref("shop-db-2", { project: "shop", service: "db" });
    const verdict = policy.egress(WEB, {
      ip: "172.18.0.10",
      port: 5432,
      proto: "tcp",
      names: [],
      container: replica,
    });
    expect(verdict.allowedBy).toBe("baseline");
  });

  it("records a destination container without a service by its name", () => {
    // Non-Compose containers are known by name.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { to: LONE, ip: "172.18.0.11", port: 6379 }));
    expect(egressOf(baseline, "shop/web")).toEqual(["lone-1|6379|tcp"]);
  });

  it("records a destination container's name lower-cased, and the policy then finds it", () => {
    // Docker allows upper case in names; Policy.egress compares names lower-cased.
    const { learner, baseline, policy } = setup();
    const upper = ref("MyCache", { image: "redis:7" });
    learner.onEvent(conn("accepted", { to: upper, ip: "172.18.0.12", port: 6379 }));
    expect(egressOf(baseline, "shop/web")).toEqual(["mycache|6379|tcp"]);
    const verdict = policy.egress(WEB, {
      ip: "172.18.0.12",
      port: 6379,
      proto: "tcp",
      names: [],
      container: upper,
    });
    expect(verdict.allowedBy).toBe("baseline");
  });

  const states: ConnectionState[] = ["attempt", "rejected", "unanswered", "closed"];
  it.each(states)("a %s event records no egress (only the accepted one does)", (state) => {
    // Only a connection known to have succeeded is normal: a scan's refused ports are not.
    const { learner, baseline } = setup();
    learner.onEvent(conn(state));
    expect(egressOf(baseline, "shop/web")).toEqual([]);
  });

  it("records nothing once the learning period is over", () => {
    // After 60 s the workload is monitored: new destinations must alert, not be learned.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { ip: "203.0.113.1" }));
    learner.onEvent(conn("accepted", { ip: "203.0.113.2", ts: T0 + 60 * SEC }));
    expect(egressOf(baseline, "shop/web")).toEqual(["203.0.113.1|443|tcp"]);
  });

  it("records nothing when learnForSeconds is 0", () => {
    // Never learning means the baseline stays empty.
    const { learner, baseline } = setup(0);
    learner.onEvent(conn("accepted"));
    expect(egressOf(baseline, "shop/web")).toEqual([]);
  });

  it("records nothing for a workload in mode off", () => {
    // off means nothing, not even learning.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { from: OFF }));
    expect(baseline.firstSeen("off-1")).toBeUndefined();
    expect(egressOf(baseline, "off-1")).toEqual([]);
  });

  it("an inbound connection (no source container) records no egress", () => {
    // The outside world has no baseline.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { from: null, to: WEB, port: 8080 }));
    expect(egressOf(baseline, "shop/web")).toEqual([]);
  });
});

describe("learning listeners", () => {
  it("records an opened listener", () => {
    // What the container listens on while learning becomes normal.
    const { learner, baseline } = setup();
    learner.onEvent(listener({ port: 8080, proto: "tcp" }));
    expect(listenOf(baseline, "shop/web")).toEqual(["8080/tcp"]);
  });

  it("ignores closed listeners and Docker's DNS listener", () => {
    // A closing port is not a new one; 127.0.0.11 exists in every container.
    const { learner, baseline } = setup();
    learner.onEvent(listener({ state: "closed", port: 9000 }));
    learner.onEvent(listener({ port: 53, proto: "udp", address: "127.0.0.11", dockerDns: true }));
    expect(listenOf(baseline, "shop/web")).toEqual([]);
  });

  it("records the destination's port from a wire `accepted` event", () => {
    // Replay and short-lived listeners are learned from the answer on the wire.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { from: null, to: WEB, port: 8443 }));
    expect(listenOf(baseline, "shop/web")).toEqual(["8443/tcp"]);
  });

  it("an accepted connection to a non-container records no listener", () => {
    // External servers have no baseline.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { port: 443 }));
    expect(listenOf(baseline, "shop/web")).toEqual([]);
  });

  it("records no listener after the learning period", () => {
    // A port opened late must alert.
    const { learner, baseline } = setup();
    learner.onEvent(listener({ port: 80 }));
    learner.onEvent(listener({ port: 81, ts: T0 + 61 * SEC }));
    learner.onEvent(conn("accepted", { from: null, to: WEB, port: 82, ts: T0 + 61 * SEC }));
    expect(listenOf(baseline, "shop/web")).toEqual(["80/tcp"]);
  });
});

describe("learning clock", () => {
  it("the first event of a workload starts its clock; later events do not move it", () => {
    // The learning period is measured from first sight, in packet time.
    const { learner, baseline } = setup();
    learner.onEvent(conn("closed", { ts: T0 + 5 * SEC }));
    learner.onEvent(conn("attempt", { ts: T0 + 10 * SEC }));
    expect(baseline.firstSeen("shop/web")).toBe(T0 + 5 * SEC);
  });

  it("both source and destination containers are touched", () => {
    // A server that is only ever connected to must start learning too.
    const { learner, baseline } = setup();
    learner.onEvent(conn("attempt", { to: DB, ts: T0 + 3 }));
    expect(baseline.firstSeen("shop/web")).toBe(T0 + 3);
    expect(baseline.firstSeen("shop/db")).toBe(T0 + 3);
  });

  it("a listener event touches its container, even a closed or DNS one", () => {
    // Any sighting starts the clock.
    const { learner, baseline } = setup();
    learner.onEvent(listener({ container: DB, state: "closed", ts: T0 + 9 }));
    expect(baseline.firstSeen("shop/db")).toBe(T0 + 9);
  });

  it("a workload in mode off is not touched: switched on later, it learns from then", () => {
    // Its learning clock must not run out while it is off, or it would be judged with an empty baseline.
    const { learner, baseline } = setup();
    learner.onEvent(listener({ container: OFF, ts: T0 + 1 }));
    expect(baseline.firstSeen("off-1")).toBeUndefined();
    expect(listenOf(baseline, "off-1")).toEqual([]);
  });

  it("the first touch puts the workload in learn mode at that very event", () => {
    // The first connection of a new workload is learned, not judged.
    const { learner, policy } = setup();
    learner.onEvent(conn("attempt", { from: MON, ts: T0 }));
    expect(policy.modeOf(MON, T0)).toBe("learn");
    expect(policy.modeOf(MON, T0 + 60 * SEC)).toBe("monitor");
  });
});

describe("learning only what is normal", () => {
  it("an answered UDP flow records its destination", () => {
    // UDP has no handshake: the reply is what shows the destination exists and answered.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { ip: "203.0.113.53", port: 53, proto: "udp" }));
    expect(egressOf(baseline, "shop/web")).toEqual(["203.0.113.53|53|udp"]);
  });

  it("a denylisted destination is never learned, even answered", () => {
    // Learning must not turn a known-bad address into a normal one.
    const { learner, baseline } = setup();
    learner.onEvent(conn("accepted", { ip: "192.0.2.66" }));
    expect(egressOf(baseline, "shop/web")).toEqual([]);
  });

  it("a workload that declares a netmon.* label learns nothing: it is judged at once", () => {
    // Its policy is what it declared; the first minutes are not a free pass.
    const { learner, baseline, policy } = setup();
    learner.onEvent(conn("accepted", { from: LABELLED, ip: "203.0.113.5" }));
    learner.onEvent(listener({ container: LABELLED, port: 9999 }));
    expect(policy.modeOf(LABELLED, T0)).toBe("monitor");
    expect(baseline.describe("labelled-1")).toMatchObject({ egress: [], listen: [] });
  });

  it("after a connection-burst finding, nothing of that container is learned for the quiet window", () => {
    // A scanner's found ports, its listener and the connections to it are not normal behaviour.
    const { learner, baseline } = setup(3600, 60 * SEC);
    learner.onBurst(WEB, T0);
    learner.onEvent(conn("accepted", { ip: "203.0.113.80", ts: T0 + 1 * SEC }));
    learner.onEvent(listener({ port: 4444, ts: T0 + 2 * SEC }));
    learner.onEvent(conn("accepted", { from: null, to: WEB, port: 4444, ts: T0 + 3 * SEC }));
    // The victim's side is not learned either while its visitor is the scanner.
    learner.onEvent(conn("accepted", { to: DB, port: 5432, ts: T0 + 4 * SEC }));
    expect(baseline.describe("shop/web")).toMatchObject({ egress: [], listen: [] });
    expect(listenOf(baseline, "shop/db")).toEqual([]);
    // Once the window has passed (a tick forgets it), learning resumes.
    learner.tick(T0 + 60 * SEC);
    learner.onEvent(conn("accepted", { ip: "203.0.113.80", ts: T0 + 61 * SEC }));
    expect(egressOf(baseline, "shop/web")).toEqual(["203.0.113.80|443|tcp"]);
  });

  it("a later burst finding extends the window; an earlier one does not shorten it", () => {
    // Findings may arrive out of order from ticks; the window ends after the latest.
    const { learner, baseline } = setup(3600, 60 * SEC);
    learner.onBurst(WEB, T0 + 30 * SEC);
    learner.onBurst(WEB, T0);
    learner.onEvent(conn("accepted", { ip: "203.0.113.80", ts: T0 + 80 * SEC }));
    expect(egressOf(baseline, "shop/web")).toEqual([]);
  });
});

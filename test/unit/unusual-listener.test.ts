import { describe, expect, it } from "vitest";
import { type UnusualListenerOptions, unusualListener } from "../../detectors/unusual-listener.js";
import { Baseline } from "../../src/baseline/baseline.js";
import type { Policy } from "../../src/detection/policy.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import { type DetectorInstance, NO_FINDINGS } from "../../src/model/detector-api.js";
import type {
  ConnectionEvent,
  ConnectionState,
  ContainerRef,
  ListenerEvent,
  NetmonEvent,
  Proto,
} from "../../src/model/events.js";
import { connectionEvent, containerInfo, listenerEvent, containerRef as ref } from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;

function info(r: ContainerRef, o: Partial<Omit<ContainerInfo, "ref">> = {}): ContainerInfo {
  return containerInfo(r, { imageId: `sha256:${"cd".repeat(32)}`, startedAt: T0, ...o });
}

const WEB = ref("web-1", { project: "shop", service: "web", image: "shop-web:1.0" });
const CLIENT = ref("client-1");
const LEARNER = ref("learner-1");
const OFF = ref("off-1");

const YAML = `
baseline:
  learnForSeconds: 0
policy:
  workloads:
    - match: { name: "learner-*" }
      mode: learn
    - match: { name: "off-*" }
      mode: "off"
    - match: { service: "shop/web" }
      listen: ["9100/tcp"]
`;

function realPolicy(): Policy {
  const infos = [
    info(WEB, {
      exposedPorts: ["80/tcp"],
      publishedPorts: [{ containerPort: 443, proto: "tcp", hostIp: "0.0.0.0", hostPort: 8443 }],
      labels: { "netmon.listen": "7000/udp" },
    }),
    info(CLIENT),
    info(LEARNER),
    info(OFF),
  ];
  const baseline = new Baseline();
  baseline.recordListen("shop/web", 3000, "tcp", T0);
  return policyFromYaml(YAML, infos, { baseline }).policy;
}

function detector(opts: Partial<UnusualListenerOptions> = {}): DetectorInstance {
  return unusualListener.create(unusualListener.options.parse(opts), realPolicy());
}

interface ListenOpts {
  container?: ContainerRef;
  state?: "opened" | "closed";
  address?: string;
  port?: number;
  proto?: Proto;
  dockerDns?: boolean;
}

function listener(o: ListenOpts = {}): ListenerEvent {
  const { container = WEB, port = 4444, ...rest } = o;
  return listenerEvent(container, { ts: T0, port, ...rest });
}

/** A client connecting to a container: `to` answers (accepted) on `port`. */
function wire(
  state: ConnectionState,
  o: { from?: ContainerRef | null; to?: ContainerRef | null; port?: number; proto?: Proto } = {},
): ConnectionEvent {
  const from = o.from === undefined ? CLIENT : o.from;
  const to = o.to === undefined ? WEB : o.to;
  return connectionEvent({
    ts: T0,
    proto: o.proto,
    state,
    from,
    to,
    srcIp: "172.18.0.3",
    ip: "172.18.0.2",
    port: o.port ?? 4444,
    direction: from !== null && to !== null ? "internal" : to !== null ? "inbound" : "outbound",
    packets: 2,
    durationMs: state === "attempt" ? undefined : 1,
  });
}

function only(d: DetectorInstance, ev: NetmonEvent) {
  const out = d.onEvent(ev);
  expect(out).toHaveLength(1);
  return out[0]!;
}

describe("listener events", () => {
  it("an undeclared port on all interfaces → a warning with the documented shape", () => {
    // The basic case: a shell or miner opened a port nobody declared.
    const f = only(detector(), listener({ address: "0.0.0.0", port: 4444 }));
    expect(f).toEqual({
      detector: "unusual-listener",
      kind: "undeclared-port",
      severity: "warning",
      key: "4444/tcp",
      container: WEB,
      workload: "shop/web",
      summary: "web-1 listens on undeclared port 4444/tcp on 0.0.0.0, seen in its sockets",
      ts: T0,
      dst: { ip: "0.0.0.0", port: 4444, proto: "tcp" },
      details: { evidence: "proc", loopback: false },
      fix: "netmon.listen=4444/tcp",
    });
  });

  const addresses: { why: string; address: string; severity: string; loopback: boolean }[] = [
    // IPv6 any-address is reachable from the network.
    { why: "::", address: "::", severity: "warning", loopback: false },
    // A specific container address is reachable from the network.
    { why: "container IP", address: "172.18.0.2", severity: "warning", loopback: false },
    // Loopback is reachable from inside the container only: info by default.
    { why: "127.0.0.1", address: "127.0.0.1", severity: "info", loopback: true },
    // The whole 127/8 is loopback.
    { why: "127.1.2.3", address: "127.1.2.3", severity: "info", loopback: true },
    // IPv6 loopback.
    { why: "::1", address: "::1", severity: "info", loopback: true },
    // A dual-stack socket bound to IPv4 loopback (canonical form from the /proc parser).
    { why: "::ffff:7f00:1", address: "::ffff:7f00:1", severity: "info", loopback: true },
  ];
  it.each(addresses)("bound to $why → $severity", ({ address, severity, loopback }) => {
    const f = only(detector(), listener({ address }));
    expect(f.severity).toBe(severity);
    expect(f.details).toEqual({ evidence: "proc", loopback });
    expect(f.summary.includes("loopback only")).toBe(loopback);
  });

  it("severity and loopbackSeverity options are applied", () => {
    // Operators tune both levels independently.
    const d = detector({ severity: "critical", loopbackSeverity: "warning" });
    expect(only(d, listener({ address: "0.0.0.0" })).severity).toBe("critical");
    expect(only(d, listener({ address: "127.0.0.1" })).severity).toBe("warning");
  });

  it("Docker's embedded DNS listener is ignored", () => {
    // 127.0.0.11 listens in every user-network container: alerting on it would be pure noise.
    const d = detector();
    expect(d.onEvent(listener({ address: "127.0.0.11", port: 53, proto: "udp", dockerDns: true }))).toBe(
      NO_FINDINGS,
    );
    expect(d.onEvent(listener({ address: "127.0.0.11", port: 41_234, dockerDns: true }))).toBe(NO_FINDINGS);
  });

  it("a closed listener is ignored", () => {
    // A port going away is not a new exposure.
    expect(detector().onEvent(listener({ state: "closed" }))).toBe(NO_FINDINGS);
  });

  const allowed: { why: string; port: number; proto: Proto }[] = [
    // EXPOSE in the image.
    { why: "EXPOSE", port: 80, proto: "tcp" },
    // A published port.
    { why: "published", port: 443, proto: "tcp" },
    // netmon.listen label.
    { why: "label", port: 7000, proto: "udp" },
    // Workload rule in the config.
    { why: "config", port: 9100, proto: "tcp" },
    // Learned while learning.
    { why: "baseline", port: 3000, proto: "tcp" },
  ];
  it.each(allowed)("a port allowed by $why → nothing", ({ port, proto }) => {
    expect(detector().onEvent(listener({ port, proto }))).toBe(NO_FINDINGS);
  });

  it("a declared port with the other proto is still unusual", () => {
    // EXPOSE 80/tcp says nothing about UDP 80.
    expect(only(detector(), listener({ port: 80, proto: "udp" })).key).toBe("80/udp");
  });

  const modes: { why: string; container: ContainerRef }[] = [
    // learn mode builds the baseline silently.
    { why: "learn", container: LEARNER },
    // off means nothing at all.
    { why: "off", container: OFF },
  ];
  it.each(modes)("mode $why → nothing", ({ container }) => {
    expect(detector().onEvent(listener({ container }))).toBe(NO_FINDINGS);
  });
});

describe("wire evidence", () => {
  it("an accepted connection to an undeclared port → a finding for the DESTINATION container", () => {
    // The container that answered is the one listening, not the client.
    const f = only(detector(), wire("accepted", { port: 5555 }));
    expect(f.container).toEqual(WEB);
    expect(f.workload).toBe("shop/web");
    expect(f.key).toBe("5555/tcp");
    expect(f.severity).toBe("warning");
    expect(f.dst).toEqual({ ip: "172.18.0.2", port: 5555, proto: "tcp" });
    expect(f.details).toEqual({ evidence: "answered 172.18.0.3", loopback: false });
    expect(f.summary).toContain("web-1");
  });

  it("an accepted connection from outside counts too", () => {
    // Inbound from the network is exactly the exposure we worry about.
    const f = only(detector(), wire("accepted", { from: null, port: 5555, proto: "udp" }));
    expect(f.container).toEqual(WEB);
    expect(f.key).toBe("5555/udp");
  });

  it("an accepted connection to a declared port → nothing", () => {
    // Answering on EXPOSEd ports is normal.
    expect(detector().onEvent(wire("accepted", { port: 80 }))).toBe(NO_FINDINGS);
  });

  it("an accepted connection to a non-container → nothing", () => {
    // External servers are not ours to judge as listeners.
    expect(detector().onEvent(wire("accepted", { from: WEB, to: null, port: 5555 }))).toBe(NO_FINDINGS);
  });

  const states: ConnectionState[] = ["attempt", "rejected", "unanswered", "closed"];
  it.each(states)("a %s connection is no evidence of a listener", (state) => {
    // Only an answer proves something listens (a RST proves the opposite).
    expect(detector().onEvent(wire(state, { port: 5555 }))).toBe(NO_FINDINGS);
  });

  it("wireEvidence: false relies on the /proc scan alone", () => {
    // The option must disable the wire path but not the listener path.
    const d = detector({ wireEvidence: false });
    expect(d.onEvent(wire("accepted", { port: 5555 }))).toBe(NO_FINDINGS);
    expect(d.onEvent(listener({ port: 5555 }))).toHaveLength(1);
  });

  it("a destination in learn mode → nothing", () => {
    // Its answers are being learned, not judged.
    expect(detector().onEvent(wire("accepted", { to: LEARNER, port: 5555 }))).toBe(NO_FINDINGS);
  });

  it("status counts findings", () => {
    // `netmon status` shows what each detector is doing.
    const d = detector();
    d.onEvent(wire("accepted", { port: 5555 }));
    d.onEvent(listener({ port: 80 }));
    expect(d.status()).toBe("raised 1 findings");
  });
});

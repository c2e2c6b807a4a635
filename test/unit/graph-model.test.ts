import { describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { Baseline } from "../../src/baseline/baseline.js";
import type { BlockRecord } from "../../src/block/types.js";
import type { Policy } from "../../src/detection/policy.js";
import { foldRanges, MAX_PORTS_LISTED } from "../../src/graph/edge-ports.js";
import { TopologyGraph } from "../../src/graph/model.js";
import { hostAddressesOf, networkOf } from "../../src/graph/node-keys.js";
import { EDGE_VERDICTS, type EdgeVerdict, type GraphSnapshot } from "../../src/graph/snapshot-types.js";
import { edgeVerdictOf } from "../../src/graph/verdict.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import { verdictOf } from "../../src/model/detector-api.js";
import type { ConnectionEvent, ConnectionState, ContainerRef } from "../../src/model/events.js";
import type { Severity } from "../../src/model/finding.js";
import { CidrSet, parseCidr } from "../../src/net/cidr.js";
import {
  type ConnectionOptions,
  connectionEvent,
  containerInfo,
  containerRef as ref,
} from "../support/fixtures.js";
import { policyFromYaml } from "../support/policy.js";

// Far from zero on purpose: nothing may depend on the wall clock.
const T0 = 1_700_000_000_000;
const MIN = 60_000;

const WEB1 = ref("shop-web-1", { project: "shop", service: "web", image: "shop/web:1.4" });
const WEB2 = ref("shop-web-2", { project: "shop", service: "web", image: "shop/web:1.4" });
const DB = ref("shop-db-1", { project: "shop", service: "db", image: "postgres:16" });
const LONE = ref("lone", { image: "busybox:latest" });

type EvOpts = Pick<ConnectionOptions, "ts" | "from" | "to" | "srcIp" | "ip" | "port" | "proto" | "names">;

/** From WEB1 at T0 unless `o` says otherwise. */
function conn(state: ConnectionState, o: EvOpts = {}): ConnectionEvent {
  return connectionEvent({ ...o, state, ts: o.ts ?? T0, from: o.from === undefined ? WEB1 : o.from });
}

const nodeIds = (s: GraphSnapshot) => s.nodes.map((n) => n.id);
const edgeOf = (s: GraphSnapshot, source: string, target: string, port = 443) =>
  s.edges.find((e) => e.source === source && e.target === target && e.ports.some((p) => p.port === port));

describe("nodes", () => {
  // Workloads are what operators reason about: replicas fold into one node, inside their Compose project.
  it("groups containers by workload inside their Compose project; others stand alone", () => {
    const g = new TopologyGraph();
    g.observe(conn("attempt", { from: WEB1, to: DB, ip: "172.18.0.5", port: 5432 }), "allowed-policy");
    g.observe(
      conn("attempt", { ts: T0 + 1000, from: WEB2, to: DB, ip: "172.18.0.5", port: 5432 }),
      "allowed-policy",
    );
    g.observe(conn("attempt", { from: LONE, ip: "198.51.100.7", port: 80 }), "unexpected");
    const s = g.snapshot(T0 + 2000);
    expect(nodeIds(s)).toEqual([
      "net:198.51.100.0/24",
      "project:shop",
      "workload:busybox",
      "workload:shop/db",
      "workload:shop/web",
    ]);
    const web = s.nodes.find((n) => n.id === "workload:shop/web")!;
    expect(web).toMatchObject({
      kind: "workload",
      label: "web",
      parent: "project:shop",
      project: "shop",
      workload: "shop/web",
    });
    // Newest first: the side panel opens the container seen last.
    expect(web.containers?.map((c) => c.name)).toEqual(["shop-web-2", "shop-web-1"]);
    expect(s.nodes.find((n) => n.id === "project:shop")).toMatchObject({ kind: "project", label: "shop" });
    const lone = s.nodes.find((n) => n.id === "workload:busybox")!;
    expect(lone.parent).toBeUndefined();
    expect(lone.label).toBe("busybox");
    // One edge for both replicas, two connections.
    expect(s.edges).toHaveLength(2);
    expect(edgeOf(s, "workload:shop/web", "workload:shop/db", 5432)?.connections).toBe(2);
  });

  // Hundreds of CDN addresses behind one name would be noise: the name the container resolved is the node.
  it("groups external destinations by DNS name, else by /24 (IPv4) or /64 (IPv6)", () => {
    const g = new TopologyGraph();
    g.observe(conn("attempt", { ip: "203.0.113.7", names: ["API.example.com"] }), "allowed-policy");
    g.observe(conn("attempt", { ip: "198.51.100.9", names: ["api.example.com"] }), "allowed-policy");
    g.observe(conn("attempt", { ip: "203.0.113.8" }), "unexpected");
    g.observe(conn("attempt", { ip: "203.0.113.250" }), "unexpected");
    g.observe(conn("attempt", { ip: "2001:db8:1:2::5" }), "unexpected");
    g.observe(conn("attempt", { ip: "2001:db8:1:2:ffff::1" }), "unexpected");
    g.observe(conn("attempt", { ip: "2001:db8:1:3::1" }), "unexpected");
    const s = g.snapshot(T0);
    expect(nodeIds(s).filter((id) => !id.startsWith("workload:") && !id.startsWith("project:"))).toEqual([
      "dns:api.example.com",
      "net:2001:db8:1:2::/64",
      "net:2001:db8:1:3::/64",
      "net:203.0.113.0/24",
    ]);
    expect(s.nodes.find((n) => n.id === "dns:api.example.com")).toMatchObject({
      kind: "external",
      group: "dns",
      label: "api.example.com",
    });
    expect(edgeOf(s, "workload:shop/web", "dns:api.example.com")?.connections).toBe(2);
    expect(edgeOf(s, "workload:shop/web", "net:203.0.113.0/24")?.connections).toBe(2);
    expect(edgeOf(s, "workload:shop/web", "net:2001:db8:1:2::/64")?.connections).toBe(2);
  });

  it("networkOf: /24, /64, IPv4-mapped IPv6 as IPv4, anything else as itself", () => {
    expect(networkOf("10.1.2.3")).toBe("10.1.2.0/24");
    expect(networkOf("2001:db8::1")).toBe("2001:db8::/64");
    expect(networkOf("fe80::1:2:3:4")).toBe("fe80::/64");
    expect(networkOf("::ffff:198.51.100.7")).toBe("198.51.100.0/24");
    expect(networkOf("not-an-ip")).toBe("not-an-ip");
  });

  it("the network gateways and loopback are the host", () => {
    const g = new TopologyGraph();
    const infos = [
      { networks: [{ gateway: "172.18.0.1" }, { gateway: null }] },
      { networks: [{ gateway: "172.18.0.1" }, { gateway: "fd00::1" }] },
    ] as unknown as ContainerInfo[];
    expect(hostAddressesOf(infos)).toEqual(["172.18.0.1", "fd00::1"]);
    g.setHostAddresses(hostAddressesOf(infos));
    g.observe(conn("attempt", { ip: "172.18.0.1", port: 53, proto: "udp" }), "allowed-policy");
    g.observe(conn("attempt", { ip: "127.0.0.1", port: 8080 }), "allowed-policy");
    g.observe(conn("attempt", { from: null, srcIp: "172.18.0.1", to: DB, ip: "172.18.0.5", port: 5432 }));
    const s = g.snapshot(T0);
    expect(s.nodes.find((n) => n.id === "host")).toMatchObject({ kind: "host", label: "host" });
    expect(s.edges.map((e) => [e.source, e.target, e.portRanges, e.verdict])).toEqual([
      ["host", "workload:shop/db", "tcp/5432", "unjudged"],
      ["workload:shop/web", "host", "tcp/8080; udp/53", "allowed-policy"],
    ]);
  });
});

describe("edges", () => {
  it("count attempts; refused and unanswered count as failed; later states only refresh last seen", () => {
    const g = new TopologyGraph();
    g.observe(conn("attempt"), "allowed-policy");
    g.observe(conn("accepted", { ts: T0 + 10 }));
    g.observe(conn("closed", { ts: T0 + 20 }));
    g.observe(conn("attempt", { ts: T0 + 30 }), "allowed-policy");
    g.observe(conn("rejected", { ts: T0 + 40 }));
    g.observe(conn("attempt", { ts: T0 + 50 }), "allowed-policy");
    g.observe(conn("unanswered", { ts: T0 + 3050 }));
    // A later state of a connection the graph never saw opening makes no edge.
    g.observe(conn("closed", { ts: T0 + 60, port: 22 }));
    const s = g.snapshot(T0 + 4000);
    expect(s.edges).toEqual([
      {
        id: JSON.stringify(["workload:shop/web", "net:203.0.113.0/24"]),
        source: "workload:shop/web",
        target: "net:203.0.113.0/24",
        kind: "connections",
        label: "tcp/443 ×3 (2 failed)",
        ports: [
          { proto: "tcp", port: 443, connections: 3, failed: 2, open: true, verdict: "allowed-policy" },
        ],
        portRanges: "tcp/443",
        portCount: 1,
        morePorts: false,
        openPorts: 1,
        connections: 3,
        failed: 2,
        verdicts: { "allowed-policy": 3 },
        firstSeen: T0,
        lastSeen: T0 + 3050,
        verdict: "allowed-policy",
      },
    ]);
    expect(s.stats.observed).toBe(8);
  });

  // 100 parallel arcs for one client and one server made the map unreadable.
  it("are one per pair of endpoints: ports sorted numerically, folded into ranges, verdicts counted", () => {
    const g = new TopologyGraph();
    for (const port of [8080, 9, 10, 11, 12, 100, 443])
      g.observe(conn("attempt", { port }), "allowed-policy");
    g.observe(conn("attempt", { port: 53, proto: "udp" }), "allowed-policy");
    g.observe(conn("attempt", { port: 4444 }), "unexpected");
    const s = g.snapshot(T0);
    expect(s.edges).toHaveLength(1);
    const e = s.edges[0]!;
    expect(e.ports.map((p) => `${p.proto}/${p.port}`)).toEqual([
      "tcp/9",
      "tcp/10",
      "tcp/11",
      "tcp/12",
      "tcp/100",
      "tcp/443",
      "tcp/4444",
      "tcp/8080",
      "udp/53",
    ]);
    expect(e).toMatchObject({
      kind: "connections",
      portRanges: "tcp/9-12, 100, 443, 4444, 8080; udp/53",
      portCount: 9,
      connections: 9,
      verdicts: { "allowed-policy": 8, unexpected: 1 },
      verdict: "unexpected",
      label: "tcp/9-12, 100, 443, 4444, … ×9",
    });
    expect(e.ports.find((p) => p.port === 4444)?.verdict).toBe("unexpected");
    expect(e.ports.find((p) => p.port === 443)?.verdict).toBe("allowed-policy");
  });

  it("foldRanges folds runs and cuts long lists", () => {
    expect(foldRanges([1, 2, 3, 5, 7, 8])).toBe("1-3, 5, 7-8");
    expect(foldRanges([])).toBe("");
    expect(foldRanges([1, 3, 5, 7], 2)).toBe("1, 3, …");
  });
});

// Late answers, connections picked up mid-stream and connections read from /proc: each is one connection.
describe("one connection counts once", () => {
  it("a RST after the SYN was reported unanswered is one failure, not two", () => {
    const g = new TopologyGraph();
    g.observe(conn("attempt"), "allowed-policy");
    g.observe(conn("unanswered", { ts: T0 + 3000 }));
    g.observe({ ...conn("rejected", { ts: T0 + 4000 }), corrects: "unanswered" });
    const e = g.snapshot(T0 + 5000).edges[0]!;
    expect(e).toMatchObject({ connections: 1, failed: 1, openPorts: 0 });
    expect(e.ports[0]).toMatchObject({ connections: 1, failed: 1, open: false });
  });

  it("a SYN-ACK after the SYN was reported unanswered takes the failure back", () => {
    const g = new TopologyGraph({ windowMs: 15 * MIN, buckets: 15 });
    g.observe(conn("attempt"), "allowed-policy");
    g.observe(conn("unanswered", { ts: T0 + 3000 }));
    g.observe({ ...conn("accepted", { ts: T0 + 2 * MIN }), corrects: "unanswered" });
    g.observe(conn("closed", { ts: T0 + 3 * MIN }));
    const e = g.snapshot(T0 + 3 * MIN).edges[0]!;
    expect(e).toMatchObject({ connections: 1, failed: 0, openPorts: 1, label: "tcp/443 ×1" });
    expect(e.ports[0]).toMatchObject({ failed: 0, open: true });
  });

  it("a connection picked up mid-stream is one connection and no failure", () => {
    const g = new TopologyGraph();
    const mid = (ev: ConnectionEvent): ConnectionEvent => ({ ...ev, midstream: true });
    g.observe(mid(conn("attempt")), "allowed-policy");
    g.observe(mid(conn("accepted")));
    g.observe(mid(conn("unanswered", { ts: T0 + 10 })));
    g.observe(mid(conn("closed", { ts: T0 + 20 })));
    expect(g.snapshot(T0 + 20).edges[0]).toMatchObject({ connections: 1, failed: 0, openPorts: 1 });
  });

  it("a connection read from /proc is one connection, also when the wire picks it up mid-stream too", () => {
    const g = new TopologyGraph();
    const proc: ConnectionEvent = { ...conn("attempt"), source: "proc", midstream: true };
    g.observe(proc, "allowed-policy");
    g.observe({ ...conn("attempt", { ts: T0 + 5 }), midstream: true }, "allowed-policy");
    g.observe({ ...conn("accepted", { ts: T0 + 5 }), midstream: true });
    // Another connection (another source port) from /proc counts on its own.
    g.observe(
      {
        ...conn("attempt", { ts: T0 + 6 }),
        src: { ...proc.src, port: 40_001 },
        source: "proc",
      } as ConnectionEvent,
      "allowed-policy",
    );
    expect(g.snapshot(T0 + 10).edges[0]).toMatchObject({ connections: 2, failed: 0 });
  });
});

describe("scans and sweeps", () => {
  function scan(g: TopologyGraph, ports: number, outcome: ConnectionState = "rejected"): void {
    for (let port = 1; port <= ports; port++) {
      g.observe(conn("attempt", { ts: T0 + port, to: DB, ip: "172.18.0.5", port }), "unexpected");
      g.observe(conn(outcome, { ts: T0 + port + 1, to: DB, ip: "172.18.0.5", port }));
    }
  }

  it("a port scan is one edge labelled with the exact number of ports", () => {
    const g = new TopologyGraph();
    scan(g, 100);
    const s = g.snapshot(T0 + 1000);
    expect(s.edges).toHaveLength(1);
    expect(s.edges[0]).toMatchObject({
      kind: "port-scan",
      label: "port scan: 100 ports (tcp/1-100), 0 open",
      portCount: 100,
      portRanges: "tcp/1-100",
      connections: 100,
      failed: 100,
      verdict: "unexpected",
    });
    expect(s.edges[0]!.ports).toHaveLength(MAX_PORTS_LISTED);
  });

  it("many ports that answer are a client, not a scan; a few refused ports are no scan", () => {
    const g = new TopologyGraph();
    scan(g, 30, "accepted");
    expect(g.snapshot(T0 + 1000).edges[0]).toMatchObject({ kind: "connections", openPorts: 30 });
    const few = new TopologyGraph();
    scan(few, 9);
    expect(few.snapshot(T0 + 1000).edges[0]?.kind).toBe("connections");
  });

  it("a scan past the per-edge port cap says so", () => {
    const g = new TopologyGraph({ maxPorts: 50 });
    scan(g, 60);
    expect(g.snapshot(T0 + 1000).edges[0]).toMatchObject({
      kind: "port-scan",
      portCount: 50,
      morePorts: true,
      connections: 60,
      label: "port scan: 50+ ports (tcp/1-50), 0 open",
    });
  });

  it("one port tried on many hosts is one edge to a sweep node; the hosts that answered keep their edge", () => {
    const g = new TopologyGraph();
    for (let i = 1; i <= 30; i++) {
      const ip = `10.0.${i}.1`;
      g.observe(conn("attempt", { ts: T0 + i, from: LONE, ip, port: 22 }), "unexpected");
      g.observe(conn(i <= 28 ? "unanswered" : "accepted", { ts: T0 + i + 3000, from: LONE, ip, port: 22 }));
    }
    const s = g.snapshot(T0 + 5000);
    const sweepId = "sweep:workload:busybox tcp/22";
    expect(s.edges.map((e) => [e.target, e.kind])).toEqual([
      ["net:10.0.29.0/24", "connections"],
      ["net:10.0.30.0/24", "connections"],
      [sweepId, "sweep"],
    ]);
    const sweep = s.edges[2]!;
    expect(sweep).toMatchObject({
      label: "sweep of tcp/22: 28 hosts, 0 open",
      connections: 28,
      failed: 28,
      verdict: "unexpected",
    });
    expect(sweep.targets).toHaveLength(28);
    expect(sweep.targets?.[0]).toBe("net:10.0.1.0/24");
    expect(s.nodes.find((n) => n.id === sweepId)).toMatchObject({ kind: "sweep", label: "28 hosts" });
    expect(nodeIds(s)).not.toContain("net:10.0.1.0/24");
    expect(s.nodes).toHaveLength(4);
  });
});

describe("verdict precedence", () => {
  // The worst thing that happened on an edge in the window is what the map must show.
  const ordered = [...EDGE_VERDICTS].reverse();
  it("is blocked > unexpected > allowed-baseline > allowed-policy > learning > unjudged", () => {
    expect(ordered).toEqual([
      "blocked",
      "unexpected",
      "allowed-baseline",
      "allowed-policy",
      "learning",
      "unjudged",
    ]);
  });

  const pairs: [EdgeVerdict, EdgeVerdict][] = [];
  for (let i = 0; i < ordered.length; i++)
    for (let j = i + 1; j < ordered.length; j++) pairs.push([ordered[i]!, ordered[j]!]);
  it.each(pairs)("%s wins over %s, in either order", (worse, better) => {
    for (const seq of [
      [worse, better],
      [better, worse],
    ]) {
      const g = new TopologyGraph();
      seq.forEach((v, i) => {
        g.observe(conn("attempt", { ts: T0 + i * 1000 }), v);
      });
      expect(g.snapshot(T0 + 5000).edges[0]?.verdict).toBe(worse);
    }
  });

  it("forgets a verdict once its connections left the window", () => {
    const g = new TopologyGraph({ windowMs: 15 * MIN });
    g.observe(conn("attempt"), "unexpected");
    g.observe(conn("attempt", { ts: T0 + 20 * MIN }), "allowed-policy");
    const e = g.snapshot(T0 + 20 * MIN).edges[0]!;
    expect(e).toMatchObject({ verdict: "allowed-policy", connections: 1, firstSeen: T0 });
  });

  it("a long-lived connection keeps its verdict after its attempt left the window", () => {
    const g = new TopologyGraph({ windowMs: 15 * MIN });
    g.observe(conn("attempt"), "unexpected");
    g.observe(conn("closed", { ts: T0 + 20 * MIN }));
    const e = g.snapshot(T0 + 21 * MIN).edges[0]!;
    expect(e).toMatchObject({ verdict: "unexpected", connections: 0, lastSeen: T0 + 20 * MIN });
  });
});

describe("rolling window", () => {
  it("an edge quiet for the whole window leaves the map, with its nodes", () => {
    const g = new TopologyGraph({ windowMs: 15 * MIN });
    g.observe(conn("attempt", { from: LONE, to: DB, ip: "172.18.0.5", port: 5432 }), "allowed-policy");
    g.observe(conn("attempt", { ts: T0 + 10 * MIN }), "allowed-policy");
    expect(g.snapshot(T0 + 15 * MIN - 1).edges).toHaveLength(2);
    const s = g.snapshot(T0 + 15 * MIN);
    expect(s.edges.map((e) => e.source)).toEqual(["workload:shop/web"]);
    expect(nodeIds(s)).toEqual(["net:203.0.113.0/24", "project:shop", "workload:shop/web"]);
    expect(s.stats.expiredEdges).toBe(1);
    // Held state shrinks too, not just the output.
    expect(g.size).toEqual({ nodes: 2, edges: 1 });
    const later = g.snapshot(T0 + 25 * MIN);
    expect(later.nodes).toEqual([]);
    expect(later.edges).toEqual([]);
    expect(g.size).toEqual({ nodes: 0, edges: 0 });
  });

  it("counts only the connections of the window (to one slice, window/buckets, of slack)", () => {
    const g = new TopologyGraph({ windowMs: 15 * MIN, buckets: 15 });
    for (let m = 0; m <= 30; m++) g.observe(conn("attempt", { ts: T0 + m * MIN }), "allowed-policy");
    // Minutes 16..30 are within (now - 15 min, now]; minute 15 shares the oldest slice.
    const count = g.snapshot(T0 + 30 * MIN).edges[0]!.connections;
    expect(count).toBeGreaterThanOrEqual(15);
    expect(count).toBeLessThanOrEqual(16);
  });

  it("an infinite window (replay) keeps everything", () => {
    const g = new TopologyGraph({ windowMs: Number.POSITIVE_INFINITY });
    g.observe(conn("attempt"), "unexpected");
    g.observe(conn("attempt", { ts: T0 + 1000 * MIN }), "allowed-policy");
    const s = g.snapshot(g.lastEventMs);
    expect(s.windowMs).toBeNull();
    expect(s.edges[0]).toMatchObject({ connections: 2, verdict: "unexpected" });
    expect(g.lastEventMs).toBe(T0 + 1000 * MIN);
  });

  it("rejects options that cannot work", () => {
    expect(() => new TopologyGraph({ windowMs: 0 })).toThrow(/windowMs/);
    expect(() => new TopologyGraph({ maxNodes: 1 })).toThrow(/maxNodes/);
    expect(() => new TopologyGraph({ maxEdges: 0 })).toThrow(/maxEdges/);
    expect(() => new TopologyGraph({ buckets: 0 })).toThrow(/buckets/);
  });
});

describe("bounds", () => {
  it("at maxEdges the least recently seen edge is evicted, and counted", () => {
    const g = new TopologyGraph({ maxEdges: 3 });
    const at = (i: number, ts: number) =>
      g.observe(conn("attempt", { ts, ip: `10.0.${i}.1` }), "allowed-policy");
    for (let i = 1; i <= 3; i++) at(i, T0 + i * MIN);
    // Destination 1 is seen again: 2 is now the oldest.
    at(1, T0 + 4 * MIN);
    at(4, T0 + 5 * MIN);
    at(5, T0 + 6 * MIN);
    const s = g.snapshot(T0 + 6 * MIN);
    expect(s.edges.map((e) => e.target).sort()).toEqual([
      "net:10.0.1.0/24",
      "net:10.0.4.0/24",
      "net:10.0.5.0/24",
    ]);
    expect(s.stats).toMatchObject({ evictedEdges: 2, evictedNodes: 0, maxEdges: 3 });
  });

  it("at maxNodes the least recently seen node goes with its edges; the edge being added keeps both ends", () => {
    const g = new TopologyGraph({ maxNodes: 3 });
    g.observe(conn("attempt", { ip: "198.51.100.1" }), "allowed-policy"); // web → 198.51.100.0/24
    g.observe(conn("attempt", { ts: T0 + MIN, ip: "203.0.113.1" }), "allowed-policy"); // web → 203.0.113.0/24
    // Two new nodes at once: the oldest (198.51.100.0/24) goes, then the next oldest that is not
    // the other end of this edge (web is kept because it was just touched, 203.0.113.0/24 goes).
    g.observe(conn("attempt", { ts: T0 + 2 * MIN, from: LONE, ip: "192.0.2.1" }), "unexpected");
    const s = g.snapshot(T0 + 2 * MIN);
    expect(s.edges.map((e) => [e.source, e.target])).toEqual([["workload:busybox", "net:192.0.2.0/24"]]);
    expect(g.size.nodes).toBeLessThanOrEqual(3);
    expect(s.stats.evictedNodes).toBe(2);
    expect(s.stats.evictedEdges).toBe(2);
  });

  it("stays within its caps under a flood of distinct destinations", () => {
    const g = new TopologyGraph({ maxNodes: 50, maxEdges: 200 });
    for (let i = 0; i < 50_000; i++) {
      const from = ref(`c${i % 97}`);
      g.observe(
        conn("attempt", {
          ts: T0 + i,
          from,
          ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          port: i % 1000,
        }),
        "unexpected",
      );
      if (i % 1000 === 0 && (g.size.nodes > 50 || g.size.edges > 200))
        throw new Error(`over the caps at ${i}`);
    }
    expect(g.size.nodes).toBeLessThanOrEqual(50);
    expect(g.size.edges).toBeLessThanOrEqual(200);
    const s = g.snapshot(T0 + 50_000);
    expect(s.stats.observed).toBe(50_000);
    expect(s.stats.evictedEdges).toBeGreaterThan(0);
    expect(s.stats.evictedNodes).toBeGreaterThan(0);
    expect(s.edges.length).toBeLessThanOrEqual(200);
  });
});

describe("overlay of alerts and blocks", () => {
  function alert(workload: string, severity: Severity, state: Alert["state"] = "active"): Alert {
    return {
      fingerprint: `${workload}-${severity}`,
      detector: "unexpected-outbound",
      severity,
      workload,
      container: WEB1,
      summary: "x",
      count: 1,
      firstSeen: T0,
      lastSeen: T0,
      action: "none",
      state,
    };
  }

  it("workload nodes carry their active alerts and the worst severity", () => {
    const g = new TopologyGraph();
    g.observe(conn("attempt", { from: WEB1, to: DB, ip: "172.18.0.5", port: 5432 }), "unexpected");
    const s = g.snapshot(T0, {
      alerts: [
        alert("shop/web", "warning"),
        alert("shop/web", "critical"),
        alert("shop/db", "info", "resolved"),
      ],
    });
    expect(s.nodes.find((n) => n.id === "workload:shop/web")).toMatchObject({
      alerts: 2,
      severity: "critical",
    });
    const db = s.nodes.find((n) => n.id === "workload:shop/db")!;
    expect(db.alerts).toBe(0);
    expect(db.severity).toBeUndefined();
  });

  it("an edge cut by an active block is blocked; a quarantine cuts all the container's edges", () => {
    const block = (entry: BlockRecord["entry"]): BlockRecord => ({
      id: "b",
      entry,
      container: "shop-web-1",
      workload: "shop/web",
      fingerprint: "f",
      reason: "r",
      createdAt: T0,
      expiresAt: T0 + MIN,
    });
    const g = new TopologyGraph();
    g.observe(conn("attempt", { ip: "203.0.113.7", port: 4444 }), "unexpected");
    g.observe(conn("attempt", { ip: "203.0.113.7", port: 443 }), "allowed-policy");
    g.observe(
      conn("attempt", { from: LONE, srcIp: "172.18.0.9", ip: "203.0.113.7", port: 80 }),
      "unexpected",
    );
    const verdicts = (s: GraphSnapshot) =>
      s.edges.flatMap((e) => [`${e.source} ${e.verdict}`, ...e.ports.map((p) => `  ${p.port} ${p.verdict}`)]);
    const dest = block({
      scope: "destination",
      family: 4,
      src: "172.18.0.2",
      proto: "tcp",
      port: 4444,
      dst: "203.0.113.7",
    });
    expect(verdicts(g.snapshot(T0, { blocks: [dest] }))).toEqual([
      "workload:busybox unexpected",
      "  80 unexpected",
      "workload:shop/web blocked",
      "  443 allowed-policy",
      "  4444 blocked",
    ]);
    const quarantine = block({ scope: "container", family: 4, src: "172.18.0.9" });
    expect(verdicts(g.snapshot(T0, { blocks: [quarantine] }))).toEqual([
      "workload:busybox blocked",
      "  80 blocked",
      "workload:shop/web unexpected",
      "  443 allowed-policy",
      "  4444 unexpected",
    ]);
    // The overlay is not remembered: without blocks the verdicts are the observed ones again.
    expect(verdicts(g.snapshot(T0))).toContain("  4444 unexpected");
  });

  it("containers that no longer run are marked gone, and a workload whose containers are all gone", () => {
    const g = new TopologyGraph();
    g.observe(conn("attempt", { from: WEB1, to: DB, ip: "172.18.0.5", port: 5432 }), "allowed-policy");
    g.observe(conn("attempt", { from: WEB2, to: DB, ip: "172.18.0.5", port: 5432 }), "allowed-policy");
    const s = g.snapshot(T0, { running: (id) => id === WEB2.id });
    const web = s.nodes.find((n) => n.id === "workload:shop/web")!;
    expect(web.containers?.map((c) => [c.name, c.gone ?? false])).toEqual([
      ["shop-web-2", false],
      ["shop-web-1", true],
    ]);
    expect(web.gone).toBeUndefined();
    expect(s.nodes.find((n) => n.id === "workload:shop/db")?.gone).toBe(true);
    // Not told which containers run: nothing is marked.
    expect(g.snapshot(T0).nodes.some((n) => n.gone || n.containers?.some((c) => c.gone))).toBe(false);
  });
});

describe("edgeVerdictOf (the real Policy)", () => {
  const LEARNER = ref("learner-1");
  const OFF = ref("off-1");
  function info(r: ContainerRef, labels: Record<string, string> = {}): ContainerInfo {
    return containerInfo(r, { imageId: `sha256:${"ab".repeat(32)}`, labels, pid: 1, startedAt: T0 });
  }
  function policy(): Policy {
    const yaml = [
      "baseline:",
      "  learnForSeconds: 0",
      "policy:",
      '  egress: ["api.example.com:443/tcp"]',
      "  workloads:",
      '    - match: { name: "learner-*" }',
      "      mode: learn",
      '    - match: { name: "off-*" }',
      '      mode: "off"',
    ].join("\n");
    const infos = [info(WEB1, { "netmon.egress": "db:5432/tcp" }), info(DB), info(LEARNER), info(OFF)];
    const baseline = new Baseline();
    baseline.recordEgress("shop/web", "203.0.113.100", 22, "tcp", T0);
    return policyFromYaml(yaml, infos, {
      baseline,
      denylist: new CidrSet([parseCidr("198.51.100.0/24")!]),
      warn: () => {},
    }).policy;
  }

  const cases: [string, EdgeVerdict, EvOpts][] = [
    ["a label rule", "allowed-policy", { to: DB, ip: "172.18.0.5", port: 5432 }],
    ["a config DNS-name rule", "allowed-policy", { names: ["api.example.com"] }],
    ["the baseline only", "allowed-baseline", { ip: "203.0.113.100", port: 22 }],
    ["nothing", "unexpected", { ip: "203.0.113.9", port: 4444 }],
    ["a rule, to a denylisted destination", "unexpected", { ip: "198.51.100.7", names: ["api.example.com"] }],
    ["a learning workload", "learning", { from: LEARNER, ip: "203.0.113.9" }],
    ["a config rule, while learning", "allowed-policy", { from: LEARNER, names: ["api.example.com"] }],
    ["a denylist hit, while learning", "unexpected", { from: LEARNER, ip: "198.51.100.7" }],
    ["a workload in mode off", "unjudged", { from: OFF, ip: "203.0.113.9" }],
    ["a non-container initiator", "unjudged", { from: null, to: DB, ip: "172.18.0.5", port: 5432 }],
  ];
  it.each(cases)("a connection allowed by %s is %s", (_what, want, o) => {
    expect(edgeVerdictOf(verdictOf(policy(), conn("attempt", o)) ?? undefined)).toBe(want);
  });
});

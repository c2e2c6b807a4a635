import { describe, expect, it } from "vitest";
import { Inventory } from "../../src/inventory/inventory.js";
import type { ContainerInfo, NetworkAttachment } from "../../src/inventory/types.js";

const ID_A = "a".repeat(64);
const ID_B = "b".repeat(64);
const NET1 = "1".repeat(64);
const NET2 = "2".repeat(64);

function net(name: string, id: string, ipv4: string | null, ipv6: string | null, bridge: string | null) {
  const n: NetworkAttachment = {
    networkName: name,
    networkId: id,
    ipv4,
    ipv6,
    mac: "02:42:ac:12:00:02",
    gateway: "172.18.0.1",
    bridge,
  };
  return n;
}

function container(id: string, name: string, over: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    ref: { id, name, image: "busybox", service: null, project: null },
    imageId: `sha256:${"c".repeat(64)}`,
    labels: {},
    networks: [net("app", NET1, "172.18.0.2", "fd00:18::2", `br-${NET1.slice(0, 12)}`)],
    pid: 4242,
    exposedPorts: [],
    imageLabels: null,
    publishedPorts: [],
    startedAt: 100_000,
    finishedAt: null,
    running: true,
    ...over,
  };
}

// No slack, so tenure boundaries are exact.
const EXACT = { startSlackMs: 0, endSlackMs: 0 };

describe("Inventory", () => {
  it("upsert of a new running container indexes its IPv4 and IPv6 from its start time", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 150_000);
    for (const ip of ["172.18.0.2", "fd00:18::2"]) {
      expect(inv.lookup(ip, 99_999)).toBeNull();
      expect(inv.lookup(ip, 100_000)?.name).toBe("web");
      expect(inv.lookup(ip, 120_000)?.id).toBe(ID_A);
      expect(inv.lookup(ip, 10_000_000)?.name).toBe("web");
    }
    expect(inv.get(ID_A)?.pid).toBe(4242);
    expect(inv.all().map((c) => c.ref.name)).toEqual(["web"]);
    expect(inv.running().map((c) => c.ref.name)).toEqual(["web"]);
  });

  it("a container first seen with no start time holds its IPs from atMs", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web", { startedAt: 0 }), 150_000);
    expect(inv.lookup("172.18.0.2", 149_999)).toBeNull();
    expect(inv.lookup("172.18.0.2", 150_000)?.name).toBe("web");
  });

  it("a start time later than atMs (clock skew) is clamped to atMs", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web", { startedAt: 200_000 }), 150_000);
    expect(inv.lookup("172.18.0.2", 150_000)?.name).toBe("web");
  });

  it("a network change releases the old IP at atMs and holds the new one from atMs", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 100_000);
    const moved = container(ID_A, "web", {
      networks: [net("other", NET2, "172.19.0.5", null, `br-${NET2.slice(0, 12)}`)],
    });
    inv.upsert(moved, 200_000);
    expect(inv.lookup("172.18.0.2", 199_999)?.name).toBe("web");
    expect(inv.lookup("172.18.0.2", 200_000)?.name).toBe("web");
    expect(inv.lookup("172.18.0.2", 200_001)).toBeNull();
    expect(inv.lookup("fd00:18::2", 200_001)).toBeNull();
    expect(inv.lookup("172.19.0.5", 199_999)).toBeNull();
    expect(inv.lookup("172.19.0.5", 200_000)?.name).toBe("web");
    expect(inv.activeBridges()).toEqual(new Set([`br-${NET2.slice(0, 12)}`]));
  });

  it("a network connected later is held from atMs; the existing IP keeps its tenure", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 100_000);
    const both = container(ID_A, "web", {
      networks: [
        net("app", NET1, "172.18.0.2", "fd00:18::2", "br-app"),
        net("other", NET2, "172.19.0.5", null, "br-other"),
      ],
    });
    inv.upsert(both, 300_000);
    expect(inv.lookup("172.18.0.2", 100_000)?.name).toBe("web");
    expect(inv.lookup("172.18.0.2", 400_000)?.name).toBe("web");
    expect(inv.lookup("172.19.0.5", 299_999)).toBeNull();
    expect(inv.lookup("172.19.0.5", 300_000)?.name).toBe("web");
  });

  it("a rename through upsert keeps the tenure and reports the new name", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 100_000);
    const renamed = container(ID_A, "frontend");
    inv.upsert(renamed, 200_000);
    expect(inv.lookup("172.18.0.2", 150_000)?.name).toBe("frontend");
    expect(inv.lookup("172.18.0.2", 100_000)?.name).toBe("frontend");
    expect(inv.get(ID_A)?.ref.name).toBe("frontend");
  });

  it("stopped() releases the IPs at atMs and marks the container not running", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 100_000);
    inv.stopped(ID_A, 500_000);
    expect(inv.lookup("172.18.0.2", 500_000)?.name).toBe("web");
    expect(inv.lookup("172.18.0.2", 500_001)).toBeNull();
    expect(inv.lookup("fd00:18::2", 500_001)).toBeNull();
    const c = inv.get(ID_A);
    expect(c?.running).toBe(false);
    expect(c?.pid).toBe(0);
    expect(c?.finishedAt).toBe(500_000);
    expect(inv.running()).toEqual([]);
    expect(inv.all()).toHaveLength(1);
    expect(inv.activeBridges()).toEqual(new Set());
  });

  it("stopped() of an unknown container does nothing", () => {
    const inv = new Inventory(EXACT);
    inv.stopped(ID_B, 1000);
    expect(inv.get(ID_B)).toBeUndefined();
    expect(inv.all()).toEqual([]);
  });

  it("a restarted container holds its IP again from its new start time", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 100_000);
    inv.stopped(ID_A, 200_000);
    inv.upsert(container(ID_A, "web", { startedAt: 300_000 }), 300_500);
    expect(inv.lookup("172.18.0.2", 250_000)).toBeNull();
    expect(inv.lookup("172.18.0.2", 300_000)?.name).toBe("web");
    expect(inv.get(ID_A)?.running).toBe(true);
  });

  it("upsert of a container seen stopped releases its IPs when it finished", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 100_000);
    // Re-inspected (e.g. for a rename event) after it had died at 400,000, before its die event.
    inv.upsert(
      container(ID_A, "web", { running: false, pid: 0, finishedAt: 400_000, networks: [] }),
      350_000,
    );
    expect(inv.lookup("172.18.0.2", 399_999)?.name).toBe("web");
    expect(inv.lookup("172.18.0.2", 400_001)).toBeNull();
    expect(inv.running()).toEqual([]);
  });

  it("the IP of a stopped container is given to the next one", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "old"), 100_000);
    inv.stopped(ID_A, 200_000);
    inv.upsert(container(ID_B, "new", { startedAt: 250_000 }), 250_100);
    expect(inv.lookup("172.18.0.2", 150_000)?.name).toBe("old");
    expect(inv.lookup("172.18.0.2", 225_000)).toBeNull();
    expect(inv.lookup("172.18.0.2", 260_000)?.name).toBe("new");
  });

  it("remove() forgets the container and ends its IPs, keeping the history for past packets", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(container(ID_A, "web"), 100_000);
    inv.upsert(
      container(ID_B, "db", { networks: [net("app", NET1, "172.18.0.3", null, "br-app")] }),
      100_000,
    );
    inv.remove(ID_A, 600_000);
    expect(inv.get(ID_A)).toBeUndefined();
    expect(inv.all().map((c) => c.ref.name)).toEqual(["db"]);
    expect(inv.lookup("172.18.0.2", 500_000)?.name).toBe("web");
    expect(inv.lookup("172.18.0.2", 600_001)).toBeNull();
    expect(inv.lookup("172.18.0.3", 600_001)?.name).toBe("db");
  });

  it("activeBridges() lists bridges of running containers only, skipping non-bridge networks", () => {
    const inv = new Inventory(EXACT);
    inv.upsert(
      container(ID_A, "web", {
        networks: [
          net("bridge", NET1, "172.17.0.2", null, "docker0"),
          net("app", NET2, "172.18.0.2", null, "br-222222222222"),
          net("mac", "3".repeat(64), "192.168.5.2", null, null),
        ],
      }),
      100_000,
    );
    inv.upsert(
      container(ID_B, "gone", { networks: [net("lonely", "4".repeat(64), "172.20.0.2", null, "br-lonely")] }),
      100_000,
    );
    expect(inv.activeBridges()).toEqual(new Set(["docker0", "br-222222222222", "br-lonely"]));
    inv.stopped(ID_B, 200_000);
    expect(inv.activeBridges()).toEqual(new Set(["docker0", "br-222222222222"]));
    // A container that was never running contributes nothing either.
    inv.upsert(
      container("e".repeat(64), "created", {
        running: false,
        pid: 0,
        startedAt: 0,
        networks: [net("x", "5".repeat(64), null, null, "br-created")],
      }),
      300_000,
    );
    expect(inv.activeBridges()).toEqual(new Set(["docker0", "br-222222222222"]));
  });
});

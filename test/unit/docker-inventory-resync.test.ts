import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { type DockerApi, DockerApiError } from "../../src/inventory/docker-api.js";
import { DockerInventory } from "../../src/inventory/docker-inventory.js";
import { Inventory } from "../../src/inventory/inventory.js";
import { captureLog } from "../support/log-capture.js";

const idOf = (c: string): string => c.repeat(64);

function inspect(c: string, name: string): unknown {
  return {
    Id: idOf(c),
    Name: `/${name}`,
    Image: `sha256:${"f".repeat(64)}`,
    State: { Running: true, Pid: 10, StartedAt: "2024-03-01T10:00:01Z", FinishedAt: "0001-01-01T00:00:00Z" },
    Config: { Image: `${name}:1`, Labels: {} },
    NetworkSettings: { Networks: {} },
  };
}

/** A dockerd that lists `names` and fails to inspect the ones in `failing`; counts inspections in flight. */
function fakeDocker(
  names: Record<string, string>,
  failing: Set<string>,
): DockerApi & { maxInFlight: number } {
  let inFlight = 0;
  const api = {
    maxInFlight: 0,
    ping: async () => "OK",
    getEvents: async () => new PassThrough(),
    listContainers: async () => Object.keys(names).map((c) => ({ Id: idOf(c) })),
    listNetworks: async () => [],
    info: async () => ({}),
    getContainer: (id: string) => ({
      inspect: async () => {
        inFlight++;
        api.maxInFlight = Math.max(api.maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        const c = id[0]!;
        if (failing.has(c)) throw new DockerApiError(500, "server error", "container is being removed");
        return inspect(c, names[c]!);
      },
      infoArchive: async () => {
        throw new Error("not used");
      },
      getArchive: async () => {
        throw new Error("not used");
      },
    }),
    getImage: () => ({ inspect: async () => ({ Config: { Labels: {} } }) }),
  };
  return api;
}

describe("DockerInventory full sync", () => {
  it("inspects a few containers at a time and announces the whole sync once", async () => {
    const names = Object.fromEntries("abcdef0123456789".split("").map((c) => [c, `svc-${c}`]));
    const docker = fakeDocker(names, new Set());
    const inventory = new Inventory();
    const { log } = captureLog();
    const inv = new DockerInventory(inventory, docker, log, { reconnectMinMs: 10, reconnectMaxMs: 10 });
    let changed = 0;
    inv.on("changed", () => changed++);
    await inv.start();
    inv.stop();
    expect(inventory.running().map((c) => c.ref.name)).toHaveLength(16);
    expect(docker.maxInFlight).toBeGreaterThan(1);
    expect(docker.maxInFlight).toBeLessThanOrEqual(8);
    expect(changed).toBe(1);
  });

  it("keeps every container Docker answered for when one inspection fails, and says which error", async () => {
    const docker = fakeDocker({ a: "web", b: "db", c: "cache" }, new Set(["b"]));
    const inventory = new Inventory();
    const { log, lines } = captureLog();
    const inv = new DockerInventory(inventory, docker, log, { reconnectMinMs: 10, reconnectMaxMs: 10 });
    await inv.start();
    inv.stop();
    expect(
      inventory
        .running()
        .map((c) => c.ref.name)
        .sort(),
    ).toEqual(["cache", "web"]);
    expect(lines.find((l) => l.msg === "inventory update failed")?.err).toContain(
      "container is being removed",
    );
  });
});

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  InventoryFileError,
  loadStaticInventory,
  type StaticInventoryResult,
  staticInventoryOf,
} from "../../src/inventory/static-inventory.js";
import { type ContainerSpec, hexId, Scenario, SCENARIO_T0 as T0 } from "../support/scenario.js";

const IP = "172.30.0.4";

/** The `docker inspect` array of these containers, in this order. */
function inspectOf(...specs: ContainerSpec[]): Record<string, unknown>[] {
  const s = new Scenario();
  for (const spec of specs) s.container(spec);
  return s.inventory() as Record<string, unknown>[];
}

/** The object with its State fields replaced (Docker states Scenario does not write). */
function withState(obj: Record<string, unknown>, state: Record<string, unknown>): Record<string, unknown> {
  return { ...obj, State: { ...(obj.State as object), ...state } };
}

function holderAt(r: StaticInventoryResult, ms: number, ip = IP): string | null {
  return r.inventory.lookup(ip, T0 + ms)?.name ?? null;
}

const spanOf = (r: StaticInventoryResult, name: string) => r.lifetimes.find((l) => l.ref.name === name)?.span;

// worker-a ran first and exited; worker-b got its IP later and still runs.
const WORKER_A: ContainerSpec = { name: "worker-a", ip: IP, startedAt: -60_000, finishedAt: 10_000 };
const WORKER_B: ContainerSpec = { name: "worker-b", ip: IP, startedAt: 20_000 };

describe("static inventory: attribution by StartedAt/FinishedAt, not by file order", () => {
  it("an exited container listed after the one that reused its IP (docker ps -aq order) leaves it attributed", () => {
    for (const specs of [
      [WORKER_B, WORKER_A],
      [WORKER_A, WORKER_B],
    ]) {
      const r = staticInventoryOf(inspectOf(...specs), "inv.json");
      expect(r.warnings).toEqual([]);
      expect(holderAt(r, 5_000)).toBe("worker-a");
      expect(holderAt(r, 10_250)).toBe("worker-a"); // end slack
      expect(holderAt(r, 15_000)).toBeNull();
      expect(holderAt(r, 18_000)).toBe("worker-b"); // start slack
      expect(holderAt(r, 25_000)).toBe("worker-b");
      expect(holderAt(r, 3_600_000)).toBe("worker-b");
    }
  });

  it("lists every container's span, by start time: running ones open (FinishedAt 0001-01-01 ignored)", () => {
    const r = staticInventoryOf(inspectOf(WORKER_B, WORKER_A), "inv.json");
    expect(r.lifetimes.map((l) => l.ref.name)).toEqual(["worker-a", "worker-b"]);
    expect(spanOf(r, "worker-a")).toEqual({ fromMs: T0 - 60_000, toMs: T0 + 10_000 });
    expect(spanOf(r, "worker-b")).toEqual({ fromMs: T0 + 20_000, toMs: null });
    expect(r.lifetimes[1]?.ref.id).toBe(hexId("container:worker-b"));
  });

  it("a running container restarted after an earlier FinishedAt holds its IPs from its latest start", () => {
    const [obj] = inspectOf({ name: "web", ip: IP, startedAt: 20_000 });
    const r = staticInventoryOf([withState(obj!, { FinishedAt: new Date(T0 + 5_000).toISOString() })], "x");
    expect(spanOf(r, "web")).toEqual({ fromMs: T0 + 20_000, toMs: null });
    expect(holderAt(r, 10_000)).toBeNull();
    expect(holderAt(r, 30_000)).toBe("web");
  });

  it("two running containers on one IP (inconsistent input): the later start wins from its start, in any order", () => {
    const first: ContainerSpec = { name: "first", ip: IP, startedAt: -30_000 };
    const second: ContainerSpec = { name: "second", ip: IP, startedAt: 10_000 };
    for (const specs of [
      [first, second],
      [second, first],
    ]) {
      const r = staticInventoryOf(inspectOf(...specs), "x");
      expect(holderAt(r, 0)).toBe("first");
      expect(holderAt(r, 10_000)).toBe("second");
      expect(holderAt(r, 100_000)).toBe("second");
    }
  });

  it("a container created but never started holds no IP and is still listed", () => {
    const [obj] = inspectOf({ name: "idle", ip: IP, finishedAt: 0 });
    const never = withState(obj!, { StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z" });
    const r = staticInventoryOf([never], "x");
    expect(spanOf(r, "idle")).toBeNull();
    expect(r.inventory.all().map((c) => c.ref.name)).toEqual(["idle"]);
    expect(holderAt(r, 0)).toBeNull();
  });

  it("an exited container without a usable FinishedAt, or one before its start, is taken as released at its start", () => {
    const [a, b] = inspectOf(
      { name: "no-finish", ip: IP, startedAt: 1_000, finishedAt: 2_000 },
      { name: "backwards", ip: "172.30.0.5", startedAt: 5_000, finishedAt: 4_000 },
    );
    const r = staticInventoryOf([withState(a!, { FinishedAt: "0001-01-01T00:00:00Z" }), b], "x");
    expect(spanOf(r, "no-finish")).toEqual({ fromMs: T0 + 1_000, toMs: T0 + 1_000 });
    expect(spanOf(r, "backwards")).toEqual({ fromMs: T0 + 5_000, toMs: T0 + 5_000 });
  });

  it("a container listed twice (two inspect outputs joined) keeps its latest state, in any order", () => {
    const [running] = inspectOf({ name: "web", ip: IP, startedAt: 0 });
    const [stopped] = inspectOf({ name: "web", ip: IP, startedAt: 0, finishedAt: 30_000 });
    const [restarted] = inspectOf({ name: "web", ip: IP, startedAt: 60_000 });
    for (const pair of [
      [running!, stopped!],
      [stopped!, running!],
    ]) {
      const r = staticInventoryOf(pair, "x");
      expect(r.lifetimes).toHaveLength(1);
      expect(spanOf(r, "web")).toEqual({ fromMs: T0, toMs: T0 + 30_000 });
      expect(r.inventory.get(hexId("container:web"))?.running).toBe(false);
      expect(holderAt(r, 40_000)).toBeNull();
    }
    for (const pair of [
      [stopped!, restarted!],
      [restarted!, stopped!],
    ]) {
      expect(spanOf(staticInventoryOf(pair, "x"), "web")).toEqual({ fromMs: T0 + 60_000, toMs: null });
    }
  });

  it("loadStaticInventory reads the file, names it in warnings and returns the spans", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-static-inv-"));
    const path = join(dir, "inv.json");
    writeFileSync(path, JSON.stringify([...inspectOf(WORKER_B, WORKER_A), { Id: "nope" }]));
    const r = loadStaticInventory(path);
    expect(r.warnings).toEqual([`${path}[2]: Id: must be a hex container id; container skipped`]);
    expect(r.lifetimes.map((l) => l.ref.name)).toEqual(["worker-a", "worker-b"]);
    expect(holderAt(r, 25_000)).toBe("worker-b");
    writeFileSync(path, "{}");
    expect(() => loadStaticInventory(path)).toThrow(InventoryFileError);
  });
});

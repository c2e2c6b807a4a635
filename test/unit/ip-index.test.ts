import { describe, expect, it } from "vitest";
import type { ContainerRef } from "../../src/events.js";
import { IpIndex } from "../../src/inventory/ip-index.js";

function ref(name: string, id = `${name}00`.padEnd(64, "a")): ContainerRef {
  return { id, name, image: "busybox", service: null, project: null };
}

const OLD = ref("old");
const NEW = ref("new");
const IP = "172.18.0.2";
const OPTS = { startSlackMs: 2_000, endSlackMs: 250, retentionMs: 60_000 };

const name = (r: ContainerRef | null): string | null => r?.name ?? null;

describe("IpIndex", () => {
  it("returns null for an IP it never saw", () => {
    const idx = new IpIndex(OPTS);
    expect(idx.lookup(IP, 1000)).toBeNull();
    idx.add(IP, OLD, 1000);
    expect(idx.lookup("172.18.0.3", 1000)).toBeNull();
  });

  it("attributes a reused IP to the old container before the switch and the new one after", () => {
    const idx = new IpIndex(OPTS);
    idx.add(IP, OLD, 10_000);
    idx.end(IP, OLD.id, 20_000);
    idx.add(IP, NEW, 20_000);
    expect(name(idx.lookup(IP, 10_000))).toBe("old");
    expect(name(idx.lookup(IP, 15_000))).toBe("old");
    expect(name(idx.lookup(IP, 19_999))).toBe("old");
    expect(name(idx.lookup(IP, 20_000))).toBe("new");
    expect(name(idx.lookup(IP, 50_000))).toBe("new");
    expect(idx.lookup(IP, 10_000 - 2_001)).toBeNull();
  });

  it("attributes packets shortly before a start time to the starting container (start slack)", () => {
    const idx = new IpIndex(OPTS);
    idx.add(IP, NEW, 100_000);
    expect(name(idx.lookup(IP, 100_000 - 2_000))).toBe("new");
    expect(name(idx.lookup(IP, 99_999))).toBe("new");
    expect(idx.lookup(IP, 100_000 - 2_001)).toBeNull();
  });

  it("keeps attributing packets to a container for endSlackMs after it released the IP", () => {
    const idx = new IpIndex(OPTS);
    idx.add(IP, OLD, 1_000);
    idx.end(IP, OLD.id, 5_000);
    expect(name(idx.lookup(IP, 5_000))).toBe("old");
    expect(name(idx.lookup(IP, 5_250))).toBe("old");
    expect(idx.lookup(IP, 5_251)).toBeNull();
  });

  it("in a gap between tenures gives the next container within start slack, the last within end slack, else null", () => {
    const idx = new IpIndex(OPTS);
    idx.add(IP, OLD, 1_000);
    idx.end(IP, OLD.id, 5_000);
    idx.add(IP, NEW, 10_000);
    expect(name(idx.lookup(IP, 5_100))).toBe("old");
    expect(idx.lookup(IP, 5_251)).toBeNull();
    expect(idx.lookup(IP, 7_000)).toBeNull();
    expect(idx.lookup(IP, 7_999)).toBeNull();
    expect(name(idx.lookup(IP, 8_000))).toBe("new");
  });

  it("prefers the container about to start over the one that just left when both slacks overlap", () => {
    const idx = new IpIndex(OPTS);
    idx.add(IP, OLD, 1_000);
    idx.end(IP, OLD.id, 5_000);
    idx.add(IP, NEW, 5_500);
    expect(name(idx.lookup(IP, 5_000))).toBe("old");
    expect(name(idx.lookup(IP, 5_100))).toBe("new");
  });

  it("re-adding the same container while it holds the IP is a no-op", () => {
    const idx = new IpIndex(OPTS);
    idx.add(IP, OLD, 10_000);
    idx.add(IP, OLD, 30_000);
    // The tenure still starts at 10,000 and there is only one.
    expect(name(idx.lookup(IP, 12_000))).toBe("old");
    idx.end(IP, OLD.id, 40_000);
    expect(name(idx.lookup(IP, 40_000))).toBe("old");
    expect(idx.lookup(IP, 40_251)).toBeNull();
    expect(idx.size).toBe(1);
  });

  it("a rename keeps the tenure and reports the new name, for past packets too", () => {
    const idx = new IpIndex(OPTS);
    idx.add(IP, ref("before", OLD.id), 10_000);
    idx.add(IP, ref("after", OLD.id), 20_000);
    expect(idx.lookup(IP, 10_000)).toEqual({ ...OLD, name: "after" });
    expect(name(idx.lookup(IP, 25_000))).toBe("after");
    // Still the one tenure from 10,000: no slack-based ambiguity at 9,000.
    expect(name(idx.lookup(IP, 8_000))).toBe("after");
    expect(idx.lookup(IP, 7_999)).toBeNull();
  });

  it("re-adding a container after it released the IP opens a new tenure", () => {
    const idx = new IpIndex({ ...OPTS, startSlackMs: 0, endSlackMs: 0 });
    idx.add(IP, OLD, 1_000);
    idx.end(IP, OLD.id, 2_000);
    idx.add(IP, OLD, 5_000);
    expect(name(idx.lookup(IP, 1_500))).toBe("old");
    expect(idx.lookup(IP, 3_000)).toBeNull();
    expect(name(idx.lookup(IP, 6_000))).toBe("old");
  });

  it("a second container taking an IP that is still open closes the first at its start", () => {
    const idx = new IpIndex({ ...OPTS, endSlackMs: 0, startSlackMs: 0 });
    idx.add(IP, OLD, 1_000); // its end event was missed
    idx.add(IP, NEW, 9_000);
    expect(name(idx.lookup(IP, 8_999))).toBe("old");
    expect(name(idx.lookup(IP, 9_000))).toBe("new");
    expect(name(idx.lookup(IP, 100_000))).toBe("new");
    // The late end event of the old container does not end the new tenure.
    idx.end(IP, OLD.id, 12_000);
    idx.endContainer(OLD.id, 12_000);
    expect(name(idx.lookup(IP, 11_000))).toBe("new");
    expect(name(idx.lookup(IP, 100_000))).toBe("new");
  });

  it("end() only touches the named container and IP", () => {
    const idx = new IpIndex({ ...OPTS, endSlackMs: 0 });
    idx.add(IP, OLD, 1_000);
    idx.add("172.18.0.9", OLD, 1_000);
    idx.end(IP, NEW.id, 2_000);
    expect(name(idx.lookup(IP, 3_000))).toBe("old");
    idx.end(IP, OLD.id, 2_000);
    expect(idx.lookup(IP, 3_000)).toBeNull();
    expect(name(idx.lookup("172.18.0.9", 3_000))).toBe("old");
    idx.end("10.0.0.1", OLD.id, 2_000); // unknown IP: nothing happens
    expect(idx.size).toBe(2);
  });

  it("endContainer() closes every open tenure of that container", () => {
    const idx = new IpIndex({ ...OPTS, endSlackMs: 0 });
    idx.add(IP, OLD, 1_000);
    idx.add("fd00::2", OLD, 1_000);
    idx.add("172.18.0.3", NEW, 1_000);
    idx.endContainer(OLD.id, 4_000);
    expect(name(idx.lookup(IP, 4_000))).toBe("old");
    expect(idx.lookup(IP, 4_001)).toBeNull();
    expect(idx.lookup("fd00::2", 4_001)).toBeNull();
    expect(name(idx.lookup("172.18.0.3", 4_001))).toBe("new");
  });

  it("handles tenures added out of order", () => {
    const idx = new IpIndex({ ...OPTS, startSlackMs: 0, endSlackMs: 0 });
    idx.add(IP, NEW, 50_000);
    idx.end(IP, NEW.id, 60_000);
    idx.add(IP, OLD, 10_000);
    idx.end(IP, OLD.id, 20_000);
    expect(name(idx.lookup(IP, 15_000))).toBe("old");
    expect(idx.lookup(IP, 30_000)).toBeNull();
    expect(name(idx.lookup(IP, 55_000))).toBe("new");
    expect(idx.lookup(IP, 65_000)).toBeNull();
  });

  it("prune() drops tenures that ended before now - retentionMs and forgets empty IPs", () => {
    const idx = new IpIndex(OPTS); // retention 60 s
    idx.add(IP, OLD, 1_000);
    idx.end(IP, OLD.id, 10_000);
    idx.add(IP, NEW, 20_000);
    idx.add("172.18.0.7", OLD, 1_000);
    idx.end("172.18.0.7", OLD.id, 10_000);
    idx.add("172.18.0.8", NEW, 1_000); // open: never pruned
    expect(idx.size).toBe(3);
    idx.prune(70_000); // limit 10,000: ended at 10,000 is kept
    expect(idx.size).toBe(3);
    expect(name(idx.lookup(IP, 5_000))).toBe("old");
    idx.prune(70_001);
    expect(idx.size).toBe(2);
    expect(idx.lookup(IP, 5_000)).toBeNull();
    expect(name(idx.lookup(IP, 30_000))).toBe("new");
    expect(idx.lookup("172.18.0.7", 5_000)).toBeNull();
    expect(name(idx.lookup("172.18.0.8", 1_000_000))).toBe("new");
  });

  it("uses the documented defaults (2 s start slack, 250 ms end slack)", () => {
    const idx = new IpIndex();
    idx.add(IP, OLD, 10_000);
    idx.end(IP, OLD.id, 20_000);
    expect(name(idx.lookup(IP, 8_000))).toBe("old");
    expect(idx.lookup(IP, 7_999)).toBeNull();
    expect(name(idx.lookup(IP, 20_250))).toBe("old");
    expect(idx.lookup(IP, 20_251)).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { IpIndex } from "../../src/inventory/ip-index.js";
import type { ContainerRef } from "../../src/model/events.js";
import { containerRef } from "../support/fixtures.js";

function ref(name: string, id = `${name}00`.padEnd(64, "a")): ContainerRef {
  return containerRef(name, { id, image: "busybox" });
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

  describe("addTenure (whole tenures known up front, as in a replay inventory)", () => {
    const EXACT = { ...OPTS, startSlackMs: 0, endSlackMs: 0 };
    const MID = ref("mid");
    type Added = [ContainerRef, number, number | null];

    /** Who holds IP at each of `times`, after adding `tenures` in the given order. */
    function holders(tenures: Added[], times: number[]): (string | null)[] {
      const idx = new IpIndex(EXACT);
      for (const [r, fromMs, toMs] of tenures) idx.addTenure(IP, r, { fromMs, toMs });
      return times.map((t) => name(idx.lookup(IP, t)));
    }

    it("an ended tenure added after a newer one does not cut it (docker ps lists newest first)", () => {
      const newer: Added = [NEW, 20_000, null];
      const older: Added = [OLD, 10_000, 19_000];
      const times = [10_000, 19_000, 19_999, 20_000, 1_000_000];
      const expected = ["old", "old", null, "new", "new"];
      expect(holders([newer, older], times)).toEqual(expected);
      expect(holders([older, newer], times)).toEqual(expected);
    });

    it("overlapping tenures: the later start wins from its start, the earlier one does not resume, in any order", () => {
      const tenures: Added[] = [
        [OLD, 1_000, null], // still running: inconsistent with the two below
        [MID, 5_000, 9_000],
        [NEW, 7_000, 8_000],
      ];
      const times = [999, 1_000, 4_999, 5_000, 6_999, 7_000, 8_000, 8_001, 9_000, 50_000];
      const expected = [null, "old", "old", "mid", "mid", "new", "new", null, null, null];
      const orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
      ];
      for (const order of orders) {
        const added = order.map((i) => tenures[i]!);
        expect(holders(added, times)).toEqual(expected);
      }
    });

    it("equal starts on one IP: the greater container id wins, whatever the order", () => {
      const low = ref("low", "1".repeat(64));
      const high = ref("high", "2".repeat(64));
      const a: Added = [low, 5_000, 9_000];
      const b: Added = [high, 5_000, 7_000];
      for (const order of [
        [a, b],
        [b, a],
      ]) {
        expect(holders(order, [5_000, 7_000, 7_001])).toEqual(["high", "high", null]);
      }
    });

    it("keeps the slack rules of lookup between tenures", () => {
      const idx = new IpIndex(OPTS);
      idx.addTenure(IP, NEW, { fromMs: 10_000, toMs: null });
      idx.addTenure(IP, OLD, { fromMs: 1_000, toMs: 5_000 });
      expect(name(idx.lookup(IP, 5_250))).toBe("old");
      expect(idx.lookup(IP, 5_251)).toBeNull();
      expect(name(idx.lookup(IP, 8_000))).toBe("new");
      expect(idx.lookup(IP, 7_999)).toBeNull();
    });
  });
});

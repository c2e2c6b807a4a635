import { describe, expect, it } from "vitest";
import type { Alert, AlertSink, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { alertsSchema } from "../../src/alerts/alerts-config.js";
import { fingerprintOf } from "../../src/alerts/fingerprint.js";
import type { ContainerRef } from "../../src/model/events.js";
import type { Finding } from "../../src/model/finding.js";
import { SHOP_WEB } from "../support/fixtures.js";

const T0 = 1_700_000_000_000;
const MIN = 60_000;
/** sha256(JSON ["egress","shop/web","203.0.113.7:443/tcp"]) truncated: changing it breaks stored ids. */
const PINNED = "0bf3814a6285ab33";

const WEB: ContainerRef = { ...SHOP_WEB };

function finding(extra: Partial<Finding> = {}): Finding {
  return {
    detector: "egress",
    severity: "warning",
    key: "203.0.113.7:443/tcp",
    container: WEB,
    workload: "shop/web",
    summary: "shop-web-1 connected to 203.0.113.7:443/tcp",
    ts: T0,
    dst: { ip: "203.0.113.7", port: 443, proto: "tcp" },
    ...extra,
  };
}

interface Call {
  transition: AlertTransition;
  alert: Alert;
}

function recorder(): AlertSink & { calls: Call[] } {
  const calls: Call[] = [];
  return { calls, onAlert: (alert, transition) => calls.push({ transition, alert }) };
}

function setup(opts: ConstructorParameters<typeof AlertManager>[1] = {}) {
  const sink = recorder();
  const mgr = new AlertManager([sink], opts);
  return { sink, mgr, transitions: () => sink.calls.map((c) => c.transition) };
}

describe("AlertManager", () => {
  // A new fingerprint fires once with count 1, firstSeen = lastSeen = ts, active, no action.
  it("fires a new alert", () => {
    const { sink, mgr } = setup();
    const a = mgr.onFinding(finding());
    expect(a).toMatchObject({
      fingerprint: fingerprintOf("egress", "shop/web", "203.0.113.7:443/tcp"),
      count: 1,
      firstSeen: T0,
      lastSeen: T0,
      state: "active",
      action: "none",
      severity: "warning",
    });
    expect(sink.calls).toHaveLength(1);
    expect(sink.calls[0]?.transition).toBe("fired");
    expect(sink.calls[0]?.alert).toEqual(a);
    expect(mgr.stats()).toEqual({
      active: 1,
      fired: 1,
      repeated: 0,
      resolved: 0,
      evicted: 0,
      suppressed: {},
      findings: { egress: { alert: 1, updated: 0, suppressed: 0, folded: 0 } },
      sinkErrors: 0,
    });
  });

  // Same detector + workload + key folds into one alert.
  it("dedupes by fingerprint", () => {
    const { mgr, transitions } = setup();
    mgr.onFinding(finding());
    const a = mgr.onFinding(finding({ ts: T0 + 1000 }));
    expect(a.count).toBe(2);
    expect(a.firstSeen).toBe(T0);
    expect(a.lastSeen).toBe(T0 + 1000);
    expect(mgr.active()).toHaveLength(1);
    expect(transitions()).toEqual(["fired"]);
  });

  // Any of key, workload or detector differing makes a separate alert.
  it("keeps different keys, workloads and detectors apart", () => {
    const { mgr, transitions } = setup();
    mgr.onFinding(finding());
    mgr.onFinding(finding({ key: "203.0.113.8:443/tcp" }));
    mgr.onFinding(finding({ workload: "shop/api" }));
    mgr.onFinding(finding({ detector: "port-scan" }));
    expect(mgr.active()).toHaveLength(4);
    expect(new Set(mgr.active().map((a) => a.fingerprint)).size).toBe(4);
    expect(transitions()).toEqual(["fired", "fired", "fired", "fired"]);
  });

  // Inside the window: no notification, counted per detector, count still folded.
  it("suppresses within the window and counts it", () => {
    const { mgr, transitions } = setup({ suppressMs: 10 * MIN });
    mgr.onFinding(finding());
    mgr.onFinding(finding({ ts: T0 + MIN }));
    mgr.onFinding(finding({ ts: T0 + 10 * MIN - 1 }));
    mgr.onFinding(finding({ detector: "port-scan" }));
    mgr.onFinding(finding({ detector: "port-scan", ts: T0 + 1 }));
    expect(transitions()).toEqual(["fired", "fired"]);
    expect(mgr.stats().suppressed).toEqual({ egress: 2, "port-scan": 1 });
    expect(mgr.active()[0]?.count).toBe(3);
  });

  // At suppressMs after the last notification it notifies "repeated" with the folded count, then suppresses again.
  it("notifies again after the window with the folded count", () => {
    const { sink, mgr, transitions } = setup({ suppressMs: 10 * MIN });
    mgr.onFinding(finding());
    for (let i = 1; i <= 5; i++) mgr.onFinding(finding({ ts: T0 + i * MIN }));
    mgr.onFinding(finding({ ts: T0 + 10 * MIN, summary: "latest" }));
    mgr.onFinding(finding({ ts: T0 + 11 * MIN }));
    expect(transitions()).toEqual(["fired", "repeated"]);
    expect(sink.calls[1]?.alert).toMatchObject({ count: 7, lastSeen: T0 + 10 * MIN, summary: "latest" });
    expect(mgr.stats()).toMatchObject({ fired: 1, repeated: 1, suppressed: { egress: 6 } });
    // The next window counts from the repeat, not from the first fire.
    mgr.onFinding(finding({ ts: T0 + 20 * MIN - 1 }));
    mgr.onFinding(finding({ ts: T0 + 20 * MIN }));
    expect(transitions()).toEqual(["fired", "repeated", "repeated"]);
    expect(sink.calls[2]?.alert.count).toBe(10);
  });

  // A warning → critical raise is an update at once, inside the window; a lower severity never lowers it.
  it("notifies a severity escalation immediately, as an update of the same incident", () => {
    const { sink, mgr, transitions } = setup({ suppressMs: 10 * MIN });
    mgr.onFinding(finding({ severity: "info" }));
    mgr.onFinding(finding({ severity: "warning", ts: T0 + 1 }));
    mgr.onFinding(finding({ severity: "critical", ts: T0 + 2, summary: "denylisted" }));
    mgr.onFinding(finding({ severity: "warning", ts: T0 + 3 }));
    mgr.onFinding(finding({ severity: "critical", ts: T0 + 4 }));
    expect(transitions()).toEqual(["fired", "repeated", "repeated"]);
    expect(sink.calls[2]?.alert).toMatchObject({ severity: "critical", count: 3, summary: "denylisted" });
    expect(mgr.active()[0]).toMatchObject({ severity: "critical", count: 5 });
    expect(mgr.stats()).toMatchObject({ fired: 1, repeated: 2, suppressed: { egress: 2 } });
    // The raise restarted the window: a repeat comes suppressMs after it.
    mgr.onFinding(finding({ ts: T0 + 2 + 10 * MIN }));
    expect(transitions()).toEqual(["fired", "repeated", "repeated", "repeated"]);
  });

  // Quiet for exactly resolveAfterMs (inclusive) resolves, notifies and removes it.
  it("resolves after quiet, exactly at lastSeen + resolveAfterMs", () => {
    const { sink, mgr, transitions } = setup({ resolveAfterMs: 15 * MIN });
    mgr.onFinding(finding());
    mgr.onFinding(finding({ ts: T0 + 5 * MIN }));
    mgr.tick(T0 + 20 * MIN);
    expect(transitions()).toEqual(["fired", "resolved"]);
    expect(sink.calls[1]?.alert).toMatchObject({ state: "resolved", count: 2, lastSeen: T0 + 5 * MIN });
    expect(mgr.active()).toEqual([]);
    expect(mgr.stats()).toMatchObject({ active: 0, resolved: 1 });
  });

  // One ms short of resolveAfterMs, or quiet measured from a later finding: still active.
  it("does not resolve before the quiet period", () => {
    const { mgr, transitions } = setup({ resolveAfterMs: 15 * MIN, suppressMs: 60 * MIN });
    mgr.onFinding(finding());
    mgr.tick(T0 + 15 * MIN - 1);
    mgr.onFinding(finding({ ts: T0 + 15 * MIN - 1 }));
    mgr.tick(T0 + 29 * MIN);
    expect(transitions()).toEqual(["fired"]);
    expect(mgr.active()).toHaveLength(1);
  });

  // After resolution the same fingerprint fires anew with count 1 and fresh times.
  it("fires a resolved alert anew later", () => {
    const { sink, mgr, transitions } = setup({ resolveAfterMs: 15 * MIN });
    mgr.onFinding(finding());
    mgr.onFinding(finding({ ts: T0 + 1 }));
    mgr.tick(T0 + 60 * MIN);
    const a = mgr.onFinding(finding({ ts: T0 + 61 * MIN }));
    expect(transitions()).toEqual(["fired", "resolved", "fired"]);
    expect(a).toMatchObject({ count: 1, firstSeen: T0 + 61 * MIN, lastSeen: T0 + 61 * MIN, state: "active" });
    expect(sink.calls[2]?.alert.fingerprint).toBe(sink.calls[0]?.alert.fingerprint);
  });

  // Tick resolves several alerts oldest first and leaves the recent ones.
  it("resolves only the quiet alerts, oldest first", () => {
    const { sink, mgr } = setup({ resolveAfterMs: 10 * MIN });
    mgr.onFinding(finding({ key: "b", ts: T0 + 2 * MIN }));
    mgr.onFinding(finding({ key: "a", ts: T0 }));
    mgr.onFinding(finding({ key: "c", ts: T0 + 5 * MIN }));
    mgr.onFinding(finding({ key: "a", ts: T0 + 3 * MIN }));
    mgr.tick(T0 + 13 * MIN);
    const resolved = sink.calls.filter((c) => c.transition === "resolved").map((c) => c.alert.lastSeen);
    expect(resolved).toEqual([T0 + 2 * MIN, T0 + 3 * MIN]);
    expect(mgr.active().map((a) => a.lastSeen)).toEqual([T0 + 5 * MIN]);
  });

  // At maxActive a new alert resolves the one with the oldest lastSeen early, counted as evicted.
  it("evicts the oldest lastSeen at maxActive", () => {
    const { sink, mgr } = setup({ maxActive: 2 });
    const a = mgr.onFinding(finding({ key: "a", ts: T0 }));
    const b = mgr.onFinding(finding({ key: "b", ts: T0 + 1 }));
    mgr.onFinding(finding({ key: "a", ts: T0 + 2 })); // a is now the more recent one
    const c = mgr.onFinding(finding({ key: "c", ts: T0 + 3 }));
    expect(sink.calls.map((x) => `${x.transition}:${x.alert.fingerprint}`)).toEqual([
      `fired:${a.fingerprint}`,
      `fired:${b.fingerprint}`,
      `resolved:${b.fingerprint}`,
      `fired:${c.fingerprint}`,
    ]);
    expect(mgr.active().map((x) => x.fingerprint)).toEqual([a.fingerprint, c.fingerprint]);
    expect(mgr.stats()).toMatchObject({ active: 2, fired: 3, resolved: 0, evicted: 1 });
  });

  // Many bumps of the same alerts (stale heap nodes) still evict and resolve exactly the oldest.
  it("stays exact under many updates", () => {
    const { sink, mgr } = setup({ maxActive: 50, resolveAfterMs: 1000, suppressMs: 0 });
    // 40 hot keys; hot key k ends with lastSeen T0 + 4960 + k.
    for (let i = 0; i < 5000; i++) mgr.onFinding(finding({ key: `hot${i % 40}`, ts: T0 + i }));
    for (let j = 0; j < 20; j++) mgr.onFinding(finding({ key: `new${j}`, ts: T0 + 5000 + j }));
    const evicted = sink.calls.filter((c) => c.transition === "resolved").map((c) => c.alert.lastSeen);
    expect(evicted).toEqual(Array.from({ length: 10 }, (_, k) => T0 + 4960 + k));
    expect(mgr.stats()).toMatchObject({ active: 50, evicted: 10, resolved: 0 });
    // Resolves lastSeen <= T0 + 4989: hot10..hot29.
    mgr.tick(T0 + 5989);
    expect(mgr.stats()).toMatchObject({ active: 30, resolved: 20 });
    expect(mgr.active().every((a) => a.lastSeen >= T0 + 4990)).toBe(true);
  });

  // A throwing sink is counted; the other sinks and the manager carry on.
  it("isolates a throwing sink", () => {
    const good = recorder();
    const errors: unknown[] = [];
    const bad: AlertSink = {
      onAlert() {
        throw new Error("disk full");
      },
    };
    const mgr = new AlertManager([bad, good], { onSinkError: (err) => errors.push(err) });
    mgr.onFinding(finding());
    mgr.onFinding(finding({ severity: "critical", ts: T0 + 1 }));
    expect(good.calls.map((c) => c.transition)).toEqual(["fired", "repeated"]);
    expect(mgr.stats().sinkErrors).toBe(2);
    expect(errors).toHaveLength(2);
    expect(mgr.active()[0]?.severity).toBe("critical");
  });

  // The decide stage (the blocker) sets the action before any sink hears of the alert; snapshots are frozen.
  it("decides the action before the sinks and hands them frozen snapshots", () => {
    const later = recorder();
    const asked: string[] = [];
    const mgr = new AlertManager([later], {
      decide: {
        decide: (a, transition) => {
          asked.push(transition);
          return a.count === 1 ? "blocked" : null;
        },
      },
      suppressMs: 0,
      resolveAfterMs: 1000,
    });
    const a = mgr.onFinding(finding());
    expect(later.calls[0]?.alert.action).toBe("blocked");
    expect(Object.isFrozen(later.calls[0]?.alert)).toBe(true);
    expect(a.action).toBe("blocked");
    // null keeps the action already decided; a resolution is not a decision.
    mgr.onFinding(finding({ ts: T0 + 1 }));
    expect(later.calls[1]?.alert.action).toBe("blocked");
    mgr.tick(T0 + 10_000);
    expect(asked).toEqual(["fired", "repeated"]);
    expect(later.calls.map((c) => c.transition)).toEqual(["fired", "repeated", "resolved"]);
  });

  // A decider that throws is counted like a failing sink; the alert is still logged, with no action.
  it("survives a decider that throws", () => {
    const later = recorder();
    const mgr = new AlertManager([later], {
      decide: {
        decide: () => {
          throw new Error("iptables missing");
        },
      },
    });
    mgr.onFinding(finding());
    expect(mgr.stats().sinkErrors).toBe(1);
    expect(later.calls[0]?.alert.action).toBe("none");
  });

  // A finding after resolveAfterMs of quiet opens a new alert even with no tick in between (replay).
  it("resolves a quiet alert before folding a later finding into it", () => {
    const later = recorder();
    const mgr = new AlertManager([later], { resolveAfterMs: 1000, suppressMs: 60_000 });
    mgr.onFinding(finding());
    mgr.onFinding(finding({ ts: T0 + 1500 }));
    expect(later.calls.map((c) => c.transition)).toEqual(["fired", "resolved", "fired"]);
    expect(mgr.stats().resolved).toBe(1);
  });

  // Out-of-order findings do not move lastSeen back nor replace the newer description.
  it("keeps lastSeen monotonic with out-of-order findings", () => {
    const { mgr } = setup();
    mgr.onFinding(finding({ ts: T0 + 10, summary: "new" }));
    const a = mgr.onFinding(finding({ ts: T0, summary: "old" }));
    expect(a).toMatchObject({ count: 2, firstSeen: T0, lastSeen: T0 + 10, summary: "new" });
  });

  // Options that would break the invariants are refused where they come from: the config schema.
  it("rejects invalid options", () => {
    expect(alertsSchema.safeParse({ maxActive: 0 }).error?.issues[0]?.path).toEqual(["maxActive"]);
    expect(alertsSchema.safeParse({ resolveAfterSeconds: 0 }).error?.issues[0]?.path).toEqual([
      "resolveAfterSeconds",
    ]);
    expect(alertsSchema.safeParse({ suppressSeconds: -1 }).error?.issues[0]?.path).toEqual([
      "suppressSeconds",
    ]);
    expect(alertsSchema.safeParse({ fanOutAfter: 0 }).error?.issues[0]?.path).toEqual(["fanOutAfter"]);
  });
});

describe("fingerprintOf", () => {
  // Same inputs give the same 16-hex id (pinned, so it is stable across runs and versions).
  it("is stable", () => {
    const fp = fingerprintOf("egress", "shop/web", "203.0.113.7:443/tcp");
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintOf("egress", "shop/web", "203.0.113.7:443/tcp")).toBe(fp);
    expect(fp).toBe(PINNED);
  });

  // Any differing part, or the same characters split differently, gives a different id.
  it("is distinct", () => {
    const fps = [
      fingerprintOf("egress", "shop/web", "k"),
      fingerprintOf("egress", "shop/web", "k2"),
      fingerprintOf("egress", "shop/api", "k"),
      fingerprintOf("port-scan", "shop/web", "k"),
      fingerprintOf("a", "bc", "d"),
      fingerprintOf("ab", "c", "d"),
    ];
    expect(new Set(fps).size).toBe(fps.length);
  });
});

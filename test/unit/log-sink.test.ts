import { describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { fingerprintOf } from "../../src/alerts/fingerprint.js";
import { LogAlertSink } from "../../src/alerts/log-sink.js";
import type { Finding } from "../../src/model/finding.js";
import { alertOf } from "../support/fixtures.js";
import { captureLog, NETMON_LOG_FORMAT } from "../support/log-capture.js";

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const MIN = 60_000;
const FP = fingerprintOf("egress", "shop/web", "203.0.113.7:443/tcp");

function alert(extra: Partial<Alert> = {}): Alert {
  return alertOf({ fingerprint: FP, detector: "egress", firstSeen: T0, lastSeen: T0, ...extra });
}

const CONTAINER = { id: "0123456789ab", name: "shop-web-1", image: "shop/web:1.2", service: "web" };
/** Community ID v1 of 172.18.0.5:40312 → 203.0.113.7:443/tcp, computed apart (Python hashlib, per the spec). */
const CID = "1:SEGbT0LHWneCIBOgCnM2K35Tu1o=";

describe("LogAlertSink", () => {
  // fired: the exact contract line, warn level, names kept, container trimmed to the contract fields.
  it("writes the contract line for a fired alert", () => {
    const { log, lines } = captureLog(NETMON_LOG_FORMAT);
    new LogAlertSink(log).onAlert(alert({ details: { attempts: 3 } }), "fired");
    expect(lines).toEqual([
      {
        level: "warn",
        time: expect.any(String),
        app: "netmon",
        msg: "alert",
        alert: {
          detector: "egress",
          severity: "warning",
          fingerprint: FP,
          container: CONTAINER,
          summary: "shop-web-1 connected to api.example.com (203.0.113.7:443/tcp)",
          fix: null,
          src: { ip: "172.18.0.5", port: 40312, proto: "tcp" },
          dst: { ip: "203.0.113.7", port: 443, proto: "tcp", names: ["api.example.com"] },
          communityId: CID,
          count: 1,
          firstSeen: "2024-01-02T03:04:05.678Z",
          lastSeen: "2024-01-02T03:04:05.678Z",
          action: "none",
          workload: "shop/web",
          state: "active",
          transition: "fired",
          details: { attempts: 3 },
        },
      },
    ]);
  });

  // repeated: "alert updated", folded count, targets and times, critical → error; no names key when there are none.
  it("writes the contract line for a repeated alert without names", () => {
    const { log, lines } = captureLog(NETMON_LOG_FORMAT);
    const a = alert({
      severity: "critical",
      count: 42,
      lastSeen: T0 + 10 * MIN,
      action: "blocked",
      dst: { ip: "203.0.113.7", port: 443, proto: "tcp" },
      targets: { of: "ports", distinct: 2, capped: false, samples: ["443/tcp", "80/tcp"] },
    });
    new LogAlertSink(log).onAlert(a, "repeated");
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(Object.keys(line).sort()).toEqual(["alert", "app", "level", "msg", "time"]);
    expect(line).toMatchObject({ level: "error", msg: "alert updated" });
    expect(line.alert).toEqual({
      detector: "egress",
      severity: "critical",
      fingerprint: FP,
      container: CONTAINER,
      summary: "shop-web-1 connected to api.example.com (203.0.113.7:443/tcp)",
      fix: null,
      src: { ip: "172.18.0.5", port: 40312, proto: "tcp" },
      dst: { ip: "203.0.113.7", port: 443, proto: "tcp" },
      communityId: CID,
      count: 42,
      targets: { of: "ports", distinct: 2, capped: false, samples: ["443/tcp", "80/tcp"] },
      firstSeen: "2024-01-02T03:04:05.678Z",
      lastSeen: "2024-01-02T03:14:05.678Z",
      action: "blocked",
      workload: "shop/web",
      state: "active",
      transition: "repeated",
    });
  });

  // resolved: "alert resolved" at info whatever the severity; no src/dst/details keys when absent.
  it("writes the contract line for a resolved alert without endpoints", () => {
    const { log, lines } = captureLog(NETMON_LOG_FORMAT);
    const a = alert({ severity: "critical", state: "resolved", count: 7, src: undefined, dst: undefined });
    new LogAlertSink(log).onAlert(a, "resolved");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "info", msg: "alert resolved" });
    expect(lines[0]?.alert).toEqual({
      detector: "egress",
      severity: "critical",
      fingerprint: FP,
      container: CONTAINER,
      summary: "shop-web-1 connected to api.example.com (203.0.113.7:443/tcp)",
      fix: null,
      count: 7,
      firstSeen: "2024-01-02T03:04:05.678Z",
      lastSeen: "2024-01-02T03:04:05.678Z",
      action: "none",
      workload: "shop/web",
      state: "resolved",
      transition: "resolved",
    });
    expect(Object.keys(lines[0]?.alert as object)).not.toContain("dst");
  });

  // communityId only where the alert names one flow: a scan or brute force (port 0) stands for many.
  it("carries communityId only for an alert about one flow", () => {
    const { log, lines } = captureLog(NETMON_LOG_FORMAT);
    const sink = new LogAlertSink(log);
    sink.onAlert(alert({ src: { ip: "172.18.0.5", port: 0, proto: "tcp" } }), "fired");
    sink.onAlert(alert({ dst: undefined }), "fired");
    sink.onAlert(alert({ dst: { ip: "203.0.113.7", port: 443, proto: "udp" } }), "fired");
    expect(lines.map((l) => Object.keys(l.alert as object).includes("communityId"))).toEqual([
      false,
      false,
      false,
    ]);
    // Reversed endpoints (the alert of an inbound connection) give the same ID: one flow, one ID.
    sink.onAlert(
      alert({
        src: { ip: "203.0.113.7", port: 443, proto: "tcp" },
        dst: { ip: "172.18.0.5", port: 40312, proto: "tcp" },
      }),
      "fired",
    );
    expect((lines[3]!.alert as { communityId?: string }).communityId).toBe(CID);
  });

  // Level follows severity: info → info, warning → warn, critical → error; a null service stays null.
  it("maps severity to level", () => {
    const { log, lines } = captureLog(NETMON_LOG_FORMAT);
    const sink = new LogAlertSink(log);
    const noService = { id: "abc", name: "solo", image: "alpine", service: null, project: null };
    sink.onAlert(alert({ severity: "info", container: noService }), "fired");
    sink.onAlert(alert({ severity: "warning" }), "fired");
    sink.onAlert(alert({ severity: "critical" }), "fired");
    expect(lines.map((l) => l.level)).toEqual(["info", "warn", "error"]);
    expect((lines[0]!.alert as { container: unknown }).container).toEqual({
      id: "abc",
      name: "solo",
      image: "alpine",
      service: null,
    });
  });

  // Through the manager: an incident's three kinds of line, each naming its fingerprint.
  it("logs each manager transition once", () => {
    const { log, lines } = captureLog(NETMON_LOG_FORMAT);
    const mgr = new AlertManager([new LogAlertSink(log)], { suppressMs: 10 * MIN, resolveAfterMs: 15 * MIN });
    const f: Finding = {
      detector: "egress",
      severity: "warning",
      key: "203.0.113.7:443/tcp",
      container: alert().container,
      workload: "shop/web",
      summary: "s",
      ts: T0,
    };
    mgr.onFinding(f);
    mgr.onFinding({ ...f, ts: T0 + MIN });
    mgr.onFinding({ ...f, ts: T0 + 10 * MIN });
    mgr.tick(T0 + 25 * MIN);
    const got = lines.map((l) => {
      const a = l.alert as { transition: string; count: number; fingerprint: string };
      return [l.msg, a.transition, a.count, a.fingerprint];
    });
    expect(got).toEqual([
      ["alert", "fired", 1, FP],
      ["alert updated", "repeated", 3, FP],
      ["alert resolved", "resolved", 3, FP],
    ]);
  });
});

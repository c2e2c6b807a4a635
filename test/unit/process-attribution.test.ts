/**
 * Process attribution between the pieces: the listener event's process in unusual-listener's
 * finding, AlertManager.annotate (the `alert updated` line of a process looked up later), and
 * when `processes.enabled` turns it on and what it says at start.
 */
import { describe, expect, it } from "vitest";
import { unusualListener } from "../../detectors/unusual-listener.js";
import type { Alert, AlertTransition } from "../../src/alerts/alert.js";
import { AlertManager } from "../../src/alerts/alert-manager.js";
import { toAmAlert } from "../../src/alerts/alertmanager-payload.js";
import { processAttribution } from "../../src/daemon/process-permission.js";
import type { Finding } from "../../src/model/finding.js";
import type { ProcessInfo } from "../../src/processes/process-info.js";
import { fakeDetectorContext } from "../support/detector-context.js";
import { alertOf, containerRef, listenerEvent, SHOP_WEB } from "../support/fixtures.js";

const NC: ProcessInfo = {
  pid: 120,
  comm: "nc",
  cmdline: "nc -l -p 4444",
  user: "root",
  uid: 0,
  startedAt: "2026-01-01T00:00:00.000Z",
};
const CACHE = containerRef("shop-cache-1");

function listenerFinding(extra: {
  process?: ProcessInfo | null;
  processUnknown?: "exited";
}): Finding | undefined {
  const detector = unusualListener.create(unusualListener.options.parse({}), fakeDetectorContext());
  const ev = { ...listenerEvent(CACHE, { port: 4444 }), ...extra };
  return detector.onEvent(ev)[0];
}

describe("unusual-listener names the socket's process", () => {
  it("puts the scan's process, or null and why, in the finding's details", () => {
    expect(listenerFinding({ process: NC })?.details).toEqual({
      evidence: "proc",
      loopback: false,
      process: NC,
    });
    expect(listenerFinding({ process: null, processUnknown: "exited" })?.details).toEqual({
      evidence: "proc",
      loopback: false,
      process: null,
      processUnknown: "exited",
    });
  });

  it("says nothing of a process it was not told (replay, attribution off)", () => {
    expect(listenerFinding({})?.details).toEqual({ evidence: "proc", loopback: false });
    expect(listenerFinding({})?.summary).not.toContain("held by");
  });

  it("names the holder in the summary, and in the Alertmanager annotation and description", () => {
    const f = listenerFinding({ process: NC });
    expect(f?.summary).toMatch(/, held by nc \(pid 120\)$/);
    const am = toAmAlert(alertOf({ detector: "unusual-listener", details: f?.details }), "h1", false);
    expect(am.annotations.process).toBe("nc (pid 120, user root): nc -l -p 4444");
    expect(am.annotations.description).toContain("process: nc (pid 120, user root): nc -l -p 4444");
    const unknown = listenerFinding({ process: null, processUnknown: "exited" });
    expect(toAmAlert(alertOf({ details: unknown?.details }), "h1", false).annotations.process).toBe(
      "unknown (exited)",
    );
    expect(toAmAlert(alertOf({ details: { evidence: "proc" } }), "h1", false).annotations).not.toHaveProperty(
      "process",
    );
  });
});

describe("AlertManager.annotate", () => {
  const finding: Finding = {
    detector: "unexpected-outbound",
    severity: "warning",
    key: "203.0.113.7",
    container: { ...SHOP_WEB },
    workload: "shop/web",
    summary: "shop-web-1 connected to 203.0.113.7:443/tcp",
    ts: 1_700_000_000_000,
    src: { ip: "172.18.0.5", port: 40312, proto: "tcp" },
    dst: { ip: "203.0.113.7", port: 443, proto: "tcp" },
    details: { allowedBy: null },
  };

  it("sends an update with the same fingerprint and the process in its details; count and times stay", () => {
    const heard: { transition: AlertTransition; alert: Alert }[] = [];
    const manager = new AlertManager([{ onAlert: (alert, transition) => heard.push({ alert, transition }) }]);
    const fired = manager.onFinding(finding);
    manager.annotate(fired.fingerprint, { process: NC });
    expect(heard.map((h) => h.transition)).toEqual(["fired", "repeated"]);
    const updated = heard[1]!.alert;
    expect(updated).toEqual({ ...fired, details: { allowedBy: null, process: NC } });
    expect(manager.stats().repeated).toBe(1);
  });

  it("an annotation does not open the suppression window: the next growth still waits for it", () => {
    const heard: AlertTransition[] = [];
    const manager = new AlertManager([{ onAlert: (_a, t) => heard.push(t) }], { suppressMs: 60_000 });
    const fired = manager.onFinding(finding);
    manager.annotate(fired.fingerprint, { process: NC });
    manager.onFinding({ ...finding, ts: finding.ts + 1000 });
    manager.onFinding({ ...finding, ts: finding.ts + 60_000 });
    expect(heard).toEqual(["fired", "repeated", "repeated"]);
  });

  it("ignores an alert that is no longer active", () => {
    const heard: AlertTransition[] = [];
    const manager = new AlertManager([{ onAlert: (_a, t) => heard.push(t) }]);
    manager.annotate("0123456789abcdef", { process: NC });
    expect(heard).toEqual([]);
  });
});

describe("processes.enabled", () => {
  const none = { root: false, ptrace: false };

  it("auto is on as root or with CAP_SYS_PTRACE, silently", () => {
    expect(processAttribution({ enabled: "auto" }, { root: true, ptrace: false })).toEqual({
      enabled: true,
      notice: null,
    });
    expect(processAttribution({ enabled: "auto" }, { root: false, ptrace: true }).enabled).toBe(true);
  });

  it("auto without the capability is off, with one warning naming how to grant it and the trade-off", () => {
    const { enabled, notice } = processAttribution({ enabled: "auto" }, none);
    expect(enabled).toBe(false);
    expect(notice?.level).toBe("warn");
    for (const part of [
      "AmbientCapabilities=CAP_NET_RAW CAP_SYS_PTRACE",
      "CapabilityBoundingSet=",
      "docker run --cap-add SYS_PTRACE",
      "every process's /proc/<pid>/fd and environ",
    ])
      expect(notice?.msg).toContain(part);
  });

  it("false is off and says so; true is on, and warns when it may not see other users' processes", () => {
    expect(processAttribution({ enabled: false }, { root: true, ptrace: true })).toMatchObject({
      enabled: false,
      notice: { level: "info" },
    });
    expect(processAttribution({ enabled: true }, none)).toMatchObject({
      enabled: true,
      notice: { level: "warn" },
    });
    expect(processAttribution({ enabled: true }, { root: false, ptrace: true }).notice).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  needsRestart,
  nestedKeysNeedingRestart,
  sectionsNeedingRestart,
} from "../../src/config/config-doc.js";
import { planReload } from "../../src/config/reload-plan.js";
import { configSchema } from "../../src/config/schema.js";
import { configKeys, doc } from "../../src/model/config-meta.js";

describe("restart metadata", () => {
  it("names the sections SIGHUP cannot apply, in schema order", () => {
    expect(sectionsNeedingRestart()).toEqual([
      "stateDir",
      "host",
      "capture",
      "flows",
      "dns",
      "listeners",
      "processes",
      "docker",
      "http",
      "metrics",
      "alerts",
      "alertmanager",
      "blocking",
    ]);
  });

  it("leaves exactly mode, policy, baseline, detectors and log to apply at once", () => {
    const restart = new Set<string>(sectionsNeedingRestart());
    const atOnce = Object.keys(configSchema.shape).filter((k) => !restart.has(k));
    expect(atOnce.sort()).toEqual(["baseline", "detectors", "log", "mode", "policy"]);
  });

  it("a key inherits its section's flag", () => {
    expect(needsRestart("capture")).toBe(true);
    expect(needsRestart("capture.snaplen")).toBe(true);
    expect(needsRestart("stateDir")).toBe(true);
    expect(needsRestart("alertmanager.urls")).toBe(true);
    expect(needsRestart("mode")).toBe(false);
    expect(needsRestart("policy.egress")).toBe(false);
    expect(needsRestart("detectors.connection-burst.shortMs")).toBe(false);
  });

  it("an unknown key is an error, not a silent 'applies at once'", () => {
    expect(() => needsRestart("capture.snaplenn")).toThrow(/not a configuration key/);
    expect(() => needsRestart("")).toThrow(/not a configuration key/);
  });

  // Below the top only where a file is opened at start: planReload keeps exactly these at their running value.
  it("is declared below the top only on log.events and log.eventsFile", () => {
    expect(nestedKeysNeedingRestart()).toEqual([
      ["log", "events"],
      ["log", "eventsFile"],
    ]);
    expect(needsRestart("log.eventsFile.maxBytes")).toBe(true);
    expect(needsRestart("log.level")).toBe(false);
  });
});

describe("planReload (SIGHUP)", () => {
  const base = () => configSchema.parse({});

  it("applies what can change at once and keeps a restart-only key at its running value, every time", () => {
    const running = base();
    const next = base();
    next.log.level = "debug";
    next.log.eventsFile.path = "/var/log/netmon/events.jsonl";
    next.http.port = 9999;
    const plan = planReload(running, next);
    expect(plan.applied).toEqual(["log"]);
    expect(plan.needRestart.sort()).toEqual(["http", "log.eventsFile"]);
    // log.level is applied; the events file and the port stay as they run.
    expect(plan.effective.log.level).toBe("debug");
    expect(plan.effective.log.eventsFile.path).toBeNull();
    expect(plan.effective.http.port).toBe(running.http.port);
    expect(running.log.eventsFile.path).toBeNull();
    // A second SIGHUP with the same file reports the same: compared with what runs.
    expect(planReload(plan.effective, next).needRestart.sort()).toEqual(["http", "log.eventsFile"]);
  });

  it("names a changed section that applies at once", () => {
    const next = base();
    next.mode = "learn";
    next.log.level = "warn";
    expect(planReload(base(), next)).toMatchObject({ applied: ["mode", "log"], needRestart: [] });
  });
});

describe("configKeys", () => {
  it("reads descriptions through defaults, optionals and nullables, the outer one winning", () => {
    const schema = z.strictObject({
      a: doc(z.number().default(1), "outer"),
      b: doc(z.string(), "inner").nullable().default(null),
      c: doc(doc(z.string(), "inner").optional(), "outer"),
      s: doc(z.strictObject({ x: doc(z.boolean().default(true), "x") }).prefault({}), "section", {
        restart: true,
      }),
      n: z.number().default(0),
    });
    expect(configKeys(schema)).toEqual([
      { path: ["a"], key: "a", description: "outer", restart: false, section: false },
      { path: ["b"], key: "b", description: "inner", restart: false, section: false },
      { path: ["c"], key: "c", description: "outer", restart: false, section: false },
      { path: ["s"], key: "s", description: "section", restart: true, section: true },
      { path: ["s", "x"], key: "s.x", description: "x", restart: true, section: false },
      { path: ["n"], key: "n", description: undefined, restart: false, section: false },
    ]);
  });

  it("doc() keeps the schema's behaviour", () => {
    const s = doc(z.number().int().min(1).default(5), "five");
    expect(s.parse(undefined)).toBe(5);
    expect(s.safeParse(0).success).toBe(false);
    expect(s.meta()).toEqual({ description: "five" });
  });
});

import { describe, expect, it } from "vitest";
import { z } from "zod";
import { needsRestart, sectionsNeedingRestart } from "../../src/config/config-doc.js";
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

  // reload() compares whole top-level sections, so a flag below the top would not be honoured.
  it("is declared on top-level keys only", () => {
    const top = new Map(configKeys(configSchema).map((k) => [k.key, k.restart]));
    for (const k of configKeys(configSchema)) {
      expect([k.key, k.restart]).toEqual([k.key, top.get(k.path[0]!)]);
    }
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

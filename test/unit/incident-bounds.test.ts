/**
 * The incident bounds of issue 14 §2, on the golden captures of a port scan, a host sweep, fast-flux
 * fan-out and brute force (test/cases/make-cases.ts, shipped defaults): no incident logs more than
 * three lines over its life (open, at most one update per suppression window, resolve), and one
 * attack opens at most five incidents; every line names its incident's fingerprint.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { alertsSchema } from "../../src/alerts/alerts-config.js";
import type { AlertLogFields } from "../../src/alerts/log-sink.js";
import { type GeneratedCase, makeCases } from "../cases/make-cases.js";
import { incidentLines, replayCase } from "../support/golden-replay.js";

const ATTACKS = [
  "port-scan-one-incident",
  "host-sweep-one-incident",
  "fast-flux-fan-out",
  "brute-force-one-incident",
];
const MAX_LINES_PER_INCIDENT = 3;
const MAX_INCIDENTS_PER_ATTACK = 5;
const SUPPRESS_MS = alertsSchema.parse({}).suppressSeconds * 1000;

describe("one attack, few incidents (golden captures)", () => {
  let cases: Map<string, GeneratedCase>;
  beforeAll(() => {
    cases = new Map(makeCases().map((c) => [c.name, c]));
  });

  it.each(ATTACKS)("%s: at most five incidents of at most three lines each", (name) => {
    const lines = incidentLines(replayCase(cases.get(name)!).lines);
    const byIncident = new Map<string, { msg: string; alert: AlertLogFields }[]>();
    for (const l of lines) {
      expect(l.alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      const life = byIncident.get(l.alert.fingerprint) ?? [];
      life.push(l);
      byIncident.set(l.alert.fingerprint, life);
    }
    expect(byIncident.size).toBeGreaterThan(0);
    expect(byIncident.size).toBeLessThanOrEqual(MAX_INCIDENTS_PER_ATTACK);
    for (const life of byIncident.values()) {
      expect(life.length).toBeLessThanOrEqual(MAX_LINES_PER_INCIDENT);
      const msgs = life.map((l) => l.msg);
      // Opens once, first; resolves at most once, last; updates in between, a window apart.
      expect(msgs[0]).toBe("alert");
      expect(msgs.filter((m) => m === "alert").length).toBe(1);
      expect(msgs.slice(1, -1).every((m) => m === "alert updated")).toBe(true);
      const times = life.filter((l) => l.msg !== "alert resolved").map((l) => Date.parse(l.alert.lastSeen));
      for (let i = 1; i < times.length; i++)
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(SUPPRESS_MS);
    }
    // Every capture runs long enough after the attack for every incident to end inside it.
    for (const life of byIncident.values()) expect(life.at(-1)!.msg).toBe("alert resolved");
  });
});

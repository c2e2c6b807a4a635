/**
 * Typed findings: every detector declares the kinds of finding it raises, every finding it raises
 * names one of them, and `blocking.rules` is checked against them when the config loads (a misspelled
 * detector or shape would otherwise make enforce mode silently never block).
 */
import { describe, expect, it } from "vitest";
import { DETECTORS } from "../../detectors/index.js";
import { parseConfigText } from "../../src/config/load.js";

function errorsOf(yaml: string): string[] {
  const r = parseConfigText(yaml, "netmon.yaml");
  return r.ok ? [] : r.errors;
}

describe("typed findings", () => {
  it("every detector declares at least one finding kind, each with help", () => {
    for (const d of DETECTORS) {
      const kinds = Object.entries(d.findings);
      expect(kinds.length, d.name).toBeGreaterThan(0);
      for (const [kind, help] of kinds) {
        expect(kind).toMatch(/^[a-z][a-z0-9-]*$/);
        expect(help.length).toBeGreaterThan(10);
      }
    }
  });

  it("the shipped blocking rules name real detectors and shapes", () => {
    expect(errorsOf("{}")).toEqual([]);
  });

  it("a misspelled detector in blocking.rules is an error naming the key path and the valid names", () => {
    const errors = errorsOf(`
blocking:
  rules:
    - { detector: conection-burst, scope: container }
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("netmon.yaml: blocking.rules.0.detector: unknown detector");
    for (const d of DETECTORS) expect(errors[0]).toContain(d.name);
  });

  it("a shape the detector never raises is an error listing the shapes it does raise", () => {
    const errors = errorsOf(`
blocking:
  rules:
    - { detector: connection-burst, shapes: [port-scan, portscan], scope: container }
    - { detector: unexpected-outbound, shapes: [port-scan], scope: destination }
`);
    expect(errors).toEqual([
      expect.stringContaining('blocking.rules.0.shapes.1: connection-burst raises no "portscan"'),
      expect.stringContaining('blocking.rules.1.shapes.0: unexpected-outbound raises no "port-scan"'),
    ]);
    expect(errors[0]).toContain("brute-force");
    expect(errors[1]).toContain("denylisted");
  });

  it("a rule may select unexpected-outbound's denylisted kind", () => {
    expect(
      errorsOf(`
blocking:
  rules:
    - { detector: unexpected-outbound, shapes: [denylisted], scope: destination }
`),
    ).toEqual([]);
  });
});

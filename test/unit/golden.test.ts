/**
 * Golden scenarios: each case of test/cases/make-cases.ts is generated, replayed through the real
 * pipeline (replayFile: decode → flows → DNS → policy → detectors → alert manager → log sink) with
 * its config.yaml, and the alert lines it logs are compared to its expected-alerts.json.
 *
 * `UPDATE_GOLDEN=1 npx vitest run test/unit/golden.test.ts` rewrites expected-alerts.json instead
 * (and passes): review every line of the diff — each alert must be what an operator would want.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { AlertLogEndpoint, AlertLogFields } from "../../src/alerts/log-sink.js";
import { CASES, CASES_DIR, type GeneratedCase, makeCases } from "../cases/make-cases.js";
import { incidentLines, type LogLine, replayCase } from "../support/golden-replay.js";

const UPDATE = process.env.UPDATE_GOLDEN === "1";
const MAX_PCAP_BYTES = 1024 * 1024;

/** The stable part of an alert line: no ids, fingerprints, times or details. */
interface GoldenAlert {
  detector: string;
  severity: string;
  container: string;
  summary: string;
  fix: string | null;
  runbook?: string;
  dst?: AlertLogEndpoint;
  count: number;
  transition: string;
}

/** `transition` tells the three lines apart: fired = "alert", repeated = "alert updated", resolved = "alert resolved". */
function project(a: AlertLogFields): GoldenAlert {
  return {
    detector: a.detector,
    severity: a.severity,
    container: a.container.name,
    summary: a.summary,
    fix: a.fix,
    runbook: a.runbook,
    dst: a.dst,
    count: a.count,
    transition: a.transition,
  };
}

function replayGolden(c: GeneratedCase): {
  alerts: GoldenAlert[];
  lines: LogLine[];
  summary: ReturnType<typeof replayCase>["summary"];
} {
  const { lines, summary } = replayCase(c);
  // Every line of an incident's life: opened ("alert"), grown ("alert updated") and resolved.
  const alerts = incidentLines(lines).map((l) => project(l.alert));
  return { alerts, lines, summary };
}

describe("golden scenarios (test/cases)", () => {
  let generated: Map<string, GeneratedCase>;

  beforeAll(() => {
    generated = new Map(makeCases().map((c) => [c.name, c]));
  });

  it("every case directory is a case of make-cases.ts, and every case has its committed files", () => {
    const dirs = readdirSync(CASES_DIR).filter((n) => statSync(join(CASES_DIR, n)).isDirectory());
    expect(dirs.sort()).toEqual(CASES.map((c) => c.name).sort());
    for (const c of CASES) {
      expect(statSync(join(CASES_DIR, c.name, "config.yaml")).isFile()).toBe(true);
      if (!UPDATE) expect(statSync(join(CASES_DIR, c.name, "expected-alerts.json")).isFile()).toBe(true);
    }
  });

  for (const { name, description } of CASES) {
    it(`${name}: ${description}`, () => {
      const c = generated.get(name)!;
      expect(statSync(c.pcap).size).toBeLessThan(MAX_PCAP_BYTES);
      const { alerts, lines, summary } = replayGolden(c);

      // The scenario itself must be sound: every packet decoded, every DNS answer read, no flow lost,
      // no detector error, and the inventory loaded without complaint.
      expect(summary.packets).toBeGreaterThan(0);
      expect(summary.undecoded).toBe(0);
      expect(summary.dnsRejected).toBe(0);
      expect(summary.flowsEvicted).toBe(0);
      expect(lines.filter((l) => l.level >= 50 && l.msg !== "alert" && l.msg !== "alert updated")).toEqual(
        [],
      );
      expect(lines.filter((l) => typeof l.msg === "string" && l.msg.includes(".json["))).toEqual([]);

      if (UPDATE) {
        writeFileSync(c.expected, `${JSON.stringify(alerts, null, 2)}\n`);
        return;
      }
      const expected = JSON.parse(readFileSync(c.expected, "utf8")) as GoldenAlert[];
      expect(alerts).toEqual(expected);
    });
  }
});

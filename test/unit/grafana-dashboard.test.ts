import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

// The Grafana dashboard and the Prometheus rules only use metrics netmon exports (src/**: metrics.ts and
// the files that register their own, e.g. block-metrics.ts, status-metrics.ts), so
// a renamed metric cannot leave a panel empty or an alert silently dead.

const repoFile = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const DASHBOARD = repoFile("config/grafana/netmon.dashboard.json");
const RULES = repoFile("config/prometheus/netmon.rules.yml");
const RULE_TESTS = repoFile("config/prometheus/netmon.rules.test.yml");
const SRC = repoFile("src");

/** In the DESIGN.md contract but not exported yet (the block backend): allowed ahead of time. */
const FUTURE_METRICS = ["netmon_blocks_active", "netmon_block_actions_total"];
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_METRICS = ["up"];
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's import placeholder, not a JS template
const DATASOURCE_UID = "${DS_PROMETHEUS}";
const SEVERITIES = new Set(["critical", "warning", "info"]);
const RUNBOOK_BASE = "https://github.com/netmon/netmon/blob/main/README.md#runbook-";

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected an array, got ${JSON.stringify(value)}`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") {
    throw new Error(`${what}: expected a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new Error(`${what}: expected an integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Every series name netmon's source can expose: its netmon_* names, plus _bucket/_sum/_count of histograms. */
function exportedMetrics(): Set<string> {
  const source = readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(`${SRC}/${f}`, "utf8"))
    .join("\n");
  const names = new Set<string>([...source.matchAll(/"(netmon_[a-z0-9_]+)"/g)].map((m) => m[1]!));
  for (const m of source.matchAll(/new Histogram\(\{\s*name:\s*"([a-z0-9_]+)"/g)) {
    for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${m[1]!}${suffix}`);
  }
  return names;
}

const KNOWN_METRICS = new Set([...exportedMetrics(), ...FUTURE_METRICS, ...PROMETHEUS_METRICS]);
const PROMQL_WORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads. Removes string literals, label matchers, ranges and
 * grouping clauses first; what is left that is neither a function call, a keyword nor part of a number
 * is a metric name.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\[[^\]]*\]/g, "[]")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:$.])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = m[1]!;
    if (!PROMQL_WORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names].sort();
}

function unknownMetrics(expr: string): string[] {
  return metricNames(expr).filter((name) => !KNOWN_METRICS.has(name));
}

describe("metricNames (PromQL metric extraction)", () => {
  it("finds the metrics and skips functions, labels, ranges, grouping and variables", () => {
    expect(
      metricNames(
        'sum by (instance, interface) (rate(netmon_packets_dropped_total{instance=~"$instance"}[$__rate_interval]))',
      ),
    ).toEqual(["netmon_packets_dropped_total"]);
    expect(
      metricNames(
        "histogram_quantile(0.95, sum by (le) (rate(netmon_detection_latency_seconds_bucket[5m]))) > bool 1e3",
      ),
    ).toEqual(["netmon_detection_latency_seconds_bucket"]);
    expect(metricNames('absent(up{job="netmon"}) or vector(0) unless on(job) foo offset 5m')).toEqual([
      "foo",
      "up",
    ]);
  });

  it("reports names src/daemon/metrics.ts does not export", () => {
    expect(unknownMetrics("rate(netmon_packets_lost_total[5m]) + netmon_flows_active")).toEqual([
      "netmon_packets_lost_total",
    ]);
  });

  it("knows the metrics netmon exports", () => {
    for (const name of [
      "netmon_alerts_active",
      "netmon_connections_total",
      "netmon_packets_captured_total",
      "netmon_packets_dropped_total",
      "netmon_docker_up",
      "netmon_detector_errors_total",
      "netmon_detection_latency_seconds_bucket",
    ]) {
      expect(KNOWN_METRICS.has(name), name).toBe(true);
    }
  });
});

interface PanelInfo {
  id: number;
  type: string;
  title: string;
  grid: { x: number; y: number; w: number; h: number };
  exprs: string[];
}

function readPanels(dashboard: Record<string, unknown>): PanelInfo[] {
  const panels: PanelInfo[] = [];
  const visit = (raw: unknown, where: string): void => {
    const p = record(raw, where);
    const type = text(p.type, `${where}.type`);
    const title = text(p.title, `${where}.title`);
    const at = `panel "${title}"`;
    const g = record(p.gridPos, `${at}.gridPos`);
    const grid = {
      x: integer(g.x, `${at}.gridPos.x`),
      y: integer(g.y, `${at}.gridPos.y`),
      w: integer(g.w, `${at}.gridPos.w`),
      h: integer(g.h, `${at}.gridPos.h`),
    };
    const exprs: string[] = [];
    if (type === "row") {
      for (const [i, child] of list(p.panels ?? [], `${at}.panels`).entries())
        visit(child, `${at}.panels[${i}]`);
    } else {
      const ds = record(p.datasource, `${at}.datasource`);
      expect(ds.uid, `${at}.datasource.uid`).toBe(DATASOURCE_UID);
      expect(ds.type, `${at}.datasource.type`).toBe("prometheus");
      const targets = list(p.targets, `${at}.targets`);
      expect(targets.length, `${at}: targets`).toBeGreaterThan(0);
      for (const [i, rawTarget] of targets.entries()) {
        const t = record(rawTarget, `${at}.targets[${i}]`);
        exprs.push(text(t.expr, `${at}.targets[${i}].expr`));
        text(t.refId, `${at}.targets[${i}].refId`);
        if (t.datasource !== undefined) {
          expect(record(t.datasource, `${at}.targets[${i}].datasource`).uid).toBe(DATASOURCE_UID);
        }
      }
    }
    panels.push({ id: integer(p.id, `${at}.id`), type, title, grid, exprs });
  };
  for (const [i, raw] of list(dashboard.panels, "panels").entries()) visit(raw, `panels[${i}]`);
  return panels;
}

describe("Grafana dashboard (config/grafana/netmon.dashboard.json)", () => {
  const dashboard = record(JSON.parse(readFileSync(DASHBOARD, "utf8")), "dashboard");
  const panels = readPanels(dashboard);

  it("is an importable dashboard model with a DS_PROMETHEUS input", () => {
    text(dashboard.title, "title");
    expect(text(dashboard.uid, "uid").length).toBeLessThanOrEqual(40);
    expect(typeof dashboard.schemaVersion).toBe("number");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const inputs = list(dashboard.__inputs, "__inputs").map((raw, i) => record(raw, `__inputs[${i}]`));
    expect(inputs).toContainEqual(
      expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }),
    );
    const variables = list(record(dashboard.templating, "templating").list, "templating.list");
    for (const [i, raw] of variables.entries()) {
      const v = record(raw, `templating.list[${i}]`);
      if (v.type !== "query") continue;
      expect(record(v.datasource, `variable ${String(v.name)}`).uid).toBe(DATASOURCE_UID);
      // Grafana's label_values(<series selector>, <label>): the selector is PromQL, the label is not a metric.
      const definition = text(v.definition, `variable ${String(v.name)}.definition`);
      const selector = /^label_values\((.+),\s*[A-Za-z_]\w*\)$/.exec(definition)?.[1] ?? definition;
      expect(unknownMetrics(selector), definition).toEqual([]);
    }
  });

  it("has panels with unique ids, a type, a title and a place within 24 columns, not overlapping", () => {
    expect(panels.length).toBeGreaterThan(0);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size, `duplicate panel ids in ${ids.join(",")}`).toBe(ids.length);
    for (const { title, grid } of panels) {
      expect(grid.x, title).toBeGreaterThanOrEqual(0);
      expect(grid.y, title).toBeGreaterThanOrEqual(0);
      expect(grid.w, title).toBeGreaterThanOrEqual(1);
      expect(grid.h, title).toBeGreaterThanOrEqual(1);
      expect(grid.x + grid.w, title).toBeLessThanOrEqual(24);
    }
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const overlap =
          a.grid.x < b.grid.x + b.grid.w &&
          b.grid.x < a.grid.x + a.grid.w &&
          a.grid.y < b.grid.y + b.grid.h &&
          b.grid.y < a.grid.y + a.grid.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }
    }
  });

  it("queries only metrics netmon exports", () => {
    for (const { title, exprs } of panels) {
      for (const expr of exprs) {
        expect(metricNames(expr).length, `${title}: ${expr}`).toBeGreaterThan(0);
        expect(unknownMetrics(expr), `${title}: ${expr}`).toEqual([]);
      }
    }
  });

  it("shows capture health, verdicts, active alerts, blocks, detector errors and Docker", () => {
    const used = new Set(panels.flatMap((p) => p.exprs.flatMap(metricNames)));
    for (const name of [
      "netmon_packets_captured_total",
      "netmon_packets_dropped_total",
      "netmon_connections_total",
      "netmon_alerts_active",
      "netmon_blocks_active",
      "netmon_block_actions_total",
      "netmon_detector_errors_total",
      "netmon_docker_up",
    ]) {
      expect(used.has(name), name).toBe(true);
    }
  });
});

interface AlertRule {
  alert: string;
  expr: string;
  labels: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

function readRules(): AlertRule[] {
  const doc = record(parseYaml(readFileSync(RULES, "utf8")), "rules file");
  const groups = list(doc.groups, "groups").map((raw, i) => record(raw, `groups[${i}]`));
  expect(groups.map((g) => g.name)).toEqual(["netmon"]);
  return groups.flatMap((g) =>
    list(g.rules, "rules").map((raw, i) => {
      const r = record(raw, `rules[${i}]`);
      const alert = text(r.alert, `rules[${i}].alert`);
      return {
        alert,
        expr: text(r.expr, `${alert}.expr`),
        labels: record(r.labels, `${alert}.labels`),
        annotations: record(r.annotations, `${alert}.annotations`),
      };
    }),
  );
}

describe("Prometheus rules (config/prometheus/netmon.rules.yml)", () => {
  const rules = readRules();

  it("use only metrics netmon exports", () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const { alert, expr } of rules) {
      expect(metricNames(expr).length, `${alert}: ${expr}`).toBeGreaterThan(0);
      expect(unknownMetrics(expr), `${alert}: ${expr}`).toEqual([]);
    }
  });

  it("each have a severity, a summary, a description and the README runbook anchor", () => {
    for (const { alert, labels, annotations } of rules) {
      expect(SEVERITIES.has(text(labels.severity, `${alert}.labels.severity`)), alert).toBe(true);
      text(annotations.summary, `${alert}.annotations.summary`);
      text(annotations.description, `${alert}.annotations.description`);
      expect(annotations.runbook_url, alert).toBe(`${RUNBOOK_BASE}${alert.toLowerCase()}`);
    }
  });

  it("name the container in alerts about a container", () => {
    for (const { alert, expr, annotations } of rules) {
      if (!metricNames(expr).includes("netmon_alerts_active")) continue;
      expect(expr, alert).toMatch(/by \([^)]*\bcontainer\b/);
      expect(annotations.summary, alert).toContain("{{ $labels.container }}");
      expect(annotations.description, alert).toContain("{{ $labels.container }}");
    }
  });

  it("cover every detector's default severities", () => {
    const covered = rules.map((r) => `${r.expr} ${String(r.labels.severity)}`);
    for (const [detector, severity] of [
      ["unexpected-outbound", "warning"],
      ["unexpected-outbound", "critical"],
      ["connection-burst", "warning"],
      ["unusual-listener", "warning"],
      ["unusual-listener", "info"],
    ] as const) {
      const hit = covered.some(
        (c) => c.includes(`detector="${detector}"`) && c.includes(`severity="${severity}"`),
      );
      expect(hit, `${detector} ${severity}`).toBe(true);
    }
  });

  it("each have a firing and a quiet case in netmon.rules.test.yml", () => {
    const doc = record(parseYaml(readFileSync(RULE_TESTS, "utf8")), "rule tests");
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const [i, rawTest] of list(doc.tests, "tests").entries()) {
      const cases = list(record(rawTest, `tests[${i}]`).alert_rule_test, `tests[${i}].alert_rule_test`);
      for (const [j, rawCase] of cases.entries()) {
        const c = record(rawCase, `tests[${i}].alert_rule_test[${j}]`);
        const name = text(c.alertname, `tests[${i}].alert_rule_test[${j}].alertname`);
        const expected = c.exp_alerts === undefined ? [] : list(c.exp_alerts, `${name}.exp_alerts`);
        (expected.length > 0 ? firing : quiet).add(name);
      }
    }
    for (const { alert } of rules) {
      expect(firing.has(alert), `${alert}: no firing case`).toBe(true);
      expect(quiet.has(alert), `${alert}: no negative case`).toBe(true);
    }
  });
});

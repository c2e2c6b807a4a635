/**
 * Fuzzing the configuration loader (src/config/load.ts, parseConfigText): a bad file must give
 * error messages (exit 2 at start-up, the old config kept on SIGHUP), never an exception.
 * Properties: parseConfigText never throws on YAML-ish noise, on mutated copies of the shipped
 * config, on random values at every known key, on deep nesting or on alias bombs; every error is
 * a non-empty line naming the source. Run counts and seeds: see test/support/mutate.ts
 * (FUZZ_RUNS=100000 for a longer campaign).
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type ConfigResult, defaultConfig, parseConfigText } from "../../src/config/load.js";
import { FUZZ_TIMEOUT_MS, fuzzParams, mutated } from "../support/mutate.js";

const SRC = "fuzz.yaml";
const SHIPPED = readFileSync(new URL("../../config/netmon.yaml", import.meta.url), "utf8");

function parseChecked(text: string): ConfigResult {
  let res: ConfigResult | undefined;
  expect(() => {
    res = parseConfigText(text, SRC);
  }).not.toThrow();
  const r = res!;
  if (r.ok) {
    expect(typeof r.config.mode).toBe("string");
    expect(r.config.flows.maxFlows).toBeGreaterThanOrEqual(100);
  } else {
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(typeof e).toBe("string");
      expect(e.startsWith(`${SRC}`)).toBe(true);
      expect(e.length).toBeGreaterThan(SRC.length);
    }
  }
  return r;
}

/** Every key path of the default configuration, as [section, key] pairs (and top-level keys). */
function keyPaths(): string[][] {
  const out: string[][] = [];
  const walk = (obj: unknown, path: string[]): void => {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      out.push(path);
      return;
    }
    out.push(path);
    for (const [k, v] of Object.entries(obj)) walk(v, [...path, k]);
  };
  walk(defaultConfig(), []);
  return out.filter((p) => p.length > 0);
}
const PATHS = keyPaths();

const yamlToken = fc.constantFrom(
  "mode:",
  " learn",
  " enforce",
  "flows:",
  "  maxFlows:",
  " 100",
  " -1",
  " 1e400",
  " .nan",
  " .inf",
  " 0x10",
  " ~",
  " null",
  "policy:",
  "  egress:",
  "  - ",
  "10.0.0.0/8",
  "  workloads:",
  "    - match: {name: web}",
  "detectors:",
  "  nope: {}",
  "\n",
  "\n  ",
  "\n    ",
  "\t",
  ": ",
  "- ",
  "? ",
  "[",
  "]",
  "{",
  "}",
  ",",
  "&a ",
  "*a",
  "&b [*a, *a]",
  "!!str ",
  "!!binary ",
  "!custom ",
  "|",
  ">-",
  "#",
  "'",
  '"',
  '"\\u0000"',
  "<<: ",
  "---\n",
  "...\n",
  "%YAML 1.2\n",
  "%TAG ! tag:x,2000:\n",
  "__proto__",
  "constructor",
  "\u00a0",
  "\ufeff",
);

const yamlNoise = fc.array(yamlToken, { maxLength: 40 }).map((t) => t.join(""));

const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    Number.MAX_SAFE_INTEGER,
    -1,
    0,
    1.5,
    1e308,
    "",
    "x".repeat(10_000),
    "*/15 * * * * *",
    "* * *",
    "../../etc/passwd",
    [],
    {},
  ),
);

/** A config object: random values at a handful of real key paths (and some unknown keys). */
const configObject = fc
  .array(fc.tuple(fc.constantFrom(...PATHS), jsonish, fc.boolean()), { maxLength: 8 })
  .map((entries) => {
    const root: Record<string, unknown> = {};
    for (const [path, value, typo] of entries) {
      let node = root;
      const keys = typo ? [...path.slice(0, -1), `${path[path.length - 1]}x`] : path;
      for (const k of keys.slice(0, -1)) {
        const next = node[k];
        if (next === null || typeof next !== "object" || Array.isArray(next)) node[k] = {};
        node = node[k] as Record<string, unknown>;
      }
      node[keys[keys.length - 1]!] = value;
    }
    return root;
  });

function nested(depth: number, open: string, close: string, leaf: string): string {
  return `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
}

/** Alias bomb: each level refers `fan` times to the level below. */
function aliasBomb(levels: number, fan: number, key: string): string {
  let text = `${key}:\n  l0: &l0 [x, x, x, x, x, x, x, x]\n`;
  for (let i = 1; i < levels; i++) {
    text += `  l${i}: &l${i} [${Array.from({ length: fan }, () => `*l${i - 1}`).join(", ")}]\n`;
  }
  return text;
}

describe("fuzz: parseConfigText", () => {
  it(
    "YAML-ish noise: never throws, every error names the source",
    () => {
      fc.assert(
        fc.property(yamlNoise, (text) => {
          parseChecked(text);
        }),
        fuzzParams(0xc0f1601, 600),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "random values at known key paths (and near-miss keys): never throws, errors name the source",
    () => {
      fc.assert(
        fc.property(configObject, (obj) => {
          parseChecked(stringify(obj));
        }),
        fuzzParams(0xc0f1602, 300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "mutated copies of config/netmon.yaml: never throws",
    () => {
      expect(parseChecked(SHIPPED).ok).toBe(true);
      fc.assert(
        fc.property(mutated(fc.constant(Buffer.from(SHIPPED, "utf8")), 8), (bytes) => {
          parseChecked(bytes.toString("utf8"));
        }),
        fuzzParams(0xc0f1603, 250),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "deep nesting and alias bombs: rejected with an error, never thrown, in bounded time",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: 1, max: 4000 }).map((d) => `policy:\n  egress: ${nested(d, "[", "]", "1")}\n`),
            fc.integer({ min: 1, max: 4000 }).map((d) => `alerts: ${nested(d, "{a: ", "}", "1")}\n`),
            fc
              .integer({ min: 1, max: 1500 })
              .map((d) => Array.from({ length: d }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n")),
            fc
              .tuple(
                fc.integer({ min: 1, max: 12 }),
                fc.integer({ min: 1, max: 12 }),
                fc.constantFrom("policy", "x"),
              )
              .map(([levels, fan, key]) => aliasBomb(levels, fan, key)),
          ),
          (text) => {
            const t0 = performance.now();
            parseChecked(text);
            expect(performance.now() - t0).toBeLessThan(2000);
          },
        ),
        fuzzParams(0xc0f1604, 60),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("regressions: an alias bomb ('billion laughs') is an error, not an exception", () => {
    const res = parseChecked(aliasBomb(9, 9, "policy"));
    expect(res.ok).toBe(false);
    expect(!res.ok && res.errors.join("\n")).toMatch(/alias/i);
    // An alias with no anchor used to throw a ReferenceError out of parseConfigText.
    for (const text of ["*a", "mode: *a\n", "policy:\n  egress: [*x]\n"]) {
      const r = parseChecked(text);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.errors[0]).toMatch(/^fuzz\.yaml: Unresolved alias/);
    }
    // Keys that name Object.prototype members are unknown keys, nothing more.
    const proto = parseChecked("__proto__: {polluted: 1}\nflows:\n  constructor: 1\n");
    expect(proto.ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Megabytes of one scalar.
    expect(parseChecked(`mode: ${"x".repeat(2_000_000)}\n`).ok).toBe(false);
  });
});

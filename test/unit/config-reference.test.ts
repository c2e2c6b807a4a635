import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configYaml, referenceRows, withReferenceTable } from "../../src/config/config-doc.js";
import { defaultConfig, parseConfigText } from "../../src/config/load.js";

const root = new URL("../../", import.meta.url);
const README = new URL("README.md", root);
const NETMON_YAML = new URL("config/netmon.yaml", root);
const UPDATE = process.env.UPDATE_DOCS === "1";

/** Every leaf key of a configuration object, dotted. */
function leaves(o: object, prefix = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? leaves(v, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

describe("configuration reference generated from the schema", () => {
  // An undocumented option is one nobody can use safely.
  it("every key has a description", () => {
    expect(referenceRows().filter((r) => r.doc === "")).toEqual([]);
  });

  it("has one row per key of the defaults, in schema order", () => {
    expect(referenceRows().map((r) => r.key)).toEqual(leaves(defaultConfig()));
  });

  it("the generated netmon.yaml loads to exactly the defaults", () => {
    expect(parseConfigText(configYaml(), "generated")).toEqual({ ok: true, config: defaultConfig() });
  });

  it("shows a restart-only key as such", () => {
    const rows = new Map(referenceRows().map((r) => [r.key, r]));
    expect(rows.get("capture.snaplen")?.restart).toBe(true);
    expect(rows.get("policy.egress")?.restart).toBe(false);
  });

  // The shipped file and the README are generated, so they cannot drift from the code's defaults.
  it("config/netmon.yaml is the generated text", () => {
    const generated = configYaml();
    if (UPDATE) writeFileSync(NETMON_YAML, generated);
    expect(readFileSync(NETMON_YAML, "utf8")).toBe(generated);
  });

  it("the README's table is the generated one", () => {
    const text = readFileSync(README, "utf8");
    const generated = withReferenceTable(text);
    if (UPDATE) writeFileSync(README, generated);
    expect(readFileSync(README, "utf8")).toBe(generated);
  });
});

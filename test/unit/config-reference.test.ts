import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configReference, referenceMarkdown } from "../../src/config/reference.js";

const root = new URL("../../", import.meta.url);
const README = new URL("README.md", root);
const BEGIN =
  "<!-- config-reference:begin (generated from config/netmon.yaml by test/unit/config-reference.test.ts; UPDATE_DOCS=1 rewrites it) -->";
const END = "<!-- config-reference:end -->";

describe("configuration reference in the README", () => {
  const rows = configReference(readFileSync(new URL("config/netmon.yaml", root), "utf8"));

  // Every leaf key is documented: an undocumented option is one nobody can use safely.
  it("every key in config/netmon.yaml has a comment", () => {
    const undocumented = rows.filter(
      (r) => r.default !== "" && r.doc === "" && !/^detectors\.[^.]+$/.test(r.key),
    );
    expect(undocumented.map((r) => r.key)).toEqual([]);
  });

  // The README's table is generated, so it cannot drift from the defaults the code uses.
  it("matches the generated table", () => {
    const text = readFileSync(README, "utf8");
    const generated = `${BEGIN}\n${referenceMarkdown(rows)}\n${END}`;
    const start = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    if (process.env.UPDATE_DOCS === "1") {
      const next =
        start >= 0 && end > start
          ? `${text.slice(0, start)}${generated}${text.slice(end + END.length)}`
          : text;
      writeFileSync(README, next);
      return;
    }
    expect(start).toBeGreaterThanOrEqual(0);
    expect(text.slice(start, end + END.length)).toBe(generated);
  });
});

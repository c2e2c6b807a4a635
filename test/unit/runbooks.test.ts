import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = new URL("../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const rules = parse(readFileSync(new URL("config/prometheus/netmon.rules.yml", root), "utf8")) as {
  groups: { rules: { alert: string; annotations: { runbook_url: string } }[] }[];
};

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, "")
    .replace(/ /g, "-");
}

describe("runbooks", () => {
  const anchors = new Set(
    readme
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .map((l) => anchor(l.replace(/^#+\s*/, ""))),
  );
  const alerts = rules.groups.flatMap((g) => g.rules);

  // A runbook link that leads nowhere is worse than none at 3 a.m.
  it.each(alerts.map((r) => [r.alert, r.annotations.runbook_url] as const))(
    "%s links to a README runbook",
    (name, url) => {
      const fragment = url.split("#")[1] ?? "";
      expect(fragment).toBe(`runbook-${name.toLowerCase()}`);
      expect(anchors.has(fragment)).toBe(true);
    },
  );
});

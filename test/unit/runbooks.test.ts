import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DETECTORS } from "../../detectors/index.js";
import { FAN_OUT_KIND } from "../../src/alerts/incidents.js";
import { githubSlug, runbookHeadingOf, runbookUrlOf } from "../../src/alerts/runbooks.js";

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

  // Every alert line carries `runbook`: each finding kind must lead to a heading that exists.
  const kinds = DETECTORS.flatMap((d) => Object.keys(d.findings).map((k) => [d.name, k] as const));
  it.each(kinds)("%s/%s has a README runbook", (detector, kind) => {
    const url = runbookUrlOf("https://example.org/README.md", detector, kind);
    const fragment = url.split("#")[1] ?? "";
    expect(fragment).toBe(githubSlug(runbookHeadingOf(detector, kind)));
    expect(anchors.has(fragment)).toBe(true);
  });

  it("the fan-out incident and the kinds apart link to their own runbooks", () => {
    expect(runbookHeadingOf("unexpected-outbound", FAN_OUT_KIND)).toBe("Runbook: NetmonUnexpectedOutbound");
    expect(runbookHeadingOf("unexpected-outbound", "denylisted")).toBe(
      "Runbook: NetmonUnexpectedOutboundCritical",
    );
    expect(runbookHeadingOf("unusual-listener", "undeclared-loopback-port")).toBe(
      "Runbook: NetmonUnusualListenerInfo",
    );
    expect(runbookUrlOf("https://x.org/README.md#old", "beaconing", "beacon")).toBe(
      "https://x.org/README.md#runbook-netmonbeaconing",
    );
  });

  it("agrees with the test's own slug rule on every heading", () => {
    for (const l of readme.split("\n").filter((h) => h.startsWith("### Runbook: "))) {
      const heading = l.replace(/^#+\s*/, "");
      expect(githubSlug(heading)).toBe(anchor(heading));
    }
  });
});

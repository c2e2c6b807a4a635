/**
 * Every `fix` an alert prints must be usable as printed: a `netmon.egress=` / `netmon.listen=` label
 * that the real label parser takes whole, or a `detectors.<name>.<option>: value` the config schema
 * accepts. Checked on every golden case's expectations (every finding shape) and on the builders.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { egressLabelFix, egressRuleFor, listenLabelFix } from "../../src/alerts/next-step.js";
import { configSchema } from "../../src/config/schema.js";
import { parseEgressList } from "../../src/rules/egress-rule.js";
import { LABEL_EGRESS, LABEL_LISTEN } from "../../src/rules/label-policy.js";
import { parseListenList } from "../../src/rules/listen-rule.js";
import { CASES_DIR } from "../cases/make-cases.js";

/** Why a fix does not parse, or null when it does. */
function fixError(fix: string): string | null {
  const label = /^(netmon\.[a-z]+)=(.+)$/.exec(fix);
  if (label !== null) {
    const parsed =
      label[1] === LABEL_EGRESS
        ? parseEgressList(label[2]!)
        : label[1] === LABEL_LISTEN
          ? parseListenList(label[2]!)
          : null;
    if (parsed === null) return `unknown label ${label[1]}`;
    if (parsed.errors.length > 0 || parsed.rules.length !== 1)
      return parsed.errors.join("; ") || "not one rule";
    return null;
  }
  const option = /^detectors\.([a-z-]+)\.([A-Za-z]+): (.+)$/.exec(fix);
  if (option === null) return "neither a label nor a detector option";
  const config = { detectors: { [option[1]!]: { [option[2]!]: JSON.parse(option[3]!) as unknown } } };
  const result = configSchema.safeParse(config);
  return result.success ? null : result.error.message;
}

const goldenFixes = readdirSync(CASES_DIR)
  .filter((n) => statSync(join(CASES_DIR, n)).isDirectory())
  .flatMap((n) => {
    const file = join(CASES_DIR, n, "expected-alerts.json");
    const alerts = JSON.parse(readFileSync(file, "utf8")) as { fix: string | null; detector: string }[];
    return alerts.filter((a) => a.fix !== null).map((a) => [n, a.fix!] as const);
  });

describe("alert fixes parse", () => {
  it("the golden cases name fixes", () => {
    expect(goldenFixes.length).toBeGreaterThan(10);
  });

  it.each(goldenFixes)("%s: %s", (_, fix) => {
    expect(fixError(fix)).toBeNull();
  });

  it("names a container by its Compose service, else its name, else the DNS name, else the IP", () => {
    const c = { id: "c", name: "shop-cache-1", image: "redis", service: "cache", project: "shop" };
    expect(egressLabelFix({ ip: "172.20.0.4", port: 6379, proto: "tcp", container: c })).toBe(
      "netmon.egress=cache:6379/tcp",
    );
    expect(
      egressRuleFor({ ip: "172.20.0.4", port: 6379, proto: "tcp", container: { ...c, service: null } }),
    ).toBe("shop-cache-1:6379/tcp");
    expect(
      egressRuleFor({
        ip: "203.0.113.9",
        port: 443,
        proto: "tcp",
        container: null,
        names: ["API.example.com."],
      }),
    ).toBe("api.example.com:443/tcp");
    expect(egressRuleFor({ ip: "2001:db8::1", port: 443, proto: "tcp", container: null })).toBe(
      "[2001:db8::1]:443/tcp",
    );
    // A name the label grammar refuses falls back to the IP, so the fix still parses.
    expect(
      egressRuleFor({ ip: "203.0.113.9", port: 53, proto: "udp", container: null, names: ["bad name"] }),
    ).toBe("203.0.113.9:53/udp");
    for (const fix of [
      egressLabelFix({ ip: "2001:db8::1", port: 443, proto: "tcp", container: null }),
      listenLabelFix(8080, "tcp"),
    ]) {
      expect(fixError(fix)).toBeNull();
    }
  });
});

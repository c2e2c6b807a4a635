import { describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { containerUiUrl, externalBaseUrl, toAmAlert } from "../../src/alerts/alertmanager-payload.js";
import { runbookUrlOf } from "../../src/alerts/runbooks.js";
import { alertOf } from "../support/fixtures.js";

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const RUNBOOK = runbookUrlOf("https://example.org/README.md", "unexpected-outbound", "unexpected");

function alert(extra: Partial<Alert> = {}): Alert {
  return alertOf({ detector: "unexpected-outbound", firstSeen: T0, lastSeen: T0, ...extra });
}

describe("Alertmanager payload: the next step", () => {
  it("carries fix and runbook_url as annotations, the fix first in the description", () => {
    const am = toAmAlert(alert({ fix: "netmon.egress=cache:6379/tcp", runbook: RUNBOOK }), "h1", false);
    expect(am.annotations.fix).toBe("netmon.egress=cache:6379/tcp");
    expect(am.annotations.runbook_url).toBe("https://example.org/README.md#runbook-netmonunexpectedoutbound");
    const lines = am.annotations.description!.split("\n");
    expect(lines[1]).toBe("fix: netmon.egress=cache:6379/tcp");
    expect(lines[2]).toBe(`runbook: ${RUNBOOK}`);
  });

  it("says that nothing must allow a destination whose fix is null, and carries no fix annotation", () => {
    const am = toAmAlert(alert({ severity: "critical", fix: null, runbook: RUNBOOK }), "h1", false);
    expect(am.annotations).not.toHaveProperty("fix");
    expect(am.annotations.description).toContain("fix: none, it must not be allowed");
  });

  it("points generatorURL at the container in /ui when netmon's base URL is known", () => {
    const a = alert({
      container: { id: "0123456789abcdef", name: "web-1", image: "i", service: null, project: null },
    });
    expect(toAmAlert(a, "h1", false).generatorURL).toBeUndefined();
    expect(toAmAlert(a, "h1", false, { baseUrl: "https://netmon.example.org/" }).generatorURL).toBe(
      "https://netmon.example.org/ui?container=0123456789ab",
    );
  });

  it("builds the base URL from alerts.externalUrl, else from the listen address", () => {
    expect(externalBaseUrl("https://netmon.example.org/", "127.0.0.1", 9797)).toBe(
      "https://netmon.example.org",
    );
    expect(externalBaseUrl(null, "127.0.0.1", 9797)).toBe("http://127.0.0.1:9797");
    expect(externalBaseUrl(null, "::1", 9797)).toBe("http://[::1]:9797");
    expect(containerUiUrl("http://[::1]:9797", "abc")).toBe("http://[::1]:9797/ui?container=abc");
  });
});

describe("Alertmanager payload: fleet identity and flow join", () => {
  it("labels the alert with the host it comes from", () => {
    expect(toAmAlert(alert(), "web-07.eu", false).labels.host).toBe("web-07.eu");
  });

  it("carries the flow's Community ID as an annotation (never a label) and in the description", () => {
    const a = alert({
      src: { ip: "fd00:1::5", port: 53000, proto: "udp" },
      dst: { ip: "2001:db8::53", port: 53, proto: "udp" },
    });
    const am = toAmAlert(a, "h1", false);
    // Computed apart (Python hashlib over the spec's byte layout).
    expect(am.annotations.community_id).toBe("1:hYYpTMNOACUAeFfWHHjVTA2QyeY=");
    expect(am.annotations.description).toContain("community id: 1:hYYpTMNOACUAeFfWHHjVTA2QyeY=");
    expect(Object.keys(am.labels)).not.toContain("community_id");
  });

  it("has no Community ID when the alert is about no single flow", () => {
    const scan = alert({ src: { ip: "172.18.0.5", port: 0, proto: "tcp" } });
    expect(toAmAlert(scan, "h1", false).annotations).not.toHaveProperty("community_id");
    const fanOut = alert({ dst: undefined });
    expect(toAmAlert(fanOut, "h1", false).annotations).not.toHaveProperty("community_id");
  });
});

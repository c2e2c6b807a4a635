import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../src/config/load.js";
import type { NetmonConfig } from "../../src/config/schema.js";
import { CAP_NET_ADMIN, CAP_NET_RAW } from "../../src/daemon/capabilities.js";
import { checkPrerequisites, type HostProbe } from "../../src/daemon/prerequisites.js";
import { startupLine } from "../../src/daemon/startup-line.js";
import { StatusMetrics } from "../../src/daemon/status-metrics.js";
import type { Mode } from "../../src/model/mode.js";
import { containerRef } from "../support/fixtures.js";

function config(patch: (c: NetmonConfig) => void = () => {}): NetmonConfig {
  const c = defaultConfig();
  patch(c);
  return c;
}

/** A host where nothing is allowed, recording what was asked in order. */
function deniedHost(caps: number[] = []): HostProbe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    hasCapability(cap) {
      asked.push(`cap ${cap}`);
      return caps.includes(cap);
    },
    ensureWritableDir(path) {
      asked.push(`dir ${path}`);
      throw Object.assign(new Error("denied"), { code: "EACCES" });
    },
  };
}

describe("prerequisites, in the order a person fixes them", () => {
  it("names the missing CAP_NET_RAW first, before the state directory is touched", () => {
    const host = deniedHost();
    expect(() => checkPrerequisites(config(), host)).toThrow(/needs CAP_NET_RAW.*sudo netmon run/);
    expect(host.asked).toEqual([`cap ${CAP_NET_RAW}`]);
  });

  it("then CAP_NET_ADMIN for enforce mode, then the state directory with the command to fix it", () => {
    const enforce = config((c) => {
      c.blocking.mode = "enforce";
    });
    expect(() => checkPrerequisites(enforce, deniedHost([CAP_NET_RAW]))).toThrow(
      /enforce needs CAP_NET_ADMIN/,
    );
    const host = deniedHost([CAP_NET_RAW, CAP_NET_ADMIN]);
    expect(() => checkPrerequisites(enforce, host)).toThrow(
      /state directory \/var\/lib\/netmon is not writable \(EACCES\): create it .*sudo install -d/,
    );
    expect(host.asked.at(-1)).toBe("dir /var/lib/netmon");
  });

  it("passes on a host that has everything", () => {
    const ok: HostProbe = { hasCapability: () => true, ensureWritableDir: () => {} };
    expect(() => checkPrerequisites(config(), ok)).not.toThrow();
  });
});

describe("the start-up line", () => {
  it("names the embedded defaults, where to look, and the learning rule in words", () => {
    const line = startupLine(config(), null);
    expect(line.msg).toBe("netmon started");
    expect(line.fields).toEqual({
      config: "embedded defaults",
      metrics: "http://127.0.0.1:9797/metrics",
      ui: "http://127.0.0.1:9797/ui",
      learning: "workloads without netmon labels learn for 10 min first; labelled ones are judged at once",
    });
  });

  it("names the config file, an IPv6 listen address in brackets, and a judged-at-once rule", () => {
    const c = config((x) => {
      x.http.listen = "::1";
      x.baseline.learnForSeconds = 0;
    });
    const line = startupLine(c, "/etc/netmon/netmon.yaml");
    expect(line.fields.config).toBe("/etc/netmon/netmon.yaml");
    expect(line.fields.ui).toBe("http://[::1]:9797/ui");
    expect(line.fields.learning).toMatch(/judged at once/);
  });

  it("says when there is no HTTP endpoint and when the global mode never alerts", () => {
    const c = config((x) => {
      x.http.enabled = false;
      x.mode = "learn";
    });
    const line = startupLine(c, null);
    expect(line.fields.metrics).toBeNull();
    expect(line.fields.learning).toMatch(/every workload learns/);
  });
});

describe("status metrics", () => {
  const web1 = containerRef("shop-web-1");
  const web2 = containerRef("shop-web-2");
  const db = containerRef("shop-db-1");
  const modes: Record<string, Mode> = {
    "shop-web-1": "learn",
    "shop-web-2": "learn",
    "shop-db-1": "monitor",
  };

  async function scrape(registry: Registry): Promise<string> {
    return registry.metrics();
  }

  it("counts workloads (not containers) by effective mode, every mode present, no container names", async () => {
    const registry = new Registry();
    new StatusMetrics(registry, {
      running: () => [web1, web2, db],
      workloadOf: (ref) => (ref.name.startsWith("shop-web") ? "shop/web" : "shop/db"),
      modeOf: (ref) => modes[ref.name] ?? "off",
      baselineEntries: () => ({ egress: 7, listen: 2 }),
    });
    const text = await scrape(registry);
    expect(text).toContain('netmon_workloads{mode="learn"} 1');
    expect(text).toContain('netmon_workloads{mode="monitor"} 1');
    expect(text).toContain('netmon_workloads{mode="enforce"} 0');
    expect(text).toContain('netmon_workloads{mode="off"} 0');
    expect(text).not.toContain("shop-web");
    expect(text).toContain('netmon_baseline_entries{kind="egress"} 7');
    expect(text).toContain('netmon_baseline_entries{kind="listen"} 2');
  });

  it("reports the last reload's outcome and keeps the time of the last good one", async () => {
    const registry = new Registry();
    const status = new StatusMetrics(
      registry,
      {
        running: () => [],
        workloadOf: () => "",
        modeOf: () => "off",
        baselineEntries: () => ({ egress: 0, listen: 0 }),
      },
      () => 1_000_000,
    );
    expect(await scrape(registry)).toContain("netmon_config_last_reload_successful 1");
    expect(await scrape(registry)).toContain("netmon_config_last_reload_success_timestamp_seconds 1000");
    status.reload(false, 2_000_000);
    const text = await scrape(registry);
    expect(text).toContain("netmon_config_last_reload_successful 0");
    expect(text).toContain("netmon_config_last_reload_success_timestamp_seconds 1000");
  });
});

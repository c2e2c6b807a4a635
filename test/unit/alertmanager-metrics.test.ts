import { describe, expect, it } from "vitest";
import { type MetricSources, NetmonMetrics } from "../../src/daemon/metrics.js";

type Peers = NonNullable<ReturnType<MetricSources["alertmanagerStats"]>>["peers"];

function metricsWith(peers: () => Peers | null): NetmonMetrics {
  const sources: MetricSources = {
    captureStats: () => [],
    flowsActive: () => 0,
    containersMonitored: () => 0,
    dockerConnected: () => true,
    activeAlerts: () => [],
    detectorCounters: () => ({}),
    suppressed: () => ({}),
    alertmanagerStats: () => {
      const p = peers();
      return p === null ? null : { peers: p };
    },
    blocksActive: () => 0,
    modeChanges: () => 0,
  };
  return new NetmonMetrics(sources, "0.0.0");
}

const A = "http://127.0.0.1:9093";
const B = "http://127.0.0.1:9094";

describe("Alertmanager push metrics", () => {
  it("has one series per peer, so a dead peer of the cluster shows on its own", async () => {
    let peers: Peers = [
      { peer: A, sent: 4, failed: 0, dropped: 0, queued: 0 },
      { peer: B, sent: 0, failed: 7, dropped: 2, queued: 3 },
    ];
    const metrics = metricsWith(() => peers);
    let text = await metrics.registry.metrics();
    expect(text).toContain(`netmon_alertmanager_sent_total{peer="${A}"} 4`);
    expect(text).toContain(`netmon_alertmanager_sent_total{peer="${B}"} 0`);
    expect(text).toContain(`netmon_alertmanager_failed_total{peer="${B}"} 7`);
    expect(text).toContain(`netmon_alertmanager_dropped_total{peer="${B}"} 2`);
    expect(text).toContain(`netmon_alertmanager_queued{peer="${B}"} 3`);
    peers = [
      { peer: A, sent: 6, failed: 0, dropped: 0, queued: 0 },
      { peer: B, sent: 3, failed: 7, dropped: 2, queued: 0 },
    ];
    text = await metrics.registry.metrics();
    expect(text).toContain(`netmon_alertmanager_sent_total{peer="${A}"} 6`);
    expect(text).toContain(`netmon_alertmanager_queued{peer="${B}"} 0`);
  });

  it("has no push series when no Alertmanager is configured", async () => {
    const text = await metricsWith(() => null).registry.metrics();
    expect(text).not.toMatch(/^netmon_alertmanager_\w+\{/m);
  });
});

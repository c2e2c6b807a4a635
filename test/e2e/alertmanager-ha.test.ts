import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { AlertmanagerSink } from "../../src/alerts/alertmanager-sink.js";
import { alertOf } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";
import {
  type AlertmanagerPeer,
  GROUP_INTERVAL_MS,
  NotificationLog,
  PEER_TIMEOUT_MS,
  startCluster,
} from "./support/alertmanager-cluster.js";
import { ALERTMANAGER } from "./support/prom-stack.js";

/**
 * Alertmanager HA as its clients must use it: netmon's push (the real AlertmanagerSink, in process)
 * posts every alert to both peers of a real two-node Alertmanager 0.25 cluster on loopback, and the
 * cluster's gossip turns that into one notification per change at one webhook.
 *
 * In process rather than through a daemon and a container: what is under test is the sink's
 * fan-out and per-peer retry against the real cluster, and the exact moment a peer dies. A real
 * container incident (covered end to end by alerting.test.ts, daemon → Alertmanager) would add tens
 * of seconds of detection and resolution timing to every step without testing more of this.
 */

function toolReady(): boolean {
  if (existsSync(ALERTMANAGER)) return true;
  if (process.env.CI === "true")
    throw new Error(`missing in CI: ${ALERTMANAGER} (apt-get install prometheus-alertmanager)`);
  console.warn(`skipping: ${ALERTMANAGER} not installed`);
  return false;
}

/** Long enough for the later peer (position 1) to have sent a duplicate at its next flush, if any. */
const QUIET_MS = GROUP_INTERVAL_MS + 2 * PEER_TIMEOUT_MS + 1_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(toolReady())("Alertmanager HA: two clustered peers, one webhook", () => {
  const webhook = new NotificationLog();
  let peers: [AlertmanagerPeer, AlertmanagerPeer];
  let sink: AlertmanagerSink;

  beforeAll(async () => {
    await webhook.start();
    peers = await startCluster(webhook.port);
    sink = new AlertmanagerSink({
      urls: peers.map((p) => p.url),
      host: "ha-test",
      log: captureLog().log,
      resendIntervalMs: 1_000,
      timeoutMs: 2_000,
      retryMinMs: 200,
      retryMaxMs: 1_000,
    });
  });

  afterAll(async () => {
    await sink?.close();
    await Promise.all((peers ?? []).map((p) => p.stop()));
    webhook.stop();
  });

  const incident = (fingerprint: string): Alert =>
    alertOf({ fingerprint, firstSeen: Date.now(), lastSeen: Date.now() });

  it("one incident: both peers hold it, the webhook gets exactly one notification, and one for its resolution", async () => {
    const alert = incident("ha-incident-1");
    sink.onAlert(alert, "fired");
    const fired = await webhook.waitFor(alert.fingerprint, "firing", 20_000);
    // The client contract: netmon posted to every peer, not just one.
    for (const p of peers) expect(await p.alertsWith(alert.fingerprint)).toHaveLength(1);
    await sleep(QUIET_MS); // re-sends every second meanwhile: still no second notification
    expect(webhook.about(alert.fingerprint, "firing"), webhook.describe()).toEqual([fired]);

    sink.onAlert({ ...alert, lastSeen: Date.now(), state: "resolved" }, "resolved");
    const resolved = await webhook.waitFor(alert.fingerprint, "resolved", 20_000);
    await sleep(QUIET_MS);
    expect(webhook.about(alert.fingerprint, "resolved"), webhook.describe()).toEqual([resolved]);
    expect(webhook.about(alert.fingerprint, "firing")).toHaveLength(1);
    expect(sink.stats().peers.map((p) => p.failed)).toEqual([0, 0]);
  }, 90_000);

  it("a peer killed mid-incident: the other still delivers the resolution, once", async () => {
    const alert = incident("ha-incident-2");
    sink.onAlert(alert, "fired");
    const fired = await webhook.waitFor(alert.fingerprint, "firing", 20_000);
    await sleep(QUIET_MS);
    expect(webhook.about(alert.fingerprint, "firing"), webhook.describe()).toEqual([fired]);

    // Kill the peer that sent the notification: the survivor must take over on its own.
    const senderIndex = peers.findIndex((p) => p.url === fired.externalURL);
    expect(senderIndex).toBeGreaterThanOrEqual(0);
    const dead = peers[senderIndex]!;
    const survivor = peers[1 - senderIndex]!;
    await dead.kill();
    const sentBefore = sink.stats().peers[1 - senderIndex]!.sent;

    sink.onAlert({ ...alert, lastSeen: Date.now(), state: "resolved" }, "resolved");
    const resolved = await webhook.waitFor(alert.fingerprint, "resolved", 30_000);
    expect(resolved.externalURL).toBe(survivor.url);
    await sleep(QUIET_MS);
    expect(webhook.about(alert.fingerprint, "resolved"), webhook.describe()).toEqual([resolved]);
    expect(webhook.about(alert.fingerprint, "firing")).toHaveLength(1);

    // The dead peer's pushes fail (and are retried from its own bounded queue); the survivor's go on.
    const stats = sink.stats().peers;
    expect(stats[senderIndex]!.failed).toBeGreaterThan(0);
    expect(stats[1 - senderIndex]!.sent).toBeGreaterThan(sentBefore);
    expect(stats[1 - senderIndex]!.queued).toBe(0);

    // A new incident while the peer is still dead: one notification, from the survivor.
    const next = incident("ha-incident-3");
    sink.onAlert(next, "fired");
    const nextFired = await webhook.waitFor(next.fingerprint, "firing", 30_000);
    expect(nextFired.externalURL).toBe(survivor.url);
    await sleep(QUIET_MS);
    expect(webhook.about(next.fingerprint, "firing"), webhook.describe()).toEqual([nextFired]);
  }, 150_000);
});

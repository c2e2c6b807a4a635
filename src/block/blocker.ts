import type { Alert, AlertAction, AlertDecider } from "../alerts/alert.js";
import type { ContainerInfo } from "../inventory/types.js";
import type { ContainerRef } from "../model/events.js";
import type { Mode } from "../model/mode.js";
import type { Logger } from "../util/logger.js";
import type { BlockingConfig } from "./block-config.js";
import { type BlockStateData, blockId, loadBlockState, saveBlockState } from "./block-state.js";
import { decideBlock } from "./decision.js";
import type { Firewall } from "./firewall.js";
import type { BackendReport, FirewallProbe } from "./firewall-backend.js";
import { FirewallGuard } from "./firewall-guard.js";
import type { RepairReason } from "./firewall-layout.js";
import { BlockRateLimit, NeverBlock } from "./safety.js";
import { type BlockRecord, entryText } from "./types.js";

const ESCALATION_WINDOW_MS = 24 * 3600 * 1000;

export interface BlockerOptions {
  config: BlockingConfig;
  containers: { get(id: string): ContainerInfo | undefined; all(): ContainerInfo[] };
  firewall: Firewall;
  /** dry-run: the firewall runs a recording runner and nothing reaches the kernel. */
  dryRun: boolean;
  /** Addresses never blocked beyond the configured list: the DNS resolvers containers use. */
  resolvers: readonly string[];
  statePath: string;
  log: Logger;
  /** Effective mode of a container's workload at packet time: only `enforce` is ever blocked. */
  modeOf: (container: ContainerRef, ts: number) => Mode;
  /** Counts every firewall action: action add|remove|expire, result ok|error|dry-run|refused. */
  onAction?: (action: string, result: string) => void;
  /** Read-only look at the host's firewall before blocking starts (probeFirewall); absent in unit tests. */
  probe?: () => FirewallProbe;
  /** The firewall backend found: netmon_block_backend_ok. */
  onBackend?: (report: BackendReport) => void;
  /** A repair of netmon's jump or chain by the reconcile loop: netmon_block_repairs_total. */
  onRepair?: (reason: RepairReason) => void;
  now?: () => number;
}

/**
 * The decision side of blocking (CrowdSec's bouncer model): alerts → decisions → the firewall.
 * Detectors never touch the firewall; this sink does, only for workloads in `enforce` mode, after
 * the never-block list, the rate limit and the cap. A failed command is logged and counted and
 * never stops detection. It is the alert manager's decide stage: it runs before every sink, so the
 * alert line says what was done.
 */
export class Blocker implements AlertDecider {
  private readonly state: BlockStateData;
  private readonly never: NeverBlock;
  private readonly rate: BlockRateLimit;
  private readonly now: () => number;
  private readonly guard: FirewallGuard;

  constructor(private readonly o: BlockerOptions) {
    this.state = loadBlockState(o.statePath);
    this.never = new NeverBlock(o.config.neverBlock);
    this.rate = new BlockRateLimit(o.config.maxBlocksPerMinute);
    this.now = o.now ?? Date.now;
    this.guard = new FirewallGuard({
      firewall: o.firewall,
      probe: o.probe,
      dryRun: o.dryRun,
      log: o.log,
      onBackend: o.onBackend,
      onRepair: o.onRepair,
    });
  }

  /**
   * Detects the firewall backend, sets up netmon's chain and sets (or prints the commands in
   * dry-run), then reconciles with the kernel: entries in netmon's sets are adopted, records of
   * blocks the kernel has expired dropped. When blocking cannot work on this host it says so once
   * (error line, metric) and refuses every block; detection goes on.
   */
  start(): void {
    this.refreshNeverBlock();
    const ready = this.guard.start(this.never.cidrs());
    this.reconcile();
    if (!ready) return;
    this.o.log.info(
      { mode: this.o.dryRun ? "dry-run" : "enforce", active: this.state.blocks.length },
      "blocking ready",
    );
  }

  /** The reconcile loop's tick (blocking.reconcileSeconds): netmon's jump and chain, restored when lost. */
  checkFirewall(): void {
    this.guard.check(this.never.cidrs());
  }

  /** Adds the gateways of every known network to the never-block list; true when it grew. */
  refreshNeverBlock(): boolean {
    let grew = false;
    for (const r of this.o.resolvers) grew = this.never.add(r) || grew;
    for (const c of this.o.containers.all())
      for (const n of c.networks) if (n.gateway) grew = this.never.add(n.gateway) || grew;
    return grew;
  }

  /** After an inventory change: a new network's gateway joins the never-block list, in the kernel too. */
  onInventoryChange(): void {
    if (!this.refreshNeverBlock() || !this.guard.available()) return;
    try {
      this.o.firewall.ensure(this.never.cidrs());
    } catch (err) {
      this.o.onAction?.("setup", "error");
      this.o.log.error({ err: String(err) }, "cannot update the never-block set");
    }
  }

  reconcile(): void {
    const kernel = this.o.dryRun ? null : this.o.firewall.list();
    const now = this.now();
    const byId = new Map(this.state.blocks.map((b) => [b.id, b]));
    const kept: BlockRecord[] = [];
    if (kernel === null) {
      kept.push(...this.state.blocks.filter((b) => b.expiresAt > now));
    } else {
      for (const k of kernel) {
        const id = blockId(k.entry);
        const known = byId.get(id);
        kept.push(
          known ?? {
            id,
            entry: k.entry,
            container: "?",
            workload: "?",
            fingerprint: "",
            reason: "adopted from the kernel (no record)",
            createdAt: now,
            expiresAt: now + k.timeoutLeft * 1000,
          },
        );
      }
      for (const b of this.state.blocks)
        if (!kept.some((k) => k.id === b.id)) this.o.onAction?.("expire", "ok");
    }
    this.state.blocks = kept;
    this.save();
  }

  active(): BlockRecord[] {
    const now = this.now();
    return this.state.blocks.filter((b) => b.expiresAt > now);
  }

  /** Blocks what the rules say for an alert of an enforce-mode workload; returns the action taken, or null. */
  decide(alert: Alert): AlertAction | null {
    const container = this.o.containers.get(alert.container.id);
    if (container === undefined) return null;
    if (this.o.modeOf(alert.container, alert.lastSeen) !== "enforce") return null;
    const ips = container.networks.flatMap((n) => [n.ipv4, n.ipv6].filter((ip): ip is string => ip !== null));
    const now = this.now();
    const decision = decideBlock(alert, this.o.config, ips, 0);
    if (decision === null) return null;
    if (!this.guard.available()) {
      const first = decision.entries[0];
      if (first)
        this.refuse(alert, entryText(first), "blocking cannot work on this host (see the start-up error)");
      return null;
    }
    const history = (this.state.history[decision.targetKey] ?? []).filter(
      (t) => t > now - ESCALATION_WINDOW_MS,
    );
    const escalated = decideBlock(alert, this.o.config, ips, history.length) ?? decision;
    let applied = 0;
    let added = 0;
    for (const entry of escalated.entries) {
      const id = blockId(entry);
      const refused = this.never.refuse(entry);
      if (refused !== null) {
        this.refuse(alert, entryText(entry), refused);
        continue;
      }
      if (!this.o.firewall.supports(entry.family)) {
        // No NETMON chain for this family (e.g. Docker without ip6tables): an entry would cut nothing.
        this.refuse(alert, entryText(entry), `IPv${entry.family} blocking is not set up on this host`);
        continue;
      }
      if (this.active().some((b) => b.id === id)) {
        applied++;
        continue; // already blocked: the kernel entry keeps its timeout
      }
      if (this.active().length >= this.o.config.maxActiveBlocks) {
        this.refuse(
          alert,
          entryText(entry),
          `the cap of ${this.o.config.maxActiveBlocks} active blocks is reached`,
        );
        continue;
      }
      if (!this.rate.take(now)) {
        this.refuse(
          alert,
          entryText(entry),
          `more than ${this.o.config.maxBlocksPerMinute} new blocks this minute`,
        );
        continue;
      }
      // The record goes to disk before the kernel entry: a crash in between leaves a record the
      // next start drops (no kernel entry), never a kernel entry nobody can explain.
      const record: BlockRecord = {
        id,
        entry,
        container: alert.container.name,
        workload: alert.workload,
        fingerprint: alert.fingerprint,
        reason: escalated.reason,
        createdAt: now,
        expiresAt: now + escalated.durationSeconds * 1000,
      };
      this.state.blocks.push(record);
      this.save();
      try {
        this.o.firewall.add(entry, escalated.durationSeconds);
      } catch (err) {
        this.state.blocks = this.state.blocks.filter((b) => b !== record);
        this.save();
        this.o.onAction?.("add", "error");
        this.o.log.error(
          { fingerprint: alert.fingerprint, entry: entryText(entry), err: String(err) },
          "block failed",
        );
        continue;
      }
      this.o.onAction?.("add", this.o.dryRun ? "dry-run" : "ok");
      applied++;
      added++;
      this.o.log.warn(
        {
          block: { id, entry: entryText(entry), seconds: escalated.durationSeconds, repeat: history.length },
          fingerprint: alert.fingerprint,
          container: alert.container.name,
          dryRun: this.o.dryRun,
        },
        this.o.dryRun ? "dry-run: would block" : "blocked",
      );
    }
    if (applied === 0) return null;
    // Only a new block is a repeat: a re-notification while the block holds must not escalate the next one.
    if (added > 0) {
      this.state.history[escalated.targetKey] = [...history, now].slice(-64);
      this.save();
    }
    return this.o.dryRun ? "dry-run-block" : "blocked";
  }

  /** Removes one block by id (CLI, or shutdown with onShutdown: remove). */
  remove(id: string): boolean {
    const b = this.state.blocks.find((x) => x.id === id);
    if (!b) return false;
    try {
      this.o.firewall.remove(b.entry);
      this.o.onAction?.("remove", this.o.dryRun ? "dry-run" : "ok");
    } catch (err) {
      this.o.onAction?.("remove", "error");
      this.o.log.error({ id, err: String(err) }, "unblock failed");
      return false;
    }
    this.state.blocks = this.state.blocks.filter((x) => x.id !== id);
    this.save();
    return true;
  }

  /** SIGTERM: keep the blocks (their kernel timeouts run on) or remove them, per config. */
  stop(): void {
    if (this.o.config.onShutdown === "remove") for (const b of [...this.state.blocks]) this.remove(b.id);
  }

  private refuse(alert: Alert, entry: string, why: string): void {
    this.o.onAction?.("add", "refused");
    this.o.log.warn({ fingerprint: alert.fingerprint, entry, reason: why }, "block refused");
  }

  private save(): void {
    try {
      saveBlockState(this.o.statePath, this.state);
    } catch (err) {
      this.o.log.error({ path: this.o.statePath, err: String(err) }, "cannot save the block state");
    }
  }
}

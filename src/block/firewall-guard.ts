import type { Cidr } from "../net/cidr.js";
import type { Logger } from "../util/logger.js";
import { CHAIN, PARENT } from "./commands.js";
import type { Firewall } from "./firewall.js";
import { type BackendReport, detectBackend, type FirewallProbe } from "./firewall-backend.js";
import { layoutProblems, type RepairReason } from "./firewall-layout.js";

export interface FirewallGuardOptions {
  firewall: Firewall;
  /** Read-only look at the host's firewall (probeFirewall); absent: the default binaries are trusted. */
  probe?: () => FirewallProbe;
  dryRun: boolean;
  log: Logger;
  /** The backend found (at start, and whenever it changes): netmon_block_backend_ok. */
  onBackend?: (report: BackendReport) => void;
  /** One repair of netmon's layout: netmon_block_repairs_total. */
  onRepair?: (reason: RepairReason) => void;
}

/**
 * Makes sure netmon's blocks land in a chain packets cross: detects the backend before blocking
 * starts, refuses (one error line, a metric) when blocking cannot work, and, while it runs, puts
 * netmon's jump back at the top of DOCKER-USER when Docker or firewalld removed or pushed it down.
 * Monitoring never depends on it.
 */
export class FirewallGuard {
  private usable = false;
  /** The last refusal logged, so a retry every tick does not repeat the same error line. */
  private lastRefusal = "";
  private lastNotes = "";

  constructor(private readonly o: FirewallGuardOptions) {}

  /** Blocks may be applied now (always true in dry-run once set up: nothing reaches the kernel). */
  available(): boolean {
    return this.usable;
  }

  /** Detects the backend and sets netmon's layout up; false (logged and counted) when blocking cannot work. */
  start(neverBlock: readonly Cidr[]): boolean {
    const report = this.o.probe ? detectBackend(this.o.probe()) : null;
    if (report !== null) {
      const notes = JSON.stringify(report.notes);
      if (notes !== this.lastNotes)
        for (const note of report.notes) this.o.log.warn({ backend: report.backend }, note);
      this.lastNotes = notes;
      if (!report.ok) {
        this.o.onBackend?.(report);
        if (!this.o.dryRun) return this.refuse(report);
        // Dry-run still prints its commands (with the default binaries): say that enforce would fail.
        this.o.log.warn(
          { backend: report.backend, reason: report.reason },
          `dry-run: enforce mode could not block on this host: ${report.message}`,
        );
      } else this.o.firewall.use(report.binaries);
    }
    try {
      const { skipped } = this.o.firewall.ensure(neverBlock);
      for (const s of skipped) if (!report?.notes.includes(s)) this.o.log.warn(s);
    } catch (err) {
      const failed = setupFailed(report, (err as Error).message);
      this.o.onBackend?.(failed);
      return this.refuse(failed);
    }
    if (report?.ok) this.o.onBackend?.(report);
    this.usable = true;
    this.lastRefusal = "";
    return true;
  }

  /**
   * One reconcile tick (enforce only): a lost DOCKER-USER (or its FORWARD jump) means a new
   * detection; a missing or pushed-down jump, or a changed chain, is repaired and counted.
   * While blocking is unavailable, it tries the whole start again (the host may have been fixed).
   */
  check(neverBlock: readonly Cidr[]): void {
    if (this.o.dryRun) return;
    if (!this.usable) {
      if (this.start(neverBlock)) this.o.log.info("blocking available again");
      return;
    }
    const fw = this.o.firewall;
    const families = ([4, 6] as const).filter((f) => fw.binaries()[f] !== null);
    // FORWARD unreadable is not proof of loss; FORWARD read without the jump is (no packet crosses).
    const lost = families.some((f) => {
      const forward = fw.chain(f, "FORWARD");
      const jumped = forward === undefined || forward.some((r) => r.endsWith(` -j ${PARENT}`));
      return fw.chain(f, PARENT) === undefined || !jumped;
    });
    if (lost) {
      this.redetect(neverBlock);
      return;
    }
    const repaired: { family: 4 | 6; problems: RepairReason[] }[] = [];
    try {
      for (const f of families) {
        const problems = layoutProblems(fw.chain(f, PARENT) ?? [], fw.chain(f, CHAIN), f);
        if (problems.length === 0) continue;
        if (problems.some((p) => p.startsWith("chain") || p === "jump-missing")) fw.ensure(neverBlock);
        if (problems.includes("jump-not-first") || problems.includes("jump-duplicate")) fw.moveJumpFirst(f);
        repaired.push({ family: f, problems });
      }
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, "cannot repair netmon's firewall layout");
      return;
    }
    for (const r of repaired) {
      for (const p of r.problems) this.o.onRepair?.(p);
      this.o.log.warn({ family: r.family, repaired: r.problems }, "firewall layout repaired");
    }
  }

  /** DOCKER-USER went away from where netmon blocks: find where Docker's rules are now. */
  private redetect(neverBlock: readonly Cidr[]): void {
    const before = JSON.stringify(this.o.firewall.binaries());
    this.usable = false;
    if (!this.start(neverBlock)) return;
    if (JSON.stringify(this.o.firewall.binaries()) !== before) {
      this.o.onRepair?.("backend-changed");
      this.o.log.warn(
        { binaries: this.o.firewall.binaries() },
        "firewall backend changed: netmon follows it",
      );
    } else this.o.onRepair?.("jump-missing");
  }

  private refuse(report: BackendReport): false {
    this.usable = false;
    const line = `blocking (enforce) cannot work on this host: ${report.message}`;
    if (line !== this.lastRefusal) this.o.log.error({ backend: report.backend, reason: report.reason }, line);
    this.lastRefusal = line;
    return false;
  }
}

function setupFailed(report: BackendReport | null, error: string): BackendReport {
  return {
    backend: report?.backend ?? "none",
    ok: false,
    reason: "setup-failed",
    message: `setting up netmon's chain failed (${error}); blocking is off until it works; monitoring continues`,
    binaries: { 4: null, 6: null },
    firewalld: report?.firewalld ?? false,
    notes: [],
  };
}

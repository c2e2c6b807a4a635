import { Counter, Gauge, type Registry } from "prom-client";
import type { BackendReport } from "./firewall-backend.js";
import type { RepairReason } from "./firewall-layout.js";

export interface BlockMetrics {
  backend(report: BackendReport): void;
  repair(reason: RepairReason): void;
}

/**
 * The firewall backend metrics, on the daemon's registry (like the posture metrics): whether
 * blocking can work here, and how often the reconcile loop had to put netmon's layout back.
 */
export function registerBlockMetrics(registry: Registry, mode: "dry-run" | "enforce"): BlockMetrics {
  const ok = new Gauge({
    name: "netmon_block_backend_ok",
    help: "1 when blocks land in a chain packets cross (backend: iptables-nft, iptables-legacy, docker-nftables, none), else 0 with the reason; mode says whether it matters now (enforce) or would (dry-run).",
    labelNames: ["backend", "reason", "mode"],
    registers: [registry],
  });
  const repairs = new Counter({
    name: "netmon_block_repairs_total",
    help: "Repairs of netmon's firewall layout by the reconcile loop, by reason (jump-missing, jump-not-first, jump-duplicate, chain-missing, chain-changed, backend-changed).",
    labelNames: ["reason"],
    registers: [registry],
  });
  return {
    backend(report) {
      // One series at a time: the backend found last.
      ok.reset();
      ok.set({ backend: report.backend, reason: report.reason, mode }, report.ok ? 1 : 0);
    },
    repair(reason) {
      repairs.inc({ reason });
    },
  };
}

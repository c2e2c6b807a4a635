import { z } from "zod";
import type { Proto } from "../model/events.js";

/** One workload's learned behaviour. Destinations are DNS names when the container resolved one, else IPs. */
interface WorkloadBaseline {
  /** Packet time the workload was first seen (ms): its learning period starts here. */
  firstSeen: number;
  /** "dest|port|proto" */
  egress: Set<string>;
  /** "port/proto" */
  listen: Set<string>;
  /** Entries refused because the workload reached maxEntries (a baseline must not grow without bound). */
  dropped: number;
}

const fileSchema = z.strictObject({
  version: z.literal(1),
  workloads: z.record(
    z.string().max(512),
    z.strictObject({
      firstSeen: z.number().finite(),
      egress: z.array(z.string().max(600)).max(1_000_000),
      listen: z.array(z.string().max(16)).max(65_536 * 2),
    }),
  ),
});

export type BaselineFile = z.infer<typeof fileSchema>;

const egressKey = (dest: string, port: number, proto: Proto): string => `${dest}|${port}|${proto}`;
const listenKey = (port: number, proto: Proto): string => `${port}/${proto}`;

/**
 * The learned baseline: per workload, the egress destinations and listening ports seen while it
 * was learning. In memory, synchronous (detectors read it on the hot path); saved by the daemon.
 */
export class Baseline {
  private readonly workloads = new Map<string, WorkloadBaseline>();
  /** Changed since the last save. */
  dirty = false;

  constructor(private readonly maxEntries = 1000) {}

  private entry(workload: string, ts: number): WorkloadBaseline {
    let w = this.workloads.get(workload);
    if (w === undefined) {
      w = { firstSeen: ts, egress: new Set(), listen: new Set(), dropped: 0 };
      this.workloads.set(workload, w);
      this.dirty = true;
    }
    return w;
  }

  /** Packet time the workload was first seen, recording `ts` when it is new. */
  touch(workload: string, ts: number): number {
    return this.entry(workload, ts).firstSeen;
  }

  firstSeen(workload: string): number | undefined {
    return this.workloads.get(workload)?.firstSeen;
  }

  recordEgress(workload: string, dest: string, port: number, proto: Proto, ts: number): void {
    this.add(this.entry(workload, ts), "egress", egressKey(dest, port, proto));
  }

  recordListen(workload: string, port: number, proto: Proto, ts: number): void {
    this.add(this.entry(workload, ts), "listen", listenKey(port, proto));
  }

  private add(w: WorkloadBaseline, field: "egress" | "listen", key: string): void {
    const set = w[field];
    if (set.has(key)) return;
    if (w.egress.size + w.listen.size >= this.maxEntries) {
      w.dropped++;
      return;
    }
    set.add(key);
    this.dirty = true;
  }

  /** True when the workload learned this destination, by IP or by one of the names it resolved. */
  hasEgress(workload: string, ip: string, names: readonly string[], port: number, proto: Proto): boolean {
    const w = this.workloads.get(workload);
    if (w === undefined) return false;
    if (w.egress.has(egressKey(ip, port, proto))) return true;
    for (const n of names) if (w.egress.has(egressKey(n, port, proto))) return true;
    return false;
  }

  hasListen(workload: string, port: number, proto: Proto): boolean {
    return this.workloads.get(workload)?.listen.has(listenKey(port, proto)) ?? false;
  }

  reset(workload: string): boolean {
    const had = this.workloads.delete(workload);
    if (had) this.dirty = true;
    return had;
  }

  names(): string[] {
    return [...this.workloads.keys()].sort();
  }

  describe(
    workload: string,
  ): { firstSeen: number; egress: string[]; listen: string[]; dropped: number } | null {
    const w = this.workloads.get(workload);
    if (w === undefined) return null;
    return {
      firstSeen: w.firstSeen,
      egress: [...w.egress].sort(),
      listen: [...w.listen].sort(),
      dropped: w.dropped,
    };
  }

  toJSON(): BaselineFile {
    const workloads: BaselineFile["workloads"] = {};
    for (const name of this.names()) {
      const w = this.workloads.get(name)!;
      workloads[name] = {
        firstSeen: w.firstSeen,
        egress: [...w.egress].sort(),
        listen: [...w.listen].sort(),
      };
    }
    return { version: 1, workloads };
  }

  /** Rebuilds a baseline from a saved file; throws an Error naming the first problem. */
  static fromJSON(raw: unknown, maxEntries = 1000): Baseline {
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    }
    const b = new Baseline(maxEntries);
    for (const [name, w] of Object.entries(parsed.data.workloads)) {
      b.workloads.set(name, {
        firstSeen: w.firstSeen,
        egress: new Set(w.egress),
        listen: new Set(w.listen),
        dropped: 0,
      });
    }
    return b;
  }
}

/** Small statistics and table helpers shared by the benchmark parts. */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

export interface Summary {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN, n: 0 };
  const s = sorted(values);
  return { min: s[0]!, median: median(s), max: s[s.length - 1]!, n: s.length };
}

/** 1234567 → "1.23M", 12345 → "12.3k". */
export function si(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return "n/a";
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(digits)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(digits)}M`;
  if (a >= 1e3) return `${(v / 1e3).toPrecision(digits)}k`;
  return v.toPrecision(digits);
}

export function fixed(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "n/a";
}

/** "min / median / max" with a formatter. */
export function mmm(s: Summary, fmt: (v: number) => string): string {
  if (s.n === 0) return "n/a";
  if (s.n === 1) return fmt(s.median);
  return `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`;
}

/** A Markdown table (GitHub style), columns padded for the terminal too. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface MachineLoad {
  /** 1-minute load average. */
  load1: number;
  /** Share of time some runnable task waited for a CPU (Linux PSI /proc/pressure/cpu), %, last 10 s and 60 s. */
  cpuPressure10: number | null;
  cpuPressure60: number | null;
}

/** How busy the machine is right now: other processes on it distort every number here. */
export function machineLoad(): MachineLoad {
  let p10: number | null = null;
  let p60: number | null = null;
  try {
    const text = readFileSync("/proc/pressure/cpu", "utf8");
    const some = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(text);
    if (some) {
      p10 = Number(some[1]);
      p60 = Number(some[2]);
    }
  } catch {
    // no PSI on this kernel
  }
  return { load1: loadavg()[0] ?? Number.NaN, cpuPressure10: p10, cpuPressure60: p60 };
}

export function loadText(l: MachineLoad): string {
  const psi = l.cpuPressure60 === null ? "" : `, CPU pressure ${fixed(l.cpuPressure60, 0)}% (60 s)`;
  return `load ${fixed(l.load1, 1)}${psi}`;
}

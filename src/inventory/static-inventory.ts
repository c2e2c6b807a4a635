import { readFileSync } from "node:fs";
import type { ContainerRef } from "../model/events.js";
import { Inventory } from "./inventory.js";
import type { TenureSpan } from "./ip-index.js";
import { imageLabelsOf, parseContainerInspect } from "./parse-inspect.js";
import type { ContainerInfo } from "./types.js";

/** When a container of the file held its IPs, as the inventory was built from it. */
export interface ContainerLifetime {
  ref: ContainerRef;
  /** null: created but never started (Docker's StartedAt is still its zero time), so it held no IP. */
  span: TenureSpan | null;
}

export interface StaticInventoryResult {
  inventory: Inventory;
  warnings: string[];
  /** One per container recorded (the latest run when the file lists a container twice), by start time. */
  lifetimes: ContainerLifetime[];
}

export class InventoryFileError extends Error {
  override name = "InventoryFileError";
}

/**
 * Builds an inventory from the JSON array printed by `docker inspect <containers…>`, so a capture
 * from any host replays with the containers it had. Each container holds its IPs from StartedAt
 * to FinishedAt (or on, when it was running), whatever the order of the array; two that overlap on
 * one IP (inconsistent input) are cut where the later one starts. `docker image inspect` objects in
 * the same array give the images' own labels (which may only tighten policy); without them labels
 * are taken as given.
 */
export function loadStaticInventory(path: string): StaticInventoryResult {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const reason =
      err instanceof SyntaxError
        ? `not valid JSON (${err.message})`
        : `cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`;
    throw new InventoryFileError(`${path}: ${reason}`);
  }
  if (!Array.isArray(raw))
    throw new InventoryFileError(`${path}: expected the JSON array printed by docker inspect`);
  return staticInventoryOf(raw, path);
}

/** loadStaticInventory on an array already read; `source` names it in warnings. */
export function staticInventoryOf(raw: readonly unknown[], source: string): StaticInventoryResult {
  const warnings: string[] = [];
  const images = new Map<string, Record<string, string>>();
  for (const item of raw) {
    const image = isImageInspect(item) ? imageLabelsOf(item) : null;
    if (image) images.set(image.id, image.labels);
  }
  const byId = new Map<string, ContainerInfo>();
  raw.forEach((item: unknown, i: number) => {
    if (isImageInspect(item)) return;
    const parsed = parseContainerInspect(item, new Map());
    if (!parsed.ok) {
      warnings.push(`${source}[${i}]: ${parsed.error}; container skipped`);
      return;
    }
    const info = { ...parsed.value, imageLabels: images.get(parsed.value.imageId) ?? null };
    for (const w of parsed.warnings) warnings.push(`${source}[${i}] ${info.ref.name}: ${w}`);
    const seen = byId.get(info.ref.id);
    if (seen === undefined || isLaterRun(info, seen)) byId.set(info.ref.id, info);
  });
  // Recorded by start time with explicit spans, so the file's order (docker ps lists newest
  // first) never decides who held a reused IP.
  const containers = [...byId.values()].sort(
    (a, b) => a.startedAt - b.startedAt || (a.ref.id < b.ref.id ? -1 : 1),
  );
  const inventory = new Inventory();
  const lifetimes: ContainerLifetime[] = [];
  for (const info of containers) {
    const span = spanOf(info);
    inventory.recordTenure(info, span);
    lifetimes.push({ ref: info.ref, span });
  }
  return { inventory, warnings, lifetimes };
}

/**
 * The span a container held its IPs: from StartedAt to FinishedAt, or on while running (from 0
 * when Docker gave no start time: held since before any capture). An exited container with no
 * usable FinishedAt, or one before its start, is taken as released at its start.
 */
function spanOf(info: ContainerInfo): TenureSpan | null {
  if (info.running) return { fromMs: info.startedAt, toMs: null };
  if (info.startedAt === 0) return null;
  return { fromMs: info.startedAt, toMs: Math.max(info.finishedAt ?? info.startedAt, info.startedAt) };
}

/**
 * Of two inspect objects of one container (a file that lists it twice, e.g. two `docker inspect`
 * outputs joined), whether `a` describes the later state: a later start, else the same run seen
 * after it stopped, else a later finish.
 */
function isLaterRun(a: ContainerInfo, b: ContainerInfo): boolean {
  if (a.startedAt !== b.startedAt) return a.startedAt > b.startedAt;
  if (a.running !== b.running) return !a.running;
  return (a.finishedAt ?? 0) > (b.finishedAt ?? 0);
}

function isImageInspect(item: unknown): boolean {
  return typeof item === "object" && item !== null && "RepoTags" in item && !("State" in item);
}

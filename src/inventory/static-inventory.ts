import { readFileSync } from "node:fs";
import { Inventory } from "./inventory.js";
import { imageLabelsOf, parseContainerInspect } from "./parse-inspect.js";

export interface StaticInventoryResult {
  inventory: Inventory;
  warnings: string[];
}

export class InventoryFileError extends Error {
  override name = "InventoryFileError";
}

/**
 * Builds an inventory from the JSON array printed by `docker inspect <containers…>`, so a capture
 * from any host replays with the containers it had. Each container holds its IPs from StartedAt
 * to FinishedAt (or on, when it was running). `docker image inspect` objects in the same array give
 * the images' own labels (which may only tighten policy); without them labels are taken as given.
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
  const inventory = new Inventory();
  const warnings: string[] = [];
  const images = new Map<string, Record<string, string>>();
  for (const item of raw as unknown[]) {
    const image = isImageInspect(item) ? imageLabelsOf(item) : null;
    if (image) images.set(image.id, image.labels);
  }
  raw.forEach((item: unknown, i: number) => {
    if (isImageInspect(item)) return;
    const parsed = parseContainerInspect(item, new Map());
    if (!parsed.ok) {
      warnings.push(`${path}[${i}]: ${parsed.error}; container skipped`);
      return;
    }
    const info = { ...parsed.value, imageLabels: images.get(parsed.value.imageId) ?? null };
    for (const w of parsed.warnings) warnings.push(`${path}[${i}] ${info.ref.name}: ${w}`);
    // A stopped container still held its IPs while it ran: record the tenure, then end it.
    inventory.upsert({ ...info, running: true }, info.startedAt);
    if (!info.running) inventory.stopped(info.ref.id, info.finishedAt ?? info.startedAt);
  });
  return { inventory, warnings };
}

function isImageInspect(item: unknown): boolean {
  return typeof item === "object" && item !== null && "RepoTags" in item && !("State" in item);
}

import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RotatingFile } from "../../src/util/rotating-file.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "netmon-rotate-"));
  dirs.push(dir);
  return join(dir, "events.jsonl");
}

/** Every file of the rotation set, oldest first, as lines. */
function readBack(path: string, maxFiles: number): string[][] {
  const files: string[][] = [];
  for (let i = maxFiles - 1; i >= 0; i--) {
    const p = i === 0 ? path : `${path}.${i}`;
    try {
      const text = readFileSync(p, "utf8");
      expect(text === "" || text.endsWith("\n"), `${p} ends with a whole line`).toBe(true);
      files.push(text === "" ? [] : text.slice(0, -1).split("\n"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return files;
}

const line = (n: number) => JSON.stringify({ n, pad: "x".repeat(n % 97) });

describe("RotatingFile", () => {
  it("keeps every line of a burst whole and in order while fewer lines than the bound were written", () => {
    const path = tempPath();
    const f = new RotatingFile({ path, maxBytes: 4096, maxFiles: 50, flushBytes: 1000 });
    for (let n = 0; n < 2000; n++) f.write(line(n));
    f.close();
    const lines = readBack(path, 50).flat();
    expect(lines).toEqual(Array.from({ length: 2000 }, (_, n) => line(n)));
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(f.stats()).toMatchObject({ lines: 2000, dropped: 0 });
    expect(f.stats().rotations).toBeGreaterThan(10);
  });

  it("bounds the disk: at most maxFiles files of at most maxBytes, holding the newest lines, none cut", () => {
    const path = tempPath();
    const maxBytes = 2048;
    const f = new RotatingFile({ path, maxBytes, maxFiles: 3 });
    for (let n = 0; n < 5000; n++) f.write(line(n));
    f.close();
    const names = readdirSync(join(path, "..")).sort();
    expect(names).toEqual(["events.jsonl", "events.jsonl.1", "events.jsonl.2"]);
    for (const name of names) expect(statSync(join(path, "..", name)).size).toBeLessThanOrEqual(maxBytes);
    const kept = readBack(path, 3).flat();
    // The newest lines, contiguous, ending with the last one written.
    const first = (JSON.parse(kept[0]!) as { n: number }).n;
    expect(kept).toEqual(Array.from({ length: 5000 - first }, (_, i) => line(first + i)));
    // Each rotated file was filled close to maxBytes: the next line would not have fitted.
    const longest = Math.max(...kept.map((l) => Buffer.byteLength(l) + 1));
    for (const file of readBack(path, 3).slice(0, 2)) {
      expect(Buffer.byteLength(`${file.join("\n")}\n`) + longest).toBeGreaterThan(maxBytes);
    }
  });

  it("gives a line longer than maxBytes a file of its own instead of cutting it", () => {
    const path = tempPath();
    const f = new RotatingFile({ path, maxBytes: 65_536, maxFiles: 4 });
    const big = JSON.stringify({ big: "y".repeat(100_000) });
    f.write(line(1));
    f.write(big);
    f.write(line(2));
    f.close();
    expect(readBack(path, 4)).toEqual([[line(1)], [big], [line(2)]]);
  });

  it("appends to an existing file, ends a torn last line, and removes files beyond maxFiles", () => {
    const path = tempPath();
    writeFileSync(path, `${line(1)}\n{"torn":`);
    writeFileSync(`${path}.5`, "left by a larger maxFiles\n");
    const f = new RotatingFile({ path, maxBytes: 65_536, maxFiles: 3 });
    f.write(line(2));
    f.close();
    expect(readFileSync(path, "utf8")).toBe(`${line(1)}\n{"torn":\n${line(2)}\n`);
    expect(readdirSync(join(path, "..")).sort()).toEqual(["events.jsonl"]);
  });

  it("writes buffered lines within flushMs without a close", async () => {
    const path = tempPath();
    const f = new RotatingFile({ path, maxBytes: 65_536, maxFiles: 2, flushMs: 20 });
    f.write(line(7));
    expect(readFileSync(path, "utf8")).toBe("");
    await new Promise((r) => setTimeout(r, 80));
    expect(readFileSync(path, "utf8")).toBe(`${line(7)}\n`);
    appendFileSync(path, ""); // still the same file, still open
    f.close();
  });

  it("counts the lines a failed write loses and reports it, without throwing", () => {
    const path = tempPath();
    const errors: number[] = [];
    const f = new RotatingFile({ path, maxBytes: 65_536, maxFiles: 2, onError: (_e, n) => errors.push(n) });
    f.write(line(1));
    f.flush();
    // The directory goes away: the rotation cannot rename, the re-open cannot create.
    rmSync(join(path, ".."), { recursive: true, force: true });
    f.write(JSON.stringify({ big: "z".repeat(70_000) }));
    expect(() => f.close()).not.toThrow();
    expect(f.stats()).toMatchObject({ lines: 1, dropped: 1, rotations: 0 });
    expect(errors).toEqual([0, 1]);
  });

  it("rejects maxFiles below 2", () => {
    expect(() => new RotatingFile({ path: tempPath(), maxBytes: 1000, maxFiles: 1 })).toThrow(/maxFiles/);
  });
});

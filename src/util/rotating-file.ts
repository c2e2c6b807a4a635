import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * An append-only file of lines, rotated by size: FILE → FILE.1 → … → FILE.(maxFiles-1), the oldest
 * deleted. Lines are buffered and written whole (one write per batch, at most flushBytes or
 * flushMs apart), and a rotation happens only between two lines, so no line is ever split across
 * files or lost to a rotation. Disk use stays under maxFiles × maxBytes (a single line longer than
 * maxBytes gets a file of its own rather than being cut).
 */

export interface RotatingFileOptions {
  path: string;
  maxBytes: number;
  /** Files kept, counting the one written (≥ 2). */
  maxFiles: number;
  /** Buffered bytes that trigger a write (default 64 KiB). */
  flushBytes?: number;
  /** Longest time (ms) a line waits in the buffer (default 1000). */
  flushMs?: number;
  /** A write or rotation failed: the buffered lines are dropped (counted), netmon goes on. */
  onError?: (err: Error, droppedLines: number) => void;
}

export interface RotatingFileStats {
  lines: number;
  rotations: number;
  /** Lines lost to write errors (disk full, file removed from under us and not re-creatable). */
  dropped: number;
}

const NEWLINE = 0x0a;

export class RotatingFile {
  private readonly opts: Required<Omit<RotatingFileOptions, "onError">> &
    Pick<RotatingFileOptions, "onError">;
  private fd: number | null = null;
  /** Bytes in the current file. */
  private size = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly counts: RotatingFileStats = { lines: 0, rotations: 0, dropped: 0 };

  constructor(options: RotatingFileOptions) {
    this.opts = { flushBytes: 65_536, flushMs: 1000, ...options };
    if (!Number.isInteger(this.opts.maxFiles) || this.opts.maxFiles < 2)
      throw new RangeError(`rotating file: maxFiles must be an integer >= 2 (got ${this.opts.maxFiles})`);
    if (!(this.opts.maxBytes > 0)) throw new RangeError("rotating file: maxBytes must be > 0");
    this.removeBeyondLimit();
    this.open();
  }

  stats(): RotatingFileStats {
    return { ...this.counts };
  }

  /** Appends one line (no newline in it: JSON.stringify never writes a raw one). */
  write(line: string): void {
    if (this.closed) return;
    const bytes = Buffer.byteLength(line) + 1;
    if (this.size + this.pendingBytes + bytes > this.opts.maxBytes && this.size + this.pendingBytes > 0) {
      this.flush();
      this.rotate();
    }
    this.pending.push(line);
    this.pendingBytes += bytes;
    if (this.pendingBytes >= this.opts.flushBytes) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Writes the buffered lines now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const lines = this.pending.length;
    const data = Buffer.from(`${this.pending.join("\n")}\n`);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      if (this.fd === null) this.open();
      writeAll(this.fd!, data);
      this.size += data.length;
      this.counts.lines += lines;
    } catch (err) {
      this.fail(err, lines);
    }
  }

  /** Flushes and closes; later writes are ignored. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    const fd = openSync(this.opts.path, "a", 0o640);
    this.fd = fd;
    this.size = fstatSync(fd).size;
    // A crash may have left half a line: end it, so the next line starts on a line of its own.
    if (this.size > 0 && lastByte(this.opts.path, this.size) !== NEWLINE) {
      writeAll(fd, Buffer.from("\n"));
      this.size++;
    }
  }

  private rotate(): void {
    try {
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
      const { path, maxFiles } = this.opts;
      // renameSync replaces the target: FILE.(maxFiles-2) → FILE.(maxFiles-1) drops the oldest.
      for (let i = maxFiles - 1; i >= 1; i--) {
        const from = i === 1 ? path : `${path}.${i - 1}`;
        if (existsSync(from)) renameSync(from, `${path}.${i}`);
      }
      this.open();
      this.counts.rotations++;
    } catch (err) {
      this.fail(err, 0);
    }
  }

  /** Files left by an earlier, larger maxFiles would break the disk bound: removed at start. */
  private removeBeyondLimit(): void {
    const dir = dirname(this.opts.path);
    const prefix = `${basename(this.opts.path)}.`;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // no directory yet: open() reports it
    }
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const n = name.slice(prefix.length);
      if (/^[0-9]+$/.test(n) && Number(n) >= this.opts.maxFiles) unlinkSync(join(dir, name));
    }
  }

  private fail(err: unknown, droppedLines: number): void {
    this.counts.dropped += droppedLines;
    // Re-open at the next write: the file may have been removed or the disk freed meanwhile.
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already unusable
      }
    }
    this.fd = null;
    this.opts.onError?.(err instanceof Error ? err : new Error(String(err)), droppedLines);
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

function lastByte(path: string, size: number): number {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0]!;
  } finally {
    closeSync(fd);
  }
}

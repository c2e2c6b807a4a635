import { StringDecoder } from "node:string_decoder";

/**
 * Splits Docker's event stream (newline-delimited JSON, chunked arbitrarily) into objects. A line
 * longer than `maxLine` is discarded whole: the stream is input from outside and must not make us
 * buffer without bound.
 */
export class EventLineSplitter {
  private partial = "";
  private discarding = false;
  /** Keeps a multi-byte UTF-8 character that a chunk boundary cut in two until its last byte arrives. */
  private readonly decoder = new StringDecoder("utf8");

  constructor(
    private readonly onObject: (obj: unknown) => void,
    private readonly onBadLine: (reason: string) => void,
    private readonly maxLine = 1024 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      // Also when the whole line came in one chunk: what is dropped must not depend on chunking.
      if (line.length > this.maxLine) {
        this.onBadLine(`event line longer than ${this.maxLine} bytes discarded`);
        continue;
      }
      this.parse(line);
    }
    if (this.partial.length > this.maxLine) {
      this.onBadLine(`event line longer than ${this.maxLine} bytes discarded`);
      this.partial = "";
      this.discarding = true;
    }
  }

  private parse(line: string): void {
    const trimmed = line.trim();
    if (trimmed === "") return;
    try {
      this.onObject(JSON.parse(trimmed));
    } catch {
      this.onBadLine(`event line is not JSON: ${JSON.stringify(trimmed.slice(0, 80))}`);
    }
  }
}

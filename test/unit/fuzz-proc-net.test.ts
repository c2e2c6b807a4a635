/**
 * Fuzzing the /proc/<pid>/net parser (src/listeners/proc-net-parser.ts): the tables are read while
 * they change, and a container decides how many sockets (and which) they hold. Properties:
 * parseProcNet never throws, bad lines are counted not thrown, the socket cap holds for any
 * maxSockets, pathological lines cost linear time, and valid tables give exactly the listening
 * sockets; the same for parseEstablished (src/listeners/proc-net-established.ts) and the established,
 * non-loopback sockets. Run counts and seeds: see test/support/mutate.ts (FUZZ_RUNS=100000 for a longer campaign).
 */
import { endianness } from "node:os";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EstablishedParseResult, parseEstablished } from "../../src/listeners/proc-net-established.js";
import {
  DEFAULT_MAX_SOCKETS,
  type ListeningSocket,
  type ProcNetFile,
  type ProcNetParseResult,
  parseProcNet,
} from "../../src/listeners/proc-net-parser.js";
import { normalizeIp } from "../../src/net/ip-format.js";
import { FUZZ_TIMEOUT_MS, fuzzParams, mutated } from "../support/mutate.js";

const FILES: ProcNetFile[] = ["tcp", "tcp6", "udp", "udp6"];
const LITTLE_ENDIAN = endianness() === "LE";
const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

function effectiveCap(maxSockets: number | undefined): number {
  if (maxSockets === undefined || !Number.isFinite(maxSockets)) return DEFAULT_MAX_SOCKETS;
  return Math.max(0, Math.floor(maxSockets));
}

function checkResult(
  text: string,
  file: ProcNetFile,
  maxSockets: number | undefined,
  r: ProcNetParseResult,
): void {
  const family = file.endsWith("6") ? 6 : 4;
  const proto = file.startsWith("tcp") ? "tcp" : "udp";
  expect(Number.isInteger(r.errors) && r.errors >= 0).toBe(true);
  expect(r.errors + r.sockets.length).toBeLessThanOrEqual(text.split("\n").length);
  expect(r.sockets.length).toBeLessThanOrEqual(effectiveCap(maxSockets));
  // Truncated only when the cap was reached and one more distinct socket was there.
  if (r.truncated) expect(r.sockets.length).toBe(effectiveCap(maxSockets));
  const keys = new Set<string>();
  for (const s of r.sockets) {
    expect(s.proto).toBe(proto);
    expect(s.family).toBe(family);
    expect(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535).toBe(true);
    expect(normalizeIp(s.address)).toBe(s.address);
    expect(s.address.includes(":")).toBe(family === 6);
    // Not NaN and not negative (a 400-digit inode reads as Infinity: not used by anything yet).
    expect(s.inode >= 0).toBe(true);
    keys.add(`${s.address}|${s.port}`);
  }
  expect(keys.size).toBe(r.sockets.length);
}

function parseChecked(text: string, file: ProcNetFile, maxSockets?: number): ProcNetParseResult {
  const r = maxSockets === undefined ? parseProcNet(text, file) : parseProcNet(text, file, maxSockets);
  checkResult(text, file, maxSockets, r);
  return r;
}

// ---- generators of valid tables ----

/** One 32-bit word as the kernel prints it: %08X of a raw load, i.e. in host byte order. */
function hostHex(word: number): string {
  const w = word >>> 0;
  const swapped = LITTLE_ENDIAN
    ? ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)
    : w;
  return (swapped >>> 0).toString(16).toUpperCase().padStart(8, "0");
}

interface Entry {
  words: number[];
  port: number;
  remoteZero: boolean;
  state: number;
  inode: number;
}

const wordArb = fc.oneof(fc.constantFrom(0, 0x7f000001, 0x7f00000b, 0xffff, 0xac110002), fc.nat(0xffffffff));
const entryArb = (family: 4 | 6): fc.Arbitrary<Entry> =>
  fc.record({
    words: family === 4 ? wordArb.map((w) => [w]) : fc.array(wordArb, { minLength: 4, maxLength: 4 }),
    port: fc.oneof(fc.constantFrom(0, 53, 80, 443, 8080), fc.nat(0xffff)),
    remoteZero: fc.boolean(),
    state: fc.oneof(fc.constantFrom(0x01, 0x07, 0x0a), fc.nat(0x0c)),
    inode: fc.nat(),
  });

function line(i: number, e: Entry): string {
  const local = `${e.words.map(hostHex).join("")}:${e.port.toString(16).toUpperCase().padStart(4, "0")}`;
  const zeroAddr = "0".repeat(8 * e.words.length);
  const remote = e.remoteZero
    ? `${zeroAddr}:0000`
    : `${e.words.map((w) => hostHex(w ^ 0x01020304)).join("")}:1F90`;
  const st = e.state.toString(16).toUpperCase().padStart(2, "0");
  return `${String(i).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${e.inode} 1 0000000000000000 100 0 0 10 0`;
}

function wordsOf(e: Entry, family: 4 | 6): Uint32Array {
  const w = new Uint32Array(4);
  if (family === 4) w[3] = e.words[0]!;
  else w.set(e.words);
  return w;
}

function addressText(e: Entry, family: 4 | 6): string {
  const w = wordsOf(e, family);
  if (family === 4) return [w[3]! >>> 24, (w[3]! >>> 16) & 255, (w[3]! >>> 8) & 255, w[3]! & 255].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) groups.push((w[i]! >>> 16).toString(16), (w[i]! & 0xffff).toString(16));
  return normalizeIp(groups.join(":"))!;
}

/** The listening sockets a correct parser reports for these entries (first of each address|port). */
function expectedSockets(entries: Entry[], file: ProcNetFile, cap: number) {
  const family = file.endsWith("6") ? 6 : 4;
  const proto = file.startsWith("tcp") ? "tcp" : "udp";
  const out: ListeningSocket[] = [];
  const seen = new Set<string>();
  let truncated = false;
  for (const e of entries) {
    if (proto === "tcp" ? e.state !== 0x0a : e.state !== 0x07 || !e.remoteZero) continue;
    if (e.port === 0) continue;
    const address = addressText(e, family);
    const key = `${address}|${e.port}`;
    if (seen.has(key)) continue;
    if (out.length >= cap) {
      truncated = true;
      break;
    }
    seen.add(key);
    const w = wordsOf(e, family);
    const dockerDns = w[3] === 0x7f00000b && (family === 4 || (w[0] === 0 && w[1] === 0 && w[2] === 0xffff));
    out.push({ proto, family, address, port: e.port, inode: e.inode, dockerDns });
  }
  return { sockets: out, errors: 0, truncated };
}

const tableArb = fc.constantFrom(...FILES).chain((file) =>
  fc.record({
    file: fc.constant(file),
    entries: fc.array(entryArb(file.endsWith("6") ? 6 : 4), { maxLength: 24 }),
  }),
);

function tableText(entries: Entry[]): string {
  return `${HEADER}\n${entries.map((e, i) => line(i, e)).join("\n")}\n`;
}

const maxSocketsArb = fc.option(
  fc.oneof(fc.nat(30), fc.constantFrom(-1, 0.5, 2.7, Number.NaN, Number.POSITIVE_INFINITY, -Infinity)),
  { nil: undefined },
);

const soupChars = fc.constantFrom(..." \t\n:0123456789ABCDEFabcdefxz-".split(""));

describe("fuzz: parseProcNet", () => {
  it(
    "random text from the table's alphabet: never throws, counts bad lines, results well-formed",
    () => {
      fc.assert(
        fc.property(
          fc.array(soupChars, { maxLength: 600 }).map((c) => c.join("")),
          fc.constantFrom(...FILES),
          maxSocketsArb,
          (text, file, max) => {
            parseChecked(text, file, max);
          },
        ),
        fuzzParams(0x9e7001, 800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "mutated valid tables (cut lines, flipped digits, lying fields): never throws, results well-formed",
    () => {
      fc.assert(
        fc.property(
          mutated(
            tableArb.map((t) => Buffer.from(tableText(t.entries), "latin1")),
            10,
          ),
          fc.constantFrom(...FILES),
          maxSocketsArb,
          (bytes, file, max) => {
            parseChecked(bytes.toString("latin1"), file, max);
          },
        ),
        fuzzParams(0x9e7002, 600),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "valid tables give exactly the listening sockets, deduplicated and capped",
    () => {
      fc.assert(
        fc.property(tableArb, maxSocketsArb, ({ file, entries }, max) => {
          const r = parseChecked(tableText(entries), file, max);
          expect(r).toEqual(expectedSockets(entries, file, effectiveCap(max)));
        }),
        fuzzParams(0x9e7003, 400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "pathological lines (huge, padded, repeated fields) are skipped in linear time",
    () => {
      const valid = line(0, { words: [0x7f000001], port: 53, remoteZero: true, state: 0x0a, inode: 1 });
      fc.assert(
        fc.property(
          fc.constantFrom(" ", "0", "1: ", "0: 0100007F:0035 ", " 1", "\t", ":", "A"),
          fc.integer({ min: 1, max: 200_000 }),
          fc.constantFrom("", valid, `${valid} `),
          fc.constantFrom("tcp", "udp") as fc.Arbitrary<ProcNetFile>,
          (piece, count, tail, file) => {
            const text = `${piece.repeat(count)}${tail}\n${valid}\n`;
            const t0 = performance.now();
            parseChecked(text, file);
            // Linear scan: well under a second even for megabytes of junk on a loaded CI machine.
            expect(performance.now() - t0).toBeLessThan(1000);
          },
        ),
        fuzzParams(0x9e7004, 60),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("regressions: a table of 20k listening sockets stops at the cap", () => {
    const entries = Array.from({ length: 20_000 }, (_, i) =>
      line(i, {
        words: [0x0a000000 + i],
        port: 80,
        remoteZero: true,
        state: 0x0a,
        inode: i,
      }),
    );
    const r = parseChecked(`${HEADER}\n${entries.join("\n")}\n`, "tcp", 100);
    expect(r.sockets.length).toBe(100);
    expect(r.truncated).toBe(true);
  });
});

function checkEstablished(text: string, max: number, r: EstablishedParseResult): void {
  expect(Number.isInteger(r.errors) && r.errors >= 0).toBe(true);
  expect(Number.isInteger(r.overLimit) && r.overLimit >= 0).toBe(true);
  expect(r.errors + r.sockets.length + r.overLimit).toBeLessThanOrEqual(text.split("\n").length);
  // A cap that is not a finite number reads as 0: nothing seeded rather than unbounded.
  const cap = Number.isFinite(max) ? Math.max(0, Math.floor(max)) : 0;
  expect(r.sockets.length).toBeLessThanOrEqual(cap);
  if (r.overLimit > 0) expect(r.sockets.length).toBe(cap);
  for (const s of r.sockets) {
    for (const port of [s.localPort, s.remotePort])
      expect(Number.isInteger(port) && port >= 1 && port <= 65535).toBe(true);
    expect(s.local).toHaveLength(4);
    expect(s.remote).toHaveLength(4);
    if (s.version === 4) expect([s.remote[0], s.remote[1], s.remote[2]]).toEqual([0, 0, 0]);
    expect(s.version === 4 ? s.remote[3]! >>> 24 : -1).not.toBe(127);
  }
}

/** The established sockets a correct parser reports for these entries (remote side as line() writes it). */
function expectedEstablished(entries: Entry[], family: 4 | 6, cap: number): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.state !== 0x01 || e.remoteZero || e.port === 0) continue;
    const local = wordsOf(e, family);
    const remote = wordsOf({ ...e, words: e.words.map((w) => (w ^ 0x01020304) >>> 0) }, family);
    let version: 4 | 6 = family;
    const mapped = (w: Uint32Array) => w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
    if (family === 6 && mapped(local) && mapped(remote)) {
      version = 4;
      local[2] = 0;
      remote[2] = 0;
    }
    const zero = remote.every((w) => w === 0);
    const loop = (w: Uint32Array) =>
      version === 4 ? w[3]! >>> 24 === 127 : w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 1;
    if (zero || loop(remote) || loop(local)) continue;
    out.push(`${version}|${[...local].join(",")}:${e.port}|${[...remote].join(",")}:8080`);
  }
  return out.slice(0, cap);
}

const capArb = fc.oneof(fc.nat(30), fc.constantFrom(-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY));

describe("fuzz: parseEstablished", () => {
  it(
    "random and mutated tables: never throws, results well-formed and capped",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.array(soupChars, { maxLength: 600 }).map((c) => c.join("")),
            mutated(
              tableArb.map((t) => Buffer.from(tableText(t.entries), "latin1")),
              10,
            ).map((b) => b.toString("latin1")),
          ),
          fc.constantFrom("tcp", "tcp6") as fc.Arbitrary<"tcp" | "tcp6">,
          capArb,
          (text, file, max) => {
            checkEstablished(text, max, parseEstablished(text, file, max));
          },
        ),
        fuzzParams(0x9e7005, 800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "valid tables give exactly the established sockets with a remote side off loopback",
    () => {
      fc.assert(
        fc.property(
          tableArb.filter((t) => t.file.startsWith("tcp")),
          fc.nat(30),
          ({ file, entries }, max) => {
            const family = file.endsWith("6") ? 6 : 4;
            const text = tableText(entries);
            const r = parseEstablished(text, file as "tcp" | "tcp6", max);
            checkEstablished(text, max, r);
            const got = r.sockets.map(
              (s) =>
                `${s.version}|${[...s.local].join(",")}:${s.localPort}|${[...s.remote].join(",")}:${s.remotePort}`,
            );
            expect(got).toEqual(expectedEstablished(entries, family, max));
          },
        ),
        fuzzParams(0x9e7006, 400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

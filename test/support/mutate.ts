/**
 * Shared pieces of the fuzz tests (test/unit/fuzz-*.test.ts): run-count and seed settings, and a
 * byte-level mutator that turns valid seeds (from packet-builder, pcap-writer, dns-builder) into
 * the hostile inputs an attacker in a container can craft: flipped bits, "interesting" values
 * written over length and count fields, truncation, insertion, deletion and duplication.
 *
 * Every property runs with a fixed seed and a small run count so the normal suite is
 * deterministic and fast. A longer campaign:
 *
 *   FUZZ_RUNS=100000 npx vitest run test/unit/fuzz-             # same seeds, many more runs
 *   FUZZ_RUNS=100000 FUZZ_SEED=random npx vitest run test/unit/fuzz-   # fresh seeds each time
 *   FUZZ_SEED=12345 npx vitest run test/unit/fuzz-dns            # replay one reported seed
 *
 * On a failure fast-check prints the seed, the path and the shrunk counterexample; add the input
 * as a fixed regression case next to the property.
 */
import fc from "fast-check";

function envInt(name: string): number | null {
  const text = process.env[name];
  if (text === undefined || text === "") return null;
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

const FUZZ_RUNS = envInt("FUZZ_RUNS");
const FUZZ_SEED_TEXT = process.env.FUZZ_SEED;
/** One random base per process, so a FUZZ_SEED=random campaign differs between properties too. */
const RANDOM_BASE = Math.floor(Math.random() * 0x7fffffff);

/** True when FUZZ_RUNS asks for a longer campaign than the normal suite. */
export const LONG_CAMPAIGN = FUZZ_RUNS !== null;

/**
 * Timeout for one fuzz `it(...)`: the suite default in normal runs, effectively none in a
 * FUZZ_RUNS campaign (which may take hours).
 */
export const FUZZ_TIMEOUT_MS = LONG_CAMPAIGN ? 24 * 3600 * 1000 : 20_000;

/**
 * fast-check parameters for one property: its own fixed seed and run count, unless FUZZ_RUNS /
 * FUZZ_SEED (a number, or "random") override them.
 */
export function fuzzParams<Ts>(seed: number, numRuns: number): fc.Parameters<Ts> {
  let s = seed;
  if (FUZZ_SEED_TEXT === "random") s = (RANDOM_BASE + seed * 7919) | 0;
  else if (FUZZ_SEED_TEXT !== undefined && FUZZ_SEED_TEXT !== "") s = Number(FUZZ_SEED_TEXT) | 0;
  return { seed: s, numRuns: FUZZ_RUNS ?? numRuns };
}

/** Byte values that sit on boundaries of length, count and pointer fields. */
export const INTERESTING_U8 = [0x00, 0x01, 0x02, 0x04, 0x05, 0x08, 0x0c, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff];
export const INTERESTING_U16 = [
  0x0000, 0x0001, 0x0007, 0x0008, 0x000c, 0x0014, 0x0028, 0x003f, 0x0040, 0x00ff, 0x0100, 0x05dc, 0x7fff,
  0x8000, 0x8100, 0x86dd, 0x0800, 0xc000, 0xc00c, 0xffff,
];
export const INTERESTING_U32 = [
  0x00000000, 0x00000001, 0x00000004, 0x0000000c, 0x00000010, 0x0000001c, 0x00000020, 0x00040040, 0x00040041,
  0x00100000, 0x00100004, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff,
];

export type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "u16"; at: number; value: number; le: boolean }
  | { kind: "u32"; at: number; value: number; le: boolean }
  | { kind: "truncate"; at: number }
  | { kind: "delete"; at: number; len: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "duplicate"; at: number; len: number };

/** One mutation; positions are taken modulo the current length when applied. */
export function mutationArb(): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 0xffff });
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("flip" as const), at, bit: fc.nat({ max: 7 }) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("set" as const),
        at,
        value: fc.oneof(fc.constantFrom(...INTERESTING_U8), fc.nat({ max: 255 })),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("u16" as const),
        at,
        value: fc.oneof(fc.constantFrom(...INTERESTING_U16), fc.nat({ max: 0xffff })),
        le: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("u32" as const),
        at,
        value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat({ max: 0xffffffff })),
        le: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("delete" as const),
        at,
        len: fc.integer({ min: 1, max: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("insert" as const),
        at,
        bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("duplicate" as const),
        at,
        len: fc.integer({ min: 1, max: 64 }),
      }),
    },
  );
}

/** Applies the mutations in order to a copy of `seed`. */
export function mutate(seed: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of mutations) {
    const n = b.length;
    switch (m.kind) {
      case "flip":
        if (n > 0) b[m.at % n] = b[m.at % n]! ^ (1 << m.bit);
        break;
      case "set":
        if (n > 0) b[m.at % n] = m.value;
        break;
      case "u16":
        if (n >= 2) {
          const at = m.at % (n - 1);
          if (m.le) b.writeUInt16LE(m.value, at);
          else b.writeUInt16BE(m.value, at);
        }
        break;
      case "u32":
        if (n >= 4) {
          const at = m.at % (n - 3);
          if (m.le) b.writeUInt32LE(m.value >>> 0, at);
          else b.writeUInt32BE(m.value >>> 0, at);
        }
        break;
      case "truncate":
        b = b.subarray(0, m.at % (n + 1));
        break;
      case "delete": {
        if (n === 0) break;
        const at = m.at % n;
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + m.len))]);
        break;
      }
      case "insert": {
        const at = m.at % (n + 1);
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
      case "duplicate": {
        if (n === 0) break;
        const at = m.at % n;
        const piece = b.subarray(at, Math.min(n, at + m.len));
        b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
        break;
      }
    }
  }
  return Buffer.from(b);
}

/** Valid seeds from `seeds`, each with 1..maxMutations mutations applied. */
export function mutated(seeds: fc.Arbitrary<Uint8Array>, maxMutations = 6): fc.Arbitrary<Buffer> {
  return fc
    .tuple(seeds, fc.array(mutationArb(), { minLength: 1, maxLength: maxMutations }))
    .map(([seed, muts]) => mutate(seed, muts));
}

/** The same bytes placed at `before` bytes into a larger buffer whose other bytes are `fill`. */
export function embed(bytes: Uint8Array, before: number, after: number, fill: number): Buffer {
  const out = Buffer.alloc(before + bytes.length + after, fill);
  out.set(bytes, before);
  return out;
}

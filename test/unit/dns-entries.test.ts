/**
 * ScopedEntries (src/flows/dns-entries.ts) replaced the DNS cache's one Map keyed by
 * `scope + "\0" + ip`, whose insertion order was the eviction order (a use deleted and re-set the
 * key). These properties run random adds, touches and deletes on both and show that they find the
 * same entries and hold them in the same order, the order eviction and sweeps walk.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AgedEntry, ScopedEntries } from "../../src/flows/dns-entries.js";

interface TestEntry extends AgedEntry<TestEntry> {
  id: number;
}

const SCOPES = ["ctr-a", "ctr-b", "10.0.0.9"];
const IPS = ["192.0.2.1", "192.0.2.2", "2001:db8::3"];

type Op =
  | { kind: "put"; scope: string; ip: string }
  | { kind: "delete"; scope: string; ip: string }
  | { kind: "evictOldest" }
  | { kind: "sweep"; drop: number };

const scope = fc.constantFrom(...SCOPES);
const ip = fc.constantFrom(...IPS);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("put" as const), scope, ip }),
  fc.record({ kind: fc.constant("delete" as const), scope, ip }),
  fc.constant({ kind: "evictOldest" as const }),
  fc.record({ kind: fc.constant("sweep" as const), drop: fc.integer({ min: 0, max: 3 }) }),
);

const keyOf = (s: string, i: string): string => `${s}\u0000${i}`;

function inAgeOrder(index: ScopedEntries<TestEntry>): number[] {
  const out: number[] = [];
  for (let e = index.oldest(); e !== null; e = index.next(e)) out.push(e.id);
  return out;
}

describe("ScopedEntries", () => {
  it("finds and orders entries as a Map keyed by scope and address, re-set on each use, does", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 150 }), (ops) => {
        const index = new ScopedEntries<TestEntry>();
        const model = new Map<string, TestEntry>();
        let nextId = 0;
        for (const o of ops) {
          if (o.kind === "put") {
            // The cache's add: a held entry is refreshed (to the young end), a new one appended.
            const held = index.get(o.scope, o.ip);
            expect(held).toBe(model.get(keyOf(o.scope, o.ip)));
            if (held !== undefined) {
              index.touch(held);
              model.delete(keyOf(o.scope, o.ip));
              model.set(keyOf(o.scope, o.ip), held);
            } else {
              const e: TestEntry = { id: nextId++, scope: o.scope, ip: o.ip, older: null, newer: null };
              index.add(e);
              model.set(keyOf(o.scope, o.ip), e);
            }
          } else if (o.kind === "delete") {
            const held = index.get(o.scope, o.ip);
            if (held !== undefined) index.delete(held);
            model.delete(keyOf(o.scope, o.ip));
          } else if (o.kind === "evictOldest") {
            // makeRoom: the first entry in order goes.
            const first = index.oldest();
            const [key] = model.keys();
            expect(first === null ? undefined : keyOf(first.scope, first.ip)).toBe(key);
            if (first !== null) index.delete(first);
            if (key !== undefined) model.delete(key);
          } else {
            // sweep: every `drop`-th entry in order is deleted while walking.
            let n = 0;
            for (let e = index.oldest(); e !== null; ) {
              const next = index.next(e);
              if (o.drop > 0 && n++ % o.drop === 0) index.delete(e);
              e = next;
            }
            n = 0;
            for (const [key] of model) if (o.drop > 0 && n++ % o.drop === 0) model.delete(key);
          }
          expect(index.size).toBe(model.size);
          expect(inAgeOrder(index)).toEqual([...model.values()].map((e) => e.id));
          for (const s of SCOPES) for (const i of IPS) expect(index.get(s, i)).toBe(model.get(keyOf(s, i)));
        }
      }),
      { numRuns: 300 },
    );
  });
});

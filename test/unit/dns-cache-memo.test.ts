/**
 * DnsCache.namesFor keeps each address's sorted names until they change and skips the expiry pass
 * until the earliest expiry (src/flows/dns-cache.ts). These properties show, on random sequences of
 * answers, time steps, retains, sweeps, lookups and connection events, that what it gives is what the
 * cache holds as live (inspect(), which reads the names without the memo), and that the pipeline's
 * one-lookup namesForConnection behaves as namesFor followed by flowStarted/flowActive/flowEnded.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DnsCache, type DnsCacheOptions } from "../../src/flows/dns-cache.js";
import type { DnsMessage, DnsRecord } from "../../src/flows/dns-parser.js";
import type { ConnectionState } from "../../src/model/events.js";

const SCOPES = ["ctr-a", "10.0.0.9"];
const IPS = ["192.0.2.1", "192.0.2.2", "2001:db8::3"];
const NAMES = ["a.example", "b.example", "cdn.example.net", "z.example"];
const STATES: ConnectionState[] = ["attempt", "accepted", "rejected", "unanswered", "closed"];
const T0 = 1_700_000_000_000;

type Op =
  | { kind: "answer"; scope: string; qname: string; alias: string | null; ips: string[]; ttl: number }
  | { kind: "wait"; ms: number }
  | { kind: "retain"; scope: string; ip: string; names: string[] }
  | { kind: "sweep" }
  | { kind: "lookup"; scope: string; ip: string }
  | { kind: "connection"; scope: string; ip: string; state: ConnectionState };

const scope = fc.constantFrom(...SCOPES);
const ip = fc.constantFrom(...IPS);
const name = fc.constantFrom(...NAMES);

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("answer" as const),
    scope,
    qname: name,
    alias: fc.option(name, { nil: null }),
    ips: fc.uniqueArray(ip, { minLength: 1, maxLength: 3 }),
    ttl: fc.integer({ min: 0, max: 120 }),
  }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 90_000 }) }),
  fc.record({
    kind: fc.constant("retain" as const),
    scope,
    ip,
    names: fc.uniqueArray(name, { maxLength: 3 }),
  }),
  fc.constant({ kind: "sweep" as const }),
  fc.record({ kind: fc.constant("lookup" as const), scope, ip }),
  fc.record({ kind: fc.constant("connection" as const), scope, ip, state: fc.constantFrom(...STATES) }),
);

const options: fc.Arbitrary<DnsCacheOptions> = fc.record({
  maxEntries: fc.integer({ min: 2, max: 8 }),
  minTtlMs: fc.constantFrom(0, 5_000),
  maxTtlMs: fc.constantFrom(60_000, 3_600_000),
  maxNamesPerIp: fc.constantFrom(1, 2, 32),
  retainMs: fc.constantFrom(0, 30_000),
  openHoldMs: fc.constantFrom(0, 60_000),
});

/** An answer to `qname` (through `alias` when given, a CNAME) with one A/AAAA record per ip. */
function answer(o: Extract<Op, { kind: "answer" }>): DnsMessage {
  const target = o.alias !== null && o.alias !== o.qname ? o.alias : o.qname;
  const answers: DnsRecord[] = [];
  if (target !== o.qname) answers.push({ name: o.qname, type: "CNAME", data: target, ttl: o.ttl });
  for (const i of o.ips)
    answers.push({ name: target, type: i.includes(":") ? "AAAA" : "A", data: i, ttl: o.ttl });
  const base = { id: 1, isResponse: true, opcode: 0, rcode: 0, truncated: false };
  return { ...base, questions: [{ name: o.qname, type: 1 }], answers };
}

/** The names inspect() calls live: what namesFor must give, read without its memo. */
function liveByInspect(c: DnsCache, s: string, i: string, now: number): string[] {
  return c
    .inspect(s, i, now)
    .filter((n) => n.live)
    .map((n) => n.name);
}

/** The pipeline's connection bookkeeping before namesForConnection: a lookup, then one flow call. */
function lookupThenFlowCall(
  c: DnsCache,
  s: string,
  i: string,
  state: ConnectionState,
  now: number,
): string[] {
  const names = c.namesFor(s, i, now);
  if (names.length === 0) return names;
  if (state === "attempt") c.flowStarted(s, i, now);
  else if (state === "accepted") c.flowActive(s, i, now);
  else c.flowEnded(s, i, now);
  return names;
}

/** Everything both caches hold, for every scope and address. */
function contents(c: DnsCache, now: number): unknown {
  return SCOPES.flatMap((s) => IPS.map((i) => c.inspect(s, i, now)));
}

describe("DnsCache namesFor memo", () => {
  it("gives exactly the live names, whatever came before", () => {
    fc.assert(
      fc.property(options, fc.array(op, { minLength: 10, maxLength: 120, size: "max" }), (opts, ops) => {
        const c = new DnsCache(opts);
        let now = T0;
        for (const o of ops) {
          if (o.kind === "answer") c.record(o.scope, answer(o), now);
          else if (o.kind === "wait") now += o.ms;
          else if (o.kind === "retain") c.retain(o.scope, o.ip, o.names, now);
          else if (o.kind === "sweep") c.sweep(now);
          else if (o.kind === "connection") lookupThenFlowCall(c, o.scope, o.ip, o.state, now);
          else {
            const expected = liveByInspect(c, o.scope, o.ip, now);
            expect(c.namesFor(o.scope, o.ip, now)).toEqual(expected);
            // Asked twice with nothing in between: the same answer.
            expect(c.namesFor(o.scope, o.ip, now)).toEqual(expected);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it("namesForConnection is namesFor then the flow call, in names and in what the cache keeps", () => {
    fc.assert(
      fc.property(options, fc.array(op, { minLength: 10, maxLength: 120, size: "max" }), (opts, ops) => {
        const one = new DnsCache(opts);
        const two = new DnsCache(opts);
        let now = T0;
        for (const o of ops) {
          if (o.kind === "wait") now += o.ms;
          else if (o.kind === "connection") {
            expect(one.namesForConnection(o.scope, o.ip, o.state, now)).toEqual(
              lookupThenFlowCall(two, o.scope, o.ip, o.state, now),
            );
          } else
            for (const c of [one, two]) {
              if (o.kind === "answer") c.record(o.scope, answer(o), now);
              else if (o.kind === "retain") c.retain(o.scope, o.ip, o.names, now);
              else if (o.kind === "sweep") c.sweep(now);
              else c.namesFor(o.scope, o.ip, now);
            }
          expect(contents(one, now)).toEqual(contents(two, now));
          expect([one.size, one.evictions]).toEqual([two.size, two.evictions]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("shares one frozen array until the names change", () => {
    const c = new DnsCache({ maxEntries: 10, minTtlMs: 0, maxTtlMs: 3_600_000 });
    c.record(
      "ctr",
      answer({ kind: "answer", scope: "ctr", qname: "b.example", alias: null, ips: IPS, ttl: 60 }),
      T0,
    );
    const first = c.namesFor("ctr", "192.0.2.1", T0);
    expect(Object.isFrozen(first)).toBe(true);
    expect(c.namesFor("ctr", "192.0.2.1", T0 + 1_000)).toBe(first);
    c.record(
      "ctr",
      answer({ kind: "answer", scope: "ctr", qname: "a.example", alias: null, ips: IPS, ttl: 30 }),
      T0,
    );
    expect(c.namesFor("ctr", "192.0.2.1", T0 + 1_000)).toEqual(["a.example", "b.example"]);
    // a.example ran out: the next lookup drops it.
    expect(c.namesFor("ctr", "192.0.2.1", T0 + 30_000)).toEqual(["b.example"]);
    expect(c.namesFor("ctr", "192.0.2.1", T0 + 60_000)).toEqual([]);
  });
});

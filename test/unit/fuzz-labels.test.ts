/**
 * Fuzzing container-label policy parsing (src/rules/label-policy.ts, egress-rule.ts,
 * listen-rule.ts): labels are set by whoever builds the image or starts the container.
 * Properties: labelPolicyOf / parseEgressList / parseListenList never throw, do bounded work and
 * give bounded messages for huge values, every rule they return is well-formed, a label that came
 * from the image never widens policy, and valid rule lists parse back to what was written. Run
 * counts and seeds: see test/support/mutate.ts (FUZZ_RUNS=100000 for a longer campaign).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ContainerInfo } from "../../src/inventory/types.js";
import { normalizeIp } from "../../src/net/ip-format.js";
import { type EgressRule, normalizeHostName, parseEgressList } from "../../src/rules/egress-rule.js";
import { LABEL_EGRESS, LABEL_LISTEN, LABEL_MODE, labelPolicyOf } from "../../src/rules/label-policy.js";
import {
  MAX_LIST_CHARS,
  MAX_LIST_ITEMS,
  type PortRange,
  parseListenList,
} from "../../src/rules/listen-rule.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "../support/mutate.js";

/** Longest message any one label may produce: the value is capped at 4096 characters. */
const MAX_WARNING = 256 * 1024;

function itemCount(text: string): number {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "").length;
}

function checkPorts(ports: PortRange | null): void {
  if (ports === null) return;
  expect(Number.isInteger(ports.from) && Number.isInteger(ports.to)).toBe(true);
  expect(1 <= ports.from && ports.from <= ports.to && ports.to <= 65535).toBe(true);
}

function checkEgressRule(r: EgressRule): void {
  checkPorts(r.ports);
  expect([null, "tcp", "udp"]).toContain(r.proto);
  expect(r.text.length).toBeGreaterThan(0);
  expect(r.text).toBe(r.text.trim());
  expect(r.text).not.toContain(",");
  if (r.kind === "cidr") {
    expect(r.cidr.prefix).toBeLessThanOrEqual(r.cidr.version === 4 ? 32 : 128);
    const [addr] = r.cidr.text.split("/");
    expect(normalizeIp(addr!)).toBe(addr);
  } else if (r.kind === "host") {
    expect(normalizeHostName(r.host)).toBe(r.host);
  } else {
    expect(r.suffix.startsWith(".")).toBe(true);
    expect(normalizeHostName(r.suffix.slice(1))).toBe(r.suffix.slice(1));
  }
}

function checkList<R>(text: string, res: { rules: R[]; errors: string[] }): void {
  const items = itemCount(text);
  if (text.length > MAX_LIST_CHARS || items > MAX_LIST_ITEMS) {
    // Over a cap: rejected whole, with one short message.
    expect(res.rules).toEqual([]);
    expect(res.errors.length).toBe(1);
    expect(res.errors[0]!.length).toBeLessThan(200);
    return;
  }
  expect(res.rules.length + res.errors.length).toBe(items);
  for (const e of res.errors) expect(typeof e === "string" && e.length > 0).toBe(true);
}

// ---- text generators ----

const token = fc.constantFrom(
  "10.0.0.0/8",
  "192.0.2.7",
  "0.0.0.0/0",
  "::/0",
  "fd00::1",
  "[fd00::/8]",
  "[::ffff:1.2.3.4]",
  "::ffff:1.2.3.4",
  "example.com",
  "*.example.com",
  "*",
  "*.*",
  "Ex-ample_1.COM.",
  ":",
  "::",
  "/",
  "//",
  "[",
  "]",
  ",",
  ", ",
  " ",
  "\t",
  "-",
  ".",
  "..",
  "%eth0",
  "443",
  "0",
  "65535",
  "65536",
  "99999",
  "8000-8100",
  "9-1",
  "01",
  "010.0.0.1",
  "/tcp",
  "/udp",
  "/TCP",
  "/sctp",
  "/24",
  "/33",
  "/129",
  "/-1",
  "/08",
  "1.2.3",
  "1.2.3.4.5",
  "256.1.1.1",
  "é",
  "\u0000",
  "\u202e",
  "xn--bcher-kva.example",
);

/** Rule-ish text: tokens glued together, so separators land in odd places. */
const ruleText = fc.array(token, { maxLength: 24 }).map((t) => t.join(""));

/** Values over the caps: one piece repeated up to ~40k characters or ~2k items. */
const hugeText = fc
  .tuple(
    fc.constantFrom(
      "a",
      ",",
      "1,",
      "10.0.0.0/8:443/tcp, ",
      "*.x.example.com,",
      " ",
      "[::]:1,",
      "x".repeat(70),
    ),
    fc.integer({ min: 1, max: 40_000 }),
  )
  .map(([piece, n]) => piece.repeat(Math.ceil(n / piece.length)).slice(0, n));

const anyLabelText = fc.oneof(
  { weight: 6, arbitrary: ruleText },
  { weight: 2, arbitrary: hugeText },
  { weight: 2, arbitrary: fc.string({ maxLength: 200, unit: "binary" }) },
);

// ---- valid rules ----

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const v6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => normalizeIp(g.map((x) => x.toString(16)).join(":"))!);
const hostLabel = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
const hostName = fc.array(hostLabel, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const portSpec = fc
  .tuple(
    fc.integer({ min: 1, max: 65535 }),
    fc.integer({ min: 0, max: 500 }),
    fc.constantFrom("", "/tcp", "/udp", "/UDP"),
  )
  .map(([a, span, proto]) => ({
    text: `${span === 0 ? a : `${a}-${Math.min(65535, a + span)}`}${proto}`,
    from: a,
    to: span === 0 ? a : Math.min(65535, a + span),
    proto: proto === "" ? null : proto.slice(1).toLowerCase(),
  }));

const validEgress = fc.oneof(
  fc.tuple(v4, fc.nat(32), fc.option(portSpec)).map(([a, p, ps]) => ({
    text: `${a}/${p}${ps ? `:${ps.text}` : ""}`,
    kind: "cidr",
    ports: ps,
  })),
  fc.tuple(v6, fc.nat(128), fc.option(portSpec)).map(([a, p, ps]) => ({
    text: ps ? `[${a}/${p}]:${ps.text}` : `${a}/${p}`,
    kind: "cidr",
    ports: ps,
  })),
  fc.tuple(hostName, fc.option(portSpec)).map(([h, ps]) => ({
    text: `${h}${ps ? `:${ps.text}` : ""}`,
    kind: /^[\d.]+$/.test(h) ? "skip" : "host",
    ports: ps,
  })),
  fc.tuple(hostName, fc.option(portSpec)).map(([h, ps]) => ({
    text: `*.${h}${ps ? `:${ps.text}` : ""}`,
    kind: "wildcard",
    ports: ps,
  })),
);

function container(
  labels: Record<string, string>,
  imageLabels: Record<string, string> | null,
): ContainerInfo {
  return {
    ref: { id: "f".repeat(64), name: "fuzzed", image: "img", service: null, project: null },
    imageId: "sha256:0",
    labels,
    imageLabels,
    networks: [],
    pid: 0,
    exposedPorts: [],
    publishedPorts: [],
    startedAt: 0,
    finishedAt: null,
    running: true,
  };
}

describe("fuzz: label policy", () => {
  it(
    "parseEgressList: any text, never throws, counts every item, every rule well-formed",
    () => {
      fc.assert(
        fc.property(anyLabelText, (text) => {
          const res = parseEgressList(text);
          checkList(text, res);
          for (const r of res.rules) checkEgressRule(r);
          for (const e of res.errors) expect(e.length).toBeLessThan(3 * MAX_LIST_CHARS + 300);
        }),
        fuzzParams(0x1abe101, 1500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "parseListenList: any text, never throws, counts every item, every rule well-formed",
    () => {
      fc.assert(
        fc.property(anyLabelText, (text) => {
          const res = parseListenList(text);
          checkList(text, res);
          for (const r of res.rules) {
            checkPorts(r.ports);
            expect([null, "tcp", "udp"]).toContain(r.proto);
            expect(r.text).toBe(r.text.trim());
          }
        }),
        fuzzParams(0x1abe102, 1500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "valid rule lists parse back to what was written, with any spacing",
    () => {
      fc.assert(
        fc.property(
          fc.array(validEgress, { maxLength: 12 }),
          fc.array(portSpec, { maxLength: 12 }),
          fc.constantFrom(",", ", ", " , ", ",,"),
          (egress, listen, sep) => {
            const eg = egress.filter((e) => e.kind !== "skip");
            const er = parseEgressList(eg.map((e) => e.text).join(sep));
            expect(er.errors).toEqual([]);
            expect(er.rules.map((r) => r.kind)).toEqual(eg.map((e) => e.kind));
            er.rules.forEach((r, i) => {
              const ps = eg[i]!.ports;
              expect(r.ports).toEqual(ps ? { from: ps.from, to: ps.to } : null);
              expect(r.proto).toBe(ps ? ps.proto : null);
            });
            const lr = parseListenList(listen.map((l) => l.text).join(sep));
            expect(lr.errors).toEqual([]);
            expect(lr.rules.map((r) => ({ ...r.ports, proto: r.proto }))).toEqual(
              listen.map((l) => ({ from: l.from, to: l.to, proto: l.proto })),
            );
          },
        ),
        fuzzParams(0x1abe103, 400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "labelPolicyOf: any labels, never throws, bounded warnings; image labels never widen policy",
    () => {
      const value = fc.oneof(
        anyLabelText,
        fc.constantFrom("learn", "monitor", " enforce ", "off", "ENFORCE", "", "10.0.0.0/8", "80/tcp"),
      );
      fc.assert(
        fc.property(
          fc.record({ mode: value, egress: value, listen: value, other: value }, { requiredKeys: [] }),
          fc.record({ mode: fc.boolean(), egress: fc.boolean(), listen: fc.boolean(), known: fc.boolean() }),
          (vals, fromImage) => {
            const labels: Record<string, string> = {};
            if (vals.mode !== undefined) labels[LABEL_MODE] = vals.mode;
            if (vals.egress !== undefined) labels[LABEL_EGRESS] = vals.egress;
            if (vals.listen !== undefined) labels[LABEL_LISTEN] = vals.listen;
            if (vals.other !== undefined) labels["com.example.other"] = vals.other;
            // The image carries the same value for the keys marked as coming from it.
            const image: Record<string, string> = {};
            if (fromImage.mode && vals.mode !== undefined) image[LABEL_MODE] = vals.mode;
            if (fromImage.egress && vals.egress !== undefined) image[LABEL_EGRESS] = vals.egress;
            if (fromImage.listen && vals.listen !== undefined) image[LABEL_LISTEN] = vals.listen;
            const info = container(labels, fromImage.known ? image : null);
            const pol = labelPolicyOf(info);
            for (const w of pol.warnings) {
              expect(w.length).toBeLessThan(MAX_WARNING);
              expect(w).toContain("container fuzzed:");
            }
            expect(pol.warnings.length).toBeLessThanOrEqual(3);
            if (fromImage.known && image[LABEL_EGRESS] !== undefined) expect(pol.egress).toEqual([]);
            if (fromImage.known && image[LABEL_LISTEN] !== undefined) expect(pol.listen).toEqual([]);
            expect(pol.modeFromImage).toBe(
              pol.mode !== null && fromImage.known && image[LABEL_MODE] !== undefined,
            );
            for (const r of pol.egress) checkEgressRule(r);
            if (pol.mode !== null) expect(["learn", "monitor", "enforce", "off"]).toContain(pol.mode);
          },
        ),
        fuzzParams(0x1abe104, 800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("regressions: huge label values are rejected whole, quickly, with a short message", () => {
    const t0 = performance.now();
    const huge = "10.0.0.0/8:443/tcp,".repeat(200_000);
    const pol = labelPolicyOf(
      container(
        { [LABEL_EGRESS]: huge, [LABEL_LISTEN]: ",".repeat(1_000_000), [LABEL_MODE]: "x".repeat(1_000_000) },
        null,
      ),
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(pol.egress).toEqual([]);
    expect(pol.listen).toEqual([]);
    expect(pol.mode).toBeNull();
    expect(pol.warnings).toHaveLength(3);
    for (const w of pol.warnings) expect(w.length).toBeLessThan(300);
    // 257 items under the character cap: rejected whole rather than truncated.
    expect(parseListenList(Array.from({ length: 257 }, () => "1").join(",")).rules).toEqual([]);
  });
});

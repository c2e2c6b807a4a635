/**
 * Fuzzing what netmon reads from Docker (src/inventory/parse-inspect.ts, event-lines.ts,
 * docker-event.ts): inspect objects carry labels any image can set, and replay reads inspect
 * files from anywhere. Properties: parseContainerInspect never throws and returns only checked,
 * bounded values (or a reason); keys such as __proto__ pollute nothing; the event stream splitter
 * gives the same objects however the stream is chunked (even inside a UTF-8 character), drops
 * every over-long line and never buffers more than its limit; parseDockerEvent never throws. Run
 * counts and seeds: see test/support/mutate.ts (FUZZ_RUNS=100000 for a longer campaign).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDockerEvent } from "../../src/inventory/docker-event.js";
import { EventLineSplitter } from "../../src/inventory/event-lines.js";
import { parseContainerInspect } from "../../src/inventory/parse-inspect.js";
import type { ContainerInfo } from "../../src/inventory/types.js";
import { normalizeIp } from "../../src/net/ip-format.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "../support/mutate.js";

const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"];

function checkInfo(c: ContainerInfo, warnings: string[]): void {
  expect(c.ref.id).toMatch(/^[0-9a-f]{12,64}$/);
  expect(typeof c.ref.name === "string" && c.ref.name.length > 0).toBe(true);
  const labelKeys = Object.keys(c.labels);
  expect(labelKeys.length).toBeLessThanOrEqual(512);
  for (const k of labelKeys) {
    expect(k.length).toBeLessThanOrEqual(256);
    expect(typeof c.labels[k]).toBe("string");
    expect(c.labels[k]!.length).toBeLessThanOrEqual(4096);
  }
  expect(Object.getPrototypeOf(c.labels)).toBe(Object.prototype);
  expect(c.networks.length).toBeLessThanOrEqual(64);
  for (const n of c.networks) {
    for (const ip of [n.ipv4, n.ipv6, n.gateway]) if (ip !== null) expect(normalizeIp(ip)).toBe(ip);
    if (n.bridge !== null) expect(typeof n.bridge).toBe("string");
  }
  expect(c.exposedPorts.length).toBeLessThanOrEqual(1024);
  for (const p of c.publishedPorts) {
    for (const v of [p.containerPort, p.hostPort])
      expect(Number.isInteger(v) && v >= 1 && v <= 65535).toBe(true);
  }
  expect(Number.isInteger(c.pid) && c.pid >= 0 && c.pid <= 2 ** 31).toBe(true);
  expect(Number.isFinite(c.startedAt) && c.startedAt >= 0).toBe(true);
  if (c.finishedAt !== null) expect(Number.isFinite(c.finishedAt) && c.finishedAt > 0).toBe(true);
  for (const w of warnings) expect(w.length).toBeLessThan(1024);
}

function parseChecked(raw: unknown): void {
  const res = parseContainerInspect(raw, new Map([["f".repeat(64), "br-custom"]]));
  if (res.ok) checkInfo(res.value, res.warnings);
  else expect(typeof res.error === "string" && res.error.length > 0).toBe(true);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

// ---- generators of inspect objects ----

const hexId = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{64}$/),
  fc.stringMatching(/^[0-9a-f]{12}$/),
  fc.constantFrom("", "XYZ", "0".repeat(65), "f".repeat(64)),
);
const ipText = fc.oneof(
  fc.constantFrom(
    "172.17.0.2",
    "fd00::2",
    "::ffff:10.0.0.1",
    "",
    "256.0.0.1",
    "1.2.3",
    "fe80::1%eth0",
    "::::",
  ),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join(".")),
  fc.string({ maxLength: 70 }),
);
const timeText = fc.oneof(
  fc.constantFrom(
    "0001-01-01T00:00:00Z",
    "2025-12-31T23:59:00.123456789Z",
    "",
    "yesterday",
    "-271821-04-20T00:00:00Z",
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const portSpec = fc.oneof(
  fc
    .tuple(fc.nat(70000), fc.constantFrom("tcp", "udp", "sctp", "icmp", ""))
    .map(([p, t]) => (t ? `${p}/${t}` : `${p}`)),
  fc.string({ maxLength: 12 }),
);
const labelKey = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z.]{1,20}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS, "netmon.mode", "com.docker.compose.service") },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 300 }).map((n) => "k".repeat(n)) },
);
const labelValue = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 4090, max: 5000 }).map((n) => "v".repeat(n)) },
);

const endpoint = fc.record(
  {
    NetworkID: fc.oneof(hexId, fc.constant(null)),
    IPAddress: fc.oneof(ipText, fc.constant(null)),
    GlobalIPv6Address: fc.oneof(ipText, fc.constant(null)),
    MacAddress: fc.oneof(fc.constant("02:42:ac:11:00:02"), fc.string({ maxLength: 70 })),
    Gateway: fc.oneof(ipText, fc.constant(null)),
  },
  { requiredKeys: [] },
);

/** Label, network and port maps built as JSON text, so __proto__ arrives as an own key (as from JSON.parse). */
function objectFrom<T>(entries: [string, T][]): Record<string, T> {
  const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
  return JSON.parse(text) as Record<string, T>;
}

const inspectArb = fc
  .record({
    Id: hexId,
    Name: fc.oneof(fc.constantFrom("/web", "/", "", "/__proto__"), fc.string({ maxLength: 300 })),
    Image: fc.string({ maxLength: 40 }),
    labels: fc.oneof(
      fc.array(fc.tuple(labelKey, labelValue), { maxLength: 12 }),
      // More labels than the cap.
      fc
        .integer({ min: 500, max: 700 })
        .map((n) => Array.from({ length: n }, (_, i): [string, string] => [`l${i}`, "x"])),
    ),
    exposed: fc.array(portSpec, { maxLength: 6 }),
    State: fc.record(
      {
        Running: fc.oneof(fc.boolean(), fc.constant(null)),
        Pid: fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 2 ** 31 + 1, 2 ** 53)),
        StartedAt: timeText,
        FinishedAt: timeText,
      },
      { requiredKeys: [] },
    ),
    networks: fc.oneof(
      fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom("bridge", "host", ...PROTO_KEYS), fc.string({ maxLength: 20 })),
          endpoint,
        ),
        {
          maxLength: 5,
        },
      ),
      fc
        .integer({ min: 60, max: 80 })
        .map((n) =>
          Array.from({ length: n }, (_, i): [string, object] => [`n${i}`, { IPAddress: `10.0.${i}.2` }]),
        ),
    ),
    ports: fc.array(
      fc.tuple(
        portSpec,
        fc.option(
          fc.array(
            fc.record({
              HostIp: fc.constantFrom("0.0.0.0", "::", ""),
              HostPort: fc.oneof(fc.nat(70000).map(String), fc.string({ maxLength: 8 })),
            }),
            { maxLength: 3 },
          ),
        ),
      ),
      { maxLength: 4 },
    ),
    NetworkMode: fc.constantFrom("bridge", "host", "none", "container:abc"),
  })
  .map((g) => ({
    Id: g.Id,
    Name: g.Name,
    Image: g.Image,
    Config: {
      Image: "img",
      Labels: objectFrom(g.labels),
      ExposedPorts: objectFrom(g.exposed.map((p) => [p, {}])),
    },
    State: g.State,
    HostConfig: { NetworkMode: g.NetworkMode },
    NetworkSettings: { Networks: objectFrom(g.networks), Ports: objectFrom(g.ports) },
  }));

/** Every path to a value in a JSON-like tree. */
function paths(v: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  out.push(prefix);
  if (v !== null && typeof v === "object") {
    for (const [k, child] of Object.entries(v)) paths(child, [...prefix, k], out);
  }
  return out;
}

/** A deep copy with the value at paths[i] replaced. */
function poison(obj: unknown, pick: number, value: unknown): unknown {
  const all = paths(obj).filter((p) => p.length > 0);
  if (all.length === 0) return value;
  const path = all[pick % all.length]!;
  const copy = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  Object.defineProperty(node, path[path.length - 1]!, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

const weirdValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, "", -1, 1e308, Number.NaN, [], {}, "x".repeat(100_000), true),
);

// ---- event stream ----

const eventObject = fc.record(
  {
    Type: fc.constantFrom("container", "network", "image", "x".repeat(40)),
    Action: fc.constantFrom("start", "die", "exec_start: sh -c 'a:b'", "connect", ""),
    Actor: fc.record(
      {
        ID: fc.string({ maxLength: 20 }),
        Attributes: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
      },
      { requiredKeys: [] },
    ),
    time: fc.oneof(fc.nat(), fc.constantFrom(1e306, -1, 0, 1.5)),
    timeNano: fc.oneof(fc.nat(), fc.constantFrom(1e306, -1, 0)),
  },
  { requiredKeys: [] },
);

const lineArb = fc.oneof(
  { weight: 4, arbitrary: eventObject.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40, unit: "grapheme" }).map((s) => s.replace(/\n/g, " ")) },
  { weight: 1, arbitrary: fc.constantFrom("", "   ", "\r", "{", "}", '{"a":"€😀"}', "null", "1e400") },
  // Longer than the splitter's limit (chosen from 16..200 below).
  { weight: 2, arbitrary: fc.integer({ min: 150, max: 600 }).map((n) => `{"pad":"${"p".repeat(n)}"}`) },
);

function expectedObjects(lines: string[], maxLine: number): unknown[] {
  const out: unknown[] = [];
  for (const line of lines) {
    if (line.length > maxLine) continue;
    const t = line.trim();
    if (t === "") continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      // a bad line: reported, not delivered
    }
  }
  return out;
}

describe("fuzz: Docker input", () => {
  it(
    "parseContainerInspect: any JSON value, never throws",
    () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (raw) => {
          parseChecked(raw);
        }),
        fuzzParams(0x1e5e001, 500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "parseContainerInspect: inspect objects with hostile fields and one poisoned value: bounded, checked output",
    () => {
      fc.assert(
        fc.property(inspectArb, fc.option(fc.tuple(fc.nat(), weirdValue), { freq: 2 }), (obj, p) => {
          parseChecked(p === null ? obj : poison(obj, p[0], p[1]));
        }),
        fuzzParams(0x1e5e002, 400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "EventLineSplitter: the same objects however the stream is chunked; over-long lines dropped; bounded buffer",
    () => {
      fc.assert(
        fc.property(
          fc.array(lineArb, { maxLength: 12 }),
          fc.integer({ min: 16, max: 200 }),
          fc.array(fc.nat(), { maxLength: 12 }),
          fc.boolean(),
          (lines, maxLine, cutSeeds, asBuffers) => {
            const text = lines.map((l) => `${l}\n`).join("");
            const objects: unknown[] = [];
            const s = new EventLineSplitter(
              (o) => objects.push(o),
              (reason) => expect(reason.length).toBeLessThan(200),
              maxLine,
            );
            const whole = asBuffers ? Buffer.from(text, "utf8") : text;
            const cuts = [...new Set(cutSeeds.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
            let prev = 0;
            for (const cut of [...cuts, whole.length]) {
              s.push(typeof whole === "string" ? whole.slice(prev, cut) : whole.subarray(prev, cut));
              prev = cut;
              expect((Reflect.get(s, "partial") as string).length).toBeLessThanOrEqual(maxLine);
            }
            expect(objects).toEqual(expectedObjects(lines, maxLine));
          },
        ),
        fuzzParams(0x1e5e003, 800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "parseDockerEvent: any JSON value or event-shaped object, never throws, checked output",
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), eventObject), fc.nat(), (raw, now) => {
          const ev = parseDockerEvent(raw, now);
          if (ev === null) return;
          expect(ev.type.length).toBeLessThanOrEqual(32);
          expect(ev.action).not.toContain(":");
          expect(ev.action).toBe(ev.action.trim());
          expect(typeof ev.actorId).toBe("string");
          for (const v of Object.values(ev.attributes)) expect(typeof v).toBe("string");
          // A number, never NaN (a "time" near 1e306 reads as Infinity ms: Docker's clock is trusted).
          expect(typeof ev.atMs === "number" && !Number.isNaN(ev.atMs)).toBe(true);
        }),
        fuzzParams(0x1e5e004, 600),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("regressions: an over-long line that arrives in one chunk is dropped like one that arrives in pieces", () => {
    const objects: unknown[] = [];
    const bad: string[] = [];
    const s = new EventLineSplitter(
      (o) => objects.push(o),
      (r) => bad.push(r),
      16,
    );
    s.push(`{"pad":"${"p".repeat(40)}"}\n{"a":1}\n`);
    expect(objects).toEqual([{ a: 1 }]);
    expect(bad).toEqual(["event line longer than 16 bytes discarded"]);
    // A partial line within the limit completed by a chunk that takes it over the limit.
    s.push('{"b":"1234');
    s.push('567890"}\n');
    expect(objects).toEqual([{ a: 1 }]);
    // Labels named after Object.prototype members stay plain labels.
    const res = parseContainerInspect(
      JSON.parse(`{"Id":"${"a".repeat(64)}","Config":{"Labels":{"__proto__":"x","constructor":"y"}}}`),
      new Map(),
    );
    expect(res.ok).toBe(true);
    if (res.ok) expect(Object.getPrototypeOf(res.value.labels)).toBe(Object.prototype);
  });
});

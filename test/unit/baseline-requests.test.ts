import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Baseline } from "../../src/baseline/baseline.js";
import {
  appendBaselineRequest,
  applyBaselineRequest,
  applyPendingBaselineRequests,
  BASELINE_REQUESTS_FILE,
  takeBaselineRequests,
} from "../../src/baseline/baseline-requests.js";

const T0 = 1_700_000_000_000;
const AT = new Date(T0).toISOString();
const W = "shop/web";

function learned(): Baseline {
  const b = new Baseline();
  b.recordEgress(W, "api.example.com", 443, "tcp", T0);
  b.recordListen(W, 8080, "tcp", T0);
  b.recordEgress("shop/db", "203.0.113.5", 5432, "tcp", T0);
  return b;
}

describe("baseline request file", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "netmon-requests-"));
    path = join(dir, "state", BASELINE_REQUESTS_FILE);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("round trip: what the CLI appends, the daemon takes once, in order", () => {
    // Requests queued while no daemon runs wait for the next take (its start).
    appendBaselineRequest(path, { op: "forget", workload: W, entry: "8080/tcp", at: AT });
    appendBaselineRequest(path, { op: "reset", at: AT });
    expect(takeBaselineRequests(path)).toEqual({
      requests: [
        { op: "forget", workload: W, entry: "8080/tcp", at: AT },
        { op: "reset", at: AT },
      ],
      errors: [],
    });
    // Taken: the file is gone, and a second take finds nothing.
    expect(readdirSync(join(dir, "state"))).toEqual([]);
    expect(takeBaselineRequests(path)).toEqual({ requests: [], errors: [] });
  });

  it("a malformed line is reported and skipped; the others still apply", () => {
    // A hand-edited or truncated line must not block the operator's other requests.
    appendBaselineRequest(path, { op: "forget", workload: W, at: AT });
    writeFileSync(path, `${readFileSync(path, "utf8")}{"op":"drop"}\nnot json\n`);
    const { requests, errors } = takeBaselineRequests(path);
    expect(requests).toHaveLength(1);
    expect(errors).toEqual([expect.stringMatching(/^line 2: /), "line 3: not JSON"]);
  });

  it("the daemon side applies the pending requests to its in-memory baseline", () => {
    // The running daemon's copy is what judges traffic: it must change, not only the file.
    const b = learned();
    b.dirty = false;
    appendBaselineRequest(path, { op: "forget", workload: W, entry: "api.example.com:443/tcp", at: AT });
    appendBaselineRequest(path, { op: "forget", workload: "shop/db", at: AT });
    expect(applyPendingBaselineRequests(path, b)).toEqual([
      "shop/web: api.example.com:443/tcp forgotten",
      "baseline of shop/db reset",
    ]);
    expect(b.hasEgress(W, "203.0.113.9", ["api.example.com"], 443, "tcp")).toBe(false);
    expect(b.hasListen(W, 8080, "tcp")).toBe(true);
    expect(b.names()).toEqual([W]);
    expect(b.dirty).toBe(true);
    expect(applyPendingBaselineRequests(path, b)).toEqual([]);
  });
});

describe("applyBaselineRequest", () => {
  const cases: { why: string; request: Parameters<typeof applyBaselineRequest>[1]; says: RegExp }[] = [
    { why: "reset", request: { op: "reset", at: AT }, says: /^baseline reset: 2 workloads forgotten$/ },
    {
      why: "unknown workload",
      request: { op: "forget", workload: "nope", at: AT },
      says: /nothing to forget/,
    },
    {
      why: "entry not learned",
      request: { op: "forget", workload: W, entry: "9090/tcp", at: AT },
      says: /9090\/tcp was not learned/,
    },
    {
      why: "malformed entry",
      request: { op: "forget", workload: W, entry: "what", at: AT },
      says: /not an entry/,
    },
  ];
  it.each(cases)("$why: says what it did", ({ request, says }) => {
    expect(applyBaselineRequest(learned(), request)).toMatch(says);
  });
});

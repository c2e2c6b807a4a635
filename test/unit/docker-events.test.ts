import { describe, expect, it } from "vitest";
import { parseDockerEvent } from "../../src/inventory/docker-event.js";
import { EventLineSplitter } from "../../src/inventory/event-lines.js";

function splitter(maxLine?: number) {
  const objects: unknown[] = [];
  const bad: string[] = [];
  const s = new EventLineSplitter(
    (o) => objects.push(o),
    (r) => bad.push(r),
    maxLine,
  );
  return { s, objects, bad };
}

const START = {
  status: "start",
  id: "3f4e8b1c2d9a7e6f5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
  from: "nginx:1.25",
  Type: "container",
  Action: "start",
  Actor: {
    ID: "3f4e8b1c2d9a7e6f5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
    Attributes: { image: "nginx:1.25", name: "web", "com.docker.compose.service": "web" },
  },
  scope: "local",
  time: 1709287201,
  timeNano: 1709287201531249000, // 1709287201531248977 after JSON.parse
};

describe("EventLineSplitter", () => {
  it("reassembles a line split across chunks", () => {
    const { s, objects, bad } = splitter();
    const line = `${JSON.stringify(START)}\n`;
    s.push(line.slice(0, 10));
    s.push(Buffer.from(line.slice(10, 100)));
    expect(objects).toEqual([]);
    s.push(line.slice(100));
    expect(objects).toEqual([START]);
    expect(bad).toEqual([]);
  });

  it("reassembles a multi-byte UTF-8 character split across Buffer chunks", () => {
    const { s, objects, bad } = splitter();
    const bytes = Buffer.from('{"name":"caf\u00e9 \u{1f433}"}\n', "utf8");
    const cut1 = bytes.indexOf(0xc3) + 1; // inside "é"
    const cut2 = bytes.indexOf(0xf0) + 2; // inside the whale
    s.push(bytes.subarray(0, cut1));
    s.push(bytes.subarray(cut1, cut2));
    s.push(bytes.subarray(cut2));
    expect(objects).toEqual([{ name: "caf\u00e9 \u{1f433}" }]);
    expect(bad).toEqual([]);
  });

  it("parses several lines in one chunk and keeps the unfinished tail", () => {
    const { s, objects } = splitter();
    s.push('{"a":1}\n{"a":2}\n{"a":');
    expect(objects).toEqual([{ a: 1 }, { a: 2 }]);
    s.push("3}\n");
    expect(objects).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
  });

  it("skips blank and whitespace-only lines, and tolerates CRLF", () => {
    const { s, objects, bad } = splitter();
    s.push('\n\n   \n\t\n{"a":1}\r\n\r\n');
    expect(objects).toEqual([{ a: 1 }]);
    expect(bad).toEqual([]);
  });

  it("reports a line that is not JSON and carries on", () => {
    const { s, objects, bad } = splitter();
    s.push('not json\n{"a":1}\n{"broken":\n');
    expect(objects).toEqual([{ a: 1 }]);
    expect(bad).toEqual(['event line is not JSON: "not json"', 'event line is not JSON: "{\\"broken\\":"']);
  });

  it("quotes at most 80 characters of a bad line", () => {
    const { s, bad } = splitter();
    s.push(`${"z".repeat(500)}\n`);
    expect(bad).toEqual([`event line is not JSON: "${"z".repeat(80)}"`]);
  });

  it("discards an over-long line without buffering it, and parses the next good line", () => {
    const { s, objects, bad } = splitter(100);
    s.push('{"a":1}\n');
    s.push(`{"pad":"${"x".repeat(150)}`);
    expect(bad).toEqual(["event line longer than 100 bytes discarded"]);
    s.push("x".repeat(50));
    s.push(`${"x".repeat(20)}"}\n{"a":2}\n`);
    expect(objects).toEqual([{ a: 1 }, { a: 2 }]);
    expect(bad).toEqual(["event line longer than 100 bytes discarded"]);
  });

  it("an over-long line whose end arrives with the next chunk does not swallow the line after it", () => {
    const { s, objects } = splitter(10);
    s.push("y".repeat(11));
    s.push('\n{"b":1}\n');
    expect(objects).toEqual([{ b: 1 }]);
  });
});

describe("parseDockerEvent", () => {
  it("reads a container event with timeNano (ms with the sub-ms fraction)", () => {
    const ev = parseDockerEvent(START, 1);
    expect(ev).not.toBeNull();
    expect(ev?.type).toBe("container");
    expect(ev?.action).toBe("start");
    expect(ev?.actorId).toBe(START.Actor.ID);
    expect(ev?.attributes).toEqual(START.Actor.Attributes);
    expect(Math.floor(ev?.atMs ?? 0)).toBe(1_709_287_201_531);
    expect(ev?.atMs).toBeCloseTo(1_709_287_201_531.249, 2);
  });

  it("uses time (seconds) when timeNano is missing", () => {
    const ev = parseDockerEvent(
      { Type: "network", Action: "connect", Actor: { ID: "n1" }, time: 1709287201 },
      1,
    );
    expect(ev).toEqual({
      type: "network",
      action: "connect",
      actorId: "n1",
      attributes: {},
      atMs: 1_709_287_201_000,
    });
  });

  it("uses nowMs when the event has no time at all, and tolerates a missing Actor", () => {
    expect(parseDockerEvent({ Type: "container", Action: "die" }, 123_456)).toEqual({
      type: "container",
      action: "die",
      actorId: "",
      attributes: {},
      atMs: 123_456,
    });
  });

  it.each([
    ["exec_start: sh", "exec_start"],
    ["exec_create: sh -c echo a:b", "exec_create"],
    ["health_status: healthy", "health_status"],
    ["  kill  ", "kill"],
  ])("trims the action %j to %j", (action, expected) => {
    expect(parseDockerEvent({ Type: "container", Action: action, time: 1 }, 0)?.action).toBe(expected);
  });

  it.each([
    ["null", null],
    ["a string", "start"],
    ["an array", [{ Type: "container", Action: "start" }]],
    ["no Type", { Action: "start" }],
    ["no Action", { Type: "container" }],
    ["a numeric Type", { Type: 1, Action: "start" }],
    ["an over-long Type", { Type: "c".repeat(33), Action: "start" }],
    [
      "a non-string attribute",
      { Type: "container", Action: "start", Actor: { ID: "x", Attributes: { n: 1 } } },
    ],
    ["a string time", { Type: "container", Action: "start", time: "1709287201" }],
  ])("rejects %s", (_label, raw) => {
    expect(parseDockerEvent(raw, 0)).toBeNull();
  });
});

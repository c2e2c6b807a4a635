import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventsFileSchema } from "../../src/config/events-file-schema.js";
import { EventFileWriter } from "../../src/engine/event-file.js";
import { eventRecord, logEvent } from "../../src/engine/event-log.js";
import { parseEventLine } from "../../src/posture/event-file.js";
import { NetmonError } from "../../src/util/errors.js";
import { connectionEvent, containerRef, listenerEvent } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "netmon-events-"));
  dirs.push(dir);
  return join(dir, "events.jsonl");
}

const WEB = containerRef("shop-web-1");
/** What a line holds once written: keys with undefined values are left out. */
const written = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const attempt = connectionEvent({ from: WEB, srcIp: "1.2.3.4", srcPort: 1122, ip: "5.6.7.8", port: 3344 });

describe("event lines", () => {
  it("carry the flow's Community ID on every connection event, and none on listener events", () => {
    expect(eventRecord(attempt).event.communityId).toBe("1:wCb3OG7yAFWelaUydu0D+125CLM=");
    const closed = connectionEvent({
      state: "closed",
      srcIp: "5.6.7.8",
      srcPort: 3344,
      ip: "1.2.3.4",
      port: 1122,
    });
    expect(eventRecord(closed).event.communityId).toBe("1:wCb3OG7yAFWelaUydu0D+125CLM=");
    expect(eventRecord(listenerEvent(WEB)).event).not.toHaveProperty("communityId");
  });

  it("are the same object on the log stream as in the events file", () => {
    const { log, lines } = captureLog();
    logEvent(log, attempt);
    expect(lines[0]).toMatchObject({ msg: "connection", event: written(eventRecord(attempt).event) });
  });
});

describe("EventFileWriter", () => {
  const config = (path: string) => ({ ...eventsFileSchema.parse({}), path });

  it("writes one JSON object a line: time, app, the base fields, msg and event", () => {
    const path = tempPath();
    const { log } = captureLog();
    const w = new EventFileWriter(config(path), log, { host: "h1" });
    w.onEvent(attempt);
    w.onEvent(listenerEvent(WEB));
    w.close();
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    const [conn, listener] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(conn!)).toEqual(["time", "app", "host", "msg", "event"]);
    expect(conn).toMatchObject({
      app: "netmon",
      host: "h1",
      msg: "connection",
      event: written(eventRecord(attempt).event),
    });
    expect(Date.parse(String(conn!.time))).not.toBeNaN();
    expect(listener).toMatchObject({ msg: "listener", event: { state: "opened", port: 8080 } });
  });

  it("is readable by netmon audit / policy suggest --events as is", () => {
    const path = tempPath();
    const w = new EventFileWriter(config(path), captureLog().log);
    w.onEvent(attempt);
    w.close();
    const back = parseEventLine(readFileSync(path, "utf8").trimEnd());
    expect(back).toMatchObject({ kind: "connection", proto: "tcp", dst: { ip: "5.6.7.8", port: 3344 } });
  });

  it("refuses a path it cannot write with one clear NetmonError", () => {
    const path = join(tempPath(), "..", "missing-dir", "events.jsonl");
    expect(() => new EventFileWriter(config(path), captureLog().log)).toThrow(NetmonError);
    expect(() => new EventFileWriter(config(path), captureLog().log)).toThrow(
      /^log\.eventsFile\.path: cannot write/,
    );
  });
});

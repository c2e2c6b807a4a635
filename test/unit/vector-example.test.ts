import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ALERT_MSG, ALERT_RESOLVED_MSG, ALERT_UPDATED_MSG } from "../../src/alerts/log-sink.js";
import { eventsFileSchema } from "../../src/config/events-file-schema.js";
import { EventFileWriter } from "../../src/engine/event-file.js";
import { connectionEvent, containerRef } from "../support/fixtures.js";
import { captureLog } from "../support/log-capture.js";

const EXAMPLE = new URL("../../config/examples/vector.yaml", import.meta.url).pathname;

interface Component {
  type: string;
  inputs?: string[];
  include?: string[];
  condition?: string;
  labels?: Record<string, string>;
}
interface VectorConfig {
  sources: Record<string, Component>;
  transforms: Record<string, Component>;
  sinks: Record<string, Component>;
}

const config = parseYaml(readFileSync(EXAMPLE, "utf8")) as VectorConfig;

/** A glob of Vector's file source (only `*` used here) as a RegExp. */
const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);

describe("config/examples/vector.yaml", () => {
  it("is a Vector pipeline whose every input names a source or transform of it", () => {
    const known = new Set([...Object.keys(config.sources), ...Object.keys(config.transforms)]);
    const consumers = { ...config.transforms, ...config.sinks };
    expect(Object.keys(consumers).length).toBeGreaterThan(0);
    for (const [name, c] of Object.entries(consumers)) {
      expect(c.inputs?.length, name).toBeGreaterThan(0);
      for (const input of c.inputs ?? []) expect(known.has(input), `${name} ← ${input}`).toBe(true);
    }
  });

  it("tails the events file and every rotated file of it", () => {
    const file = Object.values(config.sources).find((s) => s.type === "file");
    const globs = (file?.include ?? []).map(globToRegExp);
    for (const path of [
      "/var/lib/netmon/events.jsonl",
      "/var/lib/netmon/events.jsonl.1",
      "/var/lib/netmon/events.jsonl.4",
    ])
      expect(
        globs.some((g) => g.test(path)),
        path,
      ).toBe(true);
  });

  it("keeps the message kinds netmon exports", () => {
    const filter = Object.values(config.transforms).find((t) => t.type === "filter");
    for (const msg of ["connection", "listener", ALERT_MSG, ALERT_UPDATED_MSG, ALERT_RESOLVED_MSG])
      expect(filter?.condition).toContain(JSON.stringify(msg));
  });

  it("labels by fields a line of the events file really has", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmon-vector-"));
    try {
      const path = join(dir, "events.jsonl");
      const w = new EventFileWriter({ ...eventsFileSchema.parse({}), path }, captureLog().log, {
        host: "h1",
      });
      w.onEvent(connectionEvent({ from: containerRef("shop-web-1") }));
      w.close();
      const line = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      const labels = Object.values(config.sinks).flatMap((s) => Object.values(s.labels ?? {}));
      expect(labels.length).toBeGreaterThan(0);
      for (const template of labels) {
        const field = /^\{\{ (\w+) \}\}$/.exec(template)?.[1];
        expect(field, template).toBeDefined();
        expect(line, template).toHaveProperty(field!);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../src/config/default-config.js";
import { loadConfig } from "../../src/config/load.js";
import { configSchema } from "../../src/config/schema.js";

const DEFAULTS_JSON = new URL("../../src/config/default-config.json", import.meta.url);
const UPDATE = process.env.UPDATE_DOCS === "1";

describe("embedded default configuration", () => {
  // The CLI answers a command without --config from the JSON file, without the schema: the file
  // must be exactly what the schema makes of an empty configuration.
  it("default-config.json is the schema's parse of an empty configuration", () => {
    const fromSchema = configSchema.parse({});
    if (UPDATE) writeFileSync(DEFAULTS_JSON, `${JSON.stringify(fromSchema, null, 2)}\n`);
    expect(JSON.parse(readFileSync(DEFAULTS_JSON, "utf8"))).toStrictEqual(fromSchema);
    expect(defaultConfig()).toStrictEqual(fromSchema);
  });

  it("is what loadConfig gives without a path", () => {
    expect(loadConfig(undefined)).toStrictEqual({ ok: true, config: configSchema.parse({}) });
  });

  it("hands out a fresh copy each time", () => {
    const a = defaultConfig();
    a.flows.maxFlows = 1;
    a.policy.egress.push(...configSchema.parse({ policy: { egress: ["10.0.0.1:53/udp"] } }).policy.egress);
    expect(defaultConfig()).toStrictEqual(configSchema.parse({}));
  });
});

import defaults from "./default-config.json" with { type: "json" };
import type { NetmonConfig } from "./schema.js";

/**
 * The embedded default configuration (every key at its schema default) without loading the schema:
 * zod, the detectors' option schemas and node-cron cost a command run without --config a large part
 * of its start-up. default-config.json is generated from configSchema.parse({}), and
 * test/unit/default-config.test.ts fails when the two differ (UPDATE_DOCS=1 rewrites the file).
 */
export function defaultConfig(): NetmonConfig {
  // A fresh copy per call, as the schema's parse gave: callers may adjust their config.
  return structuredClone(defaults) as NetmonConfig;
}

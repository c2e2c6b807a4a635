import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { defaultConfig } from "./default-config.js";
import { configSchema, type NetmonConfig } from "./schema.js";

export { defaultConfig };

// This module (schema, YAML parser) is loaded only for a configuration file: the CLI imports it
// in the command's action when --config is given, else it reads src/config/default-config.ts.

export type ConfigResult = { ok: true; config: NetmonConfig } | { ok: false; errors: string[] };

/** Validates an already-parsed object; every error names its key path. */
export function validateConfig(raw: unknown): ConfigResult {
  const parsed = configSchema.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, errors: parsed.error.issues.map(formatIssue) };
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.length > 0 ? `${path}.` : "";
    return issue.keys.map((k) => `${where}${k}: unknown key`).join("; ");
  }
  return `${path}: ${issue.message}`;
}

/** Parses YAML text; `source` names the file in messages. */
export function parseConfigText(text: string, source: string): ConfigResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: "error" });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${source}${pos ? `:${pos.line}:${pos.col}` : ""}: ${e.message.split("\n")[0]}`;
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // toJS throws on an alias with no anchor and on alias bombs ("billion laughs"): a bad file, not a crash.
    return { ok: false, errors: [`${source}: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (raw !== null && raw !== undefined && (typeof raw !== "object" || Array.isArray(raw))) {
    return { ok: false, errors: [`${source}: the configuration must be a YAML mapping`] };
  }
  const result = validateConfig(raw);
  if (result.ok) return result;
  return { ok: false, errors: result.errors.map((e) => `${source}: ${e}`) };
}

/** Loads a config file, or the embedded defaults when no path is given. */
export function loadConfig(path: string | undefined): ConfigResult {
  if (path === undefined) return { ok: true, config: defaultConfig() };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    return { ok: false, errors: [`${path}: cannot read the configuration file (${code})`] };
  }
  return parseConfigText(text, path);
}

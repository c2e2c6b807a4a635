import { parse as parseYaml } from "yaml";
import { type ConfigKey, configKeys } from "../model/config-meta.js";
import { configSchema, type NetmonConfig } from "./schema.js";

/**
 * What the schema's metadata says about the configuration: config/netmon.yaml (every key at its
 * default, with its description above it), the README's reference table, and which sections need
 * a restart. Generated, so none of them can drift from the code.
 */

const KEYS: readonly ConfigKey[] = configKeys(configSchema);

/** The top-level keys a running daemon cannot change: SIGHUP reports them instead of applying them. */
export function sectionsNeedingRestart(): (keyof NetmonConfig)[] {
  return KEYS.filter((k) => k.path.length === 1 && k.restart).map((k) => k.key as keyof NetmonConfig);
}

/**
 * Keys below the top whose change needs a restart, in a section that otherwise applies at once
 * (log.eventsFile: the file is opened at start); the shallowest such key of each branch.
 */
export function nestedKeysNeedingRestart(): string[][] {
  const top = new Set<string>(sectionsNeedingRestart());
  const out: string[][] = [];
  for (const k of KEYS) {
    if (k.path.length < 2 || !k.restart || top.has(k.path[0]!)) continue;
    if (out.some((p) => p.every((seg, i) => k.path[i] === seg))) continue;
    out.push(k.path);
  }
  return out;
}

/** Whether a change of `key` ("capture.snaplen", "detectors", …) needs a restart; throws for an unknown key. */
export function needsRestart(key: string): boolean {
  const found = KEYS.find((k) => k.key === key);
  if (found === undefined) throw new Error(`not a configuration key: ${JSON.stringify(key)}`);
  return found.restart;
}

const HEADER = [
  "# netmon configuration. Every key below is shown at its default: an empty file, or none",
  "# (`netmon run` without --config), gives exactly this. Unknown keys are errors.",
];
/** A description that fits in this many columns stays on one line; a longer one wraps at WRAP_AT. */
const ONE_LINE_UP_TO = 105;
const WRAP_AT = 98;

/** The full text of config/netmon.yaml. */
export function configYaml(): string {
  const defaults = configSchema.parse({});
  const lines = [...HEADER, ""];
  for (const k of KEYS) {
    const indent = "  ".repeat(k.path.length - 1);
    if (k.section && k.path.length === 1) lines.push("");
    lines.push(...commentLines(k.description, indent));
    const name = `${indent}${yamlScalar(k.path.at(-1)!)}:`;
    if (k.section) lines.push(name);
    else lines.push(...valueLines(name, valueAt(defaults, k.path), indent));
  }
  return `${lines.join("\n")}\n`;
}

export interface ReferenceRow {
  key: string;
  /** The default as JSON; "" for a section. */
  default: string;
  restart: boolean;
  doc: string;
}

/** One row per key, and per section that has a description. */
export function referenceRows(): ReferenceRow[] {
  const defaults = configSchema.parse({});
  return KEYS.filter((k) => !k.section || k.description !== undefined).map((k) => ({
    key: k.key,
    default: k.section ? "" : JSON.stringify(valueAt(defaults, k.path)),
    restart: k.restart,
    doc: (k.description ?? "").replace(/\s*\n\s*/g, " "),
  }));
}

export function referenceMarkdown(rows: readonly ReferenceRow[] = referenceRows()): string {
  const esc = (t: string) => t.replace(/\|/g, "\\|");
  const lines = ["| key | default | on reload | meaning |", "| --- | --- | --- | --- |"];
  for (const r of rows) {
    const value = r.default === "" ? "" : `\`${esc(r.default)}\``;
    lines.push(`| \`${r.key}\` | ${value} | ${r.restart ? "restart" : "applied"} | ${esc(r.doc)} |`);
  }
  return lines.join("\n");
}

const REFERENCE_BEGIN =
  "<!-- config-reference:begin (generated from the config schema by test/unit/config-reference.test.ts; UPDATE_DOCS=1 rewrites it) -->";
const REFERENCE_END = "<!-- config-reference:end -->";

/** `readme` with the reference table (markers included, whatever the begin marker says) generated. */
export function withReferenceTable(readme: string): string {
  const start = readme.indexOf(REFERENCE_BEGIN.slice(0, REFERENCE_BEGIN.indexOf(" (")));
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error("the README has no config-reference markers");
  const table = `${REFERENCE_BEGIN}\n${referenceMarkdown()}\n${REFERENCE_END}`;
  return `${readme.slice(0, start)}${table}${readme.slice(end + REFERENCE_END.length)}`;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((node, name) => (node as Record<string, unknown>)[name], root);
}

/**
 * The description as `# ` lines. Each line of it is a paragraph, wrapped; a line that starts with
 * a space is preformatted (an example) and kept as it is.
 */
function commentLines(description: string | undefined, indent: string): string[] {
  if (description === undefined) return [];
  const prefix = `${indent}# `;
  return description.split("\n").flatMap((line) => {
    if (line.startsWith(" ") || prefix.length + line.length <= ONE_LINE_UP_TO) return [`${prefix}${line}`];
    const out: string[] = [];
    let current = "";
    for (const word of line.split(" ")) {
      if (current !== "" && prefix.length + current.length + 1 + word.length > WRAP_AT) {
        out.push(`${prefix}${current}`);
        current = word;
      } else {
        current = current === "" ? word : `${current} ${word}`;
      }
    }
    out.push(`${prefix}${current}`);
    return out;
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `name: value`, or a block list when the value is a list of mappings (blocking.rules). */
function valueLines(name: string, value: unknown, indent: string): string[] {
  if (!Array.isArray(value) || !value.some(isPlainObject)) return [`${name} ${flowValue(value)}`];
  const lines = [name];
  for (const item of value) {
    const entries = isPlainObject(item) ? Object.entries(item) : [];
    if (entries.length === 0) {
      lines.push(`${indent}  - ${flowValue(item)}`);
      continue;
    }
    entries.forEach(([k, v], i) => {
      lines.push(`${indent}${i === 0 ? "  - " : "    "}${yamlScalar(k)}: ${flowValue(v)}`);
    });
  }
  return lines;
}

/** A value on one line, in YAML flow style. */
function flowValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return yamlScalar(value);
  if (Array.isArray(value)) return `[${value.map(flowValue).join(", ")}]`;
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([k, v]) => `${yamlScalar(k)}: ${flowValue(v)}`);
    return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
  }
  return String(value);
}

const PLAIN = /^[\w./][\w./-]*$/;
/** YAML 1.1 reads these as booleans: quoted, so no parser (or reader) takes "off" for false. */
const YAML11_BOOLEAN = /^(y|yes|n|no|on|off|true|false)$/i;

/** A string unquoted when YAML reads it back as that same string, else double-quoted (JSON is valid YAML). */
function yamlScalar(text: string): string {
  const plain = PLAIN.test(text) && !YAML11_BOOLEAN.test(text) && parseYaml(text) === text;
  return plain ? text : JSON.stringify(text);
}

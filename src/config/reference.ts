import { isMap, isPair, isScalar, parseDocument, type YAMLMap } from "yaml";

export interface ReferenceRow {
  key: string;
  default: string;
  doc: string;
}

/**
 * The configuration reference, read from config/netmon.yaml: every key with its default and the
 * comment above it. That file is tested to hold exactly the schema's defaults and every key, so a
 * reference generated from it cannot drift from the code.
 */
export function configReference(yamlText: string): ReferenceRow[] {
  const doc = parseDocument(yamlText);
  const rows: ReferenceRow[] = [];
  // The comment right above a key; a blank line ends it (the file header is not part of it). The
  // yaml library hangs the comment of a map's first key on the map itself.
  const commentOf = (text: string | null | undefined): string =>
    (text ?? "")
      .split("\n\n")
      .at(-1)!
      .replace(/\s*\n\s*/g, " ")
      .trim();
  const walk = (map: YAMLMap, prefix: string) => {
    map.items.forEach((item, index) => {
      if (!isPair(item) || !isScalar(item.key)) return;
      const key = `${prefix}${String(item.key.value)}`;
      const comment = commentOf(item.key.commentBefore ?? (index === 0 ? map.commentBefore : undefined));
      if (isMap(item.value)) {
        if (comment) rows.push({ key, default: "", doc: comment });
        walk(item.value, `${key}.`);
        return;
      }
      const value = JSON.stringify((item.value as { toJSON(): unknown } | null)?.toJSON() ?? null);
      rows.push({ key, default: value, doc: comment });
    });
  };
  if (isMap(doc.contents)) walk(doc.contents, "");
  return rows;
}

export function referenceMarkdown(rows: ReferenceRow[]): string {
  const esc = (t: string) => t.replace(/\|/g, "\\|");
  const lines = ["| key | default | meaning |", "| --- | --- | --- |"];
  for (const r of rows)
    lines.push(`| \`${r.key}\` | ${r.default === "" ? "" : `\`${esc(r.default)}\``} | ${esc(r.doc)} |`);
  return lines.join("\n");
}

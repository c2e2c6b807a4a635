import { z } from "zod";

/**
 * What the configuration schema says about each key besides its type and default: a description
 * (the comment in config/netmon.yaml and the README reference) and whether a change needs a
 * restart. Kept as zod metadata on the key's schema, so it is written once, next to the key.
 *
 * This file imports nothing of the schema: the schema and the detectors' options use `doc()`.
 */
declare module "zod/v4/core" {
  interface GlobalMeta {
    /** A change of this key takes effect only after a restart (SIGHUP reports it instead). */
    restart?: boolean;
  }
}

/** `schema` with its description (and restart flag) registered as metadata. */
export function doc<S extends z.ZodType>(
  schema: S,
  description: string,
  opts: { restart?: boolean } = {},
): S {
  return schema.meta({ description, ...opts });
}

/** One key of the configuration, in schema order. */
export interface ConfigKey {
  /** From the top: ["detectors", "connection-burst", "shortMs"]. */
  path: string[];
  /** The dotted path, as error messages spell it: "detectors.connection-burst.shortMs". */
  key: string;
  description: string | undefined;
  /** A change needs a restart: the key or a section around it says so. */
  restart: boolean;
  /** A mapping of further keys (listed right after it) rather than a value. */
  section: boolean;
}

/** The schema inside default/prefault/optional/nullable, and the metadata found on the way (outer wins). */
function peel(schema: z.ZodType): { inner: z.ZodType; meta: z.core.GlobalMeta } {
  let meta: z.core.GlobalMeta = {};
  let current = schema;
  for (;;) {
    meta = { ...(current.meta() ?? {}), ...meta };
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      // Every wrapper's inner type is a classic schema here: the config is built with `z`.
      current = current.unwrap() as z.ZodType;
    } else {
      return { inner: current, meta };
    }
  }
}

/** Every key under `root` (an object schema), depth first: a section, then its keys. */
export function configKeys(root: z.ZodType): ConfigKey[] {
  const keys: ConfigKey[] = [];
  const walk = (schema: z.ZodType, path: string[], restartAround: boolean): void => {
    const { inner } = peel(schema);
    if (!(inner instanceof z.ZodObject)) return;
    for (const [name, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
      const { inner: childInner, meta } = peel(child);
      const childPath = [...path, name];
      const restart = restartAround || meta.restart === true;
      const section = childInner instanceof z.ZodObject;
      keys.push({
        path: childPath,
        key: childPath.join("."),
        description: meta.description,
        restart,
        section,
      });
      if (section) walk(childInner, childPath, restart);
    }
  };
  walk(root, [], false);
  return keys;
}

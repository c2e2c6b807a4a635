import type { ContainerInfo } from "../inventory/types.js";
import { type Mode, modeSchema } from "../model/mode.js";
import { type EgressRule, parseEgressList } from "./egress-rule.js";
import { type ListenRule, parseListenList } from "./listen-rule.js";

export const LABEL_MODE = "netmon.mode";
export const LABEL_EGRESS = "netmon.egress";
export const LABEL_LISTEN = "netmon.listen";

/** The policy a container carries in its labels, checked. */
export interface LabelPolicy {
  mode: Mode | null;
  /** The mode label came from the image: it may only make the mode stricter. */
  modeFromImage: boolean;
  egress: EgressRule[];
  listen: ListenRule[];
  /** One line per ignored label, naming the container and the label. */
  warnings: string[];
}

/**
 * Docker copies an image's labels into its containers' labels; a value equal to the image's own
 * is taken to come from the image. Images are third-party input: their labels may only tighten.
 */
function fromImage(info: ContainerInfo, key: string): boolean {
  return (
    info.imageLabels !== null &&
    info.imageLabels[key] !== undefined &&
    info.imageLabels[key] === info.labels[key]
  );
}

export function labelPolicyOf(info: ContainerInfo): LabelPolicy {
  const name = info.ref.name;
  const out: LabelPolicy = { mode: null, modeFromImage: false, egress: [], listen: [], warnings: [] };
  const mode = info.labels[LABEL_MODE];
  if (mode !== undefined) {
    const parsed = modeSchema.safeParse(mode.trim());
    if (parsed.success) {
      out.mode = parsed.data;
      out.modeFromImage = fromImage(info, LABEL_MODE);
    } else {
      out.warnings.push(
        `container ${name}: label ${LABEL_MODE}=${JSON.stringify(mode.slice(0, 64))} is not one of learn, monitor, enforce, off; ignored`,
      );
    }
  }
  out.egress = readRuleLabel(info, LABEL_EGRESS, parseEgressList, out.warnings);
  out.listen = readRuleLabel(info, LABEL_LISTEN, parseListenList, out.warnings);
  return out;
}

/** An allow-list label: ignored whole (with a warning) when it comes from the image or is malformed. */
function readRuleLabel<R>(
  info: ContainerInfo,
  key: string,
  parse: (text: string) => { rules: R[]; errors: string[] },
  warnings: string[],
): R[] {
  const value = info.labels[key];
  if (value === undefined) return [];
  const name = info.ref.name;
  if (fromImage(info, key)) {
    warnings.push(
      `container ${name}: label ${key} comes from the image, which may not allow its own traffic; ignored`,
    );
    return [];
  }
  const parsed = parse(value);
  if (parsed.errors.length > 0) {
    warnings.push(`container ${name}: label ${key} is malformed (${parsed.errors.join("; ")}); ignored`);
    return [];
  }
  return parsed.rules;
}

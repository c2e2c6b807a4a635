import { findContainer } from "../graph/details.js";
import { explainEgress } from "./egress-explain.js";
import { explainListen } from "./listen-explain.js";
import type { ExplainReport, ExplainSources } from "./report.js";
import type { ExplainQuery } from "./target.js";

export type ExplainOutcome = { ok: true; report: ExplainReport } | { ok: false; error: string };

/** How many container names an "unknown container" message lists. */
const NAMES_SHOWN = 10;

/**
 * Why a connection or a listening port of a container is allowed or not: its mode and where that
 * comes from, every rule, label, DNS name and baseline entry that matches or nearly matches, the
 * policy's verdict and what enforce mode would do. Pure: everything comes from `src`.
 */
export function explain(src: ExplainSources, q: ExplainQuery): ExplainOutcome {
  const info = findContainer(src.containers, q.container);
  if (info === undefined) {
    const names = src.containers
      .all()
      .map((c) => c.ref.name)
      .sort();
    const known =
      names.length === 0
        ? "no containers are known"
        : `known: ${names.slice(0, NAMES_SHOWN).join(", ")}${names.length > NAMES_SHOWN ? ", …" : ""}`;
    return {
      ok: false,
      error: `no container ${JSON.stringify(q.container)} (name, full id or id prefix of 12+; ${known})`,
    };
  }
  return {
    ok: true,
    report: q.kind === "listen" ? explainListen(src, info, q) : explainEgress(src, info, q),
  };
}

/**
 * A duration in the units a person reads at a glance: "46 ms", "2.5 s", "4 min 10 s", "3 h",
 * "2 h 5 min". Under a second whole ms; under a minute tenths of a second; under an hour whole
 * seconds; beyond, whole minutes. Rounding happens before the unit is chosen, so 59.96 s is "1 min".
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms} ms`;
  const wholeMs = Math.round(ms);
  if (wholeMs < 1_000) return `${wholeMs} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${tenths / 10} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return withRest(Math.floor(seconds / 60), "min", seconds % 60, "s");
  const minutes = Math.round(ms / 60_000);
  return withRest(Math.floor(minutes / 60), "h", minutes % 60, "min");
}

function withRest(big: number, bigUnit: string, rest: number, restUnit: string): string {
  return rest === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${rest} ${restUnit}`;
}

#!/usr/bin/env bash
# Checks the unit as CI does: `systemd-analyze verify` must print nothing on stderr, and the
# offline security exposure score must be 3.0 or better.
set -euo pipefail
cd "$(dirname "$0")"
command -v systemd-analyze >/dev/null || { echo "systemd/check.sh: systemd-analyze not found (apt-get install systemd)" >&2; exit 1; }
err=$(systemd-analyze verify netmon.service 2>&1 >/dev/null || true)
if [ -n "$err" ]; then
  echo "systemd-analyze verify reported:" >&2
  echo "$err" >&2
  exit 1
fi
score=$(systemd-analyze security --offline=true netmon.service 2>/dev/null | sed -n 's/.*Overall exposure level for netmon.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "systemd/check.sh: no exposure score" >&2; exit 1; }
echo "systemd-analyze verify: clean; exposure score: $score"
awk -v s="$score" 'BEGIN { exit (s <= 3.0) ? 0 : 1 }' || { echo "exposure $score is above 3.0" >&2; exit 1; }

#!/usr/bin/env bash
# Validate and unit-test netmon's Prometheus rules (and the example configs when the tools exist).
# Needs promtool (Debian: apt-get install -y prometheus). Run from anywhere; CI runs it as
#   bash config/prometheus/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

run() {
  echo "+ $*"
  "$@"
}

if ! command -v promtool >/dev/null 2>&1; then
  echo "check.sh: promtool not found (apt-get install -y prometheus)" >&2
  exit 1
fi

run promtool check rules config/prometheus/netmon.rules.yml
run promtool test rules config/prometheus/netmon.rules.test.yml
run promtool check config config/prometheus/prometheus.example.yml

if command -v amtool >/dev/null 2>&1; then
  run amtool check-config config/alertmanager/alertmanager.example.yml
else
  echo "check.sh: amtool not found, skipping config/alertmanager/alertmanager.example.yml"
fi

echo "check.sh: OK"

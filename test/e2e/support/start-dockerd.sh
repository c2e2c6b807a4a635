#!/usr/bin/env bash
# Starts dockerd when it is not answering, and waits until it does (at most WAIT seconds).
# Used by .ci/run and by the e2e test that restarts dockerd under a running netmon.
set -euo pipefail
DOCKER=${DOCKER:-/usr/bin/docker}
WAIT=${WAIT:-60}
LOG=${DOCKERD_LOG:-/var/log/netmon-dockerd.log}
if "$DOCKER" version >/dev/null 2>&1; then exit 0; fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl start docker
else
  command -v dockerd >/dev/null || { echo "start-dockerd: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
  # setsid: dockerd must outlive the shell (and the test process) that started it.
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
fi
for _ in $(seq 1 "$((WAIT * 4))"); do
  if "$DOCKER" version >/dev/null 2>&1; then exit 0; fi
  sleep 0.25
done
echo "start-dockerd: dockerd did not answer within ${WAIT}s; last log lines:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1

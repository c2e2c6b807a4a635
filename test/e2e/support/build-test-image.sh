#!/usr/bin/env bash
# Builds the e2e test image netmon-test/busybox from Debian's busybox-static (no registry needed):
# a root filesystem with bin/busybox and one link per applet, imported with `docker import`.
set -euo pipefail
IMAGE=${IMAGE:-netmon-test/busybox}
DOCKER=${DOCKER:-/usr/bin/docker}
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "build-test-image: $BUSYBOX not found (apt-get install busybox-static)" >&2; exit 1; }
if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1 && [ "${REBUILD:-0}" != 1 ]; then
  echo "build-test-image: $IMAGE already present"
  exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,tmp,www,proc,sys,dev}
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo 'netmon test page' > "$root/www/index.html"
tar -C "$root" -c . | "$DOCKER" import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
echo "build-test-image: built $IMAGE"

#!/usr/bin/env bash
# Build the local image molecule instances run from: Debian bookworm with systemd (PID 1),
# Python 3 and apt, as a bare "fleet host" the roles turn into a koji-adjutant worker.
# No registry: mmdebstrap from the Debian mirror, then `podman import`. Re-used while this
# script is unchanged (its hash is the image's recipe label).
#
#   scripts/molecule-image.sh [--force]
set -euo pipefail

IMAGE="${KOJI_ADJUTANT_MOLECULE_IMAGE:-localhost/koji-adjutant-molecule:bookworm}"
MIRROR="${KOJI_ADJUTANT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
RECIPE="$(sha256sum "$0" | cut -c1-16)"

if [ "${1:-}" != "--force" ] && \
   [ "$(podman image inspect --format '{{ index .Labels "io.koji.adjutant.recipe" }}' "$IMAGE" 2>/dev/null)" = "$RECIPE" ]; then
    echo "$IMAGE is up to date (recipe $RECIPE)"
    exit 0
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
packages=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps,sudo
# the hooks run in mmdebstrap's shell, with the rootfs as "$1"
# shellcheck disable=SC2016
mmdebstrap --variant=minbase --include="$packages" \
    --customize-hook='echo molecule-instance > "$1/etc/hostname"' \
    --customize-hook='rm -f "$1/etc/machine-id" && touch "$1/etc/machine-id"' \
    bookworm "$workdir/rootfs.tar" "$MIRROR" >"$workdir/mmdebstrap.log" 2>&1 || {
        cat "$workdir/mmdebstrap.log" >&2
        exit 1
    }
podman import \
    --change 'CMD ["/sbin/init"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENV container=podman' \
    --change "LABEL io.koji.adjutant.recipe=$RECIPE" \
    --change 'LABEL io.koji.adjutant.image=molecule-instance' \
    "$workdir/rootfs.tar" "$IMAGE" >/dev/null
echo "built $IMAGE (recipe $RECIPE)"

#!/bin/sh
# Stand-in for `koji-adjutant image recipe` and `koji-adjutant image build` in the molecule
# scenario: the real build bootstraps a 540 MB Debian image from a mirror. Same conventions as
# the real command: `recipe` prints the recipe hash; `build` re-uses an image whose
# io.koji.adjutant.recipe label equals it ("NAME is up to date ..."), imports a new one
# otherwise, removes the image it replaced, and prints the image id last.
set -eu
recipe=$(cat /etc/koji-adjutant-stub-recipe)
[ "${1:-}" = image ] || { echo "usage: koji-adjutant image recipe|build" >&2; exit 2; }
case "${2:-}" in
recipe)
    echo "$recipe"
    ;;
build)
    name=localhost/koji-adjutant-buildroot:bookworm
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
        --name) name=$2; shift 2 ;;
        --mirror | --security-mirror) shift 2 ;;
        *) shift ;;
        esac
    done
    label=$(podman image inspect --format '{{ index .Labels "io.koji.adjutant.recipe" }}' "$name" 2>/dev/null || true)
    if [ "$label" = "$recipe" ]; then
        echo "$name is up to date (recipe $recipe)"
        podman image inspect --format '{{ .Id }}' "$name"
        exit 0
    fi
    old=$(podman image inspect --format '{{ .Id }}' "$name" 2>/dev/null || true)
    id=$(podman import --quiet --change "LABEL io.koji.adjutant.recipe=$recipe" \
        --change 'LABEL io.koji.adjutant.image=buildroot' /srv/stub-rootfs.tar "$name")
    id=${id#sha256:}
    if [ -n "$old" ] && [ "$old" != "$id" ]; then
        podman image rm "$old" >/dev/null 2>&1 || true
    fi
    echo "built $name"
    echo "$id"
    ;;
*)
    echo "usage: koji-adjutant image recipe|build" >&2
    exit 2
    ;;
esac

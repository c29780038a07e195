#!/bin/sh
# Build from an SRPM as mock does, as the build user: install the SRPM into the rpmbuild tree
# (the buildroot's %_topdir), check that it holds one spec file, build the SRPM again with the
# buildroot's macros and, for an arch, the rpms.
#
# usage: rpmbuild.sh srpm SRPM        the SRPM only (noarch), listing the package installed
#        rpmbuild.sh rpms SRPM ARCH [noprep]
#                                     the SRPM and the rpms for ARCH; with noprep (after the
#                                     rounds below, which ran %prep) rpmbuild -ba --noprep, so
#                                     that the SRPM carries the generated BuildRequires
#        rpmbuild.sh buildrequires SRPM ARCH ROUND MAX LIST
#                                     one round of %generate_buildrequires: rpmbuild -br with
#                                     rpm's check of the build dependencies; the ones still
#                                     missing are written to LIST, one a line (no LIST when
#                                     none is missing). Exit 64: ROUND is past MAX and some are
#                                     still missing; 65: the same ones are missing as in the
#                                     round before, which installed them.
set -e
what=$1 srpm=$2 arch=${3:-noarch} round=${4:-} max=${5:-} list=${6:-}
if [ "$what" = srpm ]; then
    rpm -iv --nodeps "$srpm"
else
    rpm -i --nodeps "$srpm"
fi
spec=
for file in "$(rpm --eval %_specdir)"/*.spec; do
    if [ -n "$spec" ] || [ ! -f "$file" ]; then
        echo "expected one spec file in the SRPM, found:" "$(rpm --eval %_specdir)"/*.spec
        exit 1
    fi
    spec=$file
done
if [ "$what" = buildrequires ]; then
    srpmdir=$(rpm --eval %_srcrpmdir)
    rm -f "$srpmdir"/*.buildreqs.nosrc.rpm
    out=$(mktemp)
    rc=0
    rpmbuild -br --target "$arch" "$spec" >"$out" 2>&1 || rc=$?
    cat "$out"
    # the buildreqs package is only a carrier of the list (mock removes it too)
    rm -f "$srpmdir"/*.buildreqs.nosrc.rpm
    if [ "$rc" -eq 0 ]; then
        rm -f "$out" "$list"
        echo "(round $round: every build dependency is installed)"
        exit 0
    fi
    if [ "$rc" -ne 11 ]; then
        rm -f "$out"
        exit "$rc"
    fi
    # rpm's own list: "<tab><dependency> is needed by <nvr>.<arch>"
    missing=$(sed -n 's/^[[:space:]]\{1,\}\(.*\) is needed by [^ ]*$/\1/p' "$out")
    rm -f "$out"
    if [ -z "$missing" ]; then
        echo "rpmbuild -br asked for more build dependencies without naming any"
        exit 1
    fi
    if [ "$round" -gt "$max" ]; then
        echo "build dependencies still missing after $max rounds (the limit):"
        echo "$missing"
        exit 64
    fi
    if [ -f "$list" ] && [ "$(cat "$list")" = "$missing" ]; then
        echo "round $round asks for nothing new: still missing after round $((round - 1)) installed them:"
        echo "$missing"
        exit 65
    fi
    printf '%s\n' "$missing" >"$list"
    echo "(round $round: build dependencies to install from the koji repo:)"
    echo "$missing"
    exit 0
fi
rpmbuild -bs --nodeps --target "$arch" "$spec"
if [ "$what" = rpms ] && [ "${4:-}" = noprep ]; then
    rpmbuild -ba --noprep --target "$arch" "$spec"
elif [ "$what" = rpms ]; then
    rpmbuild -bb --target "$arch" "$spec"
fi

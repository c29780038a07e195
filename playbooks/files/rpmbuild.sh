#!/bin/sh
# Build from an SRPM as mock does, as the build user: install the SRPM into the rpmbuild tree
# (the buildroot's %_topdir), check that it holds one spec file, build the SRPM again with the
# buildroot's macros and, for an arch, the rpms.
#
# usage: rpmbuild.sh srpm SRPM        the SRPM only (noarch), listing the package installed
#        rpmbuild.sh rpms SRPM ARCH   the SRPM and the rpms for ARCH
set -e
what=$1 srpm=$2 arch=${3:-noarch}
if [ "$what" = srpm ]; then
    rpm -iv --nodeps "$srpm"
else
    rpm -i --nodeps "$srpm"
fi
set -- "$(rpm --eval %_specdir)"/*.spec
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
    echo "expected one spec file in the SRPM, found: $*"
    exit 1
fi
rpmbuild -bs --nodeps --target "$arch" "$1"
if [ "$what" = rpms ]; then
    rpmbuild -bb --target "$arch" "$1"
fi

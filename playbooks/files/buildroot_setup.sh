#!/bin/sh
# The first step in a task's buildroot container, run as root: install the buildroot's dnf
# repo and rpm macros (written by koji_buildroot), make the rpmbuild tree (%_topdir) for the
# build user, and, given build dependencies, ask rpm whether they are all installed already
# (as in a cached buildroot): then MARKER is left, and the task need not run dnf for them.
#
# usage: buildroot_setup.sh REPO_FILE MACROS_FILE MARKER DESCRIPTION [BUILDREQUIRE...]
#   REPO_FILE, MACROS_FILE  the buildroot's dnf repo (id koji-build) and rpm macros
#   MARKER                  left when every BUILDREQUIRE (a plain name or path) is installed
#   DESCRIPTION             what the buildroot is, for root.log
set -e
repo_file=$1 macros_file=$2 marker=$3 description=$4
shift 4
install -D -m 0644 "$repo_file" /etc/yum.repos.d/koji.repo
install -D -m 0644 "$macros_file" /etc/rpm/macros.koji
mkdir -p "$(rpm --eval %_topdir)"
rm -f "$marker"
if [ "$#" -gt 0 ] && rpm -q --whatprovides -- "$@" > /dev/null 2>&1; then
    echo "(every build dependency is installed already)"
    : > "$marker"
fi
chown -R kojibuilder: /builddir
printf '%s\n' "$description"

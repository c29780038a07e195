#!/bin/sh
# Install packages into the buildroot from its koji repo (the repo koji-build that
# buildroot_setup.sh installed), without weak dependencies and without keeping dnf's cache.
# With --unless-provided (each PACKAGE a plain name or path), rpm is asked first and dnf runs
# only when one of them is not provided yet.
#
# usage: install_packages.sh [--unless-provided] PACKAGE...
if [ "$1" = --unless-provided ]; then
    shift
    if rpm -q --whatprovides -- "$@"; then
        echo "(every build dependency is installed already)"
        exit 0
    fi
fi
exec dnf -y --disablerepo='*' --enablerepo=koji-build --releasever=koji \
    --setopt=install_weak_deps=0 --setopt=keepcache=0 install "$@"

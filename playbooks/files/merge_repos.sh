#!/bin/sh
# Merge a koji repo's external repos (kojid's mergerepo_c --koji): the repodata createrepo_c
# made in REPO_DIR moves to PREMERGE_DIR, which COMMAND reads, and COMMAND writes the merged
# repodata to REPO_DIR, made anew.
#
# usage: merge_repos.sh REPO_DIR PREMERGE_DIR COMMAND...
set -e
repo_dir=$1 premerge_dir=$2
shift 2
mv "$repo_dir" "$premerge_dir"
mkdir "$repo_dir"
"$@"

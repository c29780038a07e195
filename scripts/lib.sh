# shellcheck shell=bash
# What the set-up scripts share (sourced, never run): their messages and pip's harmless noise.
# The sourcing script sets SCRIPT_NAME (the name its errors carry) first.

# Harmless pip noise on machines whose pip.conf names local indexes that do not exist.
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly PIP_NOISE_RE="Location 'file:///opt/pypi[^']*' is ignored"

# usage: the sourcing script's header comment, from its second line to `set -E`.
usage() {
    sed -n '2,/^set -E/{/^set -E/d;s/^# \{0,1\}//;p}' "$0"
}

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
    printf '\n%s: ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2
    exit 1
}

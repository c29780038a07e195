#!/usr/bin/env bash
# Run the venv's ansible-test on this checkout as the koji_adjutant.builder collection.
#
#   scripts/ansible-test.sh sanity --python 3.11 [ansible-test options...]
#
# ansible-test insists on running inside .../ansible_collections/<namespace>/<name>/ and resolves
# symlinks in the working directory, so `cd collections/ansible_collections/koji_adjutant/builder`
# does not work. ANSIBLE_TEST_CONTENT_ROOT names the content root without resolving the symlink
# that scripts/setup-host.sh creates. Needs `scripts/setup-host.sh --with-lint` first (the offline
# pip bootstrap for ansible-test's venvs).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTENT_ROOT="$REPO_ROOT/collections/ansible_collections/koji_adjutant/builder"
ANSIBLE_TEST="$REPO_ROOT/.venv/bin/ansible-test"

if [[ ! -x $ANSIBLE_TEST || ! -L $CONTENT_ROOT ]]; then
    echo "ansible-test.sh: run scripts/setup-host.sh --with-lint first" >&2
    exit 1
fi
if [[ ! -f $HOME/.ansible/test/cache/get_pip_24_2.py ]]; then
    echo "ansible-test.sh: no offline pip bootstrap; run scripts/setup-host.sh --with-lint" >&2
    exit 1
fi
cd "$REPO_ROOT"
ANSIBLE_TEST_CONTENT_ROOT=$CONTENT_ROOT exec "$ANSIBLE_TEST" "$@"

#!/usr/bin/env bash
# Run the unit tests and the buildArch and build end-to-end tests on each supported
# ansible-core minor release.
#
#   scripts/ansible-matrix.sh [RELEASE...]      # default: 2.16 2.17 2.18 2.19 2.20 2.21
#
# Each release gets a venv of its own, build/matrix/<release>/venv, with ansible-core==<release>.*,
# the ansible-runner pip picks for it, and this checkout (with its test extras: pytest,
# pytest-timeout) and ./devhub installed editable. The venv is made once and kept: a stamp records what was installed (the
# pyproject.toml files, the requirements, the Python), and pip runs again only when that changes
# (pip's download cache is reused). Python per release:
#   2.16 to 2.19   Debian's /usr/bin/python3 (3.11), with system site-packages for python3-rpm,
#                  as .venv and a builder's install have it;
#   2.20           pyenv's newest 3.12 ($PYENV_ROOT/versions/3.12.*, PYENV_ROOT default /root/.pyenv);
#   2.21           pyenv's newest 3.13 ($PYENV_ROOT/versions/3.13.*).
# A Python that is missing is an error naming it, before any test runs. The dev hub the tests
# start runs on the project venv (.venv, Debian's Python with python3-rpm) in every release
# (KOJI_ADJUTANT_DEVHUB_PYTHON): it reads rpm headers with koji's helpers, which need the rpm
# bindings, while the worker runs on the release's venv alone.
#
# Each run prints the ansible-core, ansible-runner and Python versions it tests, its pytest
# output (also in build/matrix/<release>/pytest.log) and the deprecation warnings ansible-core
# wrote in the task playbooks' logs (build/matrix/<release>/deprecations.txt; the worker and task
# logs the tests left are kept in build/matrix/<release>/logs/). Every release
# runs even when an earlier one failed; a one-line summary per release ends the output, and the
# exit status is 1 if any release failed. Needs scripts/setup-host.sh (packages, podman,
# collections/) and the buildroot image (`make image`), as `make test-matrix` provides.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SCRIPT_NAME=ansible-matrix
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
readonly REPO_ROOT
readonly MATRIX_DIR="$REPO_ROOT/build/matrix"
readonly SYSTEM_PYTHON=/usr/bin/python3
# The dev hub (the tests' koji hub) runs on the project venv in every release: it needs the rpm
# bindings, which only Debian's Python has, as a real hub has its own Python on its own machine.
# The worker, its playbooks and their modules run on the release's venv.
readonly HUB_PYTHON="$REPO_ROOT/.venv/bin/python"
readonly PYENV_DIR="${PYENV_ROOT:-/root/.pyenv}"
readonly ALL_RELEASES=(2.16 2.17 2.18 2.19 2.20 2.21)
# the package's extras each release's venv gets (the unit tests cover the multilib step)
readonly EXTRAS=test,multilib

# What runs on each release: every unit test, and the buildArch and build end-to-end tests,
# which take the main task types through the real worker, dev hub, ansible-runner and podman
# (buildArch of C, noarch and failing packages, refusals, sleep and default; the whole
# `koji build` from git and from an SRPM, with buildSRPMFromSCM, rebuildSRPM, buildArch,
# tagBuild and the notifications, and its failures).
readonly TESTS=(
    tests/unit
    tests/e2e/test_build_arch.py
    tests/e2e/test_build.py
)


# python_for RELEASE: the interpreter that release runs on (or an error naming what is missing).
python_for() {
    local minor
    case $1 in
    2.16 | 2.17 | 2.18 | 2.19)
        [[ -x $SYSTEM_PYTHON ]] || die "ansible-core $1 needs $SYSTEM_PYTHON (Debian's python3), which is missing"
        echo "$SYSTEM_PYTHON"
        return
        ;;
    2.20) minor=3.12 ;;
    2.21) minor=3.13 ;;
    *) die "unknown release '$1' (supported: ${ALL_RELEASES[*]})" ;;
    esac
    local found="" candidate
    for candidate in "$PYENV_DIR"/versions/"$minor".*/bin/python3; do
        [[ -x $candidate ]] || continue
        # newest patch release: versions sort by their numbers
        if [[ -z $found ]] || [[ $(printf '%s\n%s\n' "$found" "$candidate" | sort -V | tail -n1) == "$candidate" ]]; then
            found=$candidate
        fi
    done
    [[ -n $found ]] ||
        die "ansible-core $1 needs Python $minor, and there is none: no $PYENV_DIR/versions/$minor.*/bin/python3"
    echo "$found"
}

# setup_venv RELEASE PYTHON: build/matrix/RELEASE/venv, made and installed unless its stamp says
# it is up to date.
setup_venv() {
    local release=$1 python=$2
    local dir="$MATRIX_DIR/$release" venv="$MATRIX_DIR/$release/venv"
    local stamp_file="$venv/.koji-adjutant-matrix" pip_log="$MATRIX_DIR/$release/pip-install.log"
    local site_opt=() base_prefix
    [[ $python == "$SYSTEM_PYTHON" ]] && site_opt=(--system-site-packages)
    base_prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
    local requirements=("ansible-core==$release.*" "ansible-runner")
    local stamp
    stamp=$({
        cat "$REPO_ROOT/pyproject.toml" "$REPO_ROOT/devhub/pyproject.toml"
        printf '%s\n' "${requirements[@]}" "$EXTRAS" "$python" "${site_opt[@]}"
        "$python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1)

    if [[ -e $venv ]] &&
        { [[ ! -x $venv/bin/python ]] ||
            [[ $("$venv/bin/python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null) != "$base_prefix" ]]; }; then
        note "$venv is not a venv of $python: recreating"
        rm -rf "$venv"
    fi
    if [[ -f $stamp_file && $(<"$stamp_file") == "$stamp" ]] &&
        "$venv/bin/python" -c 'import ansible, ansible_runner, koji, multilib, pytest, pytest_timeout, koji_adjutant, koji_adjutant_devhub' 2>/dev/null; then
        note "venv up to date ($venv)"
        return
    fi
    mkdir -p "$dir"
    if [[ ! -e $venv ]]; then
        "$python" -m venv "${site_opt[@]}" "$venv" || die "cannot create $venv with $python"
    fi
    note "pip install -e '.[$EXTRAS]' -e ./devhub ${requirements[*]} (log: ${pip_log#"$REPO_ROOT"/})"
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check \
        -e "${REPO_ROOT}[$EXTRAS]" -e "$REPO_ROOT/devhub" "${requirements[@]}" >"$pip_log" 2>&1; then
        printf '\n---- last lines of %s ----\n' "$pip_log" >&2
        grep -v -E "$PIP_NOISE_RE" "$pip_log" | tail -n 40 >&2 || true
        return 1
    fi
    printf '%s\n' "$stamp" >"$stamp_file"
}

# keep_logs PYTHON LOG_ROOT DIR: copy the worker logs and the task playbooks' logs the tests left
# under LOG_ROOT to DIR/logs/ (<test>/worker.log, <test>/tasks/<task id>.log), and count the
# [DEPRECATION WARNING]s of the task logs (each with its continuation lines) into
# DIR/deprecations.txt; prints how many, and which.
keep_logs() {
    local python=$1 log_root=$2 dir=$3
    rm -rf "$dir/logs"
    "$python" - "$log_root" "$dir" <<'EOF'
import collections, os, re, shutil, sys

log_root, dest = sys.argv[1], sys.argv[2]
counts = collections.Counter()
task_logs = 0
# os.walk does not follow symbolic links (koji's toplink cycles)
for top, dirs, files in os.walk(log_root):
    test = os.path.relpath(top, log_root).split(os.sep)[0]
    is_tasks = top.endswith(os.sep + os.path.join("log", "tasks"))
    if is_tasks:
        kept = os.path.join(dest, "logs", test, "tasks")
        names = [name for name in files if name.endswith(".log")]
    else:
        kept = os.path.join(dest, "logs", test)
        names = [name for name in files if name == "worker.log"]
    for name in names:
        os.makedirs(kept, exist_ok=True)
        shutil.copyfile(os.path.join(top, name), os.path.join(kept, name))
    if not is_tasks:
        continue
    for name in names:
        task_logs += 1
        with open(os.path.join(top, name), errors="replace") as handle:
            lines = handle.read().splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("[DEPRECATION WARNING]"):
                i += 1
                continue
            block = [lines[i].strip()]
            i += 1
            # the message goes on until an empty line, the next marker or a task banner
            while (i < len(lines) and lines[i].strip()
                   and not re.match(r"^(\[|TASK |PLAY |RUNNING HANDLER )", lines[i])):
                block.append(lines[i].strip())
                i += 1
            counts[" ".join(block)] += 1
with open(os.path.join(dest, "deprecations.txt"), "w") as handle:
    handle.write("# %d task logs (kept in %s)\n" % (task_logs, os.path.join(dest, "logs")))
    for message, count in counts.most_common():
        handle.write("%5d  %s\n" % (count, message))
total = sum(counts.values())
print("%d deprecation warning%s (%d distinct) in %d task logs"
      % (total, "" if total == 1 else "s", len(counts), task_logs))
for message, count in counts.most_common():
    print("  %4dx %s" % (count, message))
EOF
}

# run_release RELEASE: set up and test one release; sets RESULT to its summary line, returns 1
# when it failed.
RESULT=""
run_release() {
    local release=$1 python start=$SECONDS setup_s test_s
    local dir="$MATRIX_DIR/$release" venv="$MATRIX_DIR/$release/venv"
    python=$(python_for "$release")
    log "ansible-core $release: venv from $python"
    if ! setup_venv "$release" "$python"; then
        RESULT="$release: FAILED to install (see build/matrix/$release/pip-install.log)"
        return 1
    fi
    setup_s=$((SECONDS - start))

    local versions
    versions=$("$venv/bin/python" - <<'EOF'
import platform
from importlib.metadata import version
print("ansible-core %s, ansible-runner %s, Python %s"
      % (version("ansible-core"), version("ansible-runner"), platform.python_version()))
EOF
    ) || {
        RESULT="$release: FAILED, the venv cannot tell its versions"
        return 1
    }
    if [[ $versions != "ansible-core $release."* ]]; then
        RESULT="$release: FAILED, the venv has $versions"
        return 1
    fi
    log "testing $versions"

    # A temporary directory of our own, so that the task logs are there to read afterwards
    # (short: the worker puts unix sockets below it).
    local basetemp rc=0
    basetemp=$(mktemp -d /tmp/ansible-matrix-XXXXXX)
    local pytest_log="$dir/pytest.log"
    test_s=$SECONDS
    (
        cd "$REPO_ROOT"
        PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$REPO_ROOT/collections" \
            KOJI_ADJUTANT_DEVHUB_PYTHON="$HUB_PYTHON" \
            "$venv/bin/python" -m pytest -ra -p no:cacheprovider --basetemp "$basetemp/t" \
            "${TESTS[@]}"
    ) 2>&1 | tee "$pytest_log" || rc=$?
    test_s=$((SECONDS - test_s))
    local counts
    counts=$(grep -E '^=+ .*(passed|failed|error|skipped|no tests ran).* in [0-9.]+s' "$pytest_log" | tail -n1 |
        sed -E 's/^=+ //; s/ =+$//; s/ in [0-9.]+s.*$//') || true
    [[ -n $counts ]] || counts="no pytest summary"

    log "ansible-core $release: deprecation warnings in the task logs"
    local deps
    deps=$(keep_logs "$venv/bin/python" "$basetemp/t" "$dir") ||
        deps="task logs not read: $deps"
    printf '%s\n' "$deps"
    deps=$(head -n1 <<<"$deps")
    rm -rf "$basetemp"

    local verdict=passed
    ((rc == 0)) || verdict=FAILED
    RESULT=$(printf '%s: %s, %s: %s; tests %d s, set-up %d s; %s' \
        "$release" "$verdict" "$versions" "$counts" "$test_s" "$setup_s" "$deps")
    ((rc == 0))
}

main() {
    local releases=() arg
    for arg in "$@"; do
        case $arg in
        -h | --help)
            usage
            exit 0
            ;;
        2.*) releases+=("$arg") ;;
        *) die "unknown argument '$arg' (try --help)" ;;
        esac
    done
    ((${#releases[@]})) || releases=("${ALL_RELEASES[@]}")

    # Every interpreter first: a missing one stops the matrix before anything runs.
    local release
    for release in "${releases[@]}"; do
        python_for "$release" >/dev/null
    done
    [[ -d $REPO_ROOT/collections/ansible_collections/ansible/posix ]] ||
        die "collections/ is not set up: run scripts/setup-host.sh first"
    "$HUB_PYTHON" -c 'import rpm, koji_adjutant_devhub' 2>/dev/null ||
        die "the dev hub's interpreter $HUB_PYTHON cannot import rpm and koji_adjutant_devhub: run scripts/setup-host.sh first"
    mkdir -p "$MATRIX_DIR"

    local start=$SECONDS summary=() failed=0
    for release in "${releases[@]}"; do
        local release_start=$SECONDS
        if run_release "$release"; then :; else failed=1; fi
        summary+=("$RESULT ($((SECONDS - release_start)) s in all)")
        echo
    done

    echo "ansible-matrix: ${#releases[@]} release(s) in $((SECONDS - start)) s"
    printf '  %s\n' "${summary[@]}"
    if ((failed)); then
        echo "ansible-matrix: FAILED"
        exit 1
    fi
    echo "ansible-matrix: OK"
}

main "$@"

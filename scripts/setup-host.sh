#!/usr/bin/env bash
# Turn a bare Debian 12 machine into one that can run koji-adjutant and its tests.
#
#   scripts/setup-host.sh [--with-lint]
#
# One-shot and idempotent: every step checks first and does nothing when it is already done,
# so a second run takes a few seconds. Run it as root on a fresh machine (apt and
# /etc/containers need root); once the system part is done, a non-root re-run is fine.
#
# Steps (docs/development.md explains each quirk):
#   1. Debian packages (podman, runc, mmdebstrap, rpm, dnf, createrepo-c, build tools for gssapi).
#   2. podman runtime settings for this kind of VM, and a check that a container really starts.
#   3. .venv from Debian's /usr/bin/python3 with --system-site-packages (for `import rpm`),
#      with the project installed editable plus its test extras, and the dev hub (devhub/).
#   4. Ansible collections without Galaxy: containers.podman and ansible.posix unpacked from the
#      `ansible` package on PyPI into collections/, plus the koji_adjutant.builder symlink.
#   5. --with-lint: ansible-lint, molecule, shellcheck, and an offline pip bootstrap for
#      ansible-test.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SCRIPT_NAME=setup-host
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
readonly REPO_ROOT
readonly VENV="$REPO_ROOT/.venv"
readonly VENV_PY="$VENV/bin/python"
readonly SYSTEM_PYTHON=/usr/bin/python3
readonly CACHE_DIR="$REPO_ROOT/build/cache"
readonly LOG_DIR="$REPO_ROOT/build/logs"
readonly COLLECTIONS_ROOT="$REPO_ROOT/collections"
readonly COLLECTIONS_DIR="$COLLECTIONS_ROOT/ansible_collections"
# The `ansible` community package whose bundled collections match ansible-core 2.19.
readonly ANSIBLE_BUNDLE_VERSION=12.3.0
readonly BUNDLED_COLLECTIONS=(containers/podman ansible/posix)
# ansible-test (2.19) bootstraps pip with get-pip for this pip version; see write_get_pip.
readonly ANSIBLE_TEST_PIP_VERSION=24.2
readonly PODMAN_CONF=/etc/containers/containers.conf.d/50-koji-adjutant.conf
readonly CHECK_IMAGE=localhost/koji-adjutant-hostcheck:latest

APT_PACKAGES=(
    podman runc          # containers; runc because crun fails on this VM's hybrid cgroups
    mmdebstrap           # builds the offline Debian-based buildroot image
    rpm dnf createrepo-c # rpmbuild/dnf inside buildroots, createrepo_c for repos, rpm on the host
    python3-dnf          # dnf's Python API on the host: the depsolve of multilib dist repos
    python3-rpm          # `import rpm` for koji's header helpers (no PyPI equivalent)
    python3 python3-venv python3-dev # the venv is made from Debian's python (python3-rpm)
    libkrb5-dev gcc make libc6-dev # koji -> requests-gssapi -> gssapi compiles against krb5
    git openssl ca-certificates
    gnupg                # signing keys for the dev hub tests' signed rpm copies (rpmsign)
)
LINT_APT_PACKAGES=(shellcheck)

WITH_LINT=0
SUMMARY=()

on_error() {
    ((BASH_SUBSHELL == 0)) || exit 1 # report once, from the main shell
    printf '\nsetup-host: ERROR: command failed (line %s): %s\n' "$1" "$2" >&2
    exit 1
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

# run_logged NAME CMD...: run CMD with its output in build/logs/NAME.log; on failure show the end
# of the log (without known-harmless pip noise) and stop.
run_logged() {
    local name=$1
    shift
    local logfile="$LOG_DIR/$name.log"
    mkdir -p "$LOG_DIR"
    if ! "$@" >"$logfile" 2>&1; then
        printf '\n---- last lines of %s ----\n' "$logfile" >&2
        grep -v -E "$PIP_NOISE_RE" "$logfile" | tail -n 40 >&2 || true
        die "$name failed: $*"
    fi
}

# cached_file DIR GLOB: print the first file in DIR matching GLOB, or nothing.
cached_file() {
    local f
    for f in "$1"/$2; do
        [[ -f $f ]] && printf '%s\n' "$f" && return
    done
    return 0
}

need_root() {
    [[ $EUID -eq 0 ]] || die "$1 needs root: run scripts/setup-host.sh as root (or with sudo)"
}

# --------------------------------------------------------------------------------------------
# 1. Debian packages
# --------------------------------------------------------------------------------------------
missing_debs() {
    local pkg
    for pkg in "$@"; do
        if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

setup_apt() {
    local wanted=("${APT_PACKAGES[@]}") missing
    ((WITH_LINT)) && wanted+=("${LINT_APT_PACKAGES[@]}")
    log "Debian packages: checking ${#wanted[@]}"
    mapfile -t missing < <(missing_debs "${wanted[@]}")
    if ((${#missing[@]} == 0)); then
        note "all installed"
        SUMMARY+=("apt: nothing to install")
        return
    fi
    need_root "installing ${missing[*]}"
    local missing_before=("${missing[@]}")
    note "installing (a few minutes on a bare machine): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    run_logged apt-update apt-get update -q
    run_logged apt-install apt-get install -y -q -o Dpkg::Use-Pty=0 "${missing[@]}"
    mapfile -t missing < <(missing_debs "${wanted[@]}")
    ((${#missing[@]} == 0)) || die "apt-get did not install: ${missing[*]} (see $LOG_DIR/apt-install.log)"
    SUMMARY+=("apt: installed ${#missing_before[@]} packages")
}

# --------------------------------------------------------------------------------------------
# 2. podman
# --------------------------------------------------------------------------------------------
podman_conf_text() {
    cat <<'EOF'
# Written by koji-adjutant scripts/setup-host.sh: podman settings this kind of VM needs.
# ulimits: without them containers fail with "error setting rlimit ... operation not permitted"
#          (the VM lacks CAP_SYS_RESOURCE, so podman must not raise the limits).
# runc:    crun fails with "cgroups in hybrid mode not supported".
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
EOF
}

# A tiny local image (/usr/bin/true and the libraries it needs), so the start check needs no
# registry and no mmdebstrap run.
ensure_check_image() {
    podman image exists "$CHECK_IMAGE" && return
    local tmp files
    tmp=$(mktemp -d)
    mapfile -t files < <(
        printf '%s\n' usr/bin/true
        ldd /usr/bin/true | grep -o '/[^ ]*' | sed 's|^/||'
    )
    tar -C / --dereference -cf "$tmp/rootfs.tar" "${files[@]}"
    podman import --quiet --change 'CMD ["/usr/bin/true"]' \
        --change 'LABEL io.koji.adjutant.image=hostcheck' \
        "$tmp/rootfs.tar" "$CHECK_IMAGE" >/dev/null
    rm -rf "$tmp"
}

check_container_start() {
    local what=$1
    shift
    local out
    if ! out=$(podman run --rm "$@" "$CHECK_IMAGE" /usr/bin/true 2>&1); then
        printf '%s\n' "$out" >&2
        die "podman cannot start a container ($what). See above; docs/development.md lists the
    known causes (crun on hybrid cgroups, rlimits without CAP_SYS_RESOURCE, a CONTAINERS_CONF
    that replaces $PODMAN_CONF)."
    fi
}

setup_podman() {
    log "podman: runtime settings and a container start check"
    command -v podman >/dev/null || die "podman is not installed (step 1 should have installed it)"
    if [[ -n ${CONTAINERS_CONF:-} ]]; then
        note "WARNING: CONTAINERS_CONF=$CONTAINERS_CONF is set; podman then ignores $PODMAN_CONF"
    fi
    if [[ -f $PODMAN_CONF ]] && diff -q <(podman_conf_text) "$PODMAN_CONF" >/dev/null; then
        note "$PODMAN_CONF is up to date"
    else
        need_root "writing $PODMAN_CONF"
        mkdir -p "$(dirname "$PODMAN_CONF")"
        podman_conf_text >"$PODMAN_CONF"
        note "wrote $PODMAN_CONF"
    fi
    local info runtime
    info=$(podman info --format '{{.Host.OCIRuntime.Name}}' 2>&1) ||
        die "'podman info' failed: $info"
    runtime=$info
    [[ $runtime == runc ]] ||
        die "podman uses the OCI runtime '$runtime', expected runc (is $PODMAN_CONF read?)"
    ensure_check_image
    check_container_start "--network none" --network none
    check_container_start "default network"
    note "containers start (runtime $runtime, $(podman --version))"
    SUMMARY+=("podman: ok ($runtime)")
}

# --------------------------------------------------------------------------------------------
# 3. Project venv
# --------------------------------------------------------------------------------------------
venv_is_usable() {
    [[ -x $VENV_PY && -f $VENV/pyvenv.cfg ]] || return 1
    grep -qx 'include-system-site-packages = true' "$VENV/pyvenv.cfg" || return 1
    # The venv must be based on Debian's python (the one python3-rpm is built for).
    [[ $("$VENV_PY" -c 'import sys; print(sys.base_prefix)' 2>/dev/null) == /usr ]]
}

setup_venv() {
    local extras=test,multilib
    ((WITH_LINT)) && extras=test,multilib,lint
    log "Python venv: $VENV (Debian python, system site-packages, extras [$extras])"
    [[ -x $SYSTEM_PYTHON ]] || die "$SYSTEM_PYTHON is missing (Debian package python3)"
    if [[ -e $VENV ]] && ! venv_is_usable; then
        note "existing .venv is not based on $SYSTEM_PYTHON with system site-packages: recreating"
        rm -rf "$VENV"
    fi
    if [[ ! -e $VENV ]]; then
        run_logged venv "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV"
        note "created"
    fi

    # Re-install only when a pyproject.toml (the project's, the dev hub's) changed or extras are
    # wanted that were not installed.
    local stamp_file="$VENV/.koji-adjutant-installed" hash installed_hash="" installed_extras=""
    hash=$(cat "$REPO_ROOT/pyproject.toml" "$REPO_ROOT/devhub/pyproject.toml" | sha256sum | cut -d' ' -f1)
    [[ -f $stamp_file ]] && read -r installed_hash installed_extras <"$stamp_file"
    local up_to_date=0 e
    if [[ $installed_hash == "$hash" ]] &&
        "$VENV_PY" -c 'import rpm, multilib, koji, ansible_runner, koji_adjutant_devhub' 2>/dev/null; then
        up_to_date=1
        for e in ${extras//,/ }; do
            [[ ,$installed_extras, == *,$e,* ]] || up_to_date=0
        done
    fi
    if ((up_to_date)); then
        note "project and dependencies up to date"
        SUMMARY+=("venv: up to date")
    else
        note "pip install -e '.[$extras]' -e ./devhub (a minute or two the first time)"
        run_logged pip-install "$VENV_PY" -m pip install --quiet --disable-pip-version-check \
            -e "${REPO_ROOT}[$extras]" -e "$REPO_ROOT/devhub"
        printf '%s %s\n' "$hash" "$extras" >"$stamp_file"
        SUMMARY+=("venv: installed [$extras]")
    fi

    local versions
    versions=$("$VENV_PY" - <<'EOF' 2>&1
import ansible, ansible_runner, koji, rpm
from importlib.metadata import version
print(f"rpm {rpm.__version__}, koji {version('koji')}, ansible-core {ansible.__version__},"
      f" ansible-runner {version('ansible-runner')}")
EOF
    ) || die "the venv cannot import rpm, koji, ansible and ansible_runner:
$versions"
    note "$versions"
}

# --------------------------------------------------------------------------------------------
# 4. Ansible collections (no Galaxy)
# --------------------------------------------------------------------------------------------
setup_collections() {
    log "Ansible collections: ${BUNDLED_COLLECTIONS[*]} from ansible==$ANSIBLE_BUNDLE_VERSION"
    local stamp_file="$COLLECTIONS_DIR/.koji-adjutant-source"
    local stamp="ansible==$ANSIBLE_BUNDLE_VERSION ${BUNDLED_COLLECTIONS[*]}" c complete=1
    for c in "${BUNDLED_COLLECTIONS[@]}"; do
        [[ -f $COLLECTIONS_DIR/$c/MANIFEST.json ]] || complete=0
    done
    if ((complete)) && [[ -f $stamp_file && $(<"$stamp_file") == "$stamp" ]]; then
        note "already unpacked"
    else
        local archive
        archive=$(cached_file "$CACHE_DIR" "ansible-$ANSIBLE_BUNDLE_VERSION-*.whl")
        if [[ -z $archive ]]; then
            note "downloading ansible==$ANSIBLE_BUNDLE_VERSION (wheel only, about 50 MB) to build/cache"
            mkdir -p "$CACHE_DIR"
            run_logged pip-download-ansible "$VENV_PY" -m pip download --quiet --no-deps \
                --only-binary=:all: -d "$CACHE_DIR" "ansible==$ANSIBLE_BUNDLE_VERSION"
            archive=$(cached_file "$CACHE_DIR" "ansible-$ANSIBLE_BUNDLE_VERSION-*.whl")
            [[ -n $archive ]] || die "pip download did not produce ansible-$ANSIBLE_BUNDLE_VERSION-*.whl"
        fi
        note "unpacking from $(basename "$archive")"
        "$VENV_PY" - "$archive" "$COLLECTIONS_DIR" "${BUNDLED_COLLECTIONS[@]}" <<'EOF'
import shutil, sys, tempfile, zipfile
from pathlib import Path

archive, dest, collections = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
dest.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(archive) as zf, tempfile.TemporaryDirectory(dir=dest) as tmp:
    for c in collections:
        prefix = f"ansible_collections/{c}/"
        members = [n for n in zf.namelist() if n.startswith(prefix)]
        if not members:
            sys.exit(f"{archive} has no {prefix}")
        zf.extractall(tmp, members)
        target = dest / c
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(tmp, prefix).rename(target)
EOF
        printf '%s\n' "$stamp" >"$stamp_file"
    fi

    # The checkout itself is the koji_adjutant.builder collection.
    local link="$COLLECTIONS_DIR/koji_adjutant/builder"
    if [[ -e $link && ! -L $link ]]; then
        die "$link exists and is not a symlink; move it away"
    fi
    if [[ $(readlink "$link" 2>/dev/null) != ../../.. ]]; then
        mkdir -p "$(dirname "$link")"
        ln -sfn ../../.. "$link"
        note "linked collections/ansible_collections/koji_adjutant/builder -> ../../.. (the repo)"
    fi

    local listing="" name version _
    while read -r name version _; do
        case $name in
        containers.podman | ansible.posix | koji_adjutant.builder) listing+="$name $version"$'\n' ;;
        esac
    done < <("$VENV/bin/ansible-galaxy" collection list --collections-path "$COLLECTIONS_ROOT" 2>&1 || true)
    listing=${listing%$'\n'}
    for c in containers.podman ansible.posix koji_adjutant.builder; do
        grep -q "^$c " <<<"$listing" ||
            die "ansible-galaxy does not see the collection $c under $COLLECTIONS_ROOT"
    done
    note "$(paste -sd, <<<"$listing" | sed 's/,/, /g')"
    SUMMARY+=("collections: ready")
}

# --------------------------------------------------------------------------------------------
# 5. Lint tools (--with-lint)
# --------------------------------------------------------------------------------------------
# ansible-test bootstraps pip into every venv it creates (ansible-core 2.19:
# ansible_test/_util/target/setup/requirements.py, bootstrap()): unless
# ~/.ansible/test/cache/get_pip_24_2.py exists it downloads get-pip from
# ci-files.testing.ansible.com (unreachable here), then runs it through quiet_pip.py as
#     GET_PIP=<that file> <venv python> quiet_pip.py --disable-pip-version-check pip==24.2 \
#         --no-setuptools --no-wheel
# (quiet_pip.py runpy-runs the file as __main__ with those arguments). So we put our own "get-pip"
# there: it installs pip 24.2 from a wheel downloaded from PyPI. The sanity tests' own
# requirements then install from PyPI as usual.
write_get_pip() {
    local wheel=$1 target=$2
    cat >"$target" <<EOF
"""Offline stand-in for get-pip.py, written by koji-adjutant scripts/setup-host.sh.

ansible-test runs this file in each venv it creates (GET_PIP, via quiet_pip.py) to bootstrap pip.
Instead of downloading pip, it installs it from a local wheel. get-pip's own options
(--no-setuptools, --no-wheel) and the pip==VERSION requirement are dropped; other arguments are
passed to \`pip install\`.
"""
import runpy
import sys

WHEEL = "$wheel"
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY and not a.startswith("pip==")]
# A pip wheel can run itself: import pip from the wheel and let it install the wheel.
sys.path.insert(0, WHEEL)
sys.argv = ["pip", "install", "--no-index", "--no-cache-dir", *args, WHEEL]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
EOF
}

setup_lint() {
    log "Lint tools: ansible-lint, molecule, shellcheck, ansible-test pip bootstrap"
    local tool
    for tool in ansible-lint molecule ansible-test; do
        [[ -x $VENV/bin/$tool ]] || die "$VENV/bin/$tool is missing after pip install"
    done
    command -v shellcheck >/dev/null || die "shellcheck is missing (Debian package shellcheck)"

    # The wheel lives next to get_pip_*.py in the per-user ansible-test cache (not in the
    # checkout), so every checkout of this user writes the same file and none can break another.
    local cache_dir="$HOME/.ansible/test/cache" wheel
    local get_pip="$cache_dir/get_pip_${ANSIBLE_TEST_PIP_VERSION//./_}.py"
    mkdir -p "$cache_dir"
    wheel=$(cached_file "$cache_dir" "pip-$ANSIBLE_TEST_PIP_VERSION-*.whl")
    if [[ -z $wheel ]]; then
        run_logged pip-download-pip "$VENV_PY" -m pip download --quiet --no-deps \
            --only-binary=:all: -d "$cache_dir" "pip==$ANSIBLE_TEST_PIP_VERSION"
        wheel=$(cached_file "$cache_dir" "pip-$ANSIBLE_TEST_PIP_VERSION-*.whl")
        [[ -n $wheel ]] || die "pip download did not produce pip-$ANSIBLE_TEST_PIP_VERSION-*.whl"
    fi
    local tmp
    tmp=$(mktemp)
    write_get_pip "$wheel" "$tmp"
    if [[ -f $get_pip ]] && cmp -s "$tmp" "$get_pip"; then
        rm -f "$tmp"
        note "$get_pip is up to date"
    else
        # Prove it before installing it: bootstrap pip into a throw-away venv as ansible-test does.
        local check
        check=$(mktemp -d)
        run_logged get-pip-check bash -c "'$SYSTEM_PYTHON' -m venv --without-pip '$check/venv' &&
            '$check/venv/bin/python' '$tmp' --disable-pip-version-check \
                pip==$ANSIBLE_TEST_PIP_VERSION --no-setuptools --no-wheel &&
            '$check/venv/bin/python' -m pip --version | grep '^pip $ANSIBLE_TEST_PIP_VERSION '"
        rm -rf "$check"
        mv "$tmp" "$get_pip"
        note "wrote $get_pip: installs pip $ANSIBLE_TEST_PIP_VERSION offline from $(basename "$wheel")"
    fi
    note "run ansible-test with scripts/ansible-test.sh (sets ANSIBLE_TEST_CONTENT_ROOT)"
    SUMMARY+=("lint: ready")
}

# --------------------------------------------------------------------------------------------
main() {
    while (($#)); do
        case $1 in
        --with-lint) WITH_LINT=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument '$1' (try --help)" ;;
        esac
        shift
    done

    [[ -r /etc/debian_version ]] || die "this script is for Debian 12 (no /etc/debian_version)"
    local start=$SECONDS step_start step
    local steps=(setup_apt setup_podman setup_venv setup_collections)
    ((WITH_LINT)) && steps+=(setup_lint)
    for step in "${steps[@]}"; do
        step_start=$SECONDS
        "$step"
        note "($((SECONDS - step_start)) s)"
    done
    ((WITH_LINT)) || SUMMARY+=("lint: skipped (--with-lint)")

    echo
    note "activate: . .venv/bin/activate; collections path: export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS_ROOT"
    local IFS=';'
    printf 'setup-host: OK in %d s:%s\n' "$((SECONDS - start))" "$(printf ' %s;' "${SUMMARY[@]}" | sed 's/;$//')"
}

main "$@"

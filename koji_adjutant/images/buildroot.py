"""Build the koji-adjutant buildroot container image offline, from Debian packages.

koji tasks run in containers made from a *buildroot image*. Operators use RPM-based images
(Fedora, AlmaLinux, RHEL) from their own registry (docs/buildroot-images.md). For development,
tests and demos, this module builds one with no registry at all:

1. ``mmdebstrap --variant=minbase --include=<recipe/packages.txt> bookworm <tar>``;
2. its customize hook (:mod:`koji_adjutant.images.customize`) makes the Debian rootfs behave like an
   RPM buildroot for rpmbuild and dnf: rpmdb in ``/var/lib/rpm``, ``/etc/yum.repos.d``, the build
   user ``kojibuilder``, and the ``koji-adjutant-buildroot-provides`` package that tells rpm and dnf
   what the Debian packages supply;
3. ``podman import`` with ``CMD ["/bin/sleep","infinity"]``, ``STOPSIGNAL SIGKILL`` and labels,
   among them ``io.koji.adjutant.recipe=<sha256 of the recipe inputs>``.

:func:`ensure_buildroot_image` re-uses an existing image whose recipe label matches (a fraction of
a second) and builds otherwise (about a minute). Building needs root (mmdebstrap in root mode,
chroot), network access to a Debian mirror, and the host's ``rpmbuild``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import customize

DEFAULT_BUILDROOT_IMAGE = "localhost/koji-adjutant-buildroot:bookworm"
DEFAULT_IMAGE = DEFAULT_BUILDROOT_IMAGE  # short alias
SUITE = "bookworm"
# Labels of the image. IMAGE_LABEL=buildroot marks every buildroot image made here.
IMAGE_LABEL = "io.koji.adjutant.image"
RECIPE_LABEL = "io.koji.adjutant.recipe"
BUILD_USER_LABEL = "io.koji.adjutant.build-user"
BUILD_USER = customize.BUILD_USER
BUILD_HOME = customize.BUILD_HOME

# Debian mirrors: the environment variables override the defaults (the CLI has options too).
MIRROR_ENV = "KOJI_ADJUTANT_DEBIAN_MIRROR"
SECURITY_MIRROR_ENV = "KOJI_ADJUTANT_DEBIAN_SECURITY_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

# Recipe files in recipe/ beside this module (plus everything under rootfs/).
PACKAGES_FILE = "packages.txt"
RECIPE_FILES = (PACKAGES_FILE, customize.PROVIDES_FILE, customize.SPEC_FILE)
# Keep documentation and translations out of the image (licences stay).
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
)
# `podman import --change` settings (the recipe label is added to them).
IMAGE_CHANGES = (
    'CMD ["/bin/sleep","infinity"]',
    "STOPSIGNAL SIGKILL",  # nothing to shut down cleanly: stop at once
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    f"WORKDIR {BUILD_HOME}",
    f"LABEL {IMAGE_LABEL}=buildroot",
    f"LABEL {BUILD_USER_LABEL}={BUILD_USER}",
    f"LABEL io.koji.adjutant.base=debian:{SUITE}",
)
# Bump when the build procedure in this file changes what ends up in the image in a way the
# hashed inputs do not show.
RECIPE_FORMAT = "1"

Log = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """The buildroot image cannot be built; the message says why and what to do."""


# --------------------------------------------------------------------------------------------
# Recipe
# --------------------------------------------------------------------------------------------
def recipe_dir() -> Path:
    """``recipe/`` beside this module, installed with the package (or
    ``$KOJI_ADJUTANT_IMAGE_RECIPES``)."""
    override = os.environ.get("KOJI_ADJUTANT_IMAGE_RECIPES")
    directory = Path(override) if override else Path(__file__).resolve().parent / "recipe"
    missing = [name for name in RECIPE_FILES if not (directory / name).is_file()]
    if missing:
        raise ImageBuildError(
            f"buildroot recipe incomplete in {directory}: missing {', '.join(missing)}"
            " (reinstall koji-adjutant, or set KOJI_ADJUTANT_IMAGE_RECIPES)")
    return directory


def read_packages(directory: Path) -> list[str]:
    packages = []
    for lineno, raw in enumerate((directory / PACKAGES_FILE).read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", line):
            raise ImageBuildError(f"{directory / PACKAGES_FILE}:{lineno}: not a Debian package name: {line!r}")
        packages.append(line)
    if not packages:
        raise ImageBuildError(f"{directory / PACKAGES_FILE} lists no packages")
    return packages


def _recipe_inputs(directory: Path) -> Iterator[tuple[str, bytes]]:
    for name in RECIPE_FILES:
        yield name, (directory / name).read_bytes()
    overlay = directory / customize.OVERLAY_DIR
    if overlay.is_dir():
        for path in sorted(p for p in overlay.rglob("*") if p.is_file()):
            mode = "x" if os.access(path, os.X_OK) else "-"
            yield f"{path.relative_to(directory)}:{mode}", path.read_bytes()
    yield "customize.py", Path(customize.__file__).read_bytes()
    parameters = {"format": RECIPE_FORMAT, "suite": SUITE, "variant": "minbase", "dpkg": DPKG_OPTIONS,
                  "user": [BUILD_USER, customize.BUILD_UID, BUILD_HOME], "changes": IMAGE_CHANGES}
    yield "parameters", json.dumps(parameters, sort_keys=True).encode()


def recipe_digest(directory: Path | None = None) -> str:
    """sha256 over everything that decides the image's content: the files in recipe/
    (packages.txt, provides.txt, the spec, rootfs/), the customize hook's source and the build
    parameters (suite, variant, dpkg options, user, image settings). Not the mirror: the same
    recipe from another mirror is the same image."""
    directory = directory or recipe_dir()
    digest = hashlib.sha256()
    for name, content in _recipe_inputs(directory):
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# podman helpers
# --------------------------------------------------------------------------------------------
def _image_info(name: str) -> dict | None:
    """``podman image inspect`` of an image, or None if it does not exist."""
    result = subprocess.run(["podman", "image", "inspect", name], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    info = json.loads(result.stdout)
    return info[0] if info else None


def _labels(info: dict) -> dict[str, str]:
    return info.get("Labels") or info.get("Config", {}).get("Labels") or {}


def _check_tools() -> None:
    wanted = {"podman": "podman", "mmdebstrap": "mmdebstrap", "rpmbuild": "rpm", "chroot": "coreutils"}
    missing = [f"{tool} (Debian package {pkg})" for tool, pkg in wanted.items() if not shutil.which(tool)]
    if missing:
        raise ImageBuildError(f"missing tools to build the buildroot image: {', '.join(missing)};"
                              " run scripts/setup-host.sh")
    if os.geteuid() != 0:
        raise ImageBuildError("building the buildroot image needs root (mmdebstrap in root mode, chroot);"
                              " run it as root once, the image is then re-used")


@contextmanager
def _build_lock(name: str) -> Iterator[None]:
    """Serialise builds of one image name across processes (tests and tools build concurrently)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    path = Path(tempfile.gettempdir(), f"koji-adjutant-image-{safe}.lock")
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sources(mirror: str | None, security_mirror: str | None) -> list[str]:
    mirror = (mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR).rstrip("/")
    security = (security_mirror or os.environ.get(SECURITY_MIRROR_ENV) or DEFAULT_SECURITY_MIRROR).rstrip("/")
    return [
        f"deb {mirror} {SUITE} main",
        f"deb {mirror} {SUITE}-updates main",
        f"deb {security} {SUITE}-security main",
    ]


def _run(cmd: Sequence[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(cmd), capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-40:])
        raise ImageBuildError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------
def _hook_command(directory: Path, digest: str) -> str:
    """The mmdebstrap customize hook: our customize module, run by this Python (mmdebstrap runs
    hooks with ``sh -c``; the rootfs is ``$1``)."""
    package_root = Path(customize.__file__).resolve().parents[2]
    pythonpath = os.pathsep.join(filter(None, [str(package_root), os.environ.get("PYTHONPATH")]))
    args = [sys.executable, "-m", "koji_adjutant.images.customize", "--recipe-dir", str(directory),
            "--recipe", digest]
    return f"PYTHONPATH={_sh_quote(pythonpath)} " + " ".join(_sh_quote(a) for a in args) + ' "$1"'


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def build_buildroot_image(
    name: str = DEFAULT_BUILDROOT_IMAGE,
    *,
    log: Log = print,
    mirror: str | None = None,
    security_mirror: str | None = None,
) -> str:
    """Build the image unconditionally and tag it ``name``; return its id."""
    _check_tools()
    directory = recipe_dir()
    digest = recipe_digest(directory)
    packages = read_packages(directory)
    sources = _sources(mirror, security_mirror)
    started = time.monotonic()
    log(f"building {name} (recipe {digest[:12]}): mmdebstrap {SUITE} minbase + {len(packages)} packages"
        f" from {sources[0].split()[1]} (about a minute)")
    workdir = Path(os.environ.get("KOJI_ADJUTANT_IMAGE_WORKDIR") or tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix="koji-adjutant-image-", dir=workdir) as tmp:
        tarball = Path(tmp, "rootfs.tar")
        cmd = ["mmdebstrap", "--mode=root", "--variant=minbase", "--format=tar",
               f"--include={','.join(packages)}",
               *(f"--dpkgopt={opt}" for opt in DPKG_OPTIONS),
               f"--customize-hook={_hook_command(directory, digest)}",
               SUITE, str(tarball), *sources]
        result = _run(cmd, "mmdebstrap")
        for line in (result.stdout + result.stderr).splitlines():
            if line.startswith("customize: "):
                log("  " + line[len("customize: "):])
        bootstrapped = time.monotonic()
        log(f"  rootfs: {tarball.stat().st_size / 2**20:.0f} MiB in {bootstrapped - started:.1f} s")

        changes = [*IMAGE_CHANGES, f"LABEL {RECIPE_LABEL}={digest}"]
        old = _image_info(name)
        result = _run(["podman", "import", "--quiet", *(f"--change={c}" for c in changes), str(tarball), name],
                      "podman import")
        image_id = result.stdout.strip().splitlines()[-1].removeprefix("sha256:")
    imported = time.monotonic()
    log(f"  podman import: {imported - bootstrapped:.1f} s")
    if old and old["Id"] != image_id:
        # The previous build is now untagged; remove it unless a container still uses it.
        subprocess.run(["podman", "image", "rm", old["Id"]], capture_output=True, check=False)
    log(f"built {name} ({image_id[:12]}) in {imported - started:.1f} s")
    return image_id


def ensure_buildroot_image(name: str = DEFAULT_BUILDROOT_IMAGE, force: bool = False, log: Log = print) -> str:
    """Make sure the buildroot image ``name`` exists and matches the current recipe; return its id.

    Re-uses an existing image whose ``io.koji.adjutant.recipe`` label equals the recipe hash
    (:func:`recipe_digest`); builds it otherwise, or always with ``force=True``. Safe to call from
    several processes at once (a file lock serialises builds). Raises :class:`ImageBuildError`.
    """
    digest = recipe_digest()
    started = time.monotonic()
    with _build_lock(name):
        info = _image_info(name)
        if info and not force:
            have = _labels(info).get(RECIPE_LABEL)
            if have == digest:
                log(f"{name} is up to date (image {info['Id'][:12]}, recipe {digest[:12]},"
                    f" checked in {time.monotonic() - started:.2f} s)")
                return info["Id"]
            log(f"{name} was built from another recipe ({(have or 'none')[:12]}, now {digest[:12]}): rebuilding")
        elif force and info:
            log(f"{name}: rebuilding (--force)")
        return build_buildroot_image(name, log=log)

"""mmdebstrap customize hook of the buildroot image: make a Debian rootfs look like an RPM buildroot.

Run by mmdebstrap (``--customize-hook``) as root on the host, with the rootfs directory as the last
argument, after all Debian packages are installed::

    python -m koji_adjutant.images.customize --recipe-dir images/buildroot --recipe <sha256> ROOTFS

Steps:

1. copy ``<recipe-dir>/rootfs/`` into the rootfs (rpm macros: ``%_dbpath /var/lib/rpm``);
2. create the directories rpm and dnf need and initialise the rpm database;
3. create the build user (``kojibuilder``, uid/gid 1000, home ``/builddir``);
4. generate the Provides of ``koji-adjutant-buildroot-provides`` from ``provides.txt``, the
   image's dpkg database (versions), its shared libraries (sonames, via rpm's ``elfdeps``) and its
   programs; build the package with the host's ``rpmbuild``; record it in the image's rpmdb with
   ``rpm -i --justdb --nodeps`` run inside the rootfs.

Everything that changes the result of this module must be an input of the recipe hash
(:func:`koji_adjutant.images.buildroot.recipe_digest` hashes this file's source too).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PROVIDES_PACKAGE = "koji-adjutant-buildroot-provides"
SPEC_FILE = f"{PROVIDES_PACKAGE}.spec"
PROVIDES_FILE = "provides.txt"
OVERLAY_DIR = "rootfs"
BUILD_USER = "kojibuilder"
BUILD_UID = 1000
BUILD_HOME = "/builddir"
RPMDB_PATH = "/var/lib/rpm"
ELFDEPS = "/usr/lib/rpm/elfdeps"

# Shared libraries directly in a library directory (not plugins such as gconv/*.so).
_SHARED_LIBRARY = re.compile(r"^/(usr/)?lib(32|64|x32)?/([^/]+/)?[^/]+\.so(\.[0-9]+)*$")
# A capability name as it may appear in a Provides: line (no spaces, no comparison operators).
_CAPABILITY = re.compile(r"^[^\s<>=]+$")
# Characters rpm accepts in a version.
_RPM_VERSION = re.compile(r"^[A-Za-z0-9._+~^]+$")


class CustomizeError(RuntimeError):
    """The rootfs cannot be turned into a buildroot; the message says why."""


def log(message: str) -> None:
    print(f"customize: {message}", flush=True)


def run(cmd: list[str], *, input: str | None = None) -> str:
    """Run a command, return its stdout; raise CustomizeError with its output if it fails."""
    result = subprocess.run(cmd, input=input, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise CustomizeError(f"{' '.join(cmd)} failed (exit {result.returncode}):\n{output}")
    return result.stdout


def in_root(rootfs: Path, *cmd: str, input: str | None = None) -> str:
    """Run a command inside the rootfs (chroot)."""
    return run(["chroot", str(rootfs), *cmd], input=input)


# --------------------------------------------------------------------------------------------
# provides.txt
# --------------------------------------------------------------------------------------------
@dataclass
class ProvidesRule:
    """One line of provides.txt: a Debian package and the RPM capabilities it supplies."""

    package: str  # Debian package name, or "*" for none
    names: list[str] = field(default_factory=list)  # plain names, versioned with the package
    fixed: dict[str, str] = field(default_factory=dict)  # name=version
    paths: list[str] = field(default_factory=list)  # unversioned file capabilities
    sonames: bool = False
    executables: bool = False


def parse_provides(text: str, source: str = PROVIDES_FILE) -> list[ProvidesRule]:
    rules = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        package, *tokens = line.split()
        where = f"{source}:{lineno}"
        if not tokens:
            raise CustomizeError(f"{where}: {package!r} lists no capabilities")
        rule = ProvidesRule(package)
        for token in tokens:
            if token == "@sonames" and package != "*":
                rule.sonames = True
            elif token == "@executables" and package == "*":
                rule.executables = True
            elif token.startswith("@"):
                raise CustomizeError(f"{where}: unknown or misplaced directive {token!r}")
            elif token.startswith("/"):
                rule.paths.append(token)
            elif "=" in token:
                name, version = token.split("=", 1)
                if not _CAPABILITY.match(name) or not _RPM_VERSION.match(version):
                    raise CustomizeError(f"{where}: bad name=version {token!r}")
                rule.fixed[name] = version
            elif _CAPABILITY.match(token):
                rule.names.append(token)
            else:
                raise CustomizeError(f"{where}: bad capability {token!r}")
        rules.append(rule)
    return rules


def rpm_version(debian_version: str) -> str:
    """The upstream part of a Debian version, as an rpm version: 1:2.39.5-0+deb12u3 -> 2.39.5.

    The epoch and the Debian revision are dropped, and so are repack suffixes (+dfsg, ~deb12u1):
    ``gcc = 12.2.0`` then satisfies ``Requires: gcc >= 12`` whatever the release.
    """
    upstream = debian_version.split(":", 1)[-1]
    if "-" in upstream:
        upstream = upstream.rsplit("-", 1)[0]
    match = re.match(r"[0-9][A-Za-z0-9.]*", upstream)
    if not match:
        raise CustomizeError(f"cannot make an rpm version of the Debian version {debian_version!r}")
    return match.group(0).rstrip(".")


def installed_versions(rootfs: Path, packages: list[str]) -> dict[str, str]:
    """Debian version of each package installed in the rootfs (missing ones are left out)."""
    result = subprocess.run(
        ["chroot", str(rootfs), "dpkg-query", "-W", "-f=${Package}\t${Version}\t${db:Status-Abbrev}\n",
         *packages],
        capture_output=True, text=True, check=False,
    )  # exits 1 when some package is unknown; the others are still listed
    versions = {}
    for line in result.stdout.splitlines():
        name, version, status = line.split("\t")
        if status.strip() == "ii":
            versions[name.split(":")[0]] = version
    return versions


def soname_provides(rootfs: Path, package: str) -> list[str]:
    """Soname capabilities of a Debian package's shared libraries, as rpm's elfdeps writes them."""
    files = in_root(rootfs, "dpkg-query", "-L", package).splitlines()
    libraries = [f for f in files if _SHARED_LIBRARY.match(f)]
    if not libraries:
        raise CustomizeError(f"provides.txt: {package} has @sonames but no shared libraries")
    output = in_root(rootfs, ELFDEPS, "--provides", "--no-fake-soname", input="\n".join(libraries) + "\n")
    return list(dict.fromkeys(output.split()))


def executable_paths(rootfs: Path) -> list[str]:
    """Every program in /usr/bin and /usr/sbin, also as /bin/... and /sbin/... (merged /usr)."""
    paths = []
    for directory, alias in (("usr/bin", "bin"), ("usr/sbin", "sbin")):
        merged = (rootfs / alias).is_symlink() and os.readlink(rootfs / alias).strip("/") == directory
        for entry in sorted(os.scandir(rootfs / directory), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False) or not _CAPABILITY.match(entry.name):
                continue
            paths.append(f"/{directory}/{entry.name}")
            if merged:
                paths.append(f"/{alias}/{entry.name}")
    return paths


def generate_provides(rootfs: Path, rules: list[ProvidesRule]) -> list[str]:
    """The ``Provides:`` capabilities ("name", "name = version") for the rules, checked against
    what is really installed in the rootfs."""
    packages = sorted({r.package for r in rules if r.package != "*"})
    versions = installed_versions(rootfs, packages)
    missing = [p for p in packages if p not in versions]
    if missing:
        raise CustomizeError(
            f"provides.txt names Debian packages that are not installed in the image: {', '.join(missing)}"
            " (add them to packages.txt or remove them from provides.txt)")
    capabilities: dict[str, None] = {}
    for rule in rules:
        version = rpm_version(versions[rule.package]) if rule.package != "*" else None
        for name in rule.names:
            capabilities[f"{name} = {version}" if version else name] = None
        for name, fixed in rule.fixed.items():
            capabilities[f"{name} = {fixed}"] = None
        for path in rule.paths:
            capabilities[path] = None
        if rule.sonames:
            capabilities.update(dict.fromkeys(soname_provides(rootfs, rule.package)))
        if rule.executables:
            capabilities.update(dict.fromkeys(executable_paths(rootfs)))
    return list(capabilities)


# --------------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------------
def copy_overlay(recipe_dir: Path, rootfs: Path) -> None:
    overlay = recipe_dir / OVERLAY_DIR
    if not overlay.is_dir():
        return
    count = 0
    for source in sorted(overlay.rglob("*")):
        target = rootfs / source.relative_to(overlay)
        if source.is_dir():
            target.mkdir(mode=0o755, parents=True, exist_ok=True)
        else:
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            shutil.copyfile(source, target, follow_symlinks=True)
            os.chmod(target, 0o755 if os.access(source, os.X_OK) else 0o644)
            count += 1
    log(f"copied {count} file(s) from {overlay}")


def prepare_rpm_and_dnf(rootfs: Path) -> None:
    dbpath = in_root(rootfs, "rpm", "--eval", "%{_dbpath}").strip()
    if dbpath != RPMDB_PATH:
        raise CustomizeError(f"rpm's %_dbpath in the image is {dbpath!r}, expected {RPMDB_PATH}"
                             f" (is {OVERLAY_DIR}/usr/lib/rpm/macros.d/ copied in?)")
    for directory in ("etc/yum.repos.d", "var/cache/dnf", "var/lib/dnf", RPMDB_PATH.lstrip("/")):
        (rootfs / directory).mkdir(mode=0o755, parents=True, exist_ok=True)
    in_root(rootfs, "rpm", "--initdb")
    log(f"rpm database initialised in {RPMDB_PATH}; /etc/yum.repos.d created")


def create_build_user(rootfs: Path) -> None:
    passwd = (rootfs / "etc/passwd").read_text()
    if re.search(rf"^{BUILD_USER}:", passwd, re.M):
        log(f"user {BUILD_USER} exists")
        return
    in_root(rootfs, "groupadd", "--gid", str(BUILD_UID), BUILD_USER)
    in_root(rootfs, "useradd", "--uid", str(BUILD_UID), "--gid", str(BUILD_UID), "--home-dir", BUILD_HOME,
            "--create-home", "--shell", "/bin/bash", "--comment", "koji build user", BUILD_USER)
    os.chmod(rootfs / BUILD_HOME.lstrip("/"), 0o755)
    log(f"created user {BUILD_USER} ({BUILD_UID}:{BUILD_UID}, home {BUILD_HOME})")


def install_provides_package(recipe_dir: Path, rootfs: Path, recipe: str) -> None:
    rules = parse_provides((recipe_dir / PROVIDES_FILE).read_text(), str(recipe_dir / PROVIDES_FILE))
    capabilities = generate_provides(rootfs, rules)
    arch = in_root(rootfs, "rpm", "--eval", "%{_arch}").strip()
    image_version = rpm_version((rootfs / "etc/debian_version").read_text().strip())
    with tempfile.TemporaryDirectory(prefix="koji-adjutant-provides-") as tmp:
        provides_file = Path(tmp, "provides.inc")
        provides_file.write_text("".join(f"Provides: {c}\n" for c in capabilities))
        topdir = Path(tmp, "rpmbuild")
        run([
            "rpmbuild", "-bb", "--quiet", "--target", arch,
            "--define", f"_topdir {topdir}",
            "--define", "_rpmfilename %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
            "--define", f"provides_file {provides_file}",
            "--define", f"image_version {image_version}",
            "--define", f"recipe {recipe[:12]}",
            str(recipe_dir / SPEC_FILE),
        ])
        built = sorted((topdir / "RPMS").glob(f"{PROVIDES_PACKAGE}-*.rpm"))
        if len(built) != 1:
            raise CustomizeError(f"rpmbuild of {SPEC_FILE} made {[p.name for p in built]}, expected one package")
        package = built[0]
        inside = Path("/tmp", package.name)
        shutil.copyfile(package, rootfs / inside.relative_to("/"))
        try:
            in_root(rootfs, "rpm", "--install", "--justdb", "--nodeps", str(inside))
        finally:
            (rootfs / inside.relative_to("/")).unlink()
    nevra = in_root(rootfs, "rpm", "-q", PROVIDES_PACKAGE).strip()
    log(f"recorded {nevra} in the rpmdb: {len(capabilities)} capabilities")


def customize(rootfs: Path, recipe_dir: Path, recipe: str) -> None:
    if os.geteuid() != 0:
        raise CustomizeError("the customize hook must run as root (it uses chroot)")
    if not (rootfs / "etc/debian_version").is_file():
        raise CustomizeError(f"{rootfs} does not look like a Debian rootfs")
    copy_overlay(recipe_dir, rootfs)
    prepare_rpm_and_dnf(rootfs)
    create_build_user(rootfs)
    install_provides_package(recipe_dir, rootfs, recipe)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koji_adjutant.images.customize",
                                     description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--recipe-dir", type=Path, required=True, help="images/buildroot of the checkout")
    parser.add_argument("--recipe", required=True, help="recipe hash (goes into the package release)")
    parser.add_argument("rootfs", type=Path)
    args = parser.parse_args(argv)
    try:
        customize(args.rootfs, args.recipe_dir, args.recipe)
    except (CustomizeError, OSError) as exc:
        print(f"customize: ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

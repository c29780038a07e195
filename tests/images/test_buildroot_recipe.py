"""Fast checks of the buildroot image recipe (no podman, no root)."""

from __future__ import annotations

import pytest

from koji_adjutant.images import buildroot, customize


@pytest.mark.parametrize(
    ("debian", "rpm"),
    [
        ("12.2.0-14+deb12u1", "12.2.0"),
        ("1:2.39.5-0+deb12u3", "2.39.5"),
        ("4.18.0+dfsg-1+deb12u1", "4.18.0"),
        ("1.34+dfsg-1.2+deb12u1", "1.34"),
        ("20250419~deb12u2", "20250419"),
        ("2:4.0.2-3", "4.0.2"),
        ("3.23+nmu1", "3.23"),
        ("5.7-0.5~deb12u1", "5.7"),
    ],
)
def test_rpm_version_of_debian_version(debian, rpm):
    assert customize.rpm_version(debian) == rpm


def test_recipe_files_parse():
    directory = buildroot.recipe_dir()
    packages = buildroot.read_packages(directory)
    assert {"rpm", "dnf", "createrepo-c", "gcc", "g++", "make", "git", "python3"} <= set(packages)
    rules = customize.parse_provides((directory / customize.PROVIDES_FILE).read_text())
    names = {n for r in rules for n in r.names} | {n for r in rules for n in r.fixed} | {
        p for r in rules for p in r.paths}
    for wanted in ("gcc", "gcc-c++", "make", "glibc-devel", "rpm-build", "redhat-rpm-config", "bash",
                   "/bin/sh", "rtld(GNU_HASH)", "shadow-utils", "python(abi)", "system-release(releasever)"):
        assert wanted in names
    assert any(r.sonames for r in rules if r.package == "libc6")
    assert any(r.executables for r in rules if r.package == "*")


def test_recipe_digest_is_stable_and_tracks_inputs(tmp_path):
    directory = buildroot.recipe_dir()
    assert buildroot.recipe_digest(directory) == buildroot.recipe_digest(directory)
    copy = tmp_path / "buildroot"
    for name in buildroot.RECIPE_FILES:
        copy.mkdir(exist_ok=True)
        (copy / name).write_bytes((directory / name).read_bytes())
    before = buildroot.recipe_digest(copy)
    (copy / buildroot.PACKAGES_FILE).write_text((copy / buildroot.PACKAGES_FILE).read_text() + "perl\n")
    assert buildroot.recipe_digest(copy) != before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gcc\n", "lists no capabilities"),
        ("gcc gcc @nonsense\n", "unknown or misplaced directive"),
        ("* foo @sonames\n", "unknown or misplaced directive"),
        ("gcc gcc<12\n", "bad capability"),
        ("gcc gcc>=12\n", "bad name=version"),
        ("python3 python(abi)=3:11\n", "bad name=version"),
    ],
)
def test_bad_provides_lines_are_rejected(text, message):
    with pytest.raises(customize.CustomizeError, match=message):
        customize.parse_provides(text)

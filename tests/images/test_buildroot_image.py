"""The offline buildroot image, for real: built (or re-used) with ensure_buildroot_image(), then
used the way a koji task uses a buildroot: a hardened container without network, steps run with
``podman exec``, rpmbuild as the build user, dnf and rpm as root.

The first run builds the image (about a minute); later runs re-use it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
import uuid

import pytest

from koji_adjutant.images import (
    BUILD_USER,
    DEFAULT_BUILDROOT_IMAGE,
    IMAGE_LABEL,
    RECIPE_LABEL,
    ensure_buildroot_image,
    recipe_digest,
)

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(os.geteuid() != 0, reason="building the buildroot image needs root"),
    pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed (scripts/setup-host.sh)"),
]

HARDENED = ["--network", "none", "--cap-drop=all", "--security-opt", "no-new-privileges"]
ARCH = platform.machine()

HELLO_SPEC = r"""
Name:           hello
Version:        1.0
Release:        1
Summary:        A tiny C and C++ program
License:        MIT
BuildRequires:  gcc
BuildRequires:  gcc-c++
BuildRequires:  make

%description
Says hello, in C and C++.

%prep
%setup -q -c -T
cat > hello.c <<'EOF'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) { printf("hello %g\n", sqrt(argc > 1 ? atof(argv[1]) : 4.0)); return 0; }
EOF
cat > hello++.cc <<'EOF'
#include <iostream>
#include <string>
int main() { std::string s = "hello++"; std::cout << s << std::endl; return 0; }
EOF
printf 'all: hello hello++\nhello: hello.c\n\t$(CC) $(CFLAGS) -o $@ $< -lm\nhello++: hello++.cc\n\t$(CXX) $(CXXFLAGS) -o $@ $<\n' > Makefile

%build
make %{?_smp_mflags}

%install
install -D -m 0755 hello %{buildroot}%{_bindir}/hello
install -D -m 0755 hello++ %{buildroot}%{_bindir}/hello++

%files
%{_bindir}/hello
%{_bindir}/hello++
"""


def podman(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], input=input, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def image() -> str:
    return ensure_buildroot_image(DEFAULT_BUILDROOT_IMAGE)


class Container:
    def __init__(self, name: str):
        self.name = name

    def exec(self, *cmd: str, user: str | None = None, input: str | None = None, check: bool = True):
        args = ["exec", "-i"] if input is not None else ["exec"]
        if user:
            args += ["--user", user]
        return podman(*args, self.name, *cmd, input=input, check=check)

    def sh(self, script: str, user: str | None = None, check: bool = True):
        return self.exec("sh", "-c", script, user=user, check=check)


@pytest.fixture(scope="module")
def container(image):
    name = f"koji-adjutant-test-images-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "--label", "io.koji.adjutant.test=images", *HARDENED, image)
    try:
        yield Container(name)
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


@pytest.fixture(scope="module")
def built_rpm(container) -> str:
    """Build hello.spec as the build user, like a buildArch task's rpmbuild step."""
    container.exec("sh", "-c", "cat > /builddir/hello.spec", user=BUILD_USER, input=HELLO_SPEC)
    result = container.exec("rpmbuild", "-bb", "--define", "_topdir /tmp/b", "/builddir/hello.spec",
                            user=BUILD_USER, check=False)
    assert result.returncode == 0, f"rpmbuild failed:\n{result.stdout}\n{result.stderr}"
    return f"/tmp/b/RPMS/{ARCH}/hello-1.0-1.{ARCH}.rpm"


def test_image_is_reused_and_labelled(image):
    started = time.monotonic()
    assert ensure_buildroot_image(DEFAULT_BUILDROOT_IMAGE, log=lambda _: None) == image
    assert time.monotonic() - started < 10
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    labels = info["Labels"]
    assert labels[IMAGE_LABEL] == "buildroot"
    assert labels[RECIPE_LABEL] == recipe_digest()
    assert info["Config"]["Cmd"] == ["/bin/sleep", "infinity"]
    assert info["Config"]["StopSignal"] in ("9", "SIGKILL")


def test_hardened_one_shot_run(image):
    result = podman("run", "--rm", *HARDENED, image, "sh", "-c", "id -un; git --version; createrepo_c --version")
    lines = result.stdout.splitlines()
    assert lines[0] == "root"
    assert lines[1].startswith("git version ")
    assert lines[2].startswith("Version: ")


def test_build_user(container):
    result = container.sh(f"id -u {BUILD_USER}; id -g {BUILD_USER}; getent passwd {BUILD_USER} | cut -d: -f6")
    assert result.stdout.split() == ["1000", "1000", "/builddir"]
    assert container.sh("touch /builddir/x && rm /builddir/x && echo ok", user=BUILD_USER).stdout.strip() == "ok"


def test_tools(container):
    for cmd in (["createrepo_c", "--version"], ["git", "--version"], ["rpmbuild", "--version"],
                ["dnf", "--version"], ["gcc", "--version"], ["make", "--version"], ["sleep", "0"]):
        container.exec(*cmd)


def test_provides_package_is_in_the_rpmdb(container):
    nevra = container.exec("rpm", "-q", "koji-adjutant-buildroot-provides").stdout.strip()
    assert nevra.startswith("koji-adjutant-buildroot-provides-")
    for capability in ("gcc", "gcc-c++", "make", "glibc-devel", "rpm-build", "redhat-rpm-config", "bash",
                       "/bin/sh", "/usr/bin/sh", "coreutils", "tar", "xz", "shadow-utils", "which",
                       "libc.so.6()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)", "libm.so.6()(64bit)",
                       "libgcc_s.so.1()(64bit)", "libstdc++.so.6()(64bit)", "rtld(GNU_HASH)",
                       "/usr/bin/python3", "python(abi)",
                       *(["ld-linux-x86-64.so.2()(64bit)"] if ARCH == "x86_64" else [])):
        result = container.exec("rpm", "-q", "--whatprovides", capability, check=False)
        assert result.returncode == 0, f"nothing provides {capability}: {result.stdout}{result.stderr}"
    # rpm and dnf share the system database (Debian's rpm defaults to ~/.rpmdb).
    assert container.exec("rpm", "--eval", "%{_dbpath}", user=BUILD_USER).stdout.strip() == "/var/lib/rpm"


def test_rpmbuild_makes_a_binary_rpm(container, built_rpm):
    arch = container.exec("rpm", "-qp", "--qf", "%{ARCH}", built_rpm).stdout.strip()
    assert arch == ARCH


def test_requires_of_built_rpm_are_satisfied(container, built_rpm):
    requires = container.exec("rpm", "-qp", "--requires", built_rpm).stdout.splitlines()
    names = [r.split()[0] for r in requires if not r.startswith("rpmlib(")]
    # What rpmbuild generated automatically for a C and a C++ program:
    for expected in ("libc.so.6()(64bit)", "libm.so.6()(64bit)", "libstdc++.so.6()(64bit)", "rtld(GNU_HASH)"):
        assert expected in names
    unsatisfied = [n for n in names if container.exec("rpm", "-q", "--whatprovides", n, check=False).returncode]
    assert not unsatisfied
    # rpm's own resolver agrees (including the rpmlib() features).
    container.exec("rpm", "-i", "--test", built_rpm)


def test_dnf_sees_the_image_tools_and_installs_built_rpms(container, built_rpm):
    container.sh(
        f"mkdir -p /tmp/repo && cp {built_rpm} /tmp/repo/ && createrepo_c --quiet /tmp/repo && "
        "printf '[local]\\nname=local\\nbaseurl=file:///tmp/repo\\ngpgcheck=0\\n' > /etc/yum.repos.d/local.repo")
    installed = container.exec("dnf", "-q", "repoquery", "--installed", "--whatprovides", "gcc").stdout
    assert "koji-adjutant-buildroot-provides" in installed
    result = container.exec("dnf", "-y", "install", "gcc", "make", "/bin/sh")
    assert "is already installed" in result.stdout
    assert "Nothing to do." in result.stdout
    container.exec("dnf", "-y", "install", "hello")
    assert container.exec("hello", "9", user=BUILD_USER).stdout.strip() == "hello 3"
    assert container.exec("hello++", user=BUILD_USER).stdout.strip() == "hello++"
    assert container.exec("rpm", "-q", "hello").stdout.strip() == f"hello-1.0-1.{ARCH}"

"""The package list a root step writes for the buildroot record (podman_build_step
rpmlist_file, koji_buildroot rpmlist_file): written whole after a successful step only,
and the step's exit code stays the command's; the image's baseline list saved before the first
such step."""

import os
import subprocess

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot

ENTRY = "dep-a\t3.0\t2\t(none)\tnoarch\tfc4ae0a47e842d9123e30bb1716a2abd\t1234\t1796285148"


@pytest.fixture
def fake_rpm(tmp_path):
    """A PATH whose ``rpm`` prints one package (or fails when RPM_FAILS is set)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "rpm"
    script.write_text('#!/bin/sh\n[ -z "$RPM_FAILS" ] || exit 1\nprintf \'%s\\n\'\n' % ENTRY)
    script.chmod(0o755)
    return "%s:%s" % (bindir, os.environ["PATH"])


def run(command, path, env_path, **env):
    baseline_file = os.path.join(os.path.dirname(path), "var", "baseline.rpmlist")
    script = buildroot.with_rpmlist_file(command, path, baseline_file=baseline_file)
    return subprocess.run(["/bin/sh", "-c", script], env=dict(os.environ, PATH=env_path, **env),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)


def test_a_successful_step_leaves_the_list(tmp_path, fake_rpm):
    target = tmp_path / "installed.rpmlist"
    proc = run("echo installing", str(target), fake_rpm)
    assert proc.returncode == 0 and proc.stdout == "installing\n"
    current, baseline = buildroot.read_rpmlist_file(str(target))
    assert [(e["name"], e["epoch"], e["size"]) for e in current] == [("dep-a", None, 1234)]
    # the baseline was saved before the step: everything installed then is the image's
    assert baseline == current
    assert sorted(os.listdir(str(tmp_path / "var"))) == ["baseline.rpmlist"]
    assert not os.path.exists(str(target) + ".part")


def test_the_baseline_is_saved_once(tmp_path, fake_rpm):
    target = tmp_path / "installed.rpmlist"
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "baseline.rpmlist").write_text(ENTRY.replace("dep-a", "base") + "\n")
    assert run("true", str(target), fake_rpm).returncode == 0
    current, baseline = buildroot.read_rpmlist_file(str(target))
    assert [e["name"] for e in baseline] == ["base"]
    assert buildroot.installed_from_repo(current, baseline) == current


def test_a_failed_step_keeps_its_exit_code_and_writes_nothing(tmp_path, fake_rpm):
    target = tmp_path / "installed.rpmlist"
    proc = run("echo no; exit 3", str(target), fake_rpm)
    assert proc.returncode == 3
    assert buildroot.read_rpmlist_file(str(target)) is None


def test_a_failed_query_leaves_no_partial_file_and_the_step_succeeds(tmp_path, fake_rpm):
    target = tmp_path / "installed.rpmlist"
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "baseline.rpmlist").write_text(ENTRY + "\n")
    proc = run("true", str(target), fake_rpm, RPM_FAILS="1")
    assert proc.returncode == 0
    assert sorted(os.listdir(str(tmp_path))) == ["bin", "var"]


def test_a_step_whose_baseline_cannot_be_saved_fails_without_running(tmp_path, fake_rpm):
    target = tmp_path / "installed.rpmlist"
    proc = run("echo installing", str(target), fake_rpm, RPM_FAILS="1")
    assert proc.returncode == 1 and "installing" not in proc.stdout
    assert not (tmp_path / "var" / "baseline.rpmlist").exists()


def test_an_argv_step_is_quoted(tmp_path, fake_rpm):
    target = tmp_path / "installed.rpmlist"
    proc = run(["printf", "%s|", "two words", "it's"], str(target), fake_rpm)
    assert proc.returncode == 0 and proc.stdout == "two words|it's|"
    assert buildroot.read_rpmlist_file(str(target)) is not None


def test_the_query_output_separates_current_and_baseline():
    text = "%s\n%s\n%s\n" % (ENTRY.replace("dep-a", "dep-b"), buildroot.BASELINE_MARK, ENTRY)
    current, baseline = buildroot.parse_package_query(text)
    assert [e["name"] for e in current] == ["dep-b"]
    assert [e["name"] for e in baseline] == ["dep-a"]
    assert buildroot.installed_from_repo(current, baseline) == current

"""The podman commands of the pipeline run with Go's collector tuned (GOGC=400) unless the
operator set GOGC: checked with a podman on PATH that reports the environment it got."""

import os
import stat

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import (
    containers, resource_stats)


@pytest.fixture
def reported_gogc(tmp_path, monkeypatch):
    """A ``podman`` first on PATH that appends the GOGC it was given to a file; returns a
    function that reads what the calls so far reported."""
    report = tmp_path / "gogc"
    fake = tmp_path / "bin" / "podman"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "${GOGC-unset}" >> %s\n' % report)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "%s%s%s" % (fake.parent, os.pathsep, os.environ["PATH"]))
    monkeypatch.delenv("GOGC", raising=False)
    return lambda: report.read_text().split() if report.exists() else []


def run_every_kind_of_call(tmp_path):
    containers.podman(["version"])
    containers.exec_step("koji-task-1-w", ["true"], str(tmp_path / "step.log"))
    source = tmp_path / "file"
    source.write_text("x")
    containers.copy_into("koji-task-1-w", str(source), "/builddir/file")
    resource_stats._run(["podman", "container", "inspect", "koji-task-1-w"])


def test_podman_commands_get_the_tuned_collector(tmp_path, reported_gogc):
    run_every_kind_of_call(tmp_path)
    assert reported_gogc() == [containers.PODMAN_GOGC] * 4
    # the module's own environment is not changed
    assert "GOGC" not in os.environ


def test_an_operators_gogc_is_kept(tmp_path, reported_gogc, monkeypatch):
    monkeypatch.setenv("GOGC", "150")
    run_every_kind_of_call(tmp_path)
    assert reported_gogc() == ["150"] * 4

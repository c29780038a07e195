"""A step run as the start of the task container's main process (podman_build_step
run_at_start): the main process's script runs in a real shell here, with the task's builddir
in a temporary directory instead of /builddir."""

import os
import subprocess
import time

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers


@pytest.fixture
def builddir(tmp_path, monkeypatch):
    monkeypatch.setattr(containers, "BUILDDIR", str(tmp_path))
    containers.prepare_start_step(str(tmp_path))
    return tmp_path


@pytest.fixture
def main_process():
    """Start a container's main process (its argv, here run on the host)."""
    started = []

    def start(argv):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_successful_step_keeps_the_container_up(builddir, main_process, tmp_path):
    argv = containers.start_step_argv("echo set up; echo more >&2", env={"A": "1"})
    proc = main_process(argv)
    log = tmp_path / "root.log"
    rc, timed_out, seconds = containers.wait_start_step("none", str(builddir), proc.pid,
                                                        str(log), header="=== setup ===\n")
    assert (rc, timed_out) == (0, False) and seconds < 10
    assert log.read_text() == "=== setup ===\nset up\nmore\n"
    time.sleep(0.2)
    assert proc.poll() is None  # the sleep that keeps it up for the later steps


def test_a_failed_step_ends_the_main_process_with_its_exit_code(
        builddir, main_process, tmp_path):
    proc = main_process(containers.start_step_argv(["/bin/sh", "-c", "echo broken; exit 7"]))
    log = tmp_path / "root.log"
    rc, timed_out, dummy = containers.wait_start_step("none", str(builddir), proc.pid, str(log))
    assert (rc, timed_out) == (7, False)
    assert log.read_text() == "broken\n"
    assert proc.wait(10) == 7


def test_env_workdir_and_argv_reach_the_step_unchanged(builddir, main_process, tmp_path):
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    argv = containers.start_step_argv(["/bin/sh", "-c", 'pwd; echo "$1|$KEY"', "sh", "a b;c"],
                                      workdir=str(workdir), env={"KEY": "x y"})
    proc = main_process(argv)
    log = tmp_path / "root.log"
    rc, dummy, dummy = containers.wait_start_step("none", str(builddir), proc.pid, str(log))
    assert rc == 0
    assert log.read_text() == "%s\na b;c|x y\n" % workdir


def test_a_main_process_killed_meanwhile_gives_no_exit_code(
        builddir, main_process, tmp_path):
    proc = main_process(containers.start_step_argv("sleep 30"))
    time.sleep(0.2)
    proc.kill()
    proc.wait()
    log = tmp_path / "root.log"
    rc, timed_out, dummy = containers.wait_start_step("none", str(builddir), proc.pid, str(log))
    assert (rc, timed_out) == (None, False)
    assert "the container ended before the step did" in log.read_text()


def test_a_step_past_its_timeout_is_reported_as_timed_out(builddir, main_process, tmp_path):
    proc = main_process(containers.start_step_argv("sleep 30"))
    log = tmp_path / "root.log"
    stopped = []
    rc, timed_out, seconds = containers.wait_start_step(
        "koji-task-no-such-container", str(builddir), proc.pid, str(log), timeout=0.3,
        before_kill=lambda: stopped.append(True))
    assert (rc, timed_out, stopped) == (None, True, [True]) and seconds >= 0.3
    assert "step killed after 0.3 seconds (timeout)" in log.read_text()


def test_prepare_empties_what_an_earlier_start_left(tmp_path):
    directory = containers.prepare_start_step(str(tmp_path))
    with open(os.path.join(directory, containers.START_STEP_RC), "w") as handle:
        handle.write("0\n")
    assert containers.prepare_start_step(str(tmp_path)) == directory
    assert os.listdir(directory) == []

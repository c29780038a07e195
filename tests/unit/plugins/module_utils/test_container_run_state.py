"""A task's later steps know its running container from the step that started it."""

import signal
import subprocess

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers

CID = "d63e8d69a2f512ffb00c766b4742a52466adada70947defb66fc073ebcacc7df"
NAME = "koji-task-7-w"


@pytest.fixture
def podman_inspect(monkeypatch):
    class Calls(list):
        answer = None

    calls = Calls()

    def status(name):
        calls.append(name)
        return calls.answer

    monkeypatch.setattr(containers, "container_status", status)
    return calls


def proc_entry(proc_root, pid, cgroup_text):
    (proc_root / str(pid)).mkdir(parents=True)
    (proc_root / str(pid) / "cgroup").write_text(cgroup_text)


def test_a_noted_container_whose_process_lives_in_its_cgroup_is_running(tmp_path,
                                                                        podman_inspect):
    proc_entry(tmp_path / "proc", 4242, "0::/libpod_parent/libpod-%s\n" % CID)
    containers.note_running(str(tmp_path), NAME, {"status": "running", "pid": 4242, "id": CID})
    status = containers.running_status(str(tmp_path), NAME, proc_root=str(tmp_path / "proc"))
    assert status == {"status": "running", "pid": 4242, "id": CID}
    assert podman_inspect == []


@pytest.mark.parametrize("cgroup_text", [
    None,  # the process is gone
    "0::/user.slice/session-1.scope\n",  # its pid now belongs to another process
])
def test_otherwise_podman_is_asked_and_the_note_follows_its_answer(tmp_path, podman_inspect,
                                                                   cgroup_text):
    if cgroup_text is not None:
        proc_entry(tmp_path / "proc", 4242, cgroup_text)
    containers.note_running(str(tmp_path), NAME, {"status": "running", "pid": 4242, "id": CID})
    podman_inspect.answer = {"status": "exited", "pid": 0, "id": CID}
    status = containers.running_status(str(tmp_path), NAME, proc_root=str(tmp_path / "proc"))
    assert status["status"] == "exited" and podman_inspect == [NAME]
    # the note is gone with the running container: the next step asks podman too
    containers.running_status(str(tmp_path), NAME, proc_root=str(tmp_path / "proc"))
    assert podman_inspect == [NAME, NAME]


def test_without_a_note_podman_is_asked(tmp_path, podman_inspect):
    assert containers.running_status(str(tmp_path), NAME) is None
    assert podman_inspect == [NAME]


@pytest.fixture
def podman_calls(monkeypatch):
    calls = []

    def podman(args, check=True, timeout=None, input_data=None):
        calls.append(list(args))
        return subprocess.CompletedProcess(["podman"] + list(args), 0, "", "")

    monkeypatch.setattr(containers, "podman", podman)
    return calls


def test_ending_a_noted_container_kills_its_main_process_without_podman(
        tmp_path, podman_calls):
    # (a real process stands for the container's main process; --rm has podman remove the
    # container once it has ended)
    main_process = subprocess.Popen(["sleep", "60"])
    try:
        proc_entry(tmp_path / "proc", main_process.pid, "0::/machine/libpod-%s\n" % CID)
        containers.note_running(str(tmp_path), NAME,
                                {"status": "running", "pid": main_process.pid, "id": CID})
        assert containers.end_container(NAME, str(tmp_path), proc_root=str(tmp_path / "proc"))
        assert main_process.wait(10) == -signal.SIGKILL
    finally:
        if main_process.poll() is None:
            main_process.kill()
    assert podman_calls == []
    # the note went with it: a later step asks podman
    assert containers.noted_running(str(tmp_path), NAME, str(tmp_path / "proc")) is None


def test_without_a_live_note_the_container_is_removed_with_podman(tmp_path, podman_calls):
    containers.note_running(str(tmp_path), NAME, {"status": "running", "pid": 4242, "id": CID})
    assert containers.end_container(NAME, str(tmp_path), proc_root=str(tmp_path / "proc"))
    assert podman_calls == [["rm", "-f", "-t", "0", NAME]]


def test_a_main_process_it_may_not_signal_is_left_to_podman(tmp_path, podman_calls,
                                                            monkeypatch):
    proc_entry(tmp_path / "proc", 4242, "0::/machine/libpod-%s\n" % CID)
    containers.note_running(str(tmp_path), NAME, {"status": "running", "pid": 4242, "id": CID})

    def not_permitted(pid, signum):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(containers.os, "kill", not_permitted)
    assert containers.end_container(NAME, str(tmp_path), proc_root=str(tmp_path / "proc"))
    assert podman_calls == [["rm", "-f", "-t", "0", NAME]]

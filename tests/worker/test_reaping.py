"""The daemon's reaping and buildroot sweep (kojid's updateBuildroots), against the dev hub over
HTTP with the daemon's own host session: an active buildroot of this host whose task is not
running here is expired, one of a task being run is left alone; a reaped run whose playbook
closed its task is not looked up again on the hub; a playbook that had ended its task before
the last full pass is reaped without another one."""

import os
import threading
import time

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim
from ansible_collections.koji_adjutant.builder.plugins.module_utils.config import load_config

from koji_adjutant_devhub.testing import DevHub, write_worker_config
from koji_adjutant.worker import daemon

HOST, PASSWORD = "sweep-builder", "sweep"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with DevHub(topdir=str(tmp_path_factory.mktemp("koji")), scheduler_interval=0) as devhub:
        devhub.add_host(HOST, ["x86_64"], PASSWORD)
        devhub.repo = devhub.make_build_tag("sweep-build", ["x86_64"])
        yield devhub


@pytest.fixture
def worker(tmp_path, hub):
    config = load_config(write_worker_config(str(tmp_path / "kojid.conf"), hub,
                                             str(tmp_path / "work"), HOST, PASSWORD))
    worker = daemon.Worker(config)
    worker.session = hub_session.open_host_session(config, force=True)
    worker.host_id = worker.session.host.getID()
    worker.session.host.updateHost(0.0, True)  # ready: the hub's scheduler assigns it tasks
    yield worker
    worker.session.logout()


def open_task(hub, worker):
    """A task assigned to the worker's host and opened by it."""
    task_id = hub.make_task("sleep", [1], arch="noarch")
    assigned = [t["id"] for t in worker.session.host.getTasks()]
    assert task_id in assigned
    assert worker.session.host.openTask(task_id) is not None
    return task_id


def run_of(task_id, tmp_path):
    claim = task_claim.Claim(task_claim.Claim.TAKEN, task_id, method="buildArch", weight=1.0)
    return daemon.TaskRun(claim, str(tmp_path / "task"), str(tmp_path / "run"), None,
                          "koji-task-%d" % task_id)


def close(worker, task_id):
    worker.session.host.closeTask(task_id, koji.xmlrpcplus.dumps(
        (None,), methodresponse=1, allow_none=1))


def count_calls(worker):
    """The names of the hub calls the worker's session makes from now on."""
    calls = []
    real = worker.session._callMethod

    def counting(name, args, kwargs=None, retry=True):
        calls.append(name)
        return real(name, args, kwargs, retry)

    worker.session._callMethod = counting
    return calls


def finished_run(worker, task_id, tmp_path, ended_at):
    """A run of ``task_id`` whose playbook has ended (and had ended its task at
    ``ended_at``, unless None)."""
    run = run_of(task_id, tmp_path / str(task_id))
    os.makedirs(run.private_dir, exist_ok=True)
    run.thread = threading.Thread(target=lambda: None)
    run.thread.start()
    run.thread.join()
    if ended_at is not None:
        run.ended_state, run.ended_at = "CLOSED", ended_at
    worker.runs[task_id] = run
    return run


def broot_state(hub, broot_id):
    return koji.BR_STATES[hub.admin_session().getBuildroot(broot_id)["state"]]


def test_sweep_expires_buildroots_of_tasks_not_running_here(tmp_path, hub, worker):
    running, gone = open_task(hub, worker), open_task(hub, worker)
    ours = worker.session.host.newBuildRoot(hub.repo["id"], "x86_64", running)
    left = worker.session.host.newBuildRoot(hub.repo["id"], "x86_64", gone)
    worker.session.host.setBuildRootState(left, koji.BR_STATES["BUILDING"])
    worker.runs = {running: run_of(running, tmp_path)}

    worker.sweep_buildroots("its task is not running here")

    assert broot_state(hub, left) == "EXPIRED"
    assert broot_state(hub, ours) == "INIT"
    # the next pass of the main loop sweeps again only after the interval
    worker.session.host.setBuildRootState(ours, koji.BR_STATES["BUILDING"])
    assert worker._last_buildroot_sweep > 0
    worker.runs = {}
    worker.sweep_buildroots("its task is not running here")
    assert broot_state(hub, ours) == "EXPIRED"
    for task_id in (running, gone):
        close(worker, task_id)


def test_a_buildroot_the_hub_refuses_to_expire_does_not_stop_the_sweep(
        tmp_path, hub, worker, caplog):
    first, second = open_task(hub, worker), open_task(hub, worker)
    refused = worker.session.host.newBuildRoot(hub.repo["id"], "x86_64", first)
    expired = worker.session.host.newBuildRoot(hub.repo["id"], "x86_64", second)
    real = worker.session._callMethod

    def refusing(name, args, kwargs=None, retry=True):
        if name == "host.setBuildRootState" and args[0] == refused:
            raise koji.GenericError("buildroot %d is busy" % refused)
        return real(name, args, kwargs, retry)

    worker.session._callMethod = refusing
    worker.runs = {}
    with caplog.at_level("WARNING", logger="koji_adjutant.worker"):
        worker.sweep_buildroots("its task is not running here")
    assert broot_state(hub, expired) == "EXPIRED"
    assert broot_state(hub, refused) == "INIT"
    assert "cannot expire buildroot %d: buildroot %d is busy" % (refused, refused) in caplog.text
    worker.session._callMethod = real
    worker.sweep_buildroots("its task is not running here")  # the next sweep tries again
    assert broot_state(hub, refused) == "EXPIRED"
    for task_id in (first, second):
        close(worker, task_id)


def test_reaping_a_run_its_playbook_closed_asks_the_hub_nothing_of_the_task(tmp_path, hub,
                                                                            worker):
    """The playbook's own close call said how the task ended (and expired its buildroot):
    reaping it neither reads the task back nor lists its buildroots; a run whose end was
    not seen is looked up, and a task it left open is failed."""
    closed, left_open = open_task(hub, worker), open_task(hub, worker)
    close(worker, closed)
    calls = count_calls(worker)
    for task_id, ended in ((closed, "CLOSED"), (left_open, None)):
        run = run_of(task_id, tmp_path / str(task_id))
        os.makedirs(run.private_dir, exist_ok=True)
        run.ended_state = ended
        worker.runs[task_id] = run
        del calls[:]
        worker.finish_run(run)
        if ended:
            assert "getTaskInfo" not in calls and "listBuildroots" not in calls
            assert worker.finished_runs[task_id]["state"] == "CLOSED"
        else:
            assert "getTaskInfo" in calls and "listBuildroots" in calls
            assert koji.TASK_STATES[hub.task_info(task_id)["state"]] == "FAILED"
            assert worker.finished_runs[task_id]["state"] == "FAILED"
        assert task_id not in worker.runs


def test_a_playbook_that_ended_its_task_before_the_last_pass_is_reaped_without_a_pass(
        tmp_path, hub, worker):
    """The pass that followed the close has counted the slot free, checked in and asked for
    work: reaping the playbook when it ends needs only the subsession's logout."""
    first, second = open_task(hub, worker), open_task(hub, worker)
    close(worker, first)
    close(worker, second)
    calls = count_calls(worker)
    worker._last_pass = time.time()
    # closed after the last pass started: a full pass is due (its slot is not counted yet)
    finished_run(worker, second, tmp_path, ended_at=time.time() + 1)
    assert not worker.reap_ended_runs() and second in worker.runs
    del worker.runs[second]
    finished_run(worker, first, tmp_path, ended_at=worker._last_pass - 1)
    worker.restart_pending = True  # a full pass decides the restart
    assert not worker.reap_ended_runs() and first in worker.runs
    worker.restart_pending = False
    assert calls == []
    assert worker.reap_ended_runs()
    assert first not in worker.runs and worker.finished_runs[first]["state"] == "CLOSED"
    assert calls == ["logoutChild"]
    # a playbook whose end of task was not seen: a full pass reads its task back
    finished_run(worker, second, tmp_path, ended_at=None)
    assert not worker.reap_ended_runs() and second in worker.runs


def test_a_run_is_finished_once_ansible_runner_reports_its_end():
    """The finished callback (status and exit code final) wakes the daemon, which may reap
    the run before its thread has ended."""
    claim = task_claim.Claim(task_claim.Claim.TAKEN, 5, method="buildArch", weight=1.0)
    run = daemon.TaskRun(claim, "/tmp/task-5", "/tmp/run-5", None, "koji-task-5")
    release = threading.Event()
    run.thread = threading.Thread(target=release.wait)
    run.thread.start()
    try:
        woken = []
        assert not run.finished
        run.on_finished(lambda: woken.append(True))
        assert run.finished and woken == [True] and run.thread.is_alive()
    finally:
        release.set()
        run.thread.join()

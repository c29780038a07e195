"""The daemon's buildroot sweep (kojid's updateBuildroots), against the dev hub over HTTP with
the daemon's own host session: an active buildroot of this host whose task is not running here
is expired; one of a task being run is left alone; a reaped run whose playbook closed its task
is not looked up again on the hub."""

import os

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim
from ansible_collections.koji_adjutant.builder.plugins.module_utils.config import load_config

from koji_adjutant.devhub.testing import DevHub, write_worker_config
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
        worker.session.host.closeTask(task_id, koji.xmlrpcplus.dumps(
            (None,), methodresponse=1, allow_none=1))


def test_reaping_a_run_its_playbook_closed_asks_the_hub_nothing_of_the_task(tmp_path, hub,
                                                                            worker):
    """The playbook's own close call said how the task ended (and expired its buildroot):
    reaping it neither reads the task back nor lists its buildroots; a run whose end was
    not seen is looked up, and a task it left open is failed."""
    closed, left_open = open_task(hub, worker), open_task(hub, worker)
    worker.session.host.closeTask(closed, koji.xmlrpcplus.dumps(
        (None,), methodresponse=1, allow_none=1))
    calls = []
    real = worker.session._callMethod

    def counting(name, args, kwargs=None, retry=True):
        calls.append(name)
        return real(name, args, kwargs, retry)

    worker.session._callMethod = counting
    for task_id, ended in ((closed, "CLOSED"), (left_open, None)):
        run = run_of(task_id, tmp_path / str(task_id))
        os.makedirs(run.private_dir)
        run.task_ended, run.ended_state = bool(ended), ended
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

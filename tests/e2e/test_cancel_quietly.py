"""A canceled task ends quietly (issue 21, point 6): once a task is canceled the hub refuses
every host call for it ("host N does not own task M"), so after a cancel the worker makes
none - no failBuild, no live log upload, no failTask, no cancelTaskChildren - for a whole
`build` (parent and buildArch child) and for a plain buildArch."""

import os
import re
import uuid

import koji
import pytest

from e2e_support import (WorkerProcess, build_arch_task, build_running, koji_cli, task_container,
                         wait_for, write_worker_config)

# the slow build's start (a real worker, podman, a buildroot made first) and the worker's
# reaping on a 2-core machine shared with other tests: generous
START_TIMEOUT = 400
END_TIMEOUT = 120

# what the dev hub logs for a call it refused because the caller no longer owns the task
REFUSALS = re.compile(r"does not own task|Cannot cancel task")


# the worker's pass interval: long enough that a playbook meets the cancel before the
# daemon does (kojid's default is 15 s), as it does on a real worker (the build parent
# sees its canceled child and goes to its failure path)
SLEEPTIME = 5


@pytest.fixture
def slow_worker(tmp_path, hub, buildroot_image):
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_kojid={"sleeptime": str(SLEEPTIME)})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def slow_target(hub):
    """A build target whose destination tag lists the package `slow`."""
    suffix = uuid.uuid4().hex[:6]
    build_tag, dest_tag = "e2e-cbt-%s" % suffix, "e2e-cdest-%s" % suffix
    name = "e2e-ct-%s" % suffix
    session = hub.admin_session()
    hub.make_build_tag(build_tag, ["x86_64"])
    session.createTag(dest_tag, arches="x86_64")
    session.createBuildTarget(name, build_tag, dest_tag)
    session.packageListAdd(dest_tag, "slow", "kojiadmin")
    return name


def hub_log_size(hub):
    try:
        return os.path.getsize(hub.log_path)
    except OSError:
        return 0


def hub_log_since(hub, offset):
    with open(hub.log_path, "rt", errors="replace") as handle:
        handle.seek(offset)
        return handle.read()


def wait_worker_done(tmp_path, worker, task_ids):
    """Until the worker has finished with the tasks: reaped (its log says so), their
    containers and run directories gone."""
    runs = tmp_path / "work" / "state" / "runs"
    for task_id in task_ids:
        wait_for(lambda: re.search(r"task %d \(\w+\) done in" % task_id, worker.log()),
                 END_TIMEOUT, 0.5, what="the worker to reap task %d" % task_id)
        wait_for(lambda: task_container(task_id) is None, END_TIMEOUT, 0.5,
                 what="task %d's container to go" % task_id)
        wait_for(lambda: not list(runs.glob("%d-*" % task_id)), END_TIMEOUT, 0.5,
                 what="task %d's run directory to go" % task_id)


def refusals(text):
    """The hub's log lines of calls it refused because the caller no longer owns the task
    (during the test only the worker calls the hub beside the test itself)."""
    return [line for line in text.splitlines() if REFUSALS.search(line)]


def test_a_canceled_build_and_buildarch_end_without_refused_calls(tmp_path, hub, srpms,
                                                                  slow_worker, slow_target):
    worker = slow_worker
    session = hub.admin_session()
    log_offset = hub_log_size(hub)

    # a whole build: the parent waits for its buildArch child, which runs the slow build
    parent = session.build(srpms["slow"], slow_target, {})
    child = wait_for(lambda: dict((c["label"], c["id"])
                                  for c in session.getTaskChildren(parent)).get("x86_64"),
                     START_TIMEOUT, 0.5, what="the build's buildArch child")
    wait_for(lambda: build_running(hub, child), START_TIMEOUT, 0.5,
             what="the child's slow build to start")
    assert task_container(child)
    build = session.listBuilds(taskID=parent)[0]
    assert build["state"] == koji.BUILD_STATES["BUILDING"]
    out = koji_cli(hub, tmp_path, "cancel", str(parent))
    assert out.returncode == 0, out.stdout
    wait_worker_done(tmp_path, worker, [child, parent])

    # a plain buildArch
    plain = build_arch_task(hub, srpms["slow"])
    wait_for(lambda: build_running(hub, plain), START_TIMEOUT, 0.5,
             what="the plain buildArch's slow build to start")
    out = koji_cli(hub, tmp_path, "cancel", str(plain))
    assert out.returncode == 0, out.stdout
    wait_worker_done(tmp_path, worker, [plain])

    for task_id in (parent, child, plain):
        assert hub.task_info(task_id)["state"] == koji.TASK_STATES["CANCELED"], task_id
    # the hub canceled the build with its task; nobody failed it
    assert session.getBuild(build["build_id"])["state"] == koji.BUILD_STATES["CANCELED"]
    refused = refusals(hub_log_since(hub, log_offset))
    assert not refused, "\n".join(refused)
    # the worker says so plainly (the parent's playbook may have ended on its own first,
    # seeing its child canceled), and never tried to fail them
    log = worker.log()
    for task_id in (child, plain):
        assert "task %d: stopping (task canceled)" % task_id in log
    for task_id in (parent, child, plain):
        assert "task %d: could not fail it" % task_id not in log

"""A task playbook run by hand, as docs/operator-guide.md says ("Running a task playbook by
hand"): the task assigned to the host with ``koji assign-task``, then ``ansible-playbook``
with the four extra vars, no worker daemon. The playbook logs in as the host, takes the task,
does it, closes it on the hub and logs out; unlike a playbook the daemon runs, it removes its
container itself."""

import os
import subprocess
import sys

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils.config import collection_root
from koji_adjutant_devhub import testing

from e2e_support import TAG, WORKER_ID, koji_cli, task_container, task_fault

HAND_HOST, HAND_PASSWORD = "builder-by-hand", "by-hand-secret"


@pytest.fixture(scope="module")
def hand_config(tmp_path_factory, hub):
    """kojid.conf of a host of its own, which no worker runs as (the playbook logs in as the
    host with an exclusive session)."""
    hub.add_host(HAND_HOST, ["x86_64"], HAND_PASSWORD)
    workdir = tmp_path_factory.mktemp("by-hand")
    return testing.write_worker_config(str(workdir / "kojid.conf"), hub, str(workdir / "work"),
                                       HAND_HOST, HAND_PASSWORD,
                                       adjutant={"worker_id": WORKER_ID})


def run_by_hand(hub, tmp_path, config, method, task_id):
    assigned = koji_cli(hub, tmp_path, "assign-task", "--force", str(task_id), HAND_HOST)
    assert assigned.returncode == 0, assigned.stdout
    task_dir = tmp_path / "task"
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
         "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-e", "koji_task_id=%d" % task_id, "-e", "koji_config=%s" % config,
         "-e", "koji_session_file=%s" % (tmp_path / "session.json"),
         "-e", "koji_task_dir=%s" % task_dir,
         os.path.join(collection_root(), "playbooks", "tasks", "%s.yml" % method)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=600)


def test_a_sleep_task_by_hand(tmp_path, hub, hand_config):
    task_id = hub.make_task("sleep", [0])
    run = run_by_hand(hub, tmp_path, hand_config, "sleep", task_id)
    assert run.returncode == 0, run.stdout
    info = hub.task_info(task_id)
    assert info["state"] == koji.TASK_STATES["CLOSED"], run.stdout
    assert info["host_id"] == hub.admin_session().getHost(HAND_HOST)["id"]
    # the session it logged in with is logged out, its file gone: the next run logs in again
    assert not (tmp_path / "session.json").exists()


def test_a_build_arch_task_by_hand(tmp_path, hub, srpms, hand_config, buildroot_image):
    task_id = hub.make_task("buildArch", [srpms["noarch-data"], TAG, "noarch", False,
                                          {"repo_id": hub.repo["id"]}], arch="noarch")
    run = run_by_hand(hub, tmp_path, hand_config, "buildArch", task_id)
    session = hub.admin_session()
    assert run.returncode == 0, run.stdout
    assert hub.task_info(task_id)["state"] == koji.TASK_STATES["CLOSED"], \
        task_fault(session, task_id)
    result = session.getTaskResult(task_id)
    assert result["rpms"] == [koji.pathinfo.taskrelpath(task_id) + "/noarch-data-2.1-3.noarch.rpm"]
    assert session.getBuildroot(result["brootid"])["state"] == koji.BR_STATES["EXPIRED"]
    # the playbook's own removal step ran: the container is gone when the playbook ends
    assert "TASK [Remove the task container]" in run.stdout
    assert task_container(task_id) is None
    # the task's logs and outputs stay in the task directory given
    assert (tmp_path / "task" / "logs" / "build.log").exists()

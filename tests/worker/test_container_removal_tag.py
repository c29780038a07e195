"""The task playbooks' own container removal step: left out of the playbooks the daemon runs
(it ends the container itself when it reaps the playbook), kept in a playbook run by hand."""

import glob
import os
import subprocess
import sys

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils.config import collection_root
from koji_adjutant.worker import daemon

REMOVAL_STEP = "Remove the task container"
# the playbooks whose always section is the shared removal step
PLAYBOOKS = sorted(
    path for path in glob.glob(os.path.join(collection_root(), "playbooks", "tasks", "*.yml"))
    if "includes/remove_container.yml" in open(path).read())


def run_output(playbook, tmp_path, *args):
    """The output of a real run of ``playbook`` whose task cannot be taken (no koji
    configuration): its rescue and always steps run."""
    env = dict(os.environ, **daemon.PLAYBOOK_ENVVARS)
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
         "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "koji_task_id=1",
         "-e", "koji_config=%s" % (tmp_path / "missing.conf"),
         "-e", "koji_session_file=%s" % (tmp_path / "missing.json"),
         "-e", "koji_task_dir=%s" % tmp_path, playbook] + list(args),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        timeout=300)
    assert "TASK [Take the task]" in result.stdout, result.stdout
    return result.stdout


def test_the_playbooks_with_a_container_have_a_removal_step():
    assert [os.path.basename(p) for p in PLAYBOOKS] == [
        "buildArch.yml", "buildSRPMFromSCM.yml", "createdistrepo.yml", "createrepo.yml",
        "rebuildSRPM.yml",
        "runroot.yml"]


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=os.path.basename)
def test_the_daemon_leaves_out_the_removal_step_and_a_run_by_hand_keeps_it(playbook, tmp_path):
    assert "TASK [%s]" % REMOVAL_STEP in run_output(playbook, tmp_path)
    skipped = run_output(playbook, tmp_path, "--skip-tags", daemon.CONTAINER_REMOVAL_TAG)
    assert "TASK [%s]" % REMOVAL_STEP not in skipped
    # the failure path still runs
    assert "TASK [Fail the task with what went wrong]" in skipped

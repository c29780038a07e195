"""A task playbook without a task type declaration stops the worker at start-up, before any
hub call, with a message naming the playbook."""

import os
import shutil
import subprocess
import sys

from ansible_collections.koji_adjutant.builder.plugins.module_utils.config import collection_root


def test_the_worker_does_not_start_with_an_undeclared_playbook(tmp_path):
    """``koji-adjutant worker`` stops before any hub call and says which playbook."""
    root = tmp_path / "playbooks"
    shutil.copytree(os.path.join(collection_root(), "playbooks"), str(root))
    (root / "tasks" / "frobnicate.yml").write_text("---\n")
    conf = tmp_path / "kojid.conf"
    conf.write_text("[kojid]\nserver = http://127.0.0.1:9/kojihub\n"
                    "topurl = http://127.0.0.1:9/kojifiles\nuser = nobody\n"
                    "workdir = %s\n[adjutant]\nplaybook_dir = %s\nstate_dir = %s\n"
                    "log_dir = %s\n" % (tmp_path / "work", root, tmp_path / "state",
                                        tmp_path / "log"))
    result = subprocess.run(
        [sys.executable, "-m", "koji_adjutant.cli", "worker", "-c", str(conf)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout
    assert ("playbook %s has no task type declaration" % (root / "tasks" / "frobnicate.yml")
            in result.stdout), result.stdout
    assert "logged in" not in result.stdout

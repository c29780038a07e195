"""The task pipeline's steps run as the collection's action plugins: in ansible-playbook's
own processes, with no interpreter started per step, and with the results the modules give
(what the task playbooks' rescue blocks and the daemon read).

Real ansible-runner runs of a playbook of pipeline steps; the inventory's Python interpreter
is a wrapper that leaves a mark when anything starts it (a module run the classic way would)."""

import json
import os
import shutil
import stat
import subprocess
import sys

import ansible_runner
import pytest

from koji_adjutant.worker import daemon

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(REPO_ROOT, "tests", "data", "specs", "noarch-data.spec")
MODULES = os.path.join(REPO_ROOT, "plugins", "modules")

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Fetch and check the SRPM
      koji_adjutant.builder.koji_task_input:
        koji_config: "{{ conf }}"
        path: "{{ srpm_path }}"
        dest: "{{ dest }}"
      register: fetched

    - name: A step that fails, and the rescue that reads its result
      block:
        - name: Fetch an input that is not there
          koji_adjutant.builder.koji_task_input:
            koji_config: "{{ conf }}"
            path: nowhere/missing.src.rpm
            dest: "{{ dest }}"
      rescue:
        - name: Keep what the rescue sees
          ansible.builtin.set_fact:
            failure: "{{ ansible_failed_result }}"

    - name: Arguments that do not validate
      koji_adjutant.builder.koji_task_input:
        koji_config: "{{ conf }}"
        no_such_option: 1
      register: invalid
      ignore_errors: true
"""


@pytest.fixture
def setup(tmp_path):
    """A kojid.conf with a local topdir holding one SRPM in work/, and a Python wrapper that
    marks each start."""
    topdir = tmp_path / "koji"
    (topdir / "work" / "in").mkdir(parents=True)
    subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % (tmp_path / "rpmbuild"), SPEC],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srpm_dir = tmp_path / "rpmbuild" / "SRPMS"
    name = os.listdir(str(srpm_dir))[0]
    shutil.copy(str(srpm_dir / name), str(topdir / "work" / "in" / name))
    conf = tmp_path / "kojid.conf"
    conf.write_text("[kojid]\nserver = http://127.0.0.1:9/kojihub\n"
                    "topurl = http://127.0.0.1:9/kojifiles\ntopdir = %s\n" % topdir)
    mark = tmp_path / "interpreter-started"
    wrapper = tmp_path / "python"
    wrapper.write_text("#!/bin/sh\necho \"$$\" >> %s\nexec %s \"$@\"\n" % (mark, sys.executable))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return {"conf": str(conf), "srpm_path": "in/%s" % name, "dest": str(tmp_path / "dest"),
            "mark": mark, "wrapper": str(wrapper), "tmp": tmp_path}


def run_playbook(setup):
    playbook = setup["tmp"] / "play.yml"
    playbook.write_text(PLAYBOOK)
    results = {}

    def on_event(event):
        data = event.get("event_data") or {}
        if event.get("event") in ("runner_on_ok", "runner_on_failed"):
            results[data.get("task")] = data.get("res")
        return False

    host = {"ansible_connection": "local", "ansible_python_interpreter": setup["wrapper"]}
    extravars = dict((key, setup[key]) for key in ("conf", "srpm_path", "dest"))
    (setup["tmp"] / "run").mkdir()
    runner = ansible_runner.run(
        private_data_dir=str(setup["tmp"] / "run"), playbook=str(playbook), ident="task",
        quiet=True, inventory={"all": {"hosts": {"localhost": host}}}, extravars=extravars,
        envvars=daemon.playbook_envvars(SimpleConfig(), str(setup["tmp"] / "run")),
        event_handler=on_event, settings=daemon.RUNNER_SETTINGS)
    return runner, results


class SimpleConfig(object):
    collections_path = None


def run_module_file(name, args, tmp_path):
    """The module's result when run as a module (its own interpreter, arguments in a file)."""
    args_file = tmp_path / ("%s-args.json" % name)
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, os.path.join(MODULES, "%s.py" % name),
                           str(args_file)], stdout=subprocess.PIPE, universal_newlines=True,
                          check=False)  # (a failed module exits non-zero)
    return json.loads(proc.stdout)


def test_steps_run_in_the_playbooks_processes_with_the_modules_results(setup):
    runner, results = run_playbook(setup)
    assert runner.status == "successful", runner.stdout.read()
    # no interpreter was started for any step
    assert not setup["mark"].exists()

    fetched = results["Fetch and check the SRPM"]
    assert fetched["srpm"]["nvr"] == "noarch-data-2.1-3" and fetched["changed"] is True
    as_module = run_module_file("koji_task_input", {
        "koji_config": setup["conf"], "path": setup["srpm_path"], "dest": setup["dest"]},
        setup["tmp"])
    for key in ("changed", "file", "srpm"):
        assert fetched[key] == as_module[key]

    # a failed step's result, as the rescue block saw it: the module's msg and koji_fault
    failure = results["Keep what the rescue sees"]["ansible_facts"]["failure"]
    as_module = run_module_file("koji_task_input", {
        "koji_config": setup["conf"], "path": "nowhere/missing.src.rpm",
        "dest": setup["dest"]}, setup["tmp"])
    assert as_module["failed"] is True
    for key in ("failed", "msg", "koji_fault"):
        assert failure[key] == as_module[key]
    assert failure["msg"].startswith("SRPM file missing: ")

    invalid = results["Arguments that do not validate"]
    assert "no_such_option" in invalid["msg"]


def test_a_worker_says_when_its_playbooks_would_run_another_collection(tmp_path):
    """The daemon's start-up check: the task playbooks run this worker's own collection, with
    its action plugins; another copy first on the collections path is named in a warning."""
    assert daemon.playbook_collection_problem(SimpleConfig()) is None
    other = tmp_path / "ansible_collections" / "koji_adjutant" / "builder"
    (other / "plugins" / "modules").mkdir(parents=True)
    config = SimpleConfig()
    config.collections_path = str(tmp_path)
    problem = daemon.playbook_collection_problem(config, environ={})
    assert problem and str(other) in problem

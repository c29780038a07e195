"""The task type declarations: one per playbook, kojid's weights and foreground tasks, and what
the claim and the parameter checks read from them."""

import inspect
import os
import shutil

import koji
import koji.tasks
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_params
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_types
from ansible_collections.koji_adjutant.builder.plugins.module_utils.config import collection_root

PLAYBOOK_ROOT = os.path.join(collection_root(), "playbooks")

# kojid's _taskWeight of the handlers that live in kojid itself (builder/kojid), not in the
# koji library: the values this worker must keep
KOJID_WEIGHTS = {
    "build": 0.2,
    "buildSRPMFromSCM": 1.0,
    "rebuildSRPM": 1.0,
    "buildArch": 1.5,
    "tagBuild": 1.0,
    "newRepo": 0.1,
    "createrepo": 1.5,
    "distRepo": 0.1,
    "createdistrepo": 1.5,
    "tagNotification": 0.1,
    "buildNotification": 0.1,
    "chainbuild": 0.1,
    # kojid's runroot builder plugin (plugins/builder/runroot.py, RunRootTask._taskWeight)
    "runroot": 2.0,
}


def library_handlers():
    """``{method: handler class}`` of the task handlers in ``koji.tasks``."""
    handlers = {}
    for dummy, cls in inspect.getmembers(koji.tasks, inspect.isclass):
        if issubclass(cls, koji.tasks.BaseTaskHandler):
            for method in cls.Methods:
                handlers[method] = cls
    return handlers


def test_every_playbook_of_the_collection_is_declared_and_every_declaration_has_one():
    playbooks = task_types.playbook_methods(PLAYBOOK_ROOT)
    assert sorted(playbooks) == sorted(task_types.TASK_TYPES)
    assert task_claim.available_methods(PLAYBOOK_ROOT) == sorted(task_types.TASK_TYPES)


def test_weights_are_kojids():
    handlers = library_handlers()
    for method, task_type in task_types.TASK_TYPES.items():
        if method in handlers:
            assert task_type.weight == handlers[method]._taskWeight, method
        else:
            assert task_type.weight == KOJID_WEIGHTS[method], method
    assert set(KOJID_WEIGHTS) | set(handlers) >= set(task_types.TASK_TYPES)
    assert task_types.DEFAULT_WEIGHT == koji.tasks.BaseTaskHandler._taskWeight


def test_foreground_tasks_are_kojids():
    handlers = library_handlers()
    foreground = sorted(m for m, t in task_types.TASK_TYPES.items() if t.foreground)
    assert foreground == ["restart", "restartVerify", "shutdown"]
    for method in foreground:
        assert handlers[method].Foreground
    assert not task_types.is_foreground("buildArch") and not task_types.is_foreground("nosuch")


class _History(object):
    """getAverageBuildDuration of a hub whose packages took ``seconds`` to build."""

    def __init__(self, seconds):
        self.seconds = seconds

    def getAverageBuildDuration(self, name):
        return self.seconds


def test_task_weight_comes_from_the_declaration():
    params = {"pkg": "work/x/hello-1-1.src.rpm"}
    assert task_claim.task_weight(_History(None), "buildArch", params) == 1.5
    # kojid raises a buildArch's weight from the package's history, by at most 4.5
    assert task_claim.task_weight(_History(4800.0), "buildArch", params) == 2.5
    assert task_claim.task_weight(_History(10 ** 6), "buildArch", params) == 6.0
    assert task_claim.task_weight(_History(4800.0), "createrepo", {"arch": "x"}) == 1.5
    assert task_claim.task_weight(None, "sleep", None) == 0.25
    # runroot: the request's weight, at least 0.5, as kojid's plugin sets it
    assert task_claim.task_weight(None, "runroot", {"weight": None}) == 2.0
    assert task_claim.task_weight(None, "runroot", {"weight": 3}) == 3.0
    assert task_claim.task_weight(None, "runroot", {"weight": 0.1}) == 0.5
    assert task_claim.task_weight(None, "undeclared", {}) == 1.0


def test_the_parameter_checks_are_the_declarations():
    # a type from params, then the checks in their order
    with pytest.raises(koji.ParameterError, match="Invalid parameter 'n' for sleep: expected "
                                                  "an integer or a number, got 'x'"):
        task_params.parse("sleep", ["x"])
    with pytest.raises(koji.ParameterError, match="'n' for sleep: must not be negative"):
        task_params.parse("sleep", [-1])
    with pytest.raises(koji.ParameterError, match="'arch' for buildArch: '../x' is not an "
                                                  "arch name"):
        task_params.parse("buildArch", ["x.src.rpm", "tag", "../x", True, {"repo_id": "1"}])
    with pytest.raises(koji.ParameterError, match="'srcs' for chainbuild: level 1 must be a "
                                                  "non-empty list of SCM URLs and N-V-Rs"):
        task_params.parse("chainbuild", [[["git://h/a#1"], []], "target", {}])
    with pytest.raises(koji.ParameterError, match="'srcs' for chainbuild: no build levels"):
        task_params.parse("chainbuild", [[], "target", {}])
    with pytest.raises(koji.ParameterError, match="'task_list' for dependantTask: entry 0 must "
                                                  "be \\[method, arglist\\]"):
        task_params.parse("dependantTask", [[], [["tagBuild", "1 2"]]])
    assert task_params.parse("dependantTask", [[3], [["tagBuild", [1, 2], {"priority": 15}]]]) \
        == {"wait_list": [3], "task_list": [["tagBuild", [1, 2], {"priority": 15}]]}
    assert task_params.parse("shutdown", []) == {}
    # a method without a declaration is decoded (by koji's signature when it has one), not
    # checked
    assert task_params.parse("fork", ["x"]) == {"n": "x", "m": 37}
    assert task_params.parse("nosuchmethod", [-1]) == {"args": [-1], "kwargs": {}}


def test_the_host_check_reads_the_build_tag_and_arch_parameters():
    assert [(m, t.build_tag_param, t.arch_param) for m, t in sorted(task_types.TASK_TYPES.items())
            if t.build_tag_param] == [("buildArch", "root", "arch"),
                                      ("buildSRPMFromSCM", "build_tag", None),
                                      ("rebuildSRPM", "build_tag", None)]


def test_a_playbook_without_a_declaration_is_an_error_naming_it(tmp_path):
    root = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOK_ROOT, str(root))
    (root / "tasks" / "frobnicate.yml").write_text("---\n")
    with pytest.raises(task_types.TaskTypeError) as excinfo:
        task_types.handled_methods(str(root))
    message = str(excinfo.value)
    assert "playbook %s has no task type declaration" % (root / "tasks" / "frobnicate.yml") \
        in message
    assert "declare method 'frobnicate' in plugins/module_utils/task_types.py" in message


def test_a_declared_method_without_a_playbook_is_not_handled(tmp_path):
    root = tmp_path / "playbooks"
    (root / "tasks").mkdir(parents=True)
    for method in ("sleep", "default"):
        (root / "tasks" / ("%s.yml" % method)).write_text("---\n")
    (root / "tasks" / "_shared.yml").write_text("---\n")
    assert task_types.handled_methods(str(root)) == ["default", "sleep"]

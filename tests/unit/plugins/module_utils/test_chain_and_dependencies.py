"""The plans of chainbuild and dependantTask (kojid's ChainBuildTask, koji's DependantTask)."""

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import chain_build
from ansible_collections.koji_adjutant.builder.plugins.module_utils import subtasks


class FakeHub(object):
    def __init__(self, targets=None, builds=None, tasks=None):
        self.targets = targets or {}
        self.builds = builds or {}
        # task id -> list of states seen by successive taskFinished/getTaskInfo polls
        self.tasks = tasks or {}
        self.finished_calls = []

    def getBuildTarget(self, name):
        return self.targets.get(name)

    def listBuilds(self, taskID):
        return [{"nvr": nvr} for nvr in self.builds.get(taskID, [])]

    def getTaskInfo(self, task_id):
        states = self.tasks.get(task_id)
        if not states:
            return None
        return {"id": task_id, "state": koji.TASK_STATES[states[0]]}

    def taskFinished(self, task_id):
        self.finished_calls.append(task_id)
        states = self.tasks[task_id]
        if len(states) > 1:
            states.pop(0)
        return states[0] in ("CLOSED", "FAILED", "CANCELED")


TARGET = {"f40": {"name": "f40", "build_tag_name": "f40-build"}}


def test_chain_plan_is_kojids():
    srcs = [["git://h/a#1", "git+https://h/b#2"], ["c-1.0-1", "git://h/d#3"], ["e-2-1"]]
    plan = chain_build.plan(FakeHub(TARGET), {"srcs": srcs, "target": "f40", "opts": {}})
    assert plan["build_tag_name"] == "f40-build"
    assert plan["levels"] == [
        {"builds": [{"method": "build", "arglist": ["git://h/a#1", "f40", {}],
                     "label": "build 0,0"},
                    {"method": "build", "arglist": ["git+https://h/b#2", "f40", {}],
                     "label": "build 0,1"}], "nvrs": []},
        {"builds": [{"method": "build", "arglist": ["git://h/d#3", "f40", {}],
                     "label": "build 1,1"}], "nvrs": ["c-1.0-1"]},
        {"builds": [], "nvrs": ["e-2-1"]}]


def test_chain_refusals():
    with pytest.raises(koji.BuildError, match="^--scratch is not allowed with chain-builds$"):
        chain_build.plan(FakeHub(TARGET), {"srcs": [["x-1-1"]], "target": "f40",
                                           "opts": {"scratch": True}})
    with pytest.raises(koji.GenericError, match="^unknown build target: nope$"):
        chain_build.plan(FakeHub(TARGET), {"srcs": [["x-1-1"]], "target": "nope", "opts": {}})


def test_the_next_level_waits_for_the_nvrs_then_the_builds_made():
    hub = FakeHub(builds={11: ["a-1-1.fc40"], 12: []})
    level = {"builds": [{}, {}], "nvrs": ["c-1.0-1"]}
    nvrs = chain_build.level_nvrs(hub, level, [11, 12])
    assert nvrs == ["c-1.0-1", "a-1-1.fc40"]
    assert chain_build.waitrepo_subtask("f40-build", 1, nvrs) == {
        "method": "waitrepo", "arglist": ["f40-build", None, ["c-1.0-1", "a-1-1.fc40"]],
        "label": "wait 1"}
    assert chain_build.waitrepo_subtask("f40-build", 2, []) is None


def test_dependant_task_requests_become_subtask_specs():
    requests = [["tagBuild", [3, 77, None, 2], {"priority": 15, "nosuch": 1}],
                ["sleep", [1]]]
    specs = subtasks.requests_to_specs(requests)
    assert specs == [{"method": "tagBuild", "arglist": [3, 77, None, 2], "priority": 15},
                     {"method": "sleep", "arglist": [1]}]
    for bad in (["sleep"], "sleep", ["sleep", "1"], [1, []], ["sleep", [], "x"]):
        with pytest.raises(koji.ParameterError, match="task request 0 must be"):
            subtasks.requests_to_specs([bad])


def test_dependencies_are_polled_until_done_and_a_failed_one_fails():
    naps = []
    hub = FakeHub(tasks={5: ["OPEN", "OPEN", "CLOSED"], 6: ["CLOSED"]})
    assert subtasks.wait_for_dependencies(hub, [5, "x", 99, True, 6], poll_interval=0.5,
                                          sleep=naps.append) == [5, 6]
    assert 99 not in hub.finished_calls and naps == [0.5]
    hub = FakeHub(tasks={5: ["OPEN", "CANCELED"], 7: ["OPEN"]})
    with pytest.raises(koji.GenericError, match="^Dependency 5 failed to complete.$"):
        subtasks.wait_for_dependencies(hub, [5, 7], sleep=naps.append)
    hub = FakeHub(tasks={8: ["FAILED"]})
    with pytest.raises(koji.GenericError, match="^Dependency 8 failed to complete.$"):
        subtasks.wait_for_dependencies(hub, [8], sleep=naps.append)

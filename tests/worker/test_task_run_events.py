"""What the daemon reads from a task playbook's ansible-runner events: the current step (the
Ansible task that starts) and, from the steps' results, only what the modules report to it on
purpose (``module_common.DAEMON_REPORT_KEY``): the task closed or failed (the slot is free
then), the task's container used or removed by the playbook, buildroot cache lookups."""

import os
import sys

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim

from koji_adjutant.worker import daemon, status

CONTAINER = "koji-task-7-w1"


def new_run():
    claim = task_claim.Claim(task_claim.Claim.TAKEN, 7, method="buildArch", weight=1.5)
    return daemon.TaskRun(claim, "/tmp/task-7", "/tmp/run-7", "session", CONTAINER)


def ok(action, res, event="runner_on_ok"):
    return {"event": event, "event_data": {"task_action": action, "res": res}}


def reported(**facts):
    return module_common.daemon_report(**facts)


def test_close_ends_the_task_and_wakes_the_daemon():
    run, woken = new_run(), []
    metrics = status.WorkerMetrics()
    run.on_event({"event": "playbook_on_task_start",
                  "event_data": {"task": "Upload the results and close the task"}},
                 metrics, lambda: woken.append(True))
    assert run.step == "Upload the results and close the task" and not run.task_ended
    # a result without the report (an upload that leaves the task open) does not end it,
    # whatever else it says
    run.on_event(ok("koji_adjutant.builder.koji_upload", {"task_state": "CLOSED"}), metrics,
                 lambda: woken.append(True))
    assert not run.task_ended and woken == []
    run.on_event(ok("koji_adjutant.builder.koji_upload",
                    dict(task_state="CLOSED", **reported(task_ended="CLOSED"))), metrics,
                 lambda: woken.append(True))
    assert run.task_ended and woken == [True]
    assert run.ended_state == "CLOSED"  # the reaping need not ask the hub


def test_the_report_is_read_from_any_step_and_only_for_ended_states():
    """The daemon does not look at which module reported: a step of another name (a module
    a later playbook uses to end a task) is read the same way."""
    run = new_run()
    run.on_event(ok("some_other_step", reported(task_ended="CANCELED")), status.WorkerMetrics())
    assert not run.task_ended
    run.on_event(ok("some_other_step", reported(task_ended="FAILED")), status.WorkerMetrics())
    assert run.task_ended and run.ended_state == "FAILED"


def test_container_state_follows_the_reports_of_its_own_container():
    run = new_run()
    metrics = status.WorkerMetrics()
    run.on_event(ok("koji_adjutant.builder.koji_task_claim", {"changed": False}), metrics)
    assert not run.container_used  # tagBuild, newRepo ...: the daemon has nothing to end
    # a step that failed may have left one: its failed result reports it
    run.on_event(ok("podman_build_step",
                    dict(msg="podman run failed",
                         **reported(container=CONTAINER, container_state="running")),
                    event="runner_on_failed"), metrics)
    assert run.container_used and not run.container_removed
    run.on_event(ok("podman_build_step",
                    reported(container="another", container_state="removed")), metrics)
    assert not run.container_removed
    run.on_event(ok("podman_build_step",
                    reported(container=CONTAINER, container_state="removed")), metrics)
    assert run.container_removed


def test_cache_lookups_are_counted():
    run = new_run()
    metrics = status.WorkerMetrics()
    run.on_event(ok("podman_buildroot_cache", reported(buildroot_cache="hit")), metrics)
    run.on_event(ok("podman_buildroot_cache", reported(buildroot_cache="miss")), metrics)
    # a lookup with the cache off reports nothing, and a result's own keys are not read
    run.on_event(ok("podman_buildroot_cache", {"hit": True, "cache_key": "abc"}), metrics)
    text = metrics.render([])
    assert 'koji_adjutant_buildroot_cache_lookups_total{result="hit"} 1' in text
    assert 'koji_adjutant_buildroot_cache_lookups_total{result="miss"} 1' in text


def test_a_real_run_tracks_its_steps_and_writes_no_event_files(tmp_path):
    """With a real ansible-runner: the handler sees every step, the run keeps its output, and
    no event is written to job_events (the daemon does not read them; the run's directory
    is removed when it is reaped)."""
    import ansible_runner

    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - name: First step\n      ansible.builtin.debug:\n        msg: one\n"
        "    - name: Second step\n      ansible.builtin.debug:\n        msg: two\n")
    run = new_run()
    (tmp_path / "run").mkdir()
    result = ansible_runner.run(
        private_data_dir=str(tmp_path / "run"), playbook=str(playbook), ident="task",
        envvars={"PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])},
        quiet=True, inventory={"all": {"hosts": {"localhost": {}}}},
        event_handler=lambda event: run.on_event(event, status.WorkerMetrics()),
        settings=daemon.RUNNER_SETTINGS)
    assert result.status == "successful"
    assert [step["name"] for step in run.steps] == ["First step", "Second step"]
    artifacts = tmp_path / "run" / "artifacts" / "task"
    assert "two" in (artifacts / "stdout").read_text()
    assert sorted(os.listdir(artifacts / "job_events")) == []


class FakeRunner(object):
    def __init__(self, status):
        self.status = status


def ended_containers(monkeypatch, run):
    """The containers the daemon's reaping ends for ``run``."""
    from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
    from types import SimpleNamespace

    ended = []
    monkeypatch.setattr(containers, "end_container",
                        lambda name, state_dir: ended.append((name, state_dir)))
    worker = SimpleNamespace(config=SimpleNamespace(state_dir="/state"))
    daemon.Worker.end_container(worker, run)
    return ended


def test_the_daemon_ends_the_container_a_reaped_run_may_have_left(monkeypatch):
    run = new_run()  # no playbook (failed for its parameters): nothing
    assert ended_containers(monkeypatch, run) == []
    run.runner = FakeRunner("successful")  # ended well without a container: nothing
    assert ended_containers(monkeypatch, run) == []
    run.container_state = "running"  # ended well after using it: ended
    assert ended_containers(monkeypatch, run) == [(CONTAINER, "/state")]
    run.container_state, run.ended_state = "removed", "CLOSED"  # the playbook removed it
    assert ended_containers(monkeypatch, run) == []
    for status_, canceled in (("failed", False), ("canceled", True), ("timeout", False)):
        run = new_run()  # stopped, crashed or failed: ended whether it was seen used or not
        run.runner, run.cancel_requested = FakeRunner(status_), canceled
        assert ended_containers(monkeypatch, run) == [(CONTAINER, "/state")]

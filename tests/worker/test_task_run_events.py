"""What the daemon reads from a task playbook's ansible-runner events: the current step, the
buildroot cache lookups, the moment the playbook closed or failed its task (the slot is free
then) and whether the playbook removed its container itself."""

import os
import sys

from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim

from koji_adjutant.worker import daemon, status

CONTAINER = "koji-task-7-w1"


def new_run():
    claim = task_claim.Claim(task_claim.Claim.TAKEN, 7, method="buildArch", weight=1.5)
    return daemon.TaskRun(claim, "/tmp/task-7", "/tmp/run-7", "session", CONTAINER)


def ok(action, res):
    return {"event": "runner_on_ok",
            "event_data": {"task_action": action, "res": res}}


def test_close_ends_the_task_and_wakes_the_daemon():
    run, woken = new_run(), []
    metrics = status.WorkerMetrics()
    run.on_event({"event": "playbook_on_task_start",
                  "event_data": {"task": "Upload the results and close the task"}},
                 metrics, lambda: woken.append(True))
    assert run.step == "Upload the results and close the task" and not run.task_ended
    # an upload that leaves the task open (state=uploaded) does not end it
    run.on_event(ok("koji_adjutant.builder.koji_upload", {"task_state": "OPEN"}), metrics,
                 lambda: woken.append(True))
    assert not run.task_ended and woken == []
    run.on_event(ok("koji_adjutant.builder.koji_upload", {"task_state": "CLOSED"}), metrics,
                 lambda: woken.append(True))
    assert run.task_ended and woken == [True]
    assert run.ended_state == "CLOSED"  # the reaping need not ask the hub


def test_failed_task_ends_too_and_a_canceled_one_does_not_by_this_event():
    run = new_run()
    run.on_event(ok("koji_upload", {"task_state": "CANCELED"}), status.WorkerMetrics())
    assert not run.task_ended
    run.on_event(ok("koji_upload", {"task_state": "FAILED"}), status.WorkerMetrics())
    assert run.task_ended and run.ended_state == "FAILED"


def test_container_removed_only_by_an_absent_step_of_its_own_container():
    run = new_run()
    metrics = status.WorkerMetrics()
    step = "koji_adjutant.builder.podman_build_step"
    run.on_event(ok(step, {"container": CONTAINER,
                           "invocation": {"module_args": {"state": "present"}}}), metrics)
    run.on_event(ok(step, {"container": "another",
                           "invocation": {"module_args": {"state": "absent"}}}), metrics)
    assert not run.container_removed
    run.on_event(ok(step, {"container": CONTAINER,
                           "invocation": {"module_args": {"state": "absent"}}}), metrics)
    assert run.container_removed


def test_cache_lookups_are_counted():
    run = new_run()
    metrics = status.WorkerMetrics()
    cache = "koji_adjutant.builder.podman_buildroot_cache"
    run.on_event(ok(cache, {"hit": True, "cache_key": "abc"}), metrics)
    run.on_event(ok(cache, {"hit": False, "cache_key": "abc"}), metrics)
    run.on_event(ok(cache, {"hit": False, "cache_key": ""}), metrics)  # no cache for it
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


def test_container_use_is_noted_from_any_container_step_until_removed():
    run = new_run()
    metrics = status.WorkerMetrics()
    run.on_event(ok("koji_adjutant.builder.koji_task_claim", {}), metrics)
    assert not run.container_used  # tagBuild, newRepo ...: the daemon has nothing to end
    failed = {"event": "runner_on_failed",
              "event_data": {"task_action": "koji_adjutant.builder.podman_build_step",
                             "res": {"msg": "podman run failed"}}}
    run.on_event(failed, metrics)
    assert run.container_used  # a failed start may have left one
    run = new_run()
    run.on_event(ok("koji_adjutant.builder.podman_build_step",
                    {"container": CONTAINER,
                     "invocation": {"module_args": {"state": "absent"}}}), metrics)
    assert run.container_removed and not run.container_used


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
    run.container_used = True  # ended well after using it: ended
    assert ended_containers(monkeypatch, run) == [(CONTAINER, "/state")]
    run.container_removed, run.ended_state = True, "CLOSED"  # the playbook removed it itself
    assert ended_containers(monkeypatch, run) == []
    for status_, canceled in (("failed", False), ("canceled", True), ("timeout", False)):
        run = new_run()  # stopped, crashed or failed: ended whether it was seen used or not
        run.runner, run.cancel_requested = FakeRunner(status_), canceled
        assert ended_containers(monkeypatch, run) == [(CONTAINER, "/state")]

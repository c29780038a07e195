"""Cancellation and crash recovery of the worker daemon."""

import os
import signal
import subprocess
import time

import koji

from e2e_support import (HOST_NAME, WorkerProcess, build_arch_task, task_container, task_fault,
                         wait_for, write_worker_config)


def build_running(hub, task_id):
    """Whether the task's live build.log on the hub shows the build has started."""
    path = os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(task_id), "build.log")
    try:
        with open(path) as handle:
            return "sleeping" in handle.read()
    except OSError:
        return False


def test_canceled_task_container_is_gone_within_5s(tmp_path, hub, srpms, worker):
    task_id = build_arch_task(hub, srpms["slow"])
    wait_for(lambda: build_running(hub, task_id), 180, what="the slow build to start")
    assert task_container(task_id)
    # the playbook's Ansible temporary directory is in its run's directory, not in
    # ~/.ansible/tmp, where a killed playbook would leave it
    runs = tmp_path / "work" / "state" / "runs"
    assert list(runs.glob("%d-*/tmp/ansible-local-*" % task_id))
    hub.admin_session().cancelTask(task_id)
    canceled_at = time.time()
    wait_for(lambda: task_container(task_id) is None, 5, 0.1,
             what="the canceled task's container to go")
    assert time.time() - canceled_at < 5
    assert hub.task_info(task_id)["state"] == koji.TASK_STATES["CANCELED"]
    wait_for(lambda: not list(runs.glob("%d-*" % task_id)), 30,
             what="the canceled playbook's run directory (its temporary directory) to go")
    broots = wait_for(lambda: [b for b in hub.admin_session().listBuildroots(taskID=task_id)
                               if b["state"] == koji.BR_STATES["EXPIRED"]] or None, 60,
                      what="the canceled task's buildroot to be expired")
    assert broots


def test_killed_worker_restart_frees_task_and_removes_orphan(tmp_path, hub, srpms,
                                                             worker_config, buildroot_image):
    first = WorkerProcess(worker_config, str(tmp_path / "worker1.log")).start()
    task_id = build_arch_task(hub, srpms["slow"])
    try:
        wait_for(lambda: build_running(hub, task_id), 180, what="the slow build to start")
        old_container = task_container(task_id)
        old_broots = [b["id"] for b in hub.admin_session().listBuildroots(taskID=task_id)]
        first.stop(signal.SIGKILL)
        # the crashed worker's container and task are left behind
        assert task_container(task_id) == old_container
        assert hub.task_info(task_id)["state"] == koji.TASK_STATES["OPEN"]
    finally:
        first.stop(signal.SIGKILL)

    second = WorkerProcess(worker_config, str(tmp_path / "worker2.log")).start()
    try:
        wait_for(lambda: "freeing stale tasks from a previous run: [%d]" % task_id
                 in second.log(), 60, what="the restarted worker to free the task")
        wait_for(lambda: "removing orphan container koji-task-%d-" % task_id in second.log(), 30,
                 what="the restarted worker to remove the orphan container")
        session = hub.admin_session()
        for broot_id in old_broots:
            assert session.getBuildroot(broot_id)["state"] == koji.BR_STATES["EXPIRED"]
        # the freed task is scheduled again and rebuilt in a new container
        wait_for(lambda: task_container(task_id) not in (None, old_container), 120,
                 what="the task to run again in a new container")
        session.cancelTask(task_id)
        wait_for(lambda: task_container(task_id) is None, 10, what="cleanup after cancel")
    finally:
        second.stop()


def test_killed_worker_needs_force_lock_to_come_back(tmp_path, hub, worker_config,
                                                     buildroot_image):
    """A killed worker's exclusive session stays open: a new worker started without
    --force-lock refuses to start, naming the way out; with it (as the worker role's service
    runs it) the new worker takes the lock over and checks in."""
    session = hub.admin_session()
    host_id = session.getHost(HOST_NAME)["id"]
    first = WorkerProcess(worker_config, str(tmp_path / "worker1.log"), force_lock=False)
    first.start()
    try:
        wait_for(lambda: session.getHost(HOST_NAME)["ready"], 60,
                 what="the first worker to check in")
    finally:
        first.stop(signal.SIGKILL)
    killed_at = session.getLastHostUpdate(host_id, ts=True)

    refused = WorkerProcess(worker_config, str(tmp_path / "worker2.log"), force_lock=False)
    refused.start()
    assert refused.proc.wait(60) == 2
    log = refused.log()
    assert "Cannot get exclusive session" in log
    assert "--force-lock" in log
    assert session.getLastHostUpdate(host_id, ts=True) == killed_at

    again = WorkerProcess(worker_config, str(tmp_path / "worker3.log")).start()
    try:
        started = time.time()
        wait_for(lambda: session.getLastHostUpdate(host_id, ts=True) > killed_at, 60,
                 what="the worker started with --force-lock to check in")
        assert time.time() - started < 60
        assert again.proc.poll() is None
    finally:
        assert again.stop() == 0


def test_sigterm_frees_running_task_and_reports_not_ready(tmp_path, hub, srpms, worker_config,
                                                          buildroot_image):
    proc = WorkerProcess(worker_config, str(tmp_path / "worker.log")).start()
    task_id = build_arch_task(hub, srpms["slow"])
    try:
        wait_for(lambda: build_running(hub, task_id), 180, what="the slow build to start")
        assert proc.stop(signal.SIGTERM) == 0
    finally:
        proc.stop(signal.SIGKILL)
    session = hub.admin_session()
    info = hub.task_info(task_id)
    # freed (FREE) or already handed out again by the scheduler (ASSIGNED): never left OPEN
    assert info["state"] in (koji.TASK_STATES["FREE"], koji.TASK_STATES["ASSIGNED"]), info
    assert task_container(task_id) is None
    assert session.getHost(HOST_NAME)["ready"] is False
    assert "shutting down; 1 task(s) running" in proc.log()
    # the stopped playbook's output stays on the worker
    with open(str(tmp_path / "work" / "log" / "tasks" / ("%d.log" % task_id))) as handle:
        assert "TASK [Rebuild the SRPM" in handle.read()
    session.cancelTask(task_id)


def test_crashed_playbook_fails_the_task_with_a_clear_message(tmp_path, hub, buildroot_image):
    playbooks = tmp_path / "playbooks" / "tasks"
    playbooks.mkdir(parents=True)
    (playbooks / "sleep.yml").write_text(
        "- name: A broken task playbook\n"
        "  hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Crash before reporting anything\n"
        "      ansible.builtin.command: /bin/false\n")
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_adjutant={"playbook_dir": str(tmp_path / "playbooks")})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    try:
        task_id = hub.make_task("sleep", [0])
        info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
    finally:
        proc.stop()
    assert info["state"] == koji.TASK_STATES["FAILED"]
    fault = task_fault(hub.admin_session(), task_id)
    assert "the sleep playbook ended without closing or failing the task" in str(fault)
    assert "tasks/%d.log" % task_id in str(fault)


def test_orphan_cleanup_leaves_other_workers_containers_alone(tmp_path, hub, worker_config,
                                                              buildroot_image):
    """A worker's start removes only its own leftover containers, not another worker's."""
    other = subprocess.run(
        ["podman", "run", "-d", "--label", "io.koji.adjutant.task_id=999999",
         "--label", "io.koji.adjutant.worker_id=some-other-worker", "--name",
         "koji-task-999999-some-other-worker", buildroot_image, "sleep", "300"],
        check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    proc = WorkerProcess(worker_config, str(tmp_path / "worker.log")).start()
    try:
        wait_for(lambda: "logged in to" in proc.log(), 30, what="the worker to start")
        time.sleep(2)
        state = subprocess.run(["podman", "inspect", "--format", "{{.State.Status}}", other],
                               check=False, stdout=subprocess.PIPE, universal_newlines=True)
        assert state.stdout.strip() == "running"
    finally:
        proc.stop()
        subprocess.run(["podman", "rm", "-f", "-t", "0", other], check=False,
                       stdout=subprocess.DEVNULL)

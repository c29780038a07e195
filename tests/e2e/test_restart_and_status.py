"""Graceful restart (SIGUSR1, restart/restartVerify/restartHosts) and the status server."""

import json
import os
import signal
import socket
import urllib.error
import urllib.request

import koji
import pytest

from e2e_support import (HOST_NAME, WorkerProcess, build_arch_task, free_port, task_fault,
                         wait_for, write_worker_config)

CLOSED = koji.TASK_STATES["CLOSED"]
FAILED = koji.TASK_STATES["FAILED"]


@pytest.fixture
def monitored_worker(tmp_path, hub, buildroot_image):
    port = free_port()
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_adjutant={"monitoring_enabled": "yes",
                                                 "monitoring_bind": "127.0.0.1:%d" % port},
                                 extra_kojid={"sleeptime": "1"})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    proc.url = "http://127.0.0.1:%d" % port
    wait_for(lambda: _reachable(proc.url), 60, what="the status server")
    yield proc
    proc.stop()


def _reachable(url):
    try:
        urllib.request.urlopen(url + "/api/v1/status", timeout=2).read()
        return True
    except (OSError, urllib.error.URLError):
        return False


def get(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as response:
        body = response.read().decode()
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(body)
        return body


def http_error(url, path, method="GET"):
    request = urllib.request.Request(url + path, method=method)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)
    return excinfo.value.code, json.loads(excinfo.value.read().decode())


def metric(text, line_prefix):
    for line in text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_status_endpoints_follow_a_build(hub, srpms, monitored_worker):
    url = monitored_worker.url
    status = wait_for(lambda: get(url, "/api/v1/status")["ready"] and get(url, "/api/v1/status"),
                      60, what="the worker ready")
    assert status["host"] == HOST_NAME and status["status"] == "ready" and status["tasks"] == []
    assert status["capacity"] > 0 and status["restart_pending"] is False
    task_id = build_arch_task(hub, srpms["hello"])

    def running_with_container():
        tasks = get(url, "/api/v1/status")["tasks"]
        containers = get(url, "/api/v1/containers")
        return (tasks and tasks[0]["step"] and
                any(c["task_id"] == task_id for c in containers)) and (tasks, containers)

    tasks, containers = wait_for(running_with_container, 180, interval=0.3,
                                 what="the task's container in the status")
    assert tasks[0]["id"] == task_id and tasks[0]["method"] == "buildArch"
    assert tasks[0]["elapsed"] >= 0 and tasks[0]["steps"][0]["name"]
    entry = [c for c in containers if c["task_id"] == task_id][0]
    assert entry["running_task"] is True and entry["name"].startswith("koji-task-%d-" % task_id)
    detail = get(url, "/api/v1/tasks/%d" % task_id)
    assert detail["state"] == "running" and detail["method"] == "buildArch"
    wait_for(lambda: "root.log" in get(url, "/api/v1/tasks/%d/logs" % task_id)["logs"], 120,
             what="root.log in the live logs")
    assert "buildroot" in get(url, "/api/v1/tasks/%d/logs/root.log" % task_id)

    assert hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=300)["state"] == CLOSED
    finished = wait_for(lambda: get(url, "/api/v1/tasks/%d" % task_id).get("state") == "CLOSED"
                        and get(url, "/api/v1/tasks/%d" % task_id), 30, what="the task reaped")
    assert finished["elapsed"] > 0 and finished["steps"]
    text = get(url, "/metrics")
    assert metric(text, 'koji_adjutant_tasks_total{method="buildArch",outcome="closed"}') == 1
    assert metric(text, 'koji_adjutant_tasks_taken_total{method="buildArch"}') == 1
    assert metric(text, 'koji_adjutant_task_duration_seconds_count{method="buildArch"}') == 1
    assert metric(text, "koji_adjutant_task_pickup_latency_seconds_count") == 1
    lookups = sum(metric(text, 'koji_adjutant_buildroot_cache_lookups_total{result="%s"}' % r)
                  for r in ("hit", "miss"))
    assert lookups == 1
    assert metric(text, "koji_adjutant_up") == 1
    # (ready may be 0 here: a busy machine's load average makes the worker not ready)
    assert metric(text, "koji_adjutant_ready") in (0, 1)
    assert metric(text, "koji_adjutant_running_tasks") == 0
    assert "# TYPE koji_adjutant_task_duration_seconds histogram" in text
    # read-only, and clear about what it does not know
    assert http_error(url, "/api/v1/status", "POST")[0] == 405
    code, body = http_error(url, "/api/v1/tasks/999999")
    assert code == 404 and "999999" in body["error"]
    code, body = http_error(url, "/api/v1/tasks/%d/logs/..%%2F..%%2Fetc%%2Fpasswd" % task_id)
    assert code == 404
    assert http_error(url, "/nothing")[0] == 404


def test_status_server_on_a_taken_port_stops_the_worker_with_a_clear_message(tmp_path, hub):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                     extra_adjutant={"monitoring_enabled": "yes",
                                                     "monitoring_bind": "127.0.0.1:%d" % port})
        proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
        assert proc.proc.wait(60) == 2
    assert "cannot serve status on 127.0.0.1:%d ([adjutant] monitoring_bind)" % port in proc.log()


def test_sigusr1_finishes_running_work_then_restarts(hub, monitored_worker):
    url = monitored_worker.url
    first = hub.make_task("sleep", [8])
    wait_for(lambda: hub.task_info(first)["state"] == koji.TASK_STATES["OPEN"], 60,
             what="the first task to open")
    monitored_worker.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: get(url, "/api/v1/status")["restart_pending"], 30, what="restart pending")
    status = get(url, "/api/v1/status")
    assert status["ready"] is False and status["status"] == "Pending restart"
    second = hub.make_task("sleep", [0])
    # the running task is not disturbed; the new one waits for the restart
    assert hub.wait_task(first, ["CLOSED", "FAILED"], timeout=60)["state"] == CLOSED
    assert hub.wait_task(second, ["CLOSED", "FAILED"], timeout=120)["state"] == CLOSED
    log = monitored_worker.log()
    assert "idle with a restart pending: restarting" in log
    restart_at = log.index("idle with a restart pending: restarting")
    assert "took task %d" % second in log[restart_at:]
    assert monitored_worker.proc.poll() is None  # same process, re-executed
    assert get(url, "/api/v1/status")["restart_pending"] is False


def test_restart_hosts_restarts_and_verifies_each_host(hub, monitored_worker):
    admin = hub.admin_session()
    admin.addHostToChannel(HOST_NAME, "restart-e2e", create=True)
    parent = admin.restartHosts(options={"channel": "restart-e2e", "timeout": 600})
    info = hub.wait_task(parent, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == CLOSED, task_fault(admin, parent)
    children = dict((c["label"], c) for c in admin.getTaskChildren(parent))
    host_id = admin.getHost(HOST_NAME)["id"]
    assert sorted(children) == ["restart %d" % host_id, "sleep %d" % host_id]
    restart = children["restart %d" % host_id]
    assert restart["method"] == "restart" and restart["state"] == CLOSED
    assert admin.getTaskResult(restart["id"]) == "graceful restart initiated"
    verify = children["sleep %d" % host_id]
    assert verify["method"] == "restartVerify" and verify["state"] == CLOSED
    assert "idle with a restart pending: restarting" in monitored_worker.log()


def test_restart_tasks_fail_clearly_on_a_mismatch(hub, monitored_worker):
    admin = hub.admin_session()
    other = {"id": 999999, "name": "not-this-host"}
    wrong_host = hub.make_task("restart", [other])
    assert hub.wait_task(wrong_host, ["CLOSED", "FAILED"], timeout=60)["state"] == FAILED
    assert "Host mismatch" in str(task_fault(admin, wrong_host))
    me = admin.getHost(HOST_NAME)
    open_task = hub.make_task("sleep", [30])
    verify = hub.make_task("restartVerify", [open_task, me])
    assert hub.wait_task(verify, ["CLOSED", "FAILED"], timeout=60)["state"] == FAILED
    assert "Stage one restart task is" in str(task_fault(admin, verify))
    admin.cancelTask(open_task)
    done = hub.make_task("sleep", [0])
    assert hub.wait_task(done, ["CLOSED", "FAILED"], timeout=60)["state"] == CLOSED
    # a restart task that closed after this worker started: the worker did not restart
    stale = hub.make_task("restartVerify", [done, me])
    assert hub.wait_task(stale, ["CLOSED", "FAILED"], timeout=60)["state"] == FAILED
    assert "Restart failed - start time is" in str(task_fault(admin, stale))
    assert monitored_worker.proc.poll() is None
    assert os.path.exists(monitored_worker.log_path)

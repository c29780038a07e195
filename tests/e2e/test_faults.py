"""Faults: the hub going away, a killed worker, a killed container, a full disk, a soak.

Each test runs its own worker daemon against the session's dev hub and breaks
something from outside, as an operator would see it happen.
"""

import json
import os
import random
import re
import signal
import subprocess
import time
import uuid

import koji
import pytest

from e2e_support import (HOST_NAME, WORKER_ID, WorkerProcess, build_arch_task, task_container,
                         task_fault, wait_container_removed, wait_for, write_worker_config)

CLOSED = koji.TASK_STATES["CLOSED"]
FAILED = koji.TASK_STATES["FAILED"]
CANCELED = koji.TASK_STATES["CANCELED"]
FINAL = (CLOSED, FAILED, CANCELED)

SPEC = """Name:           {name}
Version:        1.0
Release:        1
Summary:        A package of the fault tests
License:        MIT
BuildArch:      noarch

%description
Built by tests/e2e/test_faults.py.

%prep

%build
{build}

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {name} > %{{buildroot}}/usr/share/{name}/data

%files
/usr/share/{name}/data
"""


def make_srpm(hub, directory, name, build):
    """An SRPM of a noarch package whose %build runs ``build``, uploaded; returns its path."""
    directory = str(directory)
    specs = os.path.join(directory, "specs")
    os.makedirs(specs, exist_ok=True)
    spec = os.path.join(specs, "%s.spec" % name)
    with open(spec, "w") as handle:
        handle.write(SPEC.format(name=name, build=build))
    subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % os.path.join(directory, "rpm"),
                    spec], check=True, stdout=subprocess.DEVNULL)
    srpm = os.path.join(directory, "rpm", "SRPMS", "%s-1.0-1.src.rpm" % name)
    upload_dir = "cli-build/%s" % uuid.uuid4().hex[:12]
    hub.admin_session().uploadWrapper(srpm, upload_dir)
    return "%s/%s" % (upload_dir, os.path.basename(srpm))


def hub_file(hub, task_id, name):
    return os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(task_id), name)


def log_contains(hub, task_id, name, text):
    """Whether the task's log on the hub (uploaded live) contains text."""
    try:
        with open(hub_file(hub, task_id, name), errors="replace") as handle:
            return text in handle.read()
    except OSError:
        return False


def read(path):
    with open(path, errors="replace") as handle:
        return handle.read()


def uploaded_bytes(hub_log, path):
    """Bytes the dev hub wrote into ``path`` by rawUpload, summed over its log."""
    total = 0
    pattern = re.compile(r"rawUpload session=\S+ callnum=\S+ \S+ (\d+) bytes (\S+)$")
    for line in hub_log.splitlines():
        match = pattern.search(line)
        if match and match.group(2) == path:
            total += int(match.group(1))
    return total


def worker_alive(proc):
    return proc.proc is not None and proc.proc.poll() is None


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def process_gone(pid):
    """Whether pid no longer runs (gone, or a zombie waiting to be reaped)."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("State:"):
                    return line.split()[1] == "Z"
    except OSError:
        return True
    return False


def playbook_pids(runs_dir):
    """Processes whose command line names a run dir of the worker (its playbooks)."""
    marker = os.path.abspath(runs_dir) + os.sep
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmdline and not process_gone(int(pid)):
            pids.append(int(pid))
    return pids


def our_containers():
    out = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}", "--filter",
                          "label=io.koji.adjutant.worker_id=%s" % WORKER_ID],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return out.split()


def result_paths(result):
    return list(result["rpms"]) + list(result["srpms"]) + list(result["logs"])


# -- 1. the hub goes away for a minute during a build ---------------------------------------

def test_hub_outage_of_60s_during_a_build(tmp_path, hub, buildroot_image):
    """Hub stopped for 60 s while a build runs (and ends): the worker and the playbook's
    modules wait for it (koji.ClientSession's retries), the task closes once it is back,
    nothing is uploaded twice and the check-ins resume."""
    pkg = make_srpm(hub, tmp_path, "outage", 'echo "sleeping"; sleep 30; echo "slept"')
    # kojid.conf: retry every 2 s, for up to 2 minutes (kojid's defaults are 60 s × 120)
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_kojid={"retry_interval": "2", "max_retries": "60"})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    try:
        task_id = build_arch_task(hub, pkg, arch="noarch")
        wait_for(lambda: log_contains(hub, task_id, "build.log", "sleeping"), 240,
                 what="the build to start")
        port, tls_port = hub.port, hub.tls_port
        hub.stop(cleanup=False)
        down_at = time.time()
        try:
            # the build ends while the hub is away; the daemon keeps running meanwhile
            wait_for(lambda: time.time() - down_at >= 60 or not worker_alive(proc), 90,
                     interval=1, what="the end of the outage")
            assert worker_alive(proc), proc.log()[-3000:]
        finally:
            hub.start(port=port, tls_port=tls_port)
        back_at = time.time()
        info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=240)
        session = hub.admin_session()
        assert info["state"] == CLOSED, task_fault(session, task_id)
        assert worker_alive(proc)
        # check-ins resume: the host's update time moves past the hub's return
        wait_for(lambda: session.getHost(HOST_NAME)["update_ts"] > back_at, 60,
                 what="a check-in after the outage")
        assert session.getHost(HOST_NAME)["ready"]

        result = session.getTaskResult(task_id)
        assert "slept" in read(hub_file(hub, task_id, "build.log"))
        outputs = session.listTaskOutput(task_id)
        assert len(outputs) == len(set(outputs))
        assert set(os.path.basename(p) for p in result_paths(result)) <= set(outputs)
        # each output file was written once: the bytes the hub received for it are its size
        hub_log = read(hub.log_path)
        for path in result["rpms"] + result["srpms"]:
            full = os.path.join(hub.topdir, "work", path)
            assert uploaded_bytes(hub_log, full) == os.path.getsize(full), path
        assert "upload path exists: %s" % os.path.dirname(hub_file(hub, task_id, "x")) \
            not in hub_log
        wait_container_removed(task_id)

        # and the worker still takes work
        sleep_id = hub.make_task("sleep", [0])
        assert hub.wait_task(sleep_id, ["CLOSED", "FAILED"], timeout=120)["state"] == CLOSED
    finally:
        proc.stop()


# -- 2. the worker is SIGKILLed during a build and started again ----------------------------

def test_sigkilled_worker_restarts_and_rebuilds_the_task(tmp_path, hub, buildroot_image):
    """kill -9 of the daemon mid-build: the restarted worker stops the old playbook (it
    uploads nothing more), removes the old container, expires the old buildroot, frees
    the task and builds it again to CLOSED."""
    pkg = make_srpm(hub, tmp_path, "killed", 'echo "sleeping"; sleep 20; echo "slept"')
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"))
    runs_dir = str(tmp_path / "work" / "state" / "runs")
    first = WorkerProcess(config, str(tmp_path / "worker1.log")).start()
    try:
        task_id = build_arch_task(hub, pkg, arch="noarch")
        wait_for(lambda: log_contains(hub, task_id, "build.log", "sleeping"), 240,
                 what="the build to start")
        old_container = task_container(task_id)
        old_broots = [b["id"] for b in hub.admin_session().listBuildroots(taskID=task_id)]
        old_pids = playbook_pids(runs_dir)
        [old_run] = os.listdir(runs_dir)
        with open(os.path.join(runs_dir, old_run, "hub-session.json")) as handle:
            old_session = str(json.load(handle)["session-id"])
        assert old_container and old_broots and old_pids
        killed_at_offset = os.path.getsize(hub.log_path)
        first.stop(signal.SIGKILL)
    finally:
        first.stop(signal.SIGKILL)
    # the killed daemon's playbook (its own process group) goes on without it
    assert not all(process_gone(pid) for pid in old_pids)

    second = WorkerProcess(config, str(tmp_path / "worker2.log")).start()
    try:
        wait_for(lambda: "took task %d" % task_id in second.log(), 120,
                 what="the restarted worker to take the task again")
        # by then the old run is over: its processes, its container, its buildroot
        assert all(process_gone(pid) for pid in old_pids), [
            pid for pid in old_pids if not process_gone(pid)]
        assert "freeing stale tasks from a previous run: [%d]" % task_id in second.log()
        session = hub.admin_session()
        for broot_id in old_broots:
            assert session.getBuildroot(broot_id)["state"] == koji.BR_STATES["EXPIRED"]
        info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=300)
        assert info["state"] == CLOSED, task_fault(session, task_id)
        result = session.getTaskResult(task_id)
        assert result["brootid"] not in old_broots
        assert session.getBuildroot(result["brootid"])["state"] == koji.BR_STATES["EXPIRED"]
        assert "slept" in read(hub_file(hub, task_id, "build.log"))
        # after the kill the old playbook only went on sending its live build.log until the
        # restart stopped it: no failure path (expire, log uploads, failTask) ran
        with open(hub.log_path, errors="replace") as handle:
            handle.seek(killed_at_offset)
            late = [line.strip() for line in handle if "session=%s " % old_session in line
                    and not (" rawUpload " in line and line.rstrip().endswith("/build.log"))]
        assert late == []
        wait_for(lambda: task_container(task_id) is None, 30, what="the new container to go")
        assert our_containers() == []
        assert old_container not in subprocess.run(
            ["podman", "ps", "-a", "-q", "--no-trunc"], check=True, stdout=subprocess.PIPE,
            universal_newlines=True).stdout
    finally:
        second.stop()


# -- 3. the task container is removed from outside ------------------------------------------

def test_container_removed_from_outside_fails_the_task_clearly(tmp_path, hub, buildroot_image):
    """``podman rm -f`` of a task's container mid-build: the task fails saying the container
    went away, and the worker goes on to the next task."""
    pkg = make_srpm(hub, tmp_path, "vanishing", 'echo "sleeping"; sleep 600')
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"))
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    try:
        task_id = build_arch_task(hub, pkg, arch="noarch")
        wait_for(lambda: log_contains(hub, task_id, "build.log", "sleeping"), 240,
                 what="the build to start")
        container = task_container(task_id)
        subprocess.run(["podman", "rm", "-f", "-t", "0", container], check=True,
                       stdout=subprocess.DEVNULL)
        info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=120)
        assert info["state"] == FAILED
        message = str(task_fault(hub.admin_session(), task_id))
        wait_container_removed(task_id)
        assert worker_alive(proc)
        sleep_id = hub.make_task("sleep", [0])
        assert hub.wait_task(sleep_id, ["CLOSED", "FAILED"], timeout=120)["state"] == CLOSED
    finally:
        proc.stop()
    assert "the task container koji-task-" in message and "went away" in message, message


# -- 4. the worker's disk fills up ------------------------------------------------------------

def test_full_workdir_fails_the_build_and_stops_taking_work(tmp_path, hub, buildroot_image):
    """A build that fills the workdir (a 48 MB tmpfs) fails saying the disk is full; the
    worker stays up, reports itself not ready while less than minspace is free, and builds
    again once there is room."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(workdir)],
                   check=True)
    try:
        full = make_srpm(hub, tmp_path, "filler",
                         'echo "filling"; dd if=/dev/zero of=fill bs=1M count=100; echo filled')
        small = make_srpm(hub, tmp_path, "small", 'echo "small"')
        # state and playbook logs elsewhere: only task directories are on the small disk
        config = write_worker_config(
            tmp_path / "kojid.conf", hub, str(workdir), extra_kojid={"minspace": "16"},
            extra_adjutant={"state_dir": str(tmp_path / "state"),
                            "log_dir": str(tmp_path / "log")})
        proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
        try:
            task_id = build_arch_task(hub, full, arch="noarch")
            info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=300)
            session = hub.admin_session()
            assert info["state"] == FAILED
            message = str(task_fault(session, task_id))
            assert "No space left on device" in read(hub_file(hub, task_id, "build.log"))
            assert worker_alive(proc)
            # the failed task's directory is kept: the workdir stays below minspace
            wait_for(lambda: "Insufficient disk space at %s" % workdir in proc.log(), 60,
                     what="the worker to notice the full disk")
            wait_for(lambda: not session.getHost(HOST_NAME)["ready"], 60,
                     what="the host to be reported not ready")
            next_id = build_arch_task(hub, small, arch="noarch")
            # room again: the worker takes the next build and it succeeds
            subprocess.run(["mount", "-o", "remount,size=512m", str(workdir)], check=True)
            info = hub.wait_task(next_id, ["CLOSED", "FAILED", "CANCELED"], timeout=300)
            assert info["state"] == CLOSED, task_fault(session, next_id)
            assert session.getHost(HOST_NAME)["ready"]
        finally:
            proc.stop()
    finally:
        if subprocess.run(["umount", str(workdir)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(workdir)], check=False)
    assert "no space left on device" in message.lower(), message


# -- a canceled task's playbook leaves no process behind -----------------------------------

def step_pids(runs_dir):
    """Processes a step of a run's playbook started (a module that is not one of the
    collection's action plugins, ansible.builtin.wait_for, runs in an interpreter of its own):
    the descendants of the playbook's processes (whose command lines name the run's directory)
    that do not name it themselves."""
    playbook = set(playbook_pids(runs_dir))
    parents = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as handle:
                parents[int(pid)] = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found = []
    for pid in parents:
        if pid in playbook or process_gone(pid):
            continue
        parent = parents.get(pid)
        while parent and parent not in playbook:
            parent = parents.get(parent)
        if parent:
            found.append(pid)
    return sorted(found)


def test_canceled_task_leaves_no_playbook_process(tmp_path, hub, buildroot_image):
    """ansible-runner's cancel kills ansible-playbook's process group only; its task workers
    (sessions of their own) and the module process a step started would go on, or start the
    next step with the run's files gone. The worker kills them when it reaps the canceled
    run."""
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"))
    runs_dir = str(tmp_path / "work" / "state" / "runs")
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    try:
        task_id = hub.make_task("sleep", [120])
        # the sleep step (ansible.builtin.wait_for, a module in an interpreter of its own)
        # runs right after the task was claimed
        wait_for(lambda: hub.task_info(task_id)["state"] == koji.TASK_STATES["OPEN"], 120,
                 what="the task to open")
        running = []

        def sleep_step_running():
            # a step process still there 1.5 s later (the claim before it is over in a moment)
            first = set(step_pids(runs_dir))
            time.sleep(1.5)
            running[:] = sorted(first & set(step_pids(runs_dir)))
            return len(running) >= 1

        wait_for(sleep_step_running, 120, what="the sleep step to run")
        hub.admin_session().cancelTask(task_id)
        wait_for(lambda: "task %d (sleep) done in" % task_id in proc.log(), 60,
                 what="the worker to reap the canceled task")
        wait_for(lambda: playbook_pids(runs_dir) == [], 10,
                 what="the canceled playbook's processes to go")
        assert all(process_gone(pid) for pid in running)
        assert hub.task_info(task_id)["state"] == CANCELED
        assert worker_alive(proc)
    finally:
        proc.stop()


def test_a_finished_playbook_leaves_no_process(tmp_path, hub, buildroot_image):
    """A playbook that ends leaves nothing of its run behind (its steps ran in its own
    process and its task workers, which end with it): the worker has nothing to kill."""
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"))
    runs_dir = str(tmp_path / "work" / "state" / "runs")
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    try:
        task_id = hub.make_task("sleep", [3])
        wait_for(lambda: len(step_pids(runs_dir)) >= 1, 120, what="the sleep step to run")
        assert hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)["state"] == CLOSED
        wait_for(lambda: "task %d (sleep) done in" % task_id in proc.log(), 60,
                 what="the worker to reap the task")
        assert playbook_pids(runs_dir) == []
        assert "killing playbook process group" not in proc.log()
    finally:
        proc.stop()


# -- 5. soak: many short tasks at capacity 2, a fifth canceled at random moments ------------

SOAK_TASKS = int(os.environ.get("KOJI_ADJUTANT_SOAK_TASKS", "200"))


def task_states(session, task_ids):
    with session.multicall(strict=True) as calls:
        infos = [calls.getTaskInfo(task_id) for task_id in task_ids]
    return dict((task_id, info.result["state"]) for task_id, info in zip(task_ids, infos))


@pytest.mark.timeout(2700)
def test_soak_with_random_cancels(tmp_path, hub, buildroot_image):
    """SOAK_TASKS sleep and small buildArch tasks at capacity 2, ~20 % canceled at random
    moments (queued or running): none is lost or run twice, nothing is left behind, and
    the daemon's memory stays flat."""
    seed = int(os.environ.get("KOJI_ADJUTANT_SOAK_SEED", str(int(time.time()))))
    print("soak seed %d" % seed)
    rng = random.Random(seed)
    pkg = make_srpm(hub, tmp_path, "soak", 'echo "soak"')
    workdir = tmp_path / "work"
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(workdir),
                                 extra_adjutant={"capacity": "2"})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    session = hub.admin_session()
    try:
        builds = SOAK_TASKS // 10
        methods = ["buildArch"] * builds + ["sleep"] * (SOAK_TASKS - builds)
        rng.shuffle(methods)
        task_ids = []
        for method in methods:
            if method == "buildArch":
                task_ids.append(build_arch_task(hub, pkg, arch="noarch"))
            else:
                task_ids.append(hub.make_task("sleep", [rng.choice([0, 1, 2])]))
        kind = dict(zip(task_ids, methods))
        # a fifth canceled: half while queued, half while running
        cancel_queued = cancel_running = SOAK_TASKS // 10
        canceled, canceled_running = set(), set()
        rss = {}
        active = [koji.TASK_STATES[s] for s in ("FREE", "ASSIGNED", "OPEN")]
        deadline = time.time() + 2400
        while True:
            unfinished = dict((t["id"], t["state"]) for t in
                              session.listTasks(opts={"state": active}) if t["id"] in kind)
            done = SOAK_TASKS - len(unfinished)
            if "25%" not in rss and done >= SOAK_TASKS // 4:
                rss["25%"] = vm_rss_kb(proc.proc.pid)
            if not unfinished:
                break
            assert time.time() < deadline, "soak: %d tasks unfinished" % len(unfinished)
            assert worker_alive(proc), proc.log()[-3000:]
            running = sorted(t for t, s in unfinished.items()
                             if s == koji.TASK_STATES["OPEN"] and t not in canceled)
            queued = sorted(t for t, s in unfinished.items()
                            if s != koji.TASK_STATES["OPEN"] and t not in canceled)
            if running and len(canceled_running) < cancel_running and rng.random() < 0.2:
                victim = rng.choice(running)
                session.cancelTask(victim)
                canceled.add(victim)
                canceled_running.add(victim)
            if queued and len(canceled) - len(canceled_running) < cancel_queued \
                    and rng.random() < 0.1:
                victim = rng.choice(queued)
                session.cancelTask(victim)
                canceled.add(victim)
            time.sleep(rng.uniform(0.2, 1.0))

        states = task_states(session, task_ids)
        lost = dict((t, koji.TASK_STATES[s]) for t, s in states.items() if s not in FINAL)
        assert lost == {}
        assert canceled_running, "no cancel hit a running task"
        # every task that was not canceled succeeded; the canceled ones stay CANCELED
        for task_id, state in states.items():
            if task_id in canceled:
                assert state in (CANCELED, CLOSED, FAILED), (task_id, state)
            else:
                assert state == CLOSED, (task_id, kind[task_id],
                                         str(task_fault(session, task_id)))
        assert len(canceled) >= SOAK_TASKS // 8, len(canceled)
        assert sum(1 for s in states.values() if s == CANCELED) >= len(canceled) // 2

        # nothing left behind once the worker has reaped everything
        runs_dir = os.path.join(str(workdir), "state", "runs")
        wait_for(lambda: os.listdir(runs_dir) == [], 120, interval=0.5,
                 what="the worker to reap every run")
        assert our_containers() == []
        assert playbook_pids(runs_dir) == []
        for task_id, state in states.items():
            if state == CLOSED:
                assert not os.path.exists(os.path.join(
                    str(workdir), koji.pathinfo.taskrelpath(task_id))), task_id

        # each task was taken and finished at most once
        log = proc.log()
        for task_id in task_ids:
            assert log.count("took task %d (" % task_id) <= 1, task_id
            assert log.count("task %d (%s) done in" % (task_id, kind[task_id])) <= 1, task_id
            if states[task_id] == CLOSED:
                assert log.count("took task %d (" % task_id) == 1, task_id
        assert "error in the main loop" not in log
        assert "authentication failed" not in log

        rss["100%"] = vm_rss_kb(proc.proc.pid)
        print("soak: %d tasks, %d canceled (%d running), daemon VmRSS %s kB"
              % (SOAK_TASKS, len(canceled), len(canceled_running), rss))
        assert rss["100%"] - rss["25%"] < 15 * 1024, rss
    finally:
        proc.stop()

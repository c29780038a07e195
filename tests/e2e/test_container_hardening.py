"""Container hardening end to end: a real worker runs buildArch tasks whose builds try to break
out, and the running task container is inspected.

One worker for the module, configured with a memory limit, a CPU limit, a small pids limit and
a short ``rpmbuild_timeout``. The hostile SRPMs are built from tests/data/hardening-specs (with
this run's hub address, paths and a token written into the specs) by the module's fixture, not
by the session's ``srpms`` fixture. All tasks are submitted at once (the host's capacity is
raised for the module) and run side by side; each test then checks its own.
"""

import json
import os
import socket
import socketserver
import subprocess
import threading
import time
import types
import urllib.parse
import uuid

import koji
import pytest

from e2e_support import (HERE, HOST_NAME, TAG, WorkerProcess, build_arch_task, host_address,
                         task_container, task_fault, wait_container_removed, wait_for, write_worker_config)

from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
from koji_adjutant.images.buildroot import DEFAULT_BUILDROOT_IMAGE

CLOSED = koji.TASK_STATES["CLOSED"]
FAILED = koji.TASK_STATES["FAILED"]
HARDENING_SPECS = os.path.join(os.path.dirname(HERE), "data", "hardening-specs")
MEMORY = "256m"
CPUS = "1"
PIDS_LIMIT = 128
RPMBUILD_TIMEOUT = 30
EXTERNAL_NAME = "deb.debian.org"


class Listener(object):
    """A TCP server on every address of this host, standing in for a service on the network;
    ``accepted`` counts the connections it got."""

    def __init__(self):
        listener = self
        self.accepted = 0

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                listener.accepted += 1

        self.server = socketserver.ThreadingTCPServer(("0.0.0.0", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def external_target():
    try:
        return "%s:80" % socket.gethostbyname(EXTERNAL_NAME)
    except OSError:
        return "1.1.1.1:80"


def build_srpms(hub, out, substitutions):
    """SRPMs of the hardening specs (placeholders replaced), uploaded; {package name: path}."""
    specs = out / "SPECS"
    specs.mkdir(parents=True)
    for name in sorted(os.listdir(HARDENING_SPECS)):
        with open(os.path.join(HARDENING_SPECS, name)) as handle:
            text = handle.read()
        for key, value in substitutions.items():
            text = text.replace("@%s@" % key, value)
        (specs / name).write_text(text)
        subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % out, str(specs / name)],
                       check=True, stdout=subprocess.DEVNULL)
    admin = hub.admin_session()
    paths = {}
    for name in sorted(os.listdir(out / "SRPMS")):
        upload_dir = "cli-build/%s" % uuid.uuid4().hex[:12]
        admin.uploadWrapper(str(out / "SRPMS" / name), upload_dir)
        paths[name.rsplit("-", 2)[0]] = "%s/%s" % (upload_dir, name)
    return paths


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory, hub, buildroot_image, listener):
    base = tmp_path_factory.mktemp("hardening")
    workdir = str(base / "work")
    config = write_worker_config(
        base / "kojid.conf", hub, workdir,
        # no cached buildroot images: this module leaves none behind for other tests' repo
        extra_adjutant={"container_memory": MEMORY, "container_cpus": CPUS,
                        "container_pids_limit": str(PIDS_LIMIT), "buildroot_cache": "false"},
        extra_kojid={"rpmbuild_timeout": str(RPMBUILD_TIMEOUT)})
    hub_url = urllib.parse.urlsplit(hub.url)
    token = uuid.uuid4().hex[:10]
    write_targets = [hub.topdir, os.path.join(hub.topdir, "work"), str(base), workdir,
                     os.path.join(workdir, "tasks"), os.path.join(workdir, "state")]
    net_targets = ["%s:%d" % (hub_url.hostname, hub_url.port),
                   "%s:%d" % (host_address(), listener.port), external_target()]
    srpms = build_srpms(hub, base / "rpmbuild", {
        "TARGETS": " ".join(net_targets), "WRITE_TARGETS": " ".join(write_targets),
        "NAME": EXTERNAL_NAME, "TOKEN": token,
        "TOPDIR": hub.topdir})
    srpms["write"] = srpms.pop("hardening-write")
    admin = hub.admin_session()
    capacity = admin.getHost(HOST_NAME)["capacity"]
    admin.editHost(HOST_NAME, capacity=8.0)
    worker = WorkerProcess(config, str(base / "worker.log")).start()
    yield types.SimpleNamespace(
        base=str(base), workdir=workdir, config=config, worker=worker, srpms=srpms,
        token=token, write_targets=write_targets, net_targets=net_targets,
        state_dir=os.path.join(workdir, "state"))
    worker.stop()
    hub.admin_session().editHost(HOST_NAME, capacity=capacity)


class BombWatch(threading.Thread):
    """Watches the fork bomb while it runs: the container's process count, and how fast the
    hub and the host answer."""

    def __init__(self, env, task_id):
        super().__init__(daemon=True)
        self.build_log = os.path.join(task_dir(env, task_id), "logs", "build.log")
        self.task_id = task_id
        self.counts = []
        self.latencies = []
        self.error = None
        self.hub_session = None

    def run(self):
        try:
            wait_for(lambda: "starting a fork bomb" in read(self.build_log), 300, interval=0.5,
                     what="the fork bomb to start")
            cid = task_container(self.task_id)

            def at_the_limit():
                self.counts.append(pids_current(cid))
                return self.counts[-1] is not None and self.counts[-1] >= PIDS_LIMIT - 8

            wait_for(at_the_limit, RPMBUILD_TIMEOUT - 5, interval=0.5,
                     what="the fork bomb to reach the pids limit")
            for dummy in range(3):
                begin = time.time()
                self.hub_session.getAPIVersion()
                subprocess.run(["true"], check=True, timeout=10)
                self.latencies.append(time.time() - begin)
                self.counts.append(pids_current(cid))
                time.sleep(0.5)
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc


@pytest.fixture(scope="module")
def tasks(hub, env, srpms):
    """Every task of the module, submitted at once: {name: task id}; the fork bomb is watched
    from a thread while it runs."""
    submitted = {"probe": build_arch_task(hub, env.srpms["hardening-probe"])}
    for name in ("hardening-network", "write", "hardening-memory-hog", "hardening-fork-bomb"):
        submitted[name] = build_arch_task(hub, env.srpms[name])
    submitted["slow"] = build_arch_task(hub, srpms["slow"])
    submitted["rebuildSRPM"] = hub.make_task(
        "rebuildSRPM", [srpms["hello"], TAG, {"repo_id": hub.repo["id"]}], arch="noarch")
    watch = BombWatch(env, submitted["hardening-fork-bomb"])
    # a session of its own: koji sessions number their calls, one thread each
    watch.hub_session = hub.session()
    watch.start()
    submitted["bomb_watch"] = watch
    return submitted


def task_dir(env, task_id):
    return os.path.join(env.workdir, koji.pathinfo.taskrelpath(task_id))


def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def hub_file(session, task_id, name):
    return session.downloadTaskOutput(task_id, name).decode("utf-8", "replace")


def resource_stats(session, task_id):
    assert "resource_stats.json" in session.listTaskOutput(task_id)
    return json.loads(hub_file(session, task_id, "resource_stats.json"))


def step(stats, name):
    found = [record for record in stats["steps"] if record["step"] == name]
    assert found, [record["step"] for record in stats["steps"]]
    return found[-1]


def podman_inspect(cid):
    out = subprocess.run(["podman", "container", "inspect", cid], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(out)[0]


def podman_exec(cid, *argv, user="root"):
    return subprocess.run(["podman", "exec", "--user", user, cid] + list(argv), check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def pids_current(cid):
    out = subprocess.run(["podman", "stats", "--no-stream", "--no-reset", "--format",
                          "{{.PIDs}}", cid], check=False, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout.strip()
    return int(out) if out.isdigit() else None


def assert_worker_alive(env):
    assert env.worker.proc.poll() is None, env.worker.log()[-3000:]


# -- the running container -----------------------------------------------------------------

@pytest.fixture(scope="module")
def probe(hub, env, tasks):
    """A buildArch whose rpmbuild waits: the container is inspected while rpmbuild runs."""
    task_id = tasks["probe"]
    directory = task_dir(env, task_id)
    build_log = os.path.join(directory, "logs", "build.log")
    wait_for(lambda: "PROBE-WAITING" in read(build_log), 240, interval=0.5,
             what="rpmbuild of task %d to run" % task_id)
    cid = task_container(task_id)
    assert cid, "no container for task %d" % task_id
    inspected = podman_inspect(cid)
    inside = {
        "config": podman_exec(cid, "cat", env.config),
        "state_dir": podman_exec(cid, "ls", env.state_dir),
        "mounts": podman_exec(cid, "cat", "/proc/self/mountinfo"),
    }
    with open(os.path.join(directory, "builddir", "release"), "w") as handle:
        handle.write("go\n")
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    session = hub.admin_session()
    assert info["state"] == CLOSED, task_fault(session, task_id)
    return types.SimpleNamespace(task_id=task_id, dir=directory, inspect=inspected,
                                 inside=inside, session=session)


def test_only_the_root_step_capabilities_and_no_new_privileges(probe):
    inspected = probe.inspect
    wanted = set("CAP_" + cap for cap in containers.ROOT_STEP_CAPABILITIES)
    assert set(inspected["EffectiveCaps"]) == wanted
    if inspected.get("BoundingCaps") is not None:
        assert set(inspected["BoundingCaps"]) == wanted
    # everything podman grants by default that is not needed is dropped explicitly
    assert {"CAP_NET_RAW", "CAP_MKNOD", "CAP_KILL", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE",
            "CAP_NET_BIND_SERVICE", "CAP_SETPCAP"} <= set(inspected["HostConfig"]["CapDrop"])
    assert not set(inspected["HostConfig"]["CapAdd"] or []) - wanted
    assert "no-new-privileges" in inspected["HostConfig"]["SecurityOpt"]
    assert inspected["HostConfig"]["Privileged"] is False
    # what rpmbuild itself ran with (its build log): the build user, no capabilities at all
    build_log = hub_file(probe.session, probe.task_id, "build.log")
    assert "uid=1000(kojibuilder)" in build_log
    assert "CapEff:\t0000000000000000" in build_log
    assert "NoNewPrivs:\t1" in build_log


def test_limits_from_the_worker_config(probe):
    host_config = probe.inspect["HostConfig"]
    assert host_config["PidsLimit"] == PIDS_LIMIT
    assert host_config["Memory"] == 256 * 1024 * 1024
    if host_config.get("NanoCpus"):
        assert host_config["NanoCpus"] == 10 ** 9
    else:
        assert host_config["CpuQuota"] == host_config["CpuPeriod"] > 0


def test_no_network_during_rpmbuild(probe):
    assert probe.inspect["HostConfig"]["NetworkMode"] == "none"
    assert not probe.inspect["NetworkSettings"].get("Networks")


def test_task_builddir_is_the_only_writable_mount_and_no_credentials(probe, env):
    binds = [m for m in probe.inspect["Mounts"] if m["Type"] == "bind"]
    writable = [m for m in binds if m["RW"]]
    assert [(m["Source"], m["Destination"]) for m in writable] == [
        (os.path.join(probe.dir, "builddir"), containers.BUILDDIR)]
    for mount in binds:
        source = mount["Source"].rstrip("/") + "/"
        # neither the config file (with the hub password here) nor the session files, nor a
        # directory holding them, is mounted
        for secret in (env.config, env.state_dir):
            assert not (secret + "/").startswith(source), (mount, secret)
        assert not source.startswith(env.state_dir + "/"), mount
    # and from inside: the config file and the session files are not there
    assert probe.inside["config"].returncode != 0
    assert "password" not in probe.inside["config"].stdout
    assert probe.inside["state_dir"].returncode != 0
    assert env.config not in probe.inside["mounts"].stdout


def test_resource_stats_uploaded_with_the_logs(probe):
    result = probe.session.getTaskResult(probe.task_id)
    prefix = koji.pathinfo.taskrelpath(probe.task_id) + "/"
    assert prefix + "resource_stats.json" in result["logs"]
    stats = resource_stats(probe.session, probe.task_id)
    assert stats["task_id"] == probe.task_id
    names = [record["step"] for record in stats["steps"]]
    assert names[0] == "buildroot setup" and names[-1] == "rpmbuild", names
    for record in stats["steps"]:
        assert record["wall_seconds"] > 0, record
        assert record["exit_code"] == 0 and record["timed_out"] is False, record
    rpmbuild = step(stats, "rpmbuild")
    # the probe waited ~at least for the inspection: wall time well above its CPU time
    assert rpmbuild["log"] == "build.log"
    # this machine: cgroup v1, readable from the host, so every counter is there
    assert rpmbuild["cgroup_version"] in (1, 2)
    assert isinstance(rpmbuild["cpu_seconds"], float) and rpmbuild["cpu_seconds"] >= 0
    assert rpmbuild["cpu_seconds"] < rpmbuild["wall_seconds"] * 2
    assert rpmbuild["peak_memory_bytes"] > 1024 * 1024
    assert rpmbuild["peak_memory_bytes"] <= 256 * 1024 * 1024
    assert rpmbuild["oom_killed"] is False
    # the image the container ran: in resource_stats.json and at the top of root.log
    image = stats["images"][0]
    image_id = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}",
                               image["name"]], check=True, stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip()
    assert image["id"] == image_id
    assert image["digest"].startswith("sha256:")
    root_log = hub_file(probe.session, probe.task_id, "root.log")
    assert "image: %s id %s digest %s" % (image["name"], image["id"], image["digest"]) \
        in root_log
    assert image["name"] == DEFAULT_BUILDROOT_IMAGE, image


def test_resource_stats_of_an_srpm_task_are_uploaded_too(hub, tasks):
    task_id = tasks["rebuildSRPM"]
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=300)
    session = hub.admin_session()
    assert info["state"] == CLOSED, task_fault(session, task_id)
    prefix = koji.pathinfo.taskrelpath(task_id) + "/"
    assert prefix + "resource_stats.json" in session.getTaskResult(task_id)["logs"]
    stats = resource_stats(session, task_id)
    assert step(stats, "rebuild srpm")["wall_seconds"] > 0
    assert [s["step"] for s in stats["steps"]][0] == "buildroot setup"


# -- builds that try to break out ----------------------------------------------------------

def test_build_cannot_reach_the_network(hub, env, tasks, listener, buildroot_image):
    task_id = tasks["hardening-network"]
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    session = hub.admin_session()
    build_log = hub_file(session, task_id, "build.log")
    # the build fails if any connection or lookup gets through
    assert info["state"] == CLOSED, (task_fault(session, task_id), build_log[-2000:])
    for target in env.net_targets:
        assert "network blocked: cannot connect to %s" % target in build_log
    assert "network blocked: cannot resolve %s" % EXTERNAL_NAME in build_log
    assert "NETWORK OPEN" not in build_log
    assert listener.accepted == 0
    # control: a container with a network does reach the listener, so the build's check
    # would have noticed an open network
    host, port = env.net_targets[1].rsplit(":", 1)
    subprocess.run(["podman", "run", "--rm", "--network", "bridge", buildroot_image,
                    "python3", "-c", "import socket; socket.create_connection((%r, %s), 5)"
                    % (host, port)], check=True, timeout=60)
    wait_for(lambda: listener.accepted > 0, 10, what="the control connection")


def escape_files(roots, token):
    found = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            found += [os.path.join(dirpath, f) for f in files if f == "escape-" + token]
    return found


def test_build_cannot_write_outside_its_directory(hub, env, tasks):
    task_id = tasks["write"]
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    session = hub.admin_session()
    build_log = hub_file(session, task_id, "build.log")
    # the build fails if it could write to /, /etc or the topdir
    assert info["state"] == CLOSED, (task_fault(session, task_id), build_log[-2000:])
    assert "uid=1000(kojibuilder)" in build_log
    for path in ["/", "/etc", env.write_targets[0], env.write_targets[1]]:
        assert "write denied: %s/escape-%s" % (path.rstrip("/"), env.token) in build_log
    # whatever the build could write inside its container, nothing reached the host
    for path in ["/", "/etc"] + env.write_targets:
        assert not os.path.exists(os.path.join(path, "escape-" + env.token)), path
    assert escape_files([env.base, hub.topdir, "/etc"], env.token) == []


def test_memory_hog_is_killed_and_reported_as_out_of_memory(hub, env, tasks):
    task_id = tasks["hardening-memory-hog"]
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    session = hub.admin_session()
    assert info["state"] == FAILED
    fault = task_fault(session, task_id)
    assert isinstance(fault, koji.BuildError), fault
    assert "error building package (arch x86_64)" in str(fault)
    assert "out of memory" in str(fault) and MEMORY in str(fault), str(fault)
    build_log = hub_file(session, task_id, "build.log")
    assert "allocating 1 GiB" in build_log
    # (rpm traces the script's commands: look for their output)
    assert "allocated 1073741824" not in build_log
    assert "\nMEMORY LIMIT NOT ENFORCED" not in build_log
    assert "*** out of memory" in build_log
    rpmbuild = step(resource_stats(session, task_id), "rpmbuild")
    assert rpmbuild["oom_killed"] is True and rpmbuild["exit_code"] != 0
    wait_container_removed(task_id)
    assert_worker_alive(env)


def test_rpmbuild_timeout_from_the_config_ends_a_sleeping_build(hub, env, tasks):
    task_id = tasks["slow"]
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=300)
    session = hub.admin_session()
    assert info["state"] == FAILED
    fault = task_fault(session, task_id)
    assert isinstance(fault, koji.BuildError), fault
    assert "killed after the %d s timeout" % RPMBUILD_TIMEOUT in str(fault), str(fault)
    assert "step killed after %d seconds (timeout)" % RPMBUILD_TIMEOUT in \
        hub_file(session, task_id, "build.log")
    rpmbuild = step(resource_stats(session, task_id), "rpmbuild")
    assert rpmbuild["timed_out"] is True
    assert RPMBUILD_TIMEOUT <= rpmbuild["wall_seconds"] < RPMBUILD_TIMEOUT + 30
    wait_container_removed(task_id)
    assert_worker_alive(env)


def test_fork_bomb_is_bounded_and_the_worker_goes_on(hub, env, tasks, srpms):
    task_id = tasks["hardening-fork-bomb"]
    watch = tasks["bomb_watch"]
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=300)
    watch.join(60)
    assert watch.error is None, watch.error
    # the bomb really ran into the limit, and never got past it
    counts = [count for count in watch.counts if count is not None]
    assert max(counts) <= PIDS_LIMIT, counts
    assert max(counts) >= PIDS_LIMIT - 8, counts
    # the host and the hub kept answering at once
    assert len(watch.latencies) == 3 and max(watch.latencies) < 10, watch.latencies
    # the rpmbuild timeout ended it
    assert info["state"] == FAILED
    fault = task_fault(hub.admin_session(), task_id)
    assert "killed after the %d s timeout" % RPMBUILD_TIMEOUT in str(fault), str(fault)
    rpmbuild = step(resource_stats(hub.admin_session(), task_id), "rpmbuild")
    assert rpmbuild["timed_out"] is True and rpmbuild["wall_seconds"] < RPMBUILD_TIMEOUT + 30
    wait_container_removed(task_id)
    assert_worker_alive(env)
    # the worker takes the next task and builds it
    next_id = build_arch_task(hub, srpms["hello"])
    info = hub.wait_task(next_id, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == CLOSED, task_fault(hub.admin_session(), next_id)

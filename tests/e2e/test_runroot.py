"""runroot (kojid's runroot builder plugin): the real `koji runroot` CLI against the dev hub,
the real worker running the command in a podman buildroot of the tag."""

import glob
import os
import subprocess
import sys
import uuid

import koji
import pytest

from e2e_support import HOST_NAME, WorkerProcess, task_fault, write_worker_config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_SPECS = os.path.join(os.path.dirname(HERE), "data", "repo-specs")
TIMEOUT = 300


@pytest.fixture(scope="module")
def runroot_env(tmp_path_factory, hub, buildroot_image):
    """A tag with dep-a in its repo, the runroot channel with the e2e host, a runroot.conf
    (rewritten by the tests: the worker reads it for each task) and a worker using it."""
    base = tmp_path_factory.mktemp("runroot")
    session = hub.admin_session()
    if session.getChannel("runroot") is None:
        session.addChannel("runroot")
    session.addHostToChannel(HOST_NAME, "runroot")
    rpms = base / "rpms"
    subprocess.run(["rpmbuild", "-ba", "--define", "_topdir %s" % rpms,
                    os.path.join(REPO_SPECS, "dep-a.spec")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tag = "e2e-rr-%s" % uuid.uuid4().hex[:6]
    hub.make_build_tag(tag, ["x86_64"])
    hub.import_rpms(glob.glob(str(rpms / "RPMS" / "*" / "dep-a-*.rpm")) +
                    glob.glob(str(rpms / "SRPMS" / "dep-a-*.src.rpm")), tag=tag)
    repo = hub.make_repo(tag)
    other = "e2e-rr-other-%s" % uuid.uuid4().hex[:6]
    other_repo = hub.make_build_tag(other, ["x86_64"])
    # what the mounts bind: a safe root with data, a default mount, and a place outside
    safe = base / "compose"
    (safe / "data").mkdir(parents=True)
    (safe / "data" / "input.txt").write_text("compose input\n")
    (base / "defaults").mkdir()
    (base / "defaults" / "tools.txt").write_text("default mount\n")
    (base / "outside").mkdir()
    conf = base / "runroot.conf"
    config = write_worker_config(base / "kojid.conf", hub, str(base / "work"),
                                 extra_adjutant={"runroot_config": str(conf)})
    koji_conf = base / "koji.conf"
    hub.write_koji_config(str(koji_conf))
    with open(str(koji_conf), "a") as handle:
        handle.write("poll_interval = 1\n")
    worker = WorkerProcess(config, str(base / "worker.log")).start()
    env = {"base": base, "tag": tag, "repo": repo, "other": other, "other_repo": other_repo,
           "safe": safe, "conf": conf, "koji_conf": koji_conf, "session": session}
    write_runroot_conf(env)
    yield env
    worker.stop()


def write_runroot_conf(env, adjutant=None):
    """kojid's runroot.conf format: the default mount /opt/tools, safe root /mnt/compose
    (bound from the test's directories), and our [adjutant] section."""
    base = env["base"]
    text = ("[runroot]\ninternal_dev_setup = False\n\n"
            "[paths]\ndefault_mounts = /opt/tools\nsafe_roots = /mnt/compose\n"
            "path_subs =\n  /mnt/compose/alias,/mnt/compose/data\n\n"
            "[path0]\nmountpoint = /mnt/compose\npath = %s\nfstype = bind\noptions = ro,bind\n\n"
            "[path1]\nmountpoint = /opt/tools\npath = %s\nfstype = bind\noptions = bind\n\n"
            % (env["safe"], base / "defaults"))
    if adjutant:
        text += "[adjutant]\n" + "".join("%s = %s\n" % item for item in adjutant.items())
    env["conf"].write_text(text)


def runroot(hub, env, *args):
    """`koji runroot ARGS` as the admin (waiting for the task, printing runroot.log)."""
    koji_bin = os.path.join(os.path.dirname(sys.executable), "koji")
    cmd = [koji_bin] + hub.koji_cli_args(str(env["koji_conf"])) + ["runroot"] + list(args)
    return subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=TIMEOUT)


def succeeded(out, env):
    """The CLI succeeded; when not, the message says why (the CLI prints no fault)."""
    if out.returncode == 0:
        return True
    task = last_task(env)
    fault = task_fault(env["session"], task["id"]) if task["state"] == koji.TASK_STATES[
        "FAILED"] else task["state"]
    raise AssertionError("koji runroot exited %d: %s\ntask %s: %s"
                         % (out.returncode, out.stdout, task["id"], fault))


def last_task(env):
    return env["session"].listTasks(opts={"method": "runroot"},
                                    queryOpts={"order": "-id", "limit": 1})[0]


def runroot_log(hub, task_id):
    path = os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(task_id), "runroot.log")
    with open(path) as handle:
        return handle.read()


def test_runroot_command_output_and_exit_status(hub, runroot_env):
    env = runroot_env
    out = runroot(hub, env, "--use-shell", env["tag"], "x86_64",
                  "echo hello from runroot; echo to stderr >&2; id -u; read x || echo no-stdin")
    assert succeeded(out, env)
    task = last_task(env)
    session = env["session"]
    assert task["state"] == koji.TASK_STATES["CLOSED"]
    assert session.getTaskResult(task["id"]) == "echo completed successfully"
    # runroot.log: the command's output only (stdout and stderr, as root, stdin closed), on
    # the hub and printed by the CLI
    log = runroot_log(hub, task["id"])
    assert log == "hello from runroot\nto stderr\n0\nno-stdin\n"
    assert log in out.stdout
    assert "runroot.log" in session.listTaskOutput(task["id"])
    # weight 2.0 (kojid's) and the buildroot of the tag's repo, expired at the end
    assert session.getTaskInfo(task["id"])["weight"] == 2.0
    [broot] = session.listBuildroots(taskID=task["id"])
    assert broot["repo_id"] == env["repo"]["id"]
    assert broot["state"] == koji.BR_STATES["EXPIRED"]

    # a failing command fails the task as kojid does, and the CLI exits 1
    out = runroot(hub, env, "--use-shell", "--weight", "3", env["tag"], "x86_64",
                  "FOO=1 /usr/bin/printf 'partial output\\n'; exit 3")
    assert out.returncode == 1, out.stdout
    task = last_task(env)
    assert task["state"] == koji.TASK_STATES["FAILED"]
    fault = task_fault(session, task["id"])
    assert isinstance(fault, koji.BuildrootError)
    assert str(fault).endswith("printf exited with status 3"), str(fault)
    assert runroot_log(hub, task["id"]) == "partial output\n"
    assert "partial output" in out.stdout
    # the request's weight, as kojid sets it
    assert session.getTaskInfo(task["id"])["weight"] == 3.0


def test_runroot_network_is_a_setting(hub, runroot_env):
    env = runroot_env
    probe = "ls /sys/class/net | tr '\\n' ' '"
    out = runroot(hub, env, "--use-shell", env["tag"], "x86_64", probe)
    assert succeeded(out, env)
    assert runroot_log(hub, last_task(env)["id"]).split() == ["lo"]
    write_runroot_conf(env, adjutant={"network": "true"})
    try:
        out = runroot(hub, env, "--use-shell", env["tag"], "x86_64", probe)
        assert succeeded(out, env)
        interfaces = runroot_log(hub, last_task(env)["id"]).split()
        assert "lo" in interfaces and len(interfaces) > 1, interfaces
    finally:
        write_runroot_conf(env)


def test_runroot_packages_from_the_koji_repo(hub, runroot_env):
    env = runroot_env
    session = env["session"]
    out = runroot(hub, env, "--use-shell", "-p", "dep-a", env["tag"], "x86_64",
                  "cat /usr/share/dep-a/dep-a.txt")
    assert succeeded(out, env)
    task = last_task(env)
    assert runroot_log(hub, task["id"]) == "dep-a data 3.0\n"
    [broot] = session.listBuildroots(taskID=task["id"])
    names = [rpm["name"] for rpm in session.listRPMs(componentBuildrootID=broot["id"])]
    assert "dep-a" in names

    # an unknown package fails the task naming the installation
    out = runroot(hub, env, "--use-shell", "-p", "no-such-package", env["tag"], "x86_64",
                  "true")
    assert out.returncode == 1, out.stdout
    fault = task_fault(session, last_task(env)["id"])
    assert isinstance(fault, koji.BuildrootError)
    assert "--install no-such-package exited with status 1" in str(fault)
    assert "see root.log" in str(fault)


def test_runroot_mounts(hub, runroot_env):
    env = runroot_env
    session = env["session"]
    # the default mount is there (read-only: its options do not say rw), a requested mount
    # under the safe root too (read-only by default), path_subs applied
    out = runroot(hub, env, "--use-shell", "-m", "/mnt/compose/alias", env["tag"], "x86_64",
                  "cat /opt/tools/tools.txt /mnt/compose/data/input.txt;"
                  " touch /mnt/compose/data/new 2>/dev/null && echo writable || echo read-only;"
                  " touch /opt/tools/new 2>/dev/null && echo writable || echo read-only")
    assert succeeded(out, env)
    assert runroot_log(hub, last_task(env)["id"]) == (
        "default mount\ncompose input\nread-only\nread-only\n")
    assert not (env["safe"] / "data" / "new").exists()

    # writable_mounts: requested mounts are read-write, as kojid makes them
    write_runroot_conf(env, adjutant={"writable_mounts": "yes"})
    try:
        out = runroot(hub, env, "--use-shell", "-m", "/mnt/compose/data", env["tag"],
                      "x86_64", "echo out > /mnt/compose/data/new && echo written")
        assert succeeded(out, env)
        assert (env["safe"] / "data" / "new").read_text() == "out\n"
    finally:
        write_runroot_conf(env)

    # a mount outside the safe roots is refused, naming it
    out = runroot(hub, env, "--use-shell", "-m", "/etc", env["tag"], "x86_64", "true")
    assert out.returncode == 1
    fault = task_fault(session, last_task(env)["id"])
    assert "mount point is not safe: /etc" in str(fault) and "/mnt/compose" in str(fault)
    out = runroot(hub, env, "--use-shell", "-m", "/mnt/compose/../../etc", env["tag"],
                  "x86_64", "true")
    assert out.returncode == 1
    assert "mount point is not safe: /etc" in str(task_fault(session, last_task(env)["id"]))
    # a missing source directory
    out = runroot(hub, env, "--use-shell", "-m", "/mnt/compose/nothere", env["tag"], "x86_64",
                  "true")
    assert out.returncode == 1
    assert "No such directory or mount: %s" % (env["safe"] / "nothere") in str(
        task_fault(session, last_task(env)["id"]))
    # an nfs mount cannot be mapped
    env["conf"].write_text("[paths]\nsafe_roots = /mnt/nfs\n\n[path0]\nmountpoint = /mnt/nfs\n"
                           "path = nfs.example.com:/vol\nfstype = nfs\noptions = ro,hard\n")
    try:
        out = runroot(hub, env, "--use-shell", "-m", "/mnt/nfs/x", env["tag"], "x86_64",
                      "true")
    finally:
        write_runroot_conf(env)
    assert out.returncode == 1
    fault = str(task_fault(session, last_task(env)["id"]))
    assert "fstype nfs cannot be mapped to a container mount" in fault, fault


def test_runroot_failures_name_the_problem(hub, runroot_env):
    env = runroot_env
    session = env["session"]
    # the repo of another tag
    out = runroot(hub, env, "--use-shell", "--repo-id", str(env["other_repo"]["id"]),
                  env["tag"], "x86_64", "true")
    assert out.returncode == 1
    fault = task_fault(session, last_task(env)["id"])
    assert isinstance(fault, koji.BuildError)
    assert str(fault) == "build tag (%s) does not match repo tag (%s)" % (
        env["tag"], env["other"])
    # a runroot.conf that is not valid
    env["conf"].write_text("[paths]\nsafe_roots = relative/path\n")
    try:
        out = runroot(hub, env, "--use-shell", env["tag"], "x86_64", "true")
    finally:
        write_runroot_conf(env)
    assert out.returncode == 1
    fault = str(task_fault(session, last_task(env)["id"]))
    assert "%s: [paths] safe_roots: 'relative/path' is not an absolute path" % env["conf"] \
        in fault, fault


def test_runroot_waits_for_a_repo(hub, runroot_env):
    """A tag without a repo: the task waits with a waitrepo subtask (kojid's [tag, None,
    None]) for the repo the hub's repo queue has made."""
    env = runroot_env
    session = env["session"]
    tag = "e2e-rr-norepo-%s" % uuid.uuid4().hex[:6]
    session.createTag(tag, arches="x86_64")
    hub.add_group(tag, "build", ("bash", "coreutils"))
    out = runroot(hub, env, "--use-shell", tag, "x86_64", "echo after the wait")
    assert succeeded(out, env)
    task = last_task(env)
    [child] = session.getTaskChildren(task["id"], request=True)
    assert child["method"] == "waitrepo" and child["request"] == [tag, None, None]
    assert child["state"] == koji.TASK_STATES["CLOSED"]
    [broot] = session.listBuildroots(taskID=task["id"])
    assert broot["repo_id"] == session.getTaskResult(child["id"])["id"]
    assert runroot_log(hub, task["id"]) == "after the wait\n"


def test_a_mount_at_the_topdir_replaces_the_repo_mount(hub, runroot_env):
    """The worker binds a local topdir at its own path for the repo; a runroot.conf mount at
    that path (kojid's usual /mnt/koji default mount) takes its place."""
    env = runroot_env
    koji_dir = env["base"] / "koji-mount"
    koji_dir.mkdir(exist_ok=True)
    (koji_dir / "marker").write_text("from runroot.conf\n")
    env["conf"].write_text("[paths]\ndefault_mounts = {top}\n\n[path0]\nmountpoint = {top}\n"
                           "path = {src}\nfstype = bind\noptions = ro,bind\n"
                           .format(top=hub.topdir, src=koji_dir))
    try:
        out = runroot(hub, env, "--use-shell", env["tag"], "x86_64",
                      "cat %s/marker" % hub.topdir)
    finally:
        write_runroot_conf(env)
    assert succeeded(out, env)
    assert runroot_log(hub, last_task(env)["id"]) == "from runroot.conf\n"

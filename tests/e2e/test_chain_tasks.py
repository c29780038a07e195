"""Chain builds, dependantTask and shutdown (issue 23): the real koji CLI (or an admin's
makeTask) against the dev hub, the real worker, podman and rpmbuild."""

import glob
import os
import re
import subprocess
import uuid

import koji
import pytest

from e2e_support import (HOST_NAME, GitServer, WorkerProcess, koji_cli, task_fault, wait_for,
                         write_worker_config)

HERE = os.path.dirname(os.path.abspath(__file__))
CHAIN_SPECS = os.path.join(os.path.dirname(HERE), "data", "chain-specs")
CHAIN_TIMEOUT = 900
CLOSED = koji.TASK_STATES["CLOSED"]
FAILED = koji.TASK_STATES["FAILED"]
FREE = koji.TASK_STATES["FREE"]


@pytest.fixture
def worker(tmp_path, hub, buildroot_image):
    """A worker with room for a chain's parents, builds and repo tasks at once."""
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_kojid={"maxjobs": "8", "sleeptime": "2"})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def chain_target(hub):
    """A target whose destination is its build tag (koji chain-build needs the destination
    to be the build tag or one of its parents); %dist .ct1."""
    suffix = uuid.uuid4().hex[:6]
    tag, name = "e2e-chain-%s" % suffix, "e2e-chain-t-%s" % suffix
    session = hub.admin_session()
    hub.make_build_tag(tag, ["x86_64"])
    session.editTag2(tag, extra={"rpm.macro.dist": ".ct1"})
    hub.make_repo(tag)
    session.createBuildTarget(name, tag, tag)
    for package in ("chain-base", "chain-top", "chain-broken"):
        session.packageListAdd(tag, package, "kojiadmin")
    return {"name": name, "tag": tag}


@pytest.fixture(scope="module")
def chain_git(tmp_path_factory):
    with GitServer(str(tmp_path_factory.mktemp("chain-git"))) as server:
        for name in ("chain-base", "chain-top", "chain-broken"):
            spec = open(os.path.join(CHAIN_SPECS, name + ".spec")).read()
            server.add_repo(name, {name + ".spec": spec})
        yield server


def chain_build(hub, tmp_path, target, *links):
    """`koji chain-build --nowait TARGET LINK : LINK ...`; returns the task id."""
    args = []
    for link in links:
        if args:
            args.append(":")
        args.extend(link)
    out = koji_cli(hub, tmp_path, "chain-build", "--nowait", target, *args)
    assert out.returncode == 0, out.stdout
    match = re.search(r"Created task: (\d+)", out.stdout)
    assert match, out.stdout
    return int(match.group(1))


def children(session, task_id):
    return dict((child["label"], child) for child in session.getTaskChildren(task_id))


def test_chain_build_builds_each_level_in_the_repo_of_the_previous_one(tmp_path, hub, worker,
                                                                       chain_target, chain_git):
    session = hub.admin_session()
    base_url = "%s/chain-base.git#main" % chain_git.url
    top_url = "%s/chain-top.git#main" % chain_git.url
    task_id = chain_build(hub, tmp_path, chain_target["name"], [base_url], [top_url])
    info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=CHAIN_TIMEOUT)
    assert info["state"] == CLOSED, task_fault(session, task_id)
    assert session.getTaskResult(task_id) is None

    kids = children(session, task_id)
    assert sorted(kids) == ["build 0,0", "build 1,0", "wait 1"]
    assert [kids[label]["method"] for label in ("build 0,0", "wait 1", "build 1,0")] == \
        ["build", "waitrepo", "build"]
    assert all(kid["state"] == CLOSED for kid in kids.values())
    # in order: the waitrepo after the first build, the second build after the waitrepo
    assert kids["build 0,0"]["completion_ts"] <= kids["wait 1"]["start_ts"]
    assert kids["wait 1"]["completion_ts"] <= kids["build 1,0"]["start_ts"]
    wait_request = session.getTaskRequest(kids["wait 1"]["id"])
    assert wait_request == [chain_target["tag"], None, ["chain-base-1.0-1.ct1"]]
    assert session.getTaskRequest(kids["build 1,0"]["id"]) == [top_url, chain_target["name"], {}]

    base = session.getBuild("chain-base-1.0-1.ct1", strict=True)
    top = session.getBuild("chain-top-1.0-1.ct1", strict=True)
    assert base["state"] == top["state"] == koji.BUILD_STATES["COMPLETE"]
    assert base["task_id"] == kids["build 0,0"]["id"]
    assert top["task_id"] == kids["build 1,0"]["id"]
    tagged = sorted(b["nvr"] for b in session.listTagged(chain_target["tag"]))
    assert tagged == ["chain-base-1.0-1.ct1", "chain-top-1.0-1.ct1"]
    # the second link was built against the first link's build, from the koji repo
    top_rpm = os.path.join(hub.topdir, "packages", "chain-top", "1.0", "1.ct1", "noarch",
                           "chain-top-1.0-1.ct1.noarch.rpm")
    content = subprocess.run(["rpm2cpio", top_rpm], check=True, stdout=subprocess.PIPE).stdout
    assert b"base 1.0-1.ct1" in content
    repo = session.getTaskResult(kids["wait 1"]["id"])
    assert repo["tag_name"] == chain_target["tag"]
    assert repo["create_event"] >= session.listTagged(chain_target["tag"],
                                                      package="chain-base")[0]["create_event"]


def test_a_failed_link_fails_the_chain_and_builds_nothing_after_it(tmp_path, hub, worker,
                                                                   chain_target, chain_git):
    session = hub.admin_session()
    broken_url = "%s/chain-broken.git#main" % chain_git.url
    top_url = "%s/chain-top.git#main" % chain_git.url
    task_id = chain_build(hub, tmp_path, chain_target["name"], [broken_url], [top_url])
    info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=CHAIN_TIMEOUT)
    assert info["state"] == FAILED
    kids = children(session, task_id)
    assert sorted(kids) == ["build 0,0"]
    assert kids["build 0,0"]["state"] == FAILED
    # the chain fails with the failed link's fault
    fault = task_fault(session, task_id)
    assert str(fault) == str(task_fault(session, kids["build 0,0"]["id"]))
    assert isinstance(fault, koji.BuildError)
    assert "error building package (arch noarch)" in str(fault)
    assert session.getBuild("chain-broken-1.0-1.ct1")["state"] == koji.BUILD_STATES["FAILED"]


def test_chain_build_refusals_name_the_problem(tmp_path, hub, worker, chain_target, chain_git):
    session = hub.admin_session()
    url = "%s/chain-base.git#main" % chain_git.url
    scratch = session.chainBuild([[url], ["chain-base-1.0-1.ct1"]], chain_target["name"],
                                 {"scratch": True})
    unknown = session.chainBuild([[url], ["chain-base-1.0-1.ct1"]], "no-such-target")
    no_levels = hub.make_task("chainbuild", [[["x-1-1"], []], chain_target["name"], {}])
    for task_id in (scratch, unknown, no_levels):
        assert hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)["state"] == FAILED
        assert session.getTaskChildren(task_id) == []
    assert isinstance(task_fault(session, scratch), koji.BuildError)
    assert str(task_fault(session, scratch)) == "--scratch is not allowed with chain-builds"
    assert str(task_fault(session, unknown)) == "unknown build target: no-such-target"
    assert isinstance(task_fault(session, no_levels), koji.ParameterError)
    assert "level 1 must be a non-empty list" in str(task_fault(session, no_levels))


@pytest.fixture(scope="module")
def move_builds(tmp_path_factory, hub):
    """move-me 1 and 2 built locally and imported into a tag, oldest first; a second tag
    listing the package."""
    out = tmp_path_factory.mktemp("move")
    suffix = uuid.uuid4().hex[:6]
    tag1, tag2 = "e2e-move-from-%s" % suffix, "e2e-move-to-%s" % suffix
    session = hub.admin_session()
    session.createTag(tag1, arches="x86_64")
    session.createTag(tag2, arches="x86_64")
    builds = []
    for version in ("1", "2"):
        subprocess.run(["rpmbuild", "-ba", "--define", "_topdir %s" % out, "--define",
                        "movever %s" % version, os.path.join(CHAIN_SPECS, "move-me.spec")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        paths = (glob.glob(str(out / "SRPMS" / ("move-me-%s-1.src.rpm" % version)))
                 + glob.glob(str(out / "RPMS" / "noarch" / ("move-me-%s-1.noarch.rpm" % version))))
        builds.extend(hub.import_rpms(paths, tag=tag1))
    session.packageListAdd(tag2, "move-me", "kojiadmin")
    return {"from": tag1, "to": tag2, "builds": builds}


def dependant_tasks_after(session, last_id):
    return sorted(t["id"] for t in session.listTasks(opts={"method": "dependantTask"})
                  if t["id"] > last_id)


def test_move_build_all_moves_the_builds_in_order(tmp_path, hub, worker, move_builds):
    session = hub.admin_session()
    last = max([t["id"] for t in session.listTasks()] or [0])
    out = koji_cli(hub, tmp_path, "move-build", "--all", "--nowait", move_builds["from"],
                   move_builds["to"], "move-me")
    assert out.returncode == 0, out.stdout
    tasks = dependant_tasks_after(session, last)
    assert len(tasks) == 2
    for task_id in tasks:
        info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=300)
        assert info["state"] == CLOSED, task_fault(session, task_id)
        assert session.getTaskResult(task_id) is None
    first, second = [session.getTaskChildren(task_id) for task_id in tasks]
    assert [c["method"] for c in first] == [c["method"] for c in second] == ["tagBuild"]
    assert first[0]["state"] == second[0]["state"] == CLOSED
    assert first[0]["priority"] == second[0]["priority"] == 15
    # the second move started only once the first had finished
    assert session.getTaskInfo(tasks[0])["completion_ts"] <= second[0]["create_ts"]
    ids = [b["id"] for b in move_builds["builds"]]
    assert [session.getTaskRequest(c[0]["id"])[1] for c in (first, second)] == ids
    assert sorted(b["nvr"] for b in session.listTagged(move_builds["to"])) == \
        ["move-me-1-1", "move-me-2-1"]
    assert session.listTagged(move_builds["from"]) == []


def test_dependant_task_fails_when_a_dependency_failed(hub, worker):
    session = hub.admin_session()
    failed = hub.make_task("sleep", [-1])
    assert hub.wait_task(failed, ["FAILED", "CLOSED"], timeout=120)["state"] == FAILED
    dependant = hub.make_task("dependantTask", [[failed], [["sleep", [0]]]])
    assert hub.wait_task(dependant, ["FAILED", "CLOSED"], timeout=120)["state"] == FAILED
    fault = task_fault(session, dependant)
    assert isinstance(fault, koji.GenericError)
    assert str(fault) == "Dependency %d failed to complete." % failed
    assert session.getTaskChildren(dependant) == []


def test_dependant_task_fails_with_its_failed_subtask_and_refuses_bad_requests(hub, worker):
    session = hub.admin_session()
    # an unknown task id in the wait list is dropped, as koji does
    failing_child = hub.make_task("dependantTask", [[10 ** 8, "x"], [["sleep", [-5]]]])
    bad = hub.make_task("dependantTask", [[], [["sleep"]]])
    for task_id in (failing_child, bad):
        assert hub.wait_task(task_id, ["FAILED", "CLOSED"], timeout=120)["state"] == FAILED
    [child] = session.getTaskChildren(failing_child)
    assert child["method"] == "sleep" and child["state"] == FAILED
    assert str(task_fault(session, failing_child)) == str(task_fault(session, child["id"]))
    assert "must not be negative" in str(task_fault(session, failing_child))
    assert isinstance(task_fault(session, bad), koji.ParameterError)
    assert "entry 0 must be [method, arglist]" in str(task_fault(session, bad))


def test_shutdown_task_stops_the_worker_and_frees_the_task(hub, worker):
    session = hub.admin_session()
    host = session.getHost(HOST_NAME)
    wait_for(lambda: session.getHost(HOST_NAME)["ready"], 60, what="the worker checking in")
    task_id = hub.make_task("shutdown", [], assign=host["id"])
    try:
        wait_for(lambda: worker.proc.poll() is not None, 120, what="the worker to exit")
        assert worker.proc.returncode == 0
        info = session.getTaskInfo(task_id)
        # kojid frees the shutdown task: never closed, no host any more
        assert info["state"] == FREE and info["host_id"] is None
        assert info["weight"] == 0.0
        assert session.getHost(HOST_NAME)["ready"] is False
        log = worker.log()
        assert "task %d (shutdown) asks the worker to stop" % task_id in log
        assert "ended without closing or failing" not in log
    finally:
        session.cancelTask(task_id)

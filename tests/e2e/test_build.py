"""The whole `koji build` (issue 4): the real koji CLI submits, the worker runs the build
parent and all its children, the dev hub imports and tags the build."""

import os
import re
import subprocess
import uuid

import koji
import pytest

from e2e_support import (HOST_NAME, HOST_PASSWORD, GitServer, WorkerProcess, koji_cli, task_fault,
                         wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_SPECS = os.path.join(os.path.dirname(HERE), "data", "build-specs")
REPO_SPECS = os.path.join(os.path.dirname(HERE), "data", "repo-specs")
BUILD_TIMEOUT = 400


@pytest.fixture(scope="module")
def target(hub):
    """A build target: build tag (x86_64, %dist .bt1) -> destination tag listing e2e-hello."""
    suffix = uuid.uuid4().hex[:6]
    build_tag, dest_tag, name = "e2e-bt-%s" % suffix, "e2e-dest-%s" % suffix, "e2e-t-%s" % suffix
    session = hub.admin_session()
    hub.make_build_tag(build_tag, ["x86_64"])
    session.editTag2(build_tag, extra={"rpm.macro.dist": ".bt1"})
    hub.make_repo(build_tag)
    session.createTag(dest_tag, arches="x86_64")
    session.createBuildTarget(name, build_tag, dest_tag)
    for package in ("e2e-hello", "scm-vendor", "scm-two", "dist-test", "arch-fail"):
        session.packageListAdd(dest_tag, package, "kojiadmin")
    return {"name": name, "build_tag": build_tag, "dest_tag": dest_tag}


@pytest.fixture(scope="module")
def git_repos(tmp_path_factory):
    hello = open(os.path.join(BUILD_SPECS, "e2e-hello.spec")).read()
    dist = open(os.path.join(REPO_SPECS, "dist-test.spec")).read()
    with GitServer(str(tmp_path_factory.mktemp("git"))) as server:
        server.add_repo("e2e-hello", {"e2e-hello.spec": hello})
        server.add_repo("e2e-hello-2", {"e2e-hello.spec": hello.replace(
            "Release:        1%{?dist}", "Release:        2%{?dist}")})
        server.add_repo("unlisted", {"unlisted.spec": dist.replace("dist-test", "unlisted")})
        server.add_repo("scm-vendor", {"scm-vendor.spec": dist.replace(
            "dist-test", "scm-vendor").replace("License:        MIT",
                                               "License:        MIT\nVendor:         Someone")})
        server.add_repo("scm-two", {"a.spec": dist, "b.spec": dist})
        yield server


def submit(hub, tmp_path, *args):
    """`koji build --nowait ARGS`; returns the parent task id."""
    out = koji_cli(hub, tmp_path, "build", "--nowait", *args)
    assert out.returncode == 0, out.stdout
    match = re.search(r"Created task: (\d+)", out.stdout)
    assert match, out.stdout
    return int(match.group(1))


def wait_build_task(hub, task_id):
    return hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=BUILD_TIMEOUT)


def children_by_label(session, task_id):
    return dict((child["label"], child) for child in session.getTaskChildren(task_id))


def test_koji_build_from_git(tmp_path, hub, worker, target, git_repos):
    session = hub.admin_session()
    sha = git_repos.shas["e2e-hello"]
    url = "%s/e2e-hello.git#main" % git_repos.url
    task_id = submit(hub, tmp_path, target["name"], url)
    info = wait_build_task(hub, task_id)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
    assert session.getTaskResult(task_id) is None

    children = children_by_label(session, task_id)
    assert sorted(children) == ["srpm", "tag", "x86_64"]
    assert children["srpm"]["method"] == "buildSRPMFromSCM"
    assert children["x86_64"]["method"] == "buildArch"
    assert children["tag"]["method"] == "tagBuild" and children["tag"]["arch"] == "noarch"
    assert all(child["state"] == koji.TASK_STATES["CLOSED"] for child in children.values())

    build = session.getBuild("e2e-hello-1.0-1.bt1", strict=True)
    assert build["state"] == koji.BUILD_STATES["COMPLETE"]
    assert build["task_id"] == task_id
    assert build["source"] == "%s/e2e-hello.git#%s" % (git_repos.url, sha)
    assert build["extra"]["source"]["original_url"] == url
    rpms = sorted("%(name)s.%(arch)s" % r for r in session.listRPMs(buildID=build["id"]))
    assert rpms == ["e2e-hello-doc.noarch", "e2e-hello.src", "e2e-hello.x86_64"]
    tagged = session.listTagged(target["dest_tag"], package="e2e-hello")
    assert [b["nvr"] for b in tagged] == ["e2e-hello-1.0-1.bt1"]

    # files and per-arch logs on the hub, where koji keeps them
    build_dir = os.path.join(hub.topdir, "packages", "e2e-hello", "1.0", "1.bt1")
    assert os.path.isfile(os.path.join(build_dir, "x86_64", "e2e-hello-1.0-1.bt1.x86_64.rpm"))
    assert os.path.isfile(os.path.join(build_dir, "noarch", "e2e-hello-doc-1.0-1.bt1.noarch.rpm"))
    assert os.path.isfile(os.path.join(build_dir, "src", "e2e-hello-1.0-1.bt1.src.rpm"))
    logs = session.getBuildLogs(build["id"])
    by_dir = set((log["dir"], log["name"]) for log in logs)
    assert ("x86_64", "build.log") in by_dir and ("x86_64", "root.log") in by_dir
    # every rpm's buildroot is the x86_64 child's (brmap)
    arch_result = session.getTaskResult(children["x86_64"]["id"])
    for rpm_info in session.listRPMs(buildID=build["id"]):
        assert rpm_info["buildroot_id"] == arch_result["brootid"]

    # the same N-V-R again: koji's error, the build untouched
    again = submit(hub, tmp_path, target["name"], url)
    assert wait_build_task(hub, again)["state"] == koji.TASK_STATES["FAILED"]
    fault = task_fault(session, again)
    assert isinstance(fault, koji.GenericError)
    assert "Build already exists" in str(fault) and "state=COMPLETE" in str(fault)
    assert session.getBuild(build["id"])["state"] == koji.BUILD_STATES["COMPLETE"]
    assert "x86_64" not in children_by_label(session, again)


@pytest.fixture(scope="module")
def local_srpm(tmp_path_factory):
    out = tmp_path_factory.mktemp("srpm")
    subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % out,
                    os.path.join(REPO_SPECS, "dist-test.spec")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return str(out / "SRPMS" / "dist-test-1.0-1.src.rpm")


def test_koji_build_from_srpm_and_scratch(tmp_path, hub, worker, target, local_srpm):
    session = hub.admin_session()
    regular = submit(hub, tmp_path, target["name"], local_srpm)
    scratch = submit(hub, tmp_path, "--scratch", target["name"], local_srpm)
    for task_id in (regular, scratch):
        assert wait_build_task(hub, task_id)["state"] == koji.TASK_STATES["CLOSED"], \
            task_fault(session, task_id)

    # the uploaded SRPM is rebuilt with the tag's macros; noarch package: one noarch child
    children = children_by_label(session, regular)
    assert children["srpm"]["method"] == "rebuildSRPM"
    assert sorted(children) == ["noarch", "srpm", "tag"]
    build = session.getBuild("dist-test-1.0-1.bt1", strict=True)
    assert build["state"] == koji.BUILD_STATES["COMPLETE"] and build["task_id"] == regular
    assert build["source"] == "dist-test-1.0-1.src.rpm"
    assert [b["nvr"] for b in session.listTagged(target["dest_tag"], package="dist-test")] == \
        ["dist-test-1.0-1.bt1"]

    # scratch: files under scratch/, no build, nothing tagged, no tag child
    scratch_children = children_by_label(session, scratch)
    assert sorted(scratch_children) == ["noarch", "srpm"]
    assert session.listBuilds(taskID=scratch) == []
    scratch_dir = os.path.join(hub.topdir, "scratch", "kojiadmin", "task_%d" % scratch)
    names = sorted(os.listdir(scratch_dir))
    assert "dist-test-1.0-1.bt1.noarch.rpm" in names
    assert "dist-test-1.0-1.bt1.src.rpm" in names


@pytest.mark.parametrize("repo, fault_class, text", [
    ("unlisted.git#main", koji.BuildError, "package unlisted not in list for tag"),
    ("scm-vendor.git#main", koji.BuildError, "Vendor is not allowed to be set in spec file"),
    ("scm-two.git#main", koji.BuildError, "Multiple spec files found: a.spec, b.spec"),
    ("e2e-hello.git#0123456789abcdef0123456789abcdef01234567", koji.GenericError,
     "Error running GIT command"),
])
def test_koji_build_failures_are_clear(tmp_path, hub, worker, target, git_repos, repo,
                                       fault_class, text):
    session = hub.admin_session()
    task_id = submit(hub, tmp_path, target["name"], "%s/%s" % (git_repos.url, repo))
    assert wait_build_task(hub, task_id)["state"] == koji.TASK_STATES["FAILED"]
    fault = task_fault(session, task_id)
    assert isinstance(fault, fault_class), fault
    assert text in str(fault)
    # nothing half-made: no buildArch child, no BUILDING build left behind
    children = children_by_label(session, task_id)
    assert "x86_64" not in children and "noarch" not in children
    assert all(b["state"] != koji.BUILD_STATES["BUILDING"]
               for b in session.listBuilds(taskID=task_id))


def test_koji_build_from_a_disallowed_scm_host_checks_out_nothing(tmp_path, hub, worker, target,
                                                                  git_repos):
    session = hub.admin_session()
    url = "git://localhost:%d/e2e-hello.git#main" % git_repos.port
    task_id = submit(hub, tmp_path, target["name"], url)
    assert wait_build_task(hub, task_id)["state"] == koji.TASK_STATES["FAILED"]
    fault = task_fault(session, task_id)
    assert isinstance(fault, koji.BuildError)
    assert "is not in the list of allowed SCMs" in str(fault)
    srpm_child = children_by_label(session, task_id)["srpm"]
    assert "checkout.log" not in session.listTaskOutput(srpm_child["id"])
    assert session.listBuilds(taskID=task_id) == []


@pytest.fixture
def two_arch_target(hub):
    """A target whose build tag has x86_64 and i686; the host builds both (i686 tasks get
    the canonical arch i386), with room for two buildArch tasks at once (restored
    afterwards)."""
    suffix = uuid.uuid4().hex[:6]
    build_tag, dest_tag, name = "e2e-bt2-%s" % suffix, "e2e-dest2-%s" % suffix, "e2e-t2-%s" % suffix
    session = hub.admin_session()
    hub.make_build_tag(build_tag, ["x86_64", "i686"])
    session.createTag(dest_tag, arches="x86_64 i686")
    session.createBuildTarget(name, build_tag, dest_tag)
    session.packageListAdd(dest_tag, "arch-fail", "kojiadmin")
    host = session.getHost(HOST_NAME)
    hub.add_host(HOST_NAME, ["x86_64", "i386", "i686"], HOST_PASSWORD, channels=("default", "createrepo"),
                 capacity=4.0)
    yield name
    session.editHost(HOST_NAME, arches=host["arches"], capacity=host["capacity"])


def test_build_failing_on_one_arch_cancels_the_other(tmp_path, hub, worker, two_arch_target):
    session = hub.admin_session()
    out = tmp_path / "srpm"
    subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % out,
                    os.path.join(BUILD_SPECS, "arch-fail.spec")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    task_id = submit(hub, tmp_path, two_arch_target, str(out / "SRPMS" / "arch-fail-1.0-1.src.rpm"))
    assert wait_build_task(hub, task_id)["state"] == koji.TASK_STATES["FAILED"]
    children = children_by_label(session, task_id)
    assert children["i686"]["state"] == koji.TASK_STATES["FAILED"]
    assert children["x86_64"]["state"] == koji.TASK_STATES["CANCELED"]
    assert "tag" not in children
    fault = task_fault(session, task_id)
    assert isinstance(fault, koji.BuildError), fault
    assert "see build.log" in str(fault)
    assert children["i686"]["arch"] == "i386"
    assert "build.log" in session.listTaskOutput(children["i686"]["id"])
    build = session.getBuild("arch-fail-1.0-1", strict=True)
    assert build["state"] == koji.BUILD_STATES["FAILED"] and build["task_id"] == task_id


def test_a_freed_build_task_reattaches_to_its_children(tmp_path, hub, worker, worker_config,
                                                       target, git_repos):
    """SIGTERM frees the parent while its buildArch child runs; the next worker reruns the
    parent, which finds its srpm and buildArch children again instead of making new ones,
    and the same build is completed."""
    session = hub.admin_session()
    task_id = submit(hub, tmp_path, target["name"], "%s/e2e-hello-2.git#main" % git_repos.url)
    wait_for(lambda: "x86_64" in children_by_label(session, task_id), BUILD_TIMEOUT,
             interval=0.5, what="the buildArch child")
    before = dict((label, child["id"]) for label, child in
                  children_by_label(session, task_id).items())
    build_id = session.listBuilds(taskID=task_id)[0]["build_id"]
    assert worker.stop() == 0
    assert hub.task_info(task_id)["state"] == koji.TASK_STATES["FREE"]

    again = WorkerProcess(worker_config, str(tmp_path / "worker-2.log")).start()
    try:
        info = wait_build_task(hub, task_id)
    finally:
        again.stop()
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
    children = session.getTaskChildren(task_id)
    labels = sorted(child["label"] for child in children)
    assert labels == ["srpm", "tag", "x86_64"]
    assert dict((c["label"], c["id"]) for c in children if c["label"] != "tag") == before
    build = session.getBuild("e2e-hello-1.0-2.bt1", strict=True)
    assert build["id"] == build_id and build["state"] == koji.BUILD_STATES["COMPLETE"]

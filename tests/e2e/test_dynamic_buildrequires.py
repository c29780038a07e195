"""Dynamic BuildRequires (issue 23): a spec with %generate_buildrequires builds as mock builds
it - rounds of rpmbuild -br, each followed by a dnf install from the koji repo - with the real
`koji` CLI, real podman and rpmbuild; the packages the rounds installed are in the buildroot's
list on the hub."""

import glob
import os
import re
import subprocess
import uuid

import koji
import pytest

from e2e_support import (HOST_NAME, HOST_PASSWORD, WorkerProcess, host_address, koji_cli,
                         task_fault, write_worker_config)

from koji_adjutant_devhub.testing import DevHub

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(os.path.dirname(HERE), "data", "dynbr-specs")
TIMEOUT = 400


def rpmbuild(out, mode, spec):
    subprocess.run(["rpmbuild", mode, "--define", "_topdir %s" % out, os.path.join(SPECS, spec)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def set_up_dynbr(hub, out):
    """On ``hub``: a build target whose build tag has dynbr-dep-a and dynbr-dep-b (only in its
    koji repo), and the SRPMs of the specs with %generate_buildrequires uploaded."""
    for spec in ("dynbr-dep-a.spec", "dynbr-dep-b.spec"):
        rpmbuild(out, "-ba", spec)
    for spec in ("dynbr-hello.spec", "dynbr-missing.spec"):
        rpmbuild(out, "-bs", spec)
    suffix = uuid.uuid4().hex[:6]
    build_tag, dest_tag, name = "dyn-bt-%s" % suffix, "dyn-dest-%s" % suffix, "dyn-t-%s" % suffix
    session = hub.admin_session()
    hub.make_build_tag(build_tag, ["x86_64"])
    session.editTag2(build_tag, extra={"rpm.macro.dist": ".dyn1"})
    hub.import_rpms(glob.glob(str(out / "RPMS" / "*" / "dynbr-dep-*.rpm")) +
                    glob.glob(str(out / "SRPMS" / "dynbr-dep-*.src.rpm")), tag=build_tag)
    repo = hub.make_repo(build_tag)
    session.createTag(dest_tag, arches="x86_64")
    session.createBuildTarget(name, build_tag, dest_tag)
    for package in ("dynbr-hello", "dynbr-missing"):
        session.packageListAdd(dest_tag, package, "kojiadmin")
    srpms = {}
    for package in ("dynbr-hello", "dynbr-missing"):
        path = glob.glob(str(out / "SRPMS" / ("%s-1.0-1*.src.rpm" % package)))[0]
        upload_dir = "cli-build/%s" % uuid.uuid4().hex[:12]
        session.uploadWrapper(path, upload_dir)
        srpms[package] = {"file": path, "work": "%s/%s" % (upload_dir, os.path.basename(path))}
    return {"target": name, "build_tag": build_tag, "dest_tag": dest_tag, "repo": repo,
            "srpms": srpms}


@pytest.fixture(scope="module")
def dyn(tmp_path_factory, hub):
    return set_up_dynbr(hub, tmp_path_factory.mktemp("dynbr"))


def build_arch(hub, dyn, package):
    return hub.make_task("buildArch", [dyn["srpms"][package]["work"], dyn["build_tag"], "noarch",
                                       True, {"repo_id": dyn["repo"]["id"]}], arch="noarch")


def task_log(hub, task_id, name):
    with open(os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(task_id), name)) as f:
        return f.read()


def test_koji_build_installs_what_generate_buildrequires_asks_for(tmp_path, hub, worker, dyn):
    session = hub.admin_session()
    out = koji_cli(hub, tmp_path, "build", "--nowait", dyn["target"],
                   dyn["srpms"]["dynbr-hello"]["file"])
    assert out.returncode == 0, out.stdout
    task_id = int(re.search(r"Created task: (\d+)", out.stdout).group(1))
    info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=TIMEOUT)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
    build = session.getBuild("dynbr-hello-1.0-1.dyn1", strict=True)
    assert build["state"] == koji.BUILD_STATES["COMPLETE"]

    children = dict((c["label"], c) for c in session.getTaskChildren(task_id))
    # the SRPM task rebuilds the SRPM as mock's rpmbuild -bs does: no rounds, the SRPM keeps
    # rpmlib(DynamicBuildRequires) for the build
    assert children["srpm"]["method"] == "rebuildSRPM"
    assert "Executing(%generate_buildrequires)" not in task_log(hub, children["srpm"]["id"],
                                                                "build.log")
    arch_task = children["noarch"]["id"]
    build_log = task_log(hub, arch_task, "build.log")
    assert "generate build dependencies (round 1)" in build_log
    assert "generate build dependencies (round 3)" in build_log
    assert "round 3: every build dependency is installed" in build_log
    root_log = task_log(hub, arch_task, "root.log")
    assert "generated build dependencies (round 1)" in root_log
    assert "generated build dependencies (round 2)" in root_log

    # the buildroot list on the hub names both packages the rounds installed, as
    # `koji list-buildroot` shows it
    brootid = session.getTaskResult(arch_task)["brootid"]
    names = sorted(r["name"] for r in session.listRPMs(componentBuildrootID=brootid))
    assert "dynbr-dep-a" in names and "dynbr-dep-b" in names
    listing = koji_cli(hub, tmp_path, "list-buildroot", str(brootid))
    assert listing.returncode == 0, listing.stdout
    assert "dynbr-dep-a-1.0-1.noarch" in listing.stdout
    assert "dynbr-dep-b-1.0-1.noarch" in listing.stdout
    # the built SRPM (rpmbuild -ba --noprep after the rounds) carries the generated requires
    srpm = os.path.join(hub.topdir, "packages", "dynbr-hello", "1.0", "1.dyn1", "src",
                        "dynbr-hello-1.0-1.dyn1.src.rpm")
    requires = subprocess.run(["rpm", "-qp", "--requires", srpm], check=True,
                              stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert "rpmlib(DynamicBuildRequires)" in requires


def test_a_generated_requirement_no_repo_has_fails_naming_it(hub, worker, dyn):
    session = hub.admin_session()
    task_id = build_arch(hub, dyn, "dynbr-missing")
    hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=TIMEOUT)
    fault = task_fault(session, task_id)
    assert isinstance(fault, koji.BuildrootError), fault
    assert "%generate_buildrequires asked for in round 1 (dynbr-no-such-package)" in str(fault)
    assert "No match for argument: dynbr-no-such-package" in task_log(hub, task_id, "root.log")
    # expired, as every failed task's buildroot
    broots = session.listBuildroots(taskID=task_id)
    assert [b["state"] for b in broots] == [koji.BR_STATES["EXPIRED"]]


def test_the_round_limit_fails_the_task_naming_it(tmp_path, hub, dyn, buildroot_image):
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_adjutant={"dynamic_buildrequires_max_loops": "1"})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    try:
        task_id = build_arch(hub, dyn, "dynbr-hello")
        hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=TIMEOUT)
    finally:
        proc.stop()
    fault = task_fault(hub.admin_session(), task_id)
    assert isinstance(fault, koji.BuildError), fault
    assert "still asks for build dependencies after 1 rounds" in str(fault)
    assert "dynamic_buildrequires_max_loops" in str(fault)
    build_log = task_log(hub, task_id, "build.log")
    assert "build dependencies still missing after 1 rounds" in build_log


def test_rounds_reach_the_repo_over_topurl_and_build_offline(tmp_path, buildroot_image):
    """A worker without the topdir reads the koji repo over topurl: each round's rpmbuild -br
    runs with the container off the network, each install with it connected again, and the
    build itself offline. (The hub listens on this host's address: a container does not reach
    the host's loopback.)"""
    with DevHub(topdir=str(tmp_path / "koji"), host=host_address()) as hub:
        hub.add_host(HOST_NAME, ["x86_64"], HOST_PASSWORD)
        setup = set_up_dynbr(hub, tmp_path / "rpms")
        config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                     extra_kojid={"topdir": str(tmp_path / "no-topdir")})
        proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
        try:
            task_id = build_arch(hub, setup, "dynbr-hello")
            info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=TIMEOUT)
        finally:
            proc.stop()
        session = hub.admin_session()
        assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
        names = sorted(r["name"] for r in session.listRPMs(
            componentBuildrootID=session.getTaskResult(task_id)["brootid"]))
        assert "dynbr-dep-a" in names and "dynbr-dep-b" in names
        root_log = task_log(hub, task_id, "root.log")
    # the rounds' installs read the repo over topurl
    assert "generated build dependencies (round 2)" in root_log
    # the task playbook's record of its steps: taken off the network before each of the three
    # rounds, connected again before each of the two installs (the build then finds it
    # offline already)
    with open(str(tmp_path / "work" / "log" / "tasks" / ("%d.log" % task_id))) as handle:
        playbook_log = handle.read()

    def changed(step):
        return re.findall(r"TASK \[%s[^\n]*\n[^\n]*\nchanged: " % re.escape(step), playbook_log)
    offline = changed("Take the buildroot off the network")
    online = changed("Connect the buildroot to the koji repo again")
    assert (len(offline), len(online)) == (3, 2), playbook_log[-3000:]


def test_a_round_that_asks_again_for_what_it_installed_stops_the_loop(tmp_path, buildroot_image):
    """rpmbuild.sh's guard, in the buildroot image: a round that finds missing what the round
    before listed (and installed) exits 65 and says so, instead of installing it again."""
    script = os.path.join(os.path.dirname(HERE), "..", "playbooks", "files", "rpmbuild.sh")
    out = tmp_path / "srpm"
    rpmbuild(out, "-bs", "dynbr-missing.spec")
    srpm = glob.glob(str(out / "SRPMS" / "*.src.rpm"))[0]
    work = tmp_path / "builddir"
    work.mkdir()
    subprocess.run(["cp", srpm, script, str(work)], check=True)
    # the list the round before wrote: what rpmbuild -br still finds missing
    (work / "missing").write_text("dynbr-no-such-package\n")
    run = subprocess.run(
        ["podman", "run", "--rm", "--network", "none", "-v", "%s:/builddir:z" % work,
         buildroot_image, "/bin/sh", "/builddir/rpmbuild.sh", "buildrequires",
         "/builddir/" + os.path.basename(srpm), "noarch", "2", "10", "/builddir/missing"],
        check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert run.returncode == 65, run.stdout
    assert "round 2 asks for nothing new" in run.stdout
    assert "dynbr-no-such-package" in run.stdout

"""The SRPM tasks of a `koji build` (issue 4): rebuildSRPM and buildSRPMFromSCM."""

import os
import subprocess
import uuid

import koji
import pytest

from e2e_support import GitServer, task_fault

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_SPECS = os.path.join(os.path.dirname(HERE), "data", "repo-specs")


@pytest.fixture(scope="module")
def dist_tag(hub):
    """A build tag whose macros set %dist."""
    tag = "e2e-dist-%s" % uuid.uuid4().hex[:6]
    hub.make_build_tag(tag, ["x86_64"])
    hub.admin_session().editTag2(tag, extra={"rpm.macro.dist": ".e2e1"})
    return tag, hub.make_repo(tag)


@pytest.fixture(scope="module")
def dist_srpm(tmp_path_factory, hub):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % out,
                    os.path.join(REPO_SPECS, "dist-test.spec")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = str(out / "SRPMS" / "dist-test-1.0-1.src.rpm")
    target = "cli-build/%s" % uuid.uuid4().hex[:12]
    hub.admin_session().uploadWrapper(path, target)
    return "%s/%s" % (target, os.path.basename(path))


def test_rebuild_srpm_applies_the_tag_macros(hub, worker, dist_tag, dist_srpm):
    tag, repo = dist_tag
    session = hub.admin_session()
    task_id = hub.make_task("rebuildSRPM", [dist_srpm, tag, {"repo_id": repo["id"]}],
                            arch="noarch")
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
    result = session.getTaskResult(task_id)
    prefix = koji.pathinfo.taskrelpath(task_id) + "/"
    assert sorted(result) == ["brootid", "logs", "source", "srpm"]
    assert result["srpm"] == prefix + "dist-test-1.0-1.e2e1.src.rpm"
    assert result["source"] == {"source": "dist-test-1.0-1.src.rpm",
                                "url": "dist-test-1.0-1.src.rpm"}
    assert prefix + "build.log" in result["logs"]
    fields = subprocess.run(["rpm", "-qp", "--qf", "%{RELEASE}|%{VENDOR}|%{PACKAGER}",
                             os.path.join(hub.topdir, "work", result["srpm"])],
                            check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert fields == "1.e2e1|Koji|Koji"
    broot = session.getBuildroot(result["brootid"])
    assert broot["state"] == koji.BR_STATES["EXPIRED"] and broot["task_id"] == task_id
    root_log = open(os.path.join(hub.topdir, "work", prefix, "root.log")).read()
    assert ": install group srpm-build (" in root_log


def test_rebuild_srpm_without_repo_or_of_a_missing_file_fails_clearly(hub, worker, dist_tag,
                                                                      dist_srpm):
    tag, repo = dist_tag
    session = hub.admin_session()
    no_repo = hub.make_task("rebuildSRPM", [dist_srpm, tag, {}], arch="noarch")
    missing = hub.make_task("rebuildSRPM", ["cli-build/none/x-1-1.src.rpm", tag,
                                            {"repo_id": repo["id"]}], arch="noarch")
    for task_id in (no_repo, missing):
        hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
    assert "a repo id must be provided" in str(task_fault(session, no_repo))
    assert "SRPM file missing" in str(task_fault(session, missing))


@pytest.fixture(scope="module")
def git_server(tmp_path_factory):
    """`git daemon` on loopback serving a few package repos."""
    spec = open(os.path.join(REPO_SPECS, "dist-test.spec")).read()
    with GitServer(str(tmp_path_factory.mktemp("git"))) as server:
        server.add_repo("scm-pkg", {"scm-pkg.spec": spec.replace("dist-test", "scm-pkg")})
        server.add_repo("vendor", {"vendor.spec": spec.replace(
            "License:        MIT", "License:        MIT\nVendor:         Someone")})
        server.add_repo("two-specs", {"a.spec": spec, "b.spec": spec})
        yield {"url": server.url, "shas": server.shas, "port": server.port}


def scm_task(hub, tag, repo, url):
    return hub.make_task("buildSRPMFromSCM", [url, tag, {"repo_id": repo["id"]}], arch="noarch")


def test_build_srpm_from_git(hub, worker, dist_tag, git_server):
    tag, repo = dist_tag
    session = hub.admin_session()
    url = "%s/scm-pkg.git#main" % git_server["url"]
    task_id = scm_task(hub, tag, repo, url)
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
    result = session.getTaskResult(task_id)
    prefix = koji.pathinfo.taskrelpath(task_id) + "/"
    assert result["srpm"] == prefix + "scm-pkg-1.0-1.e2e1.src.rpm"
    assert result["source"] == {"url": url, "source": "%s/scm-pkg.git#%s" % (
        git_server["url"], git_server["shas"]["scm-pkg"])}
    # checkout.log is on the hub but, as with kojid, not among the result's logs
    assert "checkout.log" in session.listTaskOutput(task_id)
    assert prefix + "checkout.log" not in result["logs"]
    assert prefix + "build.log" in result["logs"]


@pytest.mark.parametrize("path, fault_class, text", [
    ("vendor.git#main", koji.BuildError, "Vendor is not allowed to be set in spec file"),
    ("two-specs.git#main", koji.BuildError, "Multiple spec files found: a.spec, b.spec"),
    ("scm-pkg.git", koji.GenericError, "Could not find the fragment element"),
])
def test_build_srpm_from_git_refuses_bad_sources(hub, worker, dist_tag, git_server, path,
                                                 fault_class, text):
    tag, repo = dist_tag
    task_id = scm_task(hub, tag, repo, "%s/%s" % (git_server["url"], path))
    hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    fault = task_fault(hub.admin_session(), task_id)
    assert isinstance(fault, fault_class), fault
    assert text in str(fault)


def test_scm_host_not_allowed_fails_before_any_checkout(hub, worker, dist_tag, git_server):
    tag, repo = dist_tag
    session = hub.admin_session()
    url = "git://localhost:%d/scm-pkg.git#main" % git_server["port"]
    task_id = scm_task(hub, tag, repo, url)
    hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    fault = task_fault(session, task_id)
    assert isinstance(fault, koji.BuildError)
    assert "localhost:%d:/scm-pkg.git is not in the list of allowed SCMs" % git_server["port"] \
        in str(fault)
    assert "checkout.log" not in session.listTaskOutput(task_id)


def test_tag_build_task(tmp_path, hub, worker):
    """tagBuild: tags a listed package's build; an unlisted package fails with TagError."""
    session = hub.admin_session()
    out = tmp_path / "rpms"
    subprocess.run(["rpmbuild", "-ba", "--define", "_topdir %s" % out,
                    os.path.join(REPO_SPECS, "dep-a.spec")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    paths = [str(p) for p in out.glob("RPMS/noarch/*.rpm")] + \
        [str(p) for p in out.glob("SRPMS/*.src.rpm")]
    build = hub.import_rpms(paths)[0]
    listed = "e2e-dest-%s" % uuid.uuid4().hex[:6]
    unlisted = "e2e-other-%s" % uuid.uuid4().hex[:6]
    for tag in (listed, unlisted):
        session.createTag(tag, arches="x86_64")
    session.packageListAdd(listed, "dep-a", "kojiadmin")
    ok_task = hub.make_task("tagBuild", [session.getTag(listed)["id"], build["id"], False, None,
                                         True], arch="noarch")
    bad_task = hub.make_task("tagBuild", [session.getTag(unlisted)["id"], build["id"], False,
                                          None, True], arch="noarch")
    assert hub.wait_task(ok_task, ["CLOSED", "FAILED"], timeout=120)["state"] == \
        koji.TASK_STATES["CLOSED"], task_fault(session, ok_task)
    assert [b["id"] for b in session.listTagged(listed)] == [build["id"]]
    hub.wait_task(bad_task, ["CLOSED", "FAILED"], timeout=120)
    fault = task_fault(session, bad_task)
    assert isinstance(fault, koji.TagError), fault
    assert session.listTagged(unlisted) == []

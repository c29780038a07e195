"""The SRPM tasks of a `koji build` (issue 4): rebuildSRPM."""

import os
import subprocess
import uuid

import koji
import pytest

from e2e_support import task_fault

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
    assert "install @srpm-build" in root_log


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

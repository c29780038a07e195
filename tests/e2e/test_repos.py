"""Repositories and buildroots filled from them (issue 3), end to end.

newRepo/createrepo run as tasks of the real worker (the `koji regen-repo` CLI makes
them); buildArch buildroots install their BuildRequires with dnf from the koji repo.
"""

import glob
import gzip
import os
import re
import subprocess
import uuid

import koji
import pytest

from e2e_support import koji_cli, task_fault

from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot_cache

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_SPECS = os.path.join(os.path.dirname(HERE), "data", "repo-specs")
IMAGE = "localhost/koji-adjutant-buildroot:bookworm"


def regen_repo(hub, tmp_path, tag):
    """`koji regen-repo --make-task --nowait TAG`, then wait for its newRepo task.

    (Without --make-task, koji 1.35+ files a request for a *current* repo, which an
    existing repo satisfies when the tag has not changed.)  Returns (task id, repo).
    """
    out = koji_cli(hub, tmp_path, "regen-repo", "--make-task", "--nowait", tag)
    assert out.returncode == 0, out.stdout
    match = re.search(r"Created task: (\d+)", out.stdout)
    assert match, out.stdout
    task_id = int(match.group(1))
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(hub.admin_session(), task_id)
    repo_id, event_id = hub.admin_session().getTaskResult(task_id)
    repo = hub.admin_session().repoInfo(repo_id, strict=True)
    assert repo["create_event"] == event_id
    return task_id, repo


def repodata_dir(hub, repo, arch="x86_64"):
    return os.path.join(hub.topdir, "repos", repo["tag_name"], str(repo["id"]), arch, "repodata")


def dnf_names(repo_dir):
    """Package names dnf reads from a repo dir (in a container of the buildroot image)."""
    out = subprocess.run(
        ["podman", "run", "--rm", "--network", "none", "-v", "%s:/repo:ro" % repo_dir, IMAGE,
         "dnf", "-q", "--repofrompath=koji,file:///repo", "--repo=koji",
         "--releasever=koji", "repoquery", "--qf", "%{name}"],
        check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return sorted(set(out.split()))


@pytest.fixture(scope="module")
def dep_rpms(tmp_path_factory):
    """dep-a built locally (binary and source), and dep-b's SRPM."""
    out = tmp_path_factory.mktemp("deps")
    for spec in ("dep-a.spec", "dep-b.spec"):
        subprocess.run(["rpmbuild", "-ba" if spec == "dep-a.spec" else "-bs",
                        "--define", "_topdir %s" % out, os.path.join(REPO_SPECS, spec)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"a": glob.glob(str(out / "RPMS" / "*" / "dep-a-*.rpm")) +
            glob.glob(str(out / "SRPMS" / "dep-a-*.src.rpm")),
            "b_srpm": glob.glob(str(out / "SRPMS" / "dep-b-*.src.rpm"))[0]}


def upload(hub, path):
    target = "cli-build/%s" % uuid.uuid4().hex[:12]
    hub.admin_session().uploadWrapper(path, target)
    return "%s/%s" % (target, os.path.basename(path))


def test_regen_repo_of_an_empty_tag_gives_empty_repo(tmp_path, hub, worker):
    tag = "e2e-empty-%s" % uuid.uuid4().hex[:6]
    out = koji_cli(hub, tmp_path, "add-tag", tag, "--arches", "x86_64")
    assert out.returncode == 0, out.stdout
    task_id, repo = regen_repo(hub, tmp_path, tag)
    assert repo["state"] == koji.REPO_STATES["READY"]
    children = hub.admin_session().getTaskChildren(task_id)
    assert [(c["method"], c["label"], c["arch"]) for c in children] == \
        [("createrepo", "x86_64", "noarch")]
    uploadpath, files = hub.admin_session().getTaskResult(children[0]["id"])
    assert uploadpath == koji.pathinfo.taskrelpath(children[0]["id"])
    assert "EMPTY_REPO" in files and "repomd.xml" in files
    assert os.path.exists(os.path.join(repodata_dir(hub, repo), "EMPTY_REPO"))
    assert dnf_names(os.path.dirname(repodata_dir(hub, repo))) == []


def test_build_requires_come_from_the_koji_repo(tmp_path, hub, worker, dep_rpms):
    session = hub.admin_session()
    tag = "e2e-deps-%s" % uuid.uuid4().hex[:6]
    repo = hub.make_build_tag(tag, ["x86_64"])
    srpm_b = upload(hub, dep_rpms["b_srpm"])

    # before dep-a is in the tag: the buildroot cannot be filled, and dnf says why
    failed = hub.make_task("buildArch", [srpm_b, tag, "x86_64", True, {"repo_id": repo["id"]}],
                           arch="x86_64")
    hub.wait_task(failed, ["CLOSED", "FAILED"], timeout=240)
    fault = task_fault(session, failed)
    assert isinstance(fault, koji.BuildrootError), fault
    assert "could not install the build dependencies" in str(fault)
    root_log = open(os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(failed),
                                 "root.log")).read()
    assert "No match for argument: dep-a >= 3.0" in root_log

    # tag dep-a, regenerate the repo with a newRepo task: now dep-b builds
    builds = hub.import_rpms(dep_rpms["a"], tag=tag)
    _task, repo2 = regen_repo(hub, tmp_path, tag)
    assert "dep-a" in dnf_names(os.path.dirname(repodata_dir(hub, repo2)))
    task_id = hub.make_task("buildArch", [srpm_b, tag, "x86_64", True, {"repo_id": repo2["id"]}],
                            arch="x86_64")
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
    result = session.getTaskResult(task_id)
    assert [os.path.basename(p) for p in result["rpms"]] == ["dep-b-1.0-1.x86_64.rpm"]
    # the hub's buildroot list names dep-a with its koji rpm id
    listing = session.getBuildrootListing(result["brootid"])
    dep_a_rpm = session.getRPM("dep-a-3.0-2.noarch")
    assert dep_a_rpm and dep_a_rpm["build_id"] == builds[0]["id"]
    assert [(r["name"], r["rpm_id"]) for r in listing] == [("dep-a", dep_a_rpm["id"])]


def test_second_regen_updates_from_the_previous_repo(tmp_path, hub, worker, dep_rpms):
    tag = "e2e-update-%s" % uuid.uuid4().hex[:6]
    hub.make_build_tag(tag, ["x86_64"])
    hub.import_rpms(dep_rpms["a"], tag=tag)
    first_task, first = regen_repo(hub, tmp_path, tag)
    second_task, second = regen_repo(hub, tmp_path, tag)
    assert second["id"] > first["id"]
    assert hub.admin_session().getRepo(tag)["id"] == second["id"]
    child = hub.admin_session().getTaskChildren(second_task)[0]
    log = open(os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(child["id"]),
                            "createrepo.log")).read()
    assert "--update" in log and "--skip-stat" in log
    # the repodata lists the tagged package, reachable through the repo's toplink
    primary = glob.glob(os.path.join(repodata_dir(hub, second), "*primary.xml.gz"))[0]
    with gzip.open(primary, "rt") as handle:
        text = handle.read()
    assert 'href="toplink/packages/dep-a/3.0/2/noarch/dep-a-3.0-2.noarch.rpm"' in text


def test_regen_repo_request_is_fulfilled_by_the_worker(tmp_path, hub, worker, dep_rpms):
    """koji 1.35+: `regen-repo` files a repo request; the hub queues a newRepo task."""
    tag = "e2e-request-%s" % uuid.uuid4().hex[:6]
    hub.make_build_tag(tag, ["x86_64"])
    hub.import_rpms(dep_rpms["a"], tag=tag)   # the tag changed: its repo is no longer current
    out = koji_cli(hub, tmp_path, "regen-repo", "--wait", tag)
    assert out.returncode == 0, out.stdout
    match = re.search(r"Got repo (\d+)", out.stdout)
    assert match, out.stdout
    repo = hub.admin_session().repoInfo(int(match.group(1)), strict=True)
    assert repo["state"] == koji.REPO_STATES["READY"]
    task = hub.admin_session().getTaskInfo(repo["task_id"])
    assert task["method"] == "newRepo" and task["state"] == koji.TASK_STATES["CLOSED"]
    assert "dep-a" in dnf_names(os.path.dirname(repodata_dir(hub, repo)))


def test_waitrepo_task_waits_for_a_repo_with_the_build(tmp_path, hub, worker, dep_rpms):
    session = hub.admin_session()
    tag = "e2e-wait-%s" % uuid.uuid4().hex[:6]
    hub.make_build_tag(tag, ["x86_64"])
    hub.import_rpms(dep_rpms["a"], tag=tag)
    task_id = hub.make_task("waitrepo", [tag, None, ["dep-a-3.0-2"]], arch="noarch")
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
    repo = session.getTaskResult(task_id)
    assert repo["tag_name"] == tag and repo["state"] == koji.REPO_STATES["READY"]
    # the repo holds the build: it was made after the build was tagged
    tagged = session.listTagged(tag, package="dep-a")[0]
    assert repo["create_event"] >= tagged["create_event"]


def test_second_build_of_a_repo_uses_the_cached_buildroot(tmp_path, hub, worker, dep_rpms,
                                                          srpms):
    session = hub.admin_session()
    tag = "e2e-cache-%s" % uuid.uuid4().hex[:6]
    hub.make_tag_with_repo(tag, ["x86_64"])
    hub.import_rpms(dep_rpms["a"], tag=tag)
    # the build group holds a package from the koji repo, so the cached layer has content
    hub.add_group(tag, "build", ("bash", "gcc", "make", "dep-a"))
    repo = hub.make_repo(tag)
    logs, listings = [], []
    for attempt in range(2):
        task_id = hub.make_task("buildArch", [srpms["hello"], tag, "x86_64", True,
                                              {"repo_id": repo["id"]}], arch="x86_64")
        info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
        assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task_id)
        logs.append(open(os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(task_id),
                                      "root.log")).read())
        brootid = session.getTaskResult(task_id)["brootid"]
        listings.append(sorted((r["name"], r["rpm_id"])
                               for r in session.getBuildrootListing(brootid)))
    # the step that installs the group, its header in root.log: "=== <time>: install group build"
    assert "fresh buildroot" in logs[0] and ": install group build (" in logs[0]
    assert "cached buildroot image localhost/koji-adjutant-buildroot-cache:" in logs[1]
    assert ": install group build (" not in logs[1]
    # both buildroots report the group's koji packages to the hub, the same way
    assert listings[0] == listings[1] and ("dep-a", session.getRPM("dep-a-3.0-2.noarch")["id"]) \
        in listings[0]
    # the cached image's rpmdb equals a fresh buildroot's after the group install
    cache_image = re.search(r"cached buildroot image (\S+)", logs[1]).group(1)
    query = ["rpm", "-qa", "--qf", "%{NEVRA} %{SIGMD5}\n"]
    cached = subprocess.run(["podman", "run", "--rm", "--network", "none", cache_image] + query,
                            check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    repo_dir = os.path.join(hub.topdir, "repos", tag, str(repo["id"]), "x86_64")
    fresh = subprocess.run(
        ["podman", "run", "--rm", "--network", "none", "-v", "%s:%s:ro" % (hub.topdir, hub.topdir),
         IMAGE, "sh", "-c",
         "printf '[k]\\nname=k\\nbaseurl=file://%s\\ngpgcheck=0\\n' > /etc/yum.repos.d/k.repo && "
         "dnf -q -y --releasever=koji --setopt=install_weak_deps=0 install @build >/dev/null && "
         "rpm -qa --qf '%%{NEVRA} %%{SIGMD5}\\n'" % repo_dir],
        check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert sorted(cached.split("\n")) == sorted(fresh.split("\n"))
    # a newer repo of the tag makes the cached image stale: pruning removes it
    hub.make_repo(tag)
    removed = buildroot_cache.prune(session, hub.url)
    assert cache_image in removed
    assert subprocess.run(["podman", "image", "exists", cache_image], check=False).returncode == 1

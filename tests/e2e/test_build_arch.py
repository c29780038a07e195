"""buildArch end to end: dev hub → worker daemon → playbook → podman → hub."""

import json
import subprocess
import urllib.request

import koji

from e2e_support import build_arch_task, task_fault, wait_container_removed, wait_for

CLOSED = koji.TASK_STATES["CLOSED"]
FAILED = koji.TASK_STATES["FAILED"]


def fetch(hub, relpath):
    with urllib.request.urlopen("%s/work/%s" % (hub.topurl, relpath)) as response:
        return response.read()


def test_c_package_closes_with_kojid_result(hub, srpms, worker):
    task_id = build_arch_task(hub, srpms["hello"])
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    session = hub.admin_session()
    assert info["state"] == CLOSED, session.getTaskResult(task_id)
    result = session.getTaskResult(task_id)
    assert sorted(result) == ["brootid", "logs", "rpms", "srpms"]
    prefix = koji.pathinfo.taskrelpath(task_id) + "/"
    assert sorted(result["rpms"]) == [prefix + "hello-1.0-1.x86_64.rpm",
                                      prefix + "hello-doc-1.0-1.noarch.rpm"]
    assert result["srpms"] == [prefix + "hello-1.0-1.src.rpm"]
    assert prefix + "build.log" in result["logs"]
    assert prefix + "root.log" in result["logs"]
    assert prefix + "noarch_rpmdiff.json" in result["logs"]
    # every listed file is on the hub and downloadable over topurl
    for path in result["rpms"] + result["srpms"] + result["logs"]:
        assert fetch(hub, path), path
    build_log = fetch(hub, prefix + "build.log").decode()
    assert "gcc -O2 -o hello hello.c" in build_log
    # the x86_64 rpm really holds a compiled binary
    rpm_path = "%s/work/%s" % (hub.topdir, prefix + "hello-1.0-1.x86_64.rpm")
    files = subprocess.run(["rpm", "-qpl", rpm_path], check=True, stdout=subprocess.PIPE,
                           universal_newlines=True).stdout.split()
    assert "/usr/bin/hello" in files
    # the kept SRPM carries what kojid's sanity check needs
    fields = subprocess.run(["rpm", "-qp", "--qf", "%{PACKAGER}|%{VENDOR}|%{DISTRIBUTION}",
                             "%s/work/%s" % (hub.topdir, result["srpms"][0])],
                            check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert fields == "Koji|Koji|Koji"
    # the buildroot record ends EXPIRED, for this task, repo and arch
    broot = session.getBuildroot(result["brootid"])
    assert broot["state"] == koji.BR_STATES["EXPIRED"]
    assert broot["task_id"] == task_id
    assert broot["repo_id"] == hub.repo["id"]
    assert broot["arch"] == "x86_64"
    # only packages installed from the koji repo are listed (the image's own are not koji's,
    # and a real hub refuses rpms it does not know); this repo is empty, so none
    assert session.getBuildrootListing(result["brootid"]) == []
    root_log = fetch(hub, prefix + "root.log").decode()
    # the image the policy chose (no policy here: the default) and the one podman started,
    # which is a cached buildroot of this repo when an earlier task left one
    assert ("container image localhost/koji-adjutant-buildroot:bookworm (tag e2e-build has no "
            "adjutant_image_policy; using task_image_default)") in root_log
    assert ("image: localhost/koji-adjutant-buildroot:bookworm id " in root_log
            or "image: localhost/koji-adjutant-buildroot-cache:" in root_log), root_log
    # the container is gone
    wait_container_removed(task_id)


def test_noarch_package_has_rpmdiff_and_no_srpm_when_not_kept(hub, srpms, worker):
    task_id = build_arch_task(hub, srpms["noarch-data"], arch="noarch", keep_srpm=False)
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    session = hub.admin_session()
    assert info["state"] == CLOSED, session.getTaskResult(task_id)
    result = session.getTaskResult(task_id)
    prefix = koji.pathinfo.taskrelpath(task_id) + "/"
    assert result["rpms"] == [prefix + "noarch-data-2.1-3.noarch.rpm"]
    assert result["srpms"] == []
    diff = json.loads(fetch(hub, prefix + "noarch_rpmdiff.json"))
    assert list(diff) == [str(task_id)]
    digest = diff[str(task_id)]["noarch-data-2.1-3.noarch.rpm"]
    assert len(digest) == 64 and int(digest, 16) >= 0
    # noarch is built in a real arch's buildroot
    assert session.getBuildroot(result["brootid"])["arch"] == "x86_64"


def test_failing_build_fails_with_build_error_and_log(hub, srpms, worker):
    task_id = build_arch_task(hub, srpms["fails-in-build"])
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=240)
    assert info["state"] == FAILED
    session = hub.admin_session()
    fault = task_fault(session, task_id)
    assert isinstance(fault, koji.BuildError), fault
    assert "error building package (arch x86_64)" in str(fault)
    assert "see build.log" in str(fault)
    outputs = session.listTaskOutput(task_id)
    assert "build.log" in outputs
    log = fetch(hub, koji.pathinfo.taskrelpath(task_id) + "/build.log").decode()
    assert "deliberate failure in %build" in log
    # the buildroot is expired on failure too
    broots = session.listBuildroots(taskID=task_id)
    assert broots and all(b["state"] == koji.BR_STATES["EXPIRED"] for b in broots)


def test_missing_srpm_fails_clearly(hub, worker):
    task_id = build_arch_task(hub, "cli-build/nowhere/missing-1-1.src.rpm")
    hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
    fault = task_fault(hub.admin_session(), task_id)
    assert isinstance(fault, koji.BuildError)
    assert "SRPM file missing" in str(fault) and "missing-1-1.src.rpm" in str(fault)


def test_path_escaping_work_is_refused(hub, worker):
    task_id = build_arch_task(hub, "../../etc/passwd")
    hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
    fault = task_fault(hub.admin_session(), task_id)
    assert "'..' is not allowed" in str(fault)


def test_binary_rpm_as_srpm_is_refused(hub, srpms, worker):
    first = build_arch_task(hub, srpms["noarch-data"], arch="noarch", keep_srpm=False)
    hub.wait_task(first, ["CLOSED", "FAILED"], timeout=240)
    rpm_path = hub.admin_session().getTaskResult(first)["rpms"][0]
    task_id = build_arch_task(hub, rpm_path)
    hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
    fault = task_fault(hub.admin_session(), task_id)
    assert isinstance(fault, koji.BuildError)
    assert "is not a source package" in str(fault)


def test_bad_params_fail_with_parameter_error(hub, srpms, worker):
    session = hub.admin_session()
    wrong_type = build_arch_task(hub, srpms["hello"], keep_srpm="yes please")
    too_few = hub.make_task("buildArch", [srpms["hello"], "e2e-build"], arch="x86_64")
    for task_id in (wrong_type, too_few):
        hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
        fault = task_fault(session, task_id)
        assert isinstance(fault, koji.ParameterError), (task_id, fault)
    assert "keep_srpm" in str(task_fault(session, wrong_type))


def test_missing_repo_id_is_a_build_error(hub, srpms, worker):
    task_id = build_arch_task(hub, srpms["hello"], opts={})
    hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
    fault = task_fault(hub.admin_session(), task_id)
    assert isinstance(fault, koji.BuildError)
    assert "a repo id must be provided" in str(fault)


def test_sleep_and_default_tasks(hub, worker):
    session = hub.admin_session()
    sleep_id = hub.make_task("sleep", [1])
    default_id = hub.make_task("default", [])
    assert hub.wait_task(sleep_id, ["CLOSED", "FAILED"], timeout=120)["state"] == CLOSED
    assert session.getTaskResult(sleep_id) is None
    hub.wait_task(default_id, ["CLOSED", "FAILED"], timeout=120)
    assert "Invalid method" in str(task_fault(session, default_id))


def test_unknown_method_is_refused(hub, worker):
    task_id = hub.make_task("noSuchMethod", [1], arch="noarch")
    wait_for(lambda: "refused task %d" % task_id in worker.log(), 30,
             what="the worker to refuse the task")
    info = hub.task_info(task_id)
    assert info["state"] != koji.TASK_STATES["OPEN"]
    hub.admin_session().cancelTask(task_id)

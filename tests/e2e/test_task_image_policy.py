"""The hub-driven image policy: tag extra ``adjutant_image_policy`` chooses the task image."""

import subprocess
import urllib.request

import koji
import pytest

from e2e_support import WorkerProcess, task_fault, write_worker_config

BASE_IMAGE = "localhost/koji-adjutant-buildroot:bookworm"
POLICY_IMAGE = "localhost/koji-adjutant-buildroot:policy-e2e"
PARENT = "e2e-policy-base"
CHILD = "e2e-policy-build"


@pytest.fixture(scope="module")
def policy_tags(hub, buildroot_image):
    """A build tag (with a READY repo) inheriting its extra from a parent tag."""
    subprocess.run(["podman", "tag", BASE_IMAGE, POLICY_IMAGE], check=True)
    admin = hub.admin_session()
    repo = hub.make_build_tag(CHILD, ["x86_64"])
    admin.createTag(PARENT)
    admin.setInheritanceData(CHILD, [{"parent_id": admin.getTag(PARENT)["id"], "priority": 10,
                                      "maxdepth": None, "intransitive": False, "noconfig": False,
                                      "pkg_filter": ""}])
    yield repo
    subprocess.run(["podman", "rmi", POLICY_IMAGE], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def policy_worker(tmp_path_factory, hub, policy_tags):
    # TTL 0: every task asks the hub, so each test sees its own policy
    tmp = tmp_path_factory.mktemp("policy-worker")
    config = write_worker_config(tmp / "kojid.conf", hub, str(tmp / "work"),
                                 extra_adjutant={"policy_cache_ttl": "0",
                                                 "image_pull_policy": "never"})
    proc = WorkerProcess(config, str(tmp / "worker.log")).start()
    yield proc
    proc.stop()


def set_policy(hub, policy):
    admin = hub.admin_session()
    if policy is None:
        if "adjutant_image_policy" in admin.getTag(PARENT)["extra"]:
            admin.editTag2(PARENT, remove_extra=["adjutant_image_policy"])
    else:
        admin.editTag2(PARENT, extra={"adjutant_image_policy": policy})


def run_build_arch(hub, srpms, repo):
    task_id = hub.make_task("buildArch", [srpms["hello"], CHILD, "x86_64", True,
                                          {"repo_id": repo["id"]}], arch="x86_64")
    info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=300)
    return task_id, info


def root_log(hub, task_id):
    url = "%s/work/%s/root.log" % (hub.topurl, koji.pathinfo.taskrelpath(task_id))
    with urllib.request.urlopen(url) as response:
        return response.read().decode()


def test_inherited_tag_arch_rule_chooses_the_image(hub, srpms, policy_tags, policy_worker):
    set_policy(hub, {"rules": [
        {"type": "default", "image": "localhost/not-this:1"},
        {"type": "tag_arch", "tag": CHILD, "arch": "x86_64", "image": POLICY_IMAGE},
    ]})
    try:
        task_id, info = run_build_arch(hub, srpms, policy_tags)
    finally:
        set_policy(hub, None)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(hub.admin_session(), task_id)
    log = root_log(hub, task_id)
    # which rule chose it, and the image with its id as podman started it
    assert ("container image %s (adjutant_image_policy rule tag_arch tag=%s arch=x86_64 of tag %s)"
            % (POLICY_IMAGE, CHILD, CHILD)) in log
    assert "image: %s id " % POLICY_IMAGE in log or "cached buildroot image" in log


def test_without_a_policy_the_default_image_is_used(hub, srpms, policy_tags, policy_worker):
    set_policy(hub, None)
    task_id, info = run_build_arch(hub, srpms, policy_tags)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(hub.admin_session(), task_id)
    assert ("container image %s (tag %s has no adjutant_image_policy; using task_image_default)"
            % (BASE_IMAGE, CHILD)) in root_log(hub, task_id)


def test_malformed_policy_falls_back_to_the_default_and_says_why(hub, srpms, policy_tags,
                                                                 policy_worker):
    set_policy(hub, {"rules": [{"type": "tag", "image": POLICY_IMAGE}]})
    try:
        task_id, info = run_build_arch(hub, srpms, policy_tags)
    finally:
        set_policy(hub, None)
    assert info["state"] == koji.TASK_STATES["CLOSED"], task_fault(hub.admin_session(), task_id)
    assert ("container image %s (malformed adjutant_image_policy on tag %s: rule 1 (tag): 'tag' "
            "must be a non-empty string; using task_image_default)" % (BASE_IMAGE, CHILD)
            ) in root_log(hub, task_id)


def test_policy_naming_a_missing_image_fails_the_task_clearly(hub, srpms, policy_tags,
                                                              policy_worker):
    set_policy(hub, {"rules": [{"type": "task_type", "task_type": "buildArch",
                                "image": "localhost/no-such-buildroot:1"}]})
    try:
        task_id, info = run_build_arch(hub, srpms, policy_tags)
    finally:
        set_policy(hub, None)
    assert info["state"] == koji.TASK_STATES["FAILED"]
    fault = task_fault(hub.admin_session(), task_id)
    assert "localhost/no-such-buildroot:1" in str(fault)
    assert "image_pull_policy is 'never'" in str(fault)
    # the worker goes on: the next task builds with the default image
    task_id, info = run_build_arch(hub, srpms, policy_tags)
    assert info["state"] == koji.TASK_STATES["CLOSED"]

"""The task container with real podman and the local buildroot image: started with --rm,
its image named by its own inspect, ended by killing its main process, replaced when an
earlier run of the task left one, refused when the image is missing and may not be pulled."""

import time
import uuid

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
from koji_adjutant.images import DEFAULT_IMAGE, ensure_buildroot_image

from kojid_conf import BASE, load

CONF = BASE + "[adjutant]\nworker_id = unit-%s\n" % uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def image():
    ensure_buildroot_image()
    return DEFAULT_IMAGE


@pytest.fixture
def config(tmp_path):
    return load(tmp_path, CONF)


@pytest.fixture
def task(config, tmp_path):
    builddir = tmp_path / "builddir"
    builddir.mkdir()
    yield {"id": 424242, "builddir": str(builddir),
           "name": containers.container_name(424242, config.worker_name)}
    containers.remove_container(containers.container_name(424242, config.worker_name))


def wait_gone(name, timeout=20):
    deadline = time.time() + timeout
    while containers.container_status(name) is not None:
        assert time.time() < deadline, "container %s still there" % name
        time.sleep(0.1)


def test_a_started_container_names_its_image_and_ends_with_its_main_process(
        config, task, image, tmp_path):
    name = containers.start_task_container(config, task["id"], "buildArch", image,
                                           task["builddir"], pull_policy="never")
    status = containers.container_status(name)
    local = containers.local_image(image)
    assert status["status"] == "running" and status["pid"] > 0
    assert (status["image_id"], status["image_digest"]) == (local["id"], local["digest"])
    state_dir = str(tmp_path / "state")
    containers.note_running(state_dir, name, status)
    assert containers.end_container(name, state_dir)
    # podman's own clean-up (--rm) removes it once its main process is killed
    wait_gone(name)


def test_a_container_an_earlier_run_left_is_replaced(config, task, image):
    first = containers.start_task_container(config, task["id"], "buildArch", image,
                                            task["builddir"], pull_policy="never")
    old_id = containers.container_status(first)["id"]
    second = containers.start_task_container(config, task["id"], "buildArch", image,
                                             task["builddir"], pull_policy="never")
    assert second == first
    status = containers.container_status(second)
    assert status["status"] == "running" and status["id"] != old_id


def test_a_missing_image_that_may_not_be_pulled_is_named(config, task):
    missing = "localhost/koji-adjutant-no-such-image:%s" % uuid.uuid4().hex[:8]
    with pytest.raises(containers.ContainerError) as excinfo:
        containers.start_task_container(config, task["id"], "buildArch", missing,
                                        task["builddir"], pull_policy="never")
    assert str(excinfo.value) == ("image %s is not present and image_pull_policy is 'never'"
                                  % missing)
    assert containers.container_status(task["name"]) is None


def test_a_failed_start_step_leaves_no_container(config, task, image):
    containers.prepare_start_step(task["builddir"])
    name = containers.start_task_container(
        config, task["id"], "buildArch", image, task["builddir"], pull_policy="never",
        start_step=containers.start_step_argv("echo broken; exit 3"), user="root")
    wait_gone(name)
    with open("%s/%s/%s" % (task["builddir"], containers.START_STEP_DIR,
                            containers.START_STEP_RC)) as handle:
        assert handle.read().strip() == "3"

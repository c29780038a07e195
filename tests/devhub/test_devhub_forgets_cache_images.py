"""A dev hub that stops for good removes the buildroot cache images workers kept for it
(labelled with its URL: the next hub has another port, so nothing would use them again),
and leaves other hubs' images and a restarted hub's images alone."""

import subprocess
import uuid

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot_cache
from koji_adjutant_devhub.testing import DevHub
from koji_adjutant.images import DEFAULT_IMAGE, ensure_buildroot_image


@pytest.fixture(scope="module", autouse=True)
def image():
    ensure_buildroot_image()


def cache_image(hub_url):
    """A cache image of ``hub_url``, as a worker labels one (built from the local image)."""
    name = buildroot_cache.cache_image_name(uuid.uuid4().hex[:24])
    containerfile = "FROM %s\nLABEL %s=1 %s=%s\n" % (
        DEFAULT_IMAGE, buildroot_cache.LABEL_CACHE, buildroot_cache.LABEL_HUB, hub_url)
    subprocess.run(["podman", "build", "-q", "-t", name, "-f", "-"], input=containerfile,
                   text=True, check=True, capture_output=True)
    return name


def exists(name):
    return subprocess.run(["podman", "image", "exists", name], check=False).returncode == 0


def test_a_stopped_hub_takes_its_cache_images_with_it(tmp_path):
    other = cache_image("http://127.0.0.1:1/kojihub-%s" % uuid.uuid4().hex[:8])
    try:
        with DevHub(topdir=str(tmp_path / "koji")) as hub:
            mine = cache_image(hub.url)
            hub.restart()
            assert exists(mine)  # a restart keeps the hub's URL
        assert not exists(mine)
        assert exists(other)
    finally:
        subprocess.run(["podman", "rmi", "-f", other], capture_output=True, check=False)


def test_a_hub_stopped_twice_forgets_its_images_once(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(DevHub, "_forget_buildroot_cache", lambda hub: calls.append(hub.url))
    hub = DevHub(topdir=str(tmp_path / "koji"))
    hub.stop()
    hub.stop()
    assert calls == [hub.url]
    # started again (another port), it forgets that URL's images when it stops
    hub.start()
    hub.stop()
    assert len(calls) == 2 and calls[1] == hub.url

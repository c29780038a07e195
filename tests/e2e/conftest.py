"""Fixtures for end-to-end tests: dev hub over HTTP, a real worker, real podman.

The worker is the real daemon (``koji-adjutant worker``) in a subprocess, talking
to the dev hub with ``koji.ClientSession``; tasks run their real playbooks with
ansible-runner in containers of the local buildroot image.
"""

import os
import subprocess
import uuid

import pytest

from e2e_support import HOST_NAME, HOST_PASSWORD, SPECS, TAG, WorkerProcess, write_worker_config

from koji_adjutant_devhub.testing import DevHub
from koji_adjutant.images import ensure_buildroot_image


@pytest.fixture(scope="session")
def buildroot_image():
    return ensure_buildroot_image()


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    topdir = tmp_path_factory.mktemp("koji")
    with DevHub(topdir=str(topdir)) as devhub:
        devhub.add_host(HOST_NAME, ["x86_64"], HOST_PASSWORD,
                        channels=("default", "createrepo"))
        devhub.repo = devhub.make_build_tag(TAG, ["x86_64"])
        yield devhub


@pytest.fixture(scope="session")
def srpms(tmp_path_factory, hub):
    """SRPMs of tests/data/specs, built with the host's rpmbuild and uploaded to the hub."""
    out = tmp_path_factory.mktemp("srpms")
    admin = hub.admin_session()
    paths = {}
    for spec in sorted(os.listdir(SPECS)):
        subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % out,
                        os.path.join(SPECS, spec)], check=True, stdout=subprocess.DEVNULL)
    srpm_dir = out / "SRPMS"
    for name in sorted(os.listdir(srpm_dir)):
        upload_dir = "cli-build/%s" % uuid.uuid4().hex[:12]
        admin.uploadWrapper(str(srpm_dir / name), upload_dir)
        paths[name.rsplit("-", 2)[0]] = "%s/%s" % (upload_dir, name)
    return paths


@pytest.fixture
def worker_config(tmp_path, hub):
    return write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"))


@pytest.fixture
def worker(tmp_path, worker_config, hub, buildroot_image):
    proc = WorkerProcess(worker_config, str(tmp_path / "worker.log")).start()
    yield proc
    proc.stop()

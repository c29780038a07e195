"""Fixtures for end-to-end tests: dev hub over HTTP, a real worker, real podman.

The worker is the real daemon (``koji-adjutant worker``) in a subprocess, talking
to the dev hub with ``koji.ClientSession``; tasks run their real playbooks with
ansible-runner in containers of the local buildroot image.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import koji
import pytest

from koji_adjutant.devhub.testing import DevHub
from koji_adjutant.images import ensure_buildroot_image

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(os.path.dirname(HERE), "data", "specs")
HOST_NAME = "builder-e2e"
HOST_PASSWORD = "builder-secret"
TAG = "e2e-build"


@pytest.fixture(scope="session")
def buildroot_image():
    return ensure_buildroot_image()


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    topdir = tmp_path_factory.mktemp("koji")
    with DevHub(topdir=str(topdir)) as devhub:
        devhub.add_host(HOST_NAME, ["x86_64"], HOST_PASSWORD)
        devhub.repo = devhub.make_tag_with_repo(TAG, ["x86_64"])
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


def write_worker_config(path, hub, workdir, extra_adjutant=""):
    path.write_text(
        "[kojid]\n"
        "server = %(server)s\n"
        "topurl = %(topurl)s\n"
        "topdir = %(topdir)s\n"
        "workdir = %(workdir)s\n"
        "user = %(user)s\n"
        "password = %(password)s\n"
        "sleeptime = 1\n"
        "maxjobs = 4\n"
        "minspace = 10\n"
        "retry_interval = 2\n"
        "max_retries = 5\n"
        "\n[adjutant]\n"
        "state_dir = %(workdir)s/state\n"
        "log_dir = %(workdir)s/log\n"
        "force_lock = true\n%(extra)s"
        % {"server": hub.url, "topurl": hub.topurl, "topdir": hub.topdir,
           "workdir": workdir, "user": HOST_NAME, "password": HOST_PASSWORD,
           "extra": extra_adjutant})
    return str(path)


class WorkerProcess(object):
    """The real worker daemon in a subprocess."""

    def __init__(self, config_path, log_path):
        self.config_path = config_path
        self.log_path = log_path
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "koji_adjutant.cli", "worker", "-c", self.config_path,
             "--log-level", "DEBUG"], stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()


@pytest.fixture
def worker_config(tmp_path, hub):
    return write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"))


@pytest.fixture
def worker(tmp_path, worker_config, hub, buildroot_image):
    proc = WorkerProcess(worker_config, str(tmp_path / "worker.log")).start()
    yield proc
    proc.stop()


def build_arch_task(hub, pkg, arch="x86_64", keep_srpm=True, opts=None, **task_opts):
    if opts is None:
        opts = {"repo_id": hub.repo["id"]}
    return hub.make_task("buildArch", [pkg, TAG, arch, keep_srpm, opts],
                         arch=task_opts.pop("task_arch", arch), **task_opts)


def wait_for(predicate, timeout, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def task_fault(session, task_id):
    with pytest.raises(koji.GenericError) as excinfo:
        session.getTaskResult(task_id)
    return excinfo.value

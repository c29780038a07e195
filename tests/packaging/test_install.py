"""How a koji administrator installs koji-adjutant, tested from what the checkout builds.

- The wheel (``pip wheel .``) holds the worker package and the ``koji_adjutant.builder``
  collection, and nothing of the dev hub, the tests or the benchmarks. Its packages are
  listed in pyproject.toml, not discovered: a symlink cycle left in the tree (the demo's koji
  repos have ``toplink`` links) must not be walked.
- The collection artifact (``ansible-galaxy collection build``) holds only what a controller
  and a builder need.
- Installed into a fresh venv (and the artifact into a temporary collections path), the
  worker runs a buildArch to CLOSED against the dev hub from outside the checkout.
"""

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import koji
import pytest

from koji_adjutant_devhub.testing import BUILD_GROUP_PACKAGES, DevHub, write_worker_config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDIR = os.path.dirname(sys.executable)
HOST_NAME = "packaging-builder"
HOST_PASSWORD = "packaging-secret"
TAG = "packaging-build"

# what the collection artifact may hold
ARTIFACT_FILES = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "COPYING",
                  "meta/runtime.yml", "docs/architecture.md", "docs/operator-guide.md",
                  "docs/buildroot-images.md", "docs/benchmarks.md"}
ARTIFACT_TREES = ("plugins/", "playbooks/", "roles/")
COLLECTION_IN_WHEEL = "ansible_collections/koji_adjutant/builder/"


def tracked_copy(destination):
    """The checkout's tracked files (and new ones not ignored), as a tree of their own."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO_ROOT, check=True, stdout=subprocess.PIPE).stdout
    for name in filter(None, names.decode().split("\0")):
        source = os.path.join(REPO_ROOT, name)
        if not os.path.isfile(source):
            continue
        target = os.path.join(destination, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The wheel and the collection artifact, built from a copy of the checkout in which
    the demo's symlink cycles are planted where the demo leaves them."""
    base = tmp_path_factory.mktemp("dist")
    tree = tracked_copy(str(base / "source"))
    repo_dir = os.path.join(tree, "build", "demo", "koji", "repos", "demo-build", "1")
    os.makedirs(repo_dir)
    os.symlink("../../..", os.path.join(repo_dir, "toplink"))
    os.symlink(".", os.path.join(tree, "build", "demo", "loop"))
    out = str(base / "out")
    subprocess.run([os.path.join(BINDIR, "pip"), "wheel", "--no-deps", "--quiet", "-w", out,
                    tree], check=True, timeout=300)
    subprocess.run([os.path.join(BINDIR, "ansible-galaxy"), "collection", "build", tree,
                    "--output-path", out], check=True, timeout=300, stdout=subprocess.DEVNULL)
    wheels = [name for name in os.listdir(out) if name.endswith(".whl")]
    artifacts = [name for name in os.listdir(out) if name.endswith(".tar.gz")]
    assert len(wheels) == 1 and len(artifacts) == 1, os.listdir(out)
    return {"wheel": os.path.join(out, wheels[0]), "artifact": os.path.join(out, artifacts[0])}


def test_wheel_holds_the_worker_and_the_collection_only(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"koji_adjutant", "ansible_collections", "koji_adjutant-0.1.0.dist-info"}
    assert not [name for name in names if "devhub" in name or "/tests/" in name
                or "/bench/" in name or "/molecule/" in name]
    for name in ("koji_adjutant/cli.py", "koji_adjutant/worker/daemon.py",
                 "koji_adjutant/images/recipe/packages.txt",
                 COLLECTION_IN_WHEEL + "galaxy.yml", COLLECTION_IN_WHEEL + "meta/runtime.yml",
                 COLLECTION_IN_WHEEL + "plugins/modules/koji_task_claim.py",
                 COLLECTION_IN_WHEEL + "plugins/module_utils/config.py",
                 COLLECTION_IN_WHEEL + "playbooks/tasks/buildArch.yml",
                 COLLECTION_IN_WHEEL + "roles/worker/tasks/main.yml"):
        assert name in names, name
    # every tracked file of the checkout's playbooks/ (task playbooks, the task lists and
    # container programs they share, the example inventory) and plugins/ is in the wheel
    tracked = subprocess.run(["git", "ls-files", "playbooks", "plugins"], cwd=REPO_ROOT,
                             check=True, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.split()
    missing = [name for name in tracked if COLLECTION_IN_WHEEL + name not in names]
    assert tracked and not missing, missing


def test_collection_artifact_is_lean(dist):
    with tarfile.open(dist["artifact"]) as artifact:
        files = [member.name for member in artifact.getmembers() if member.isfile()]
    unexpected = [name for name in files if name not in ARTIFACT_FILES
                  and not name.startswith(ARTIFACT_TREES)]
    unexpected += [name for name in files if name.startswith("roles/") and "/molecule/" in name]
    assert not unexpected, "the collection artifact holds %s" % unexpected
    assert "plugins/modules/koji_upload.py" in files
    assert "roles/worker/tasks/install.yml" in files


def test_importing_the_package_has_no_side_effects():
    """Importing each module of the worker package neither changes sys.path nor imports the
    dev hub (run in a fresh interpreter, from outside the checkout)."""
    code = (
        "import sys, pkgutil, importlib\n"
        "before = list(sys.path)\n"
        "import koji_adjutant\n"
        "names = [m.name for m in pkgutil.walk_packages(koji_adjutant.__path__, 'koji_adjutant.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "assert sys.path == before, set(sys.path) ^ set(before)\n"
        "assert not [m for m in sys.modules if m.startswith('koji_adjutant_devhub')]\n"
        "print(' '.join(names))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd="/", check=True,
                            stdout=subprocess.PIPE, universal_newlines=True)
    names = result.stdout.split()
    assert "koji_adjutant.worker.daemon" in names and len(names) >= 8, names


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory):
    """A fresh venv with the wheel (and its dependencies) and a temporary collections path
    with the artifact and ansible.posix, as an administrator installs them."""
    base = tmp_path_factory.mktemp("installed")
    venv = str(base / "venv")
    # Debian's python3-rpm is built for the system Python: the venv sees it
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv],
                   check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet",
                    "--disable-pip-version-check", dist["wheel"]], check=True, timeout=900)
    collections = str(base / "collections")
    # --force: ansible-galaxy sees the wheel's copy on sys.path and would install nothing
    subprocess.run([os.path.join(venv, "bin", "ansible-galaxy"), "collection", "install",
                    "--no-deps", "--force", "-p", collections, dist["artifact"]],
                   check=True, timeout=300, stdout=subprocess.DEVNULL)
    posix = os.path.join(REPO_ROOT, "collections", "ansible_collections", "ansible", "posix")
    shutil.copytree(posix, os.path.join(collections, "ansible_collections", "ansible", "posix"))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "ANSIBLE_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join([os.path.join(venv, "bin"), "/usr/sbin", "/usr/bin",
                                   "/sbin", "/bin"])
    env["ANSIBLE_COLLECTIONS_PATH"] = collections
    return {"venv": venv, "collections": collections, "env": env, "cwd": str(base)}


def test_installed_package_imports_from_the_venv(installed):
    python = os.path.join(installed["venv"], "bin", "python")
    code = ("import json, koji_adjutant.worker.daemon as daemon\n"
            "from ansible_collections.koji_adjutant.builder.plugins.module_utils import config\n"
            "print(json.dumps([daemon.__file__, config.collection_root()]))\n")
    result = subprocess.run([python, "-c", code], env=installed["env"], cwd=installed["cwd"],
                            check=True, stdout=subprocess.PIPE, universal_newlines=True)
    daemon_file, collection_root = json.loads(result.stdout)
    assert daemon_file.startswith(installed["venv"])
    assert collection_root.startswith(installed["venv"])
    assert collection_root.endswith("/ansible_collections/koji_adjutant/builder")
    help_text = subprocess.run([os.path.join(installed["venv"], "bin", "koji-adjutant"),
                                "--help"], env=installed["env"], cwd=installed["cwd"],
                               check=True, stdout=subprocess.PIPE, universal_newlines=True)
    assert "worker" in help_text.stdout and "devhub" not in help_text.stdout
    # Ansible finds the collection where pip put it, and the artifact where it was installed
    listing = subprocess.run([os.path.join(installed["venv"], "bin", "ansible-galaxy"),
                              "collection", "list", "koji_adjutant.builder", "--format", "json"],
                             env=installed["env"], cwd=installed["cwd"], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True).stdout
    paths = json.loads(listing)
    assert any(path.startswith(installed["venv"]) for path in paths), paths
    assert any(path.startswith(installed["collections"]) for path in paths), paths


def test_installed_worker_builds_a_task_from_outside_the_checkout(installed, tmp_path):
    from koji_adjutant.images import ensure_buildroot_image
    ensure_buildroot_image()
    with DevHub(topdir=str(tmp_path / "koji")) as hub:
        hub.add_host(HOST_NAME, ["x86_64"], HOST_PASSWORD)
        repo = hub.make_build_tag(TAG, ["x86_64"], group_packages=BUILD_GROUP_PACKAGES)
        out = tmp_path / "srpm"
        spec = os.path.join(REPO_ROOT, "tests", "data", "specs", "noarch-data.spec")
        subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % out, spec], check=True,
                       stdout=subprocess.DEVNULL)
        srpm = sorted((out / "SRPMS").iterdir())[0]
        hub.admin_session().uploadWrapper(str(srpm), "cli-build/packaging")
        config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                     HOST_NAME, HOST_PASSWORD)
        log_path = tmp_path / "worker.log"
        with open(str(log_path), "wb") as log:
            worker = subprocess.Popen(
                [os.path.join(installed["venv"], "bin", "koji-adjutant"), "worker",
                 "--force-lock", "-c", config], env=installed["env"], cwd=installed["cwd"],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            task_id = hub.make_task("buildArch", ["cli-build/packaging/" + srpm.name, TAG,
                                                  "noarch", True, {"repo_id": repo["id"]}],
                                    arch="noarch")
            info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=300)
            assert info["state"] == koji.TASK_STATES["CLOSED"], (
                hub.admin_session().getTaskResult(task_id, raise_fault=False),
                log_path.read_text()[-3000:])
            result = hub.admin_session().getTaskResult(task_id)
            assert [os.path.basename(path) for path in result["rpms"]] == [
                srpm.name.replace(".src.rpm", ".noarch.rpm")]
        finally:
            worker.terminate()
            worker.wait(120)
        # the playbooks are the installed collection's, and Ansible looks for its modules
        # there first (the artifact's copy in the collections path comes after it)
        site = os.path.join(installed["venv"], "lib", "python%d.%d" % sys.version_info[:2],
                            "site-packages")
        assert ("task playbooks: %s/ansible_collections/koji_adjutant/builder/playbooks; "
                "their collections path: %s:%s" % (site, site, installed["collections"])
                in log_path.read_text()), log_path.read_text()[-3000:]

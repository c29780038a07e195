"""The persistent AnsiballZ cache of the collection's modules (warm_local connection)."""

import os
import subprocess
import sys

import pytest


from ansible_collections.koji_adjutant.builder.plugins.plugin_utils import ansiballz_cache

OWN = ansiballz_cache.OWN_PREFIX + "plugins.modules.koji_upload-ZIP_DEFLATED-none"
OTHER_OWN = ansiballz_cache.OWN_PREFIX + "plugins.modules.koji_task_claim-ZIP_DEFLATED-none"
FOREIGN = "ansible_collections.containers.podman.plugins.modules.podman_image-ZIP_DEFLATED-none"


def fake_collection(root):
    for rel in ("plugins/modules/koji_x.py", "plugins/module_utils/hub.py"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# %s\n" % rel)
    return root


def test_the_fingerprint_follows_the_content_of_modules_and_module_utils(tmp_path):
    root = fake_collection(tmp_path / "collection")
    first = ansiballz_cache.fingerprint(str(root))
    assert ansiballz_cache.fingerprint(str(root)) == first
    (root / "plugins/README.txt").write_text("not a source file")
    assert ansiballz_cache.fingerprint(str(root)) == first
    (root / "plugins/module_utils/hub.py").write_text("# edited\n")
    edited = ansiballz_cache.fingerprint(str(root))
    assert edited != first
    (root / "plugins/modules/koji_new.py").write_text("# new module\n")
    assert ansiballz_cache.fingerprint(str(root)) not in (first, edited)


@pytest.fixture
def caches(tmp_path, monkeypatch):
    local = tmp_path / "local" / "ansiballz_cache"
    monkeypatch.setattr(ansiballz_cache, "local_cache_dir", lambda: str(local))
    monkeypatch.setattr(ansiballz_cache, "fingerprint", lambda: "f1")
    return local, tmp_path / "persistent"


def test_a_playbook_is_seeded_with_the_collections_payloads_only(caches):
    local, root = caches
    (root / "f1").mkdir(parents=True)
    for name in (OWN, FOREIGN, OWN + "-part", OWN + ".lock"):
        (root / "f1" / name).write_bytes(b"payload of " + name.encode())
    directory = ansiballz_cache.persistent_dir(str(root))
    assert directory == str(root / "f1")
    assert sorted(os.listdir(str(local))) == sorted([OWN, ansiballz_cache.SEEDED_NAME])
    assert (local / OWN).read_bytes() == b"payload of " + OWN.encode()


def test_later_tasks_of_the_playbook_read_the_note(caches, monkeypatch):
    local, root = caches
    directory = ansiballz_cache.persistent_dir(str(root))

    def no_second_fingerprint():
        raise AssertionError("fingerprint computed again")

    monkeypatch.setattr(ansiballz_cache, "fingerprint", no_second_fingerprint)
    assert ansiballz_cache.persistent_dir(str(root)) == directory


def test_new_payloads_of_the_collection_are_kept(caches):
    local, root = caches
    directory = ansiballz_cache.persistent_dir(str(root))
    for name in (OTHER_OWN, FOREIGN, OTHER_OWN + "-part"):
        (local / name).write_bytes(b"built " + name.encode())
    ansiballz_cache.keep_new_payloads(directory)
    assert os.listdir(directory) == [OTHER_OWN]
    assert (root / "f1" / OTHER_OWN).read_bytes() == b"built " + OTHER_OWN.encode()


def test_payloads_of_another_fingerprint_are_removed(caches):
    local, root = caches
    (root / "f0").mkdir(parents=True)
    (root / "f0" / OWN).write_bytes(b"old")
    ansiballz_cache.persistent_dir(str(root))
    assert os.listdir(str(root)) == ["f1"]
    assert not (local / OWN).exists()


def ansible_playbook(tmp_path, cache_dir, env):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: A module of the collection\n"
        "      koji_adjutant.builder.koji_build_results:\n"
        "        task_id: 1\n"
        "        rpm_dir: /nonexistent/RPMS\n"
        "        srpm_dir: /nonexistent/SRPMS\n"
        "      ignore_errors: true\n")
    bindir = os.path.dirname(sys.executable)
    return subprocess.run(
        [os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", str(playbook),
         "-e", "ansible_connection=koji_adjutant.builder.warm_local",
         "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-e", "koji_adjutant_ansiballz_cache_dir=%s" % cache_dir],
        env=dict(os.environ, ANSIBLE_DEBUG="1", **env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=True,
        cwd=str(tmp_path)).stdout


def test_the_next_playbook_uses_the_payload_the_first_one_built(tmp_path):
    cache_dir = tmp_path / "cache"
    first = ansible_playbook(tmp_path, cache_dir, {})
    assert "ANSIBALLZ: Creating module" in first
    [fingerprint] = os.listdir(str(cache_dir))
    kept = os.listdir(str(cache_dir / fingerprint))
    # ansible-core names a payload <module>-<compression>, and from 2.19 on -<profile> after it
    payload = ansiballz_cache.OWN_PREFIX + "plugins.modules.koji_build_results-ZIP_DEFLATED"
    assert kept in ([payload], [payload + "-none"])
    second = ansible_playbook(tmp_path, cache_dir, {})
    assert "ANSIBALLZ: Creating module" not in second
    assert "ANSIBALLZ: using cached module" in second
    assert "missing required arguments: brootid, work_dir" in second  # the module ran

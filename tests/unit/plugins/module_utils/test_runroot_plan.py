"""The runroot plugin's configuration (kojid's runroot.conf format), its mounts, command
and result texts (plugins/module_utils/runroot.py)."""

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import runroot


def write(tmp_path, text):
    path = tmp_path / "runroot.conf"
    path.write_text(text)
    return str(path)


@pytest.fixture
def dirs(tmp_path):
    for sub in ("compose/a", "compose/b", "tools", "data"):
        (tmp_path / sub).mkdir(parents=True)
    return tmp_path


def kojid_conf(dirs, adjutant=""):
    return write(dirs, (
        "[runroot]\ninternal_dev_setup = False\n\n"
        "[paths]\ndefault_mounts = /opt/tools,/mnt/data\nsafe_roots = /mnt/compose/\n"
        "path_subs =\n  /mnt/compose/old,/mnt/compose/a\n\n"
        "[path10]\nmountpoint = /mnt/compose/b\npath = {d}/data\nfstype = bind\n"
        "options = bind\n\n"
        "[path2]\nmountpoint = /mnt/compose\npath = {d}/compose\nfstype = bind\n"
        "options = ro,bind\n\n"
        "[path3]\nmountpoint = /opt/tools\npath = {d}/tools\nfstype = none\noptions = rbind,rw\n\n"
        "[path4]\nmountpoint = /mnt/data\npath = {d}/data\nfstype = bind\noptions = bind\n\n"
        "[other]\nignored = yes\n").format(d=dirs) + adjutant)


def test_a_missing_file_is_an_empty_configuration(tmp_path):
    conf = runroot.read_config(str(tmp_path / "none.conf"))
    assert conf["default_mounts"] == [] and conf["safe_roots"] == [] and not conf["network"]
    with pytest.raises(koji.GenericError, match="mount point is not safe: /mnt/x .*none "
                                                "configured"):
        runroot.plan_mounts(conf, ["/mnt/x"])
    assert runroot.plan_mounts(conf, []) == []


def test_kojids_file_maps_to_bind_mounts(dirs):
    conf = runroot.read_config(kojid_conf(dirs))
    assert [p["section"] for p in conf["paths"]] == ["path2", "path3", "path4", "path10"]
    mounts = runroot.plan_mounts(conf, ["/mnt/compose/a", "/mnt/compose/old",
                                        "/mnt/compose//b/../a/"])
    # default mounts keep their options (read-only unless rw), requested mounts are read-only
    # by default; path_subs after the check; the first section that matches wins (path2 for
    # /mnt/compose/b, as its number comes first)
    assert mounts == [
        {"source": str(dirs / "compose" / "a"), "target": "/mnt/compose/a", "mode": "ro"},
        {"source": str(dirs / "data"), "target": "/mnt/data", "mode": "ro"},
        {"source": str(dirs / "tools"), "target": "/opt/tools", "mode": "rw"},
    ]
    assert runroot.plan_mounts(conf, ["/mnt/compose/b"])[0] == {
        "source": str(dirs / "compose" / "b"), "target": "/mnt/compose/b", "mode": "ro"}
    writable = runroot.read_config(kojid_conf(dirs, "[adjutant]\nwritable_mounts = yes\n"))
    assert runroot.plan_mounts(writable, ["/mnt/compose/a"])[0]["mode"] == "rw"


@pytest.mark.parametrize("mount, text", [
    ("/etc", "mount point is not safe: /etc (not under the safe_roots"),
    ("/mnt/composer", "mount point is not safe: /mnt/composer"),
    ("/mnt/compose/../../etc/x", "mount point is not safe: /etc/x"),
    ("relative", "invalid mount point: 'relative'"),
    ("/mnt/compose/nothere", "No such directory or mount: "),
])
def test_requested_mounts_are_checked(dirs, mount, text):
    conf = runroot.read_config(kojid_conf(dirs))
    with pytest.raises(koji.GenericError, match=text.replace("(", r"\(")):
        runroot.plan_mounts(conf, [mount])


@pytest.mark.parametrize("section, text", [
    ("fstype = nfs\noptions = ro,hard", "fstype nfs cannot be mapped to a container mount"),
    ("fstype = bind\noptions = bind,bg", "background mount not allowed"),
    ("fstype = bind\noptions = bind,noexec", "option noexec cannot be applied"),
])
def test_mounts_podman_cannot_give_are_refused(tmp_path, section, text):
    (tmp_path / "x").mkdir()
    path = write(tmp_path, "[paths]\ndefault_mounts = /mnt/x\n[path0]\nmountpoint = /mnt/x\n"
                           "path = %s\n%s\n" % (tmp_path / "x", section))
    with pytest.raises(koji.GenericError, match=text) as excinfo:
        runroot.plan_mounts(runroot.read_config(path), [])
    assert "[path0] of %s" % path in str(excinfo.value)


def test_a_mount_over_the_task_directory_is_refused(tmp_path):
    path = write(tmp_path, "[paths]\ndefault_mounts = /builddir/x\n[path0]\nmountpoint = /\n"
                           "path = %s\nfstype = bind\noptions = bind\n" % tmp_path)
    (tmp_path / "builddir" / "x").mkdir(parents=True)
    with pytest.raises(koji.GenericError, match="/builddir is the task directory"):
        runroot.plan_mounts(runroot.read_config(path), [])


@pytest.mark.parametrize("text, error", [
    ("[paths]\nsafe_roots = /ok,rel\n", "[paths] safe_roots: 'rel' is not an absolute path"),
    ("[paths]\ndefault_mounts = x\n", "[paths] default_mounts: 'x' is not an absolute path"),
    ("[paths]\npath_subs =\n  /a,/b,/c\n", "path_subs: '/a,/b,/c' is not a 'from,to' line"),
    ("[path1]\nmountpoint = /x\npath = /y\n", "[path1] lacks fstype, options"),
    ("[path1]\nmountpoint = x\npath = /y\nfstype = bind\noptions = bind\n",
     "[path1] mountpoint = 'x': not an absolute path"),
    ("[runroot]\ninternal_dev_setup = maybe\n", "[runroot] internal_dev_setup = 'maybe'"),
    ("[adjutant]\nnetwork = sometimes\n", "[adjutant] network = 'sometimes': expected a "
                                          "boolean"),
    ("[adjutant]\nnetwrok = yes\n", "[adjutant] netwrok: unknown setting (known: network, "
                                    "writable_mounts)"),
    ("no section\n", "is not valid: File contains no section headers"),
])
def test_a_bad_file_is_an_error_naming_the_key(tmp_path, text, error):
    path = write(tmp_path, text)
    with pytest.raises(runroot.RunrootConfigError) as excinfo:
        runroot.read_config(path)
    assert path in str(excinfo.value) and error in str(excinfo.value)


def test_command_texts_are_kojids():
    assert runroot.command_text("echo a; echo b") == "echo a; echo b"
    assert runroot.command_text(["echo", "it's", "a b"]) == "'echo' 'it'\"'\"'s' 'a b'"
    assert runroot.command_name("LANG=C /usr/bin/pungi --x") == "pungi"
    assert runroot.command_name(["A=1", "/bin/true"]) == "true"
    assert runroot.command_name("X=1") == "(none)"
    assert runroot.success_text("make -j2") == "make completed successfully"
    assert runroot.exit_text("{x} y").format(rc=2) == "{x} exited with status 2"
    assert runroot.install_failure_text(["a", "b"]).format(rc=1).startswith(
        "--install a b exited with status 1")


def test_the_container_command_sets_the_arch_of_another_buildroot():
    assert runroot.container_command("uname -m", "x86_64", "x86_64") == [
        "/bin/sh", "-c", "uname -m"]
    assert runroot.container_command("uname -m", "i686", "x86_64") == [
        "setarch", "i686", "/bin/sh", "-c", "uname -m"]
    assert runroot.container_command("uname -m", "i686", "x86_64", skip_setarch=True) == [
        "/bin/sh", "-c", "uname -m"]


class _Hub(object):
    def __init__(self, host_arches, tag_arches, repo=None):
        self.host = self
        self.host_arches, self.tag_arches, self.repo = host_arches, tag_arches, repo

    def getHost(self):
        return {"arches": self.host_arches}

    def getBuildConfig(self, root):
        return {"arches": self.tag_arches}

    def repoInfo(self, repo_id, strict=False):
        return self.repo


def test_noarch_takes_the_first_tag_arch_the_host_has():
    assert runroot.buildroot_arch(_Hub("x86_64 i686", "aarch64 i686 x86_64"), "t",
                                  "noarch") == "i386"
    assert runroot.buildroot_arch(None, "t", "s390x") == "s390x"
    with pytest.raises(koji.BuildError, match=r"host does not match tag arches: t \(aarch64\)"):
        runroot.buildroot_arch(_Hub("x86_64", "aarch64"), "t", "noarch")
    with pytest.raises(koji.BuildError, match="No arch list for tag: t"):
        runroot.buildroot_arch(_Hub("x86_64", ""), "t", "noarch")
    with pytest.raises(koji.BuildError, match="No arch list for this host"):
        runroot.buildroot_arch(_Hub("", "x86_64"), "t", "noarch")


def test_a_given_repo_must_be_the_tags_and_usable():
    ready = {"id": 4, "tag_name": "t", "state": koji.REPO_STATES["READY"]}
    assert runroot.find_repo(_Hub("", "", ready), "t", 4) == ready
    with pytest.raises(koji.BuildError, match=r"build tag \(u\) does not match repo tag \(t\)"):
        runroot.find_repo(_Hub("", "", ready), "u", 4)
    init = dict(ready, state=koji.REPO_STATES["INIT"])
    with pytest.raises(koji.BuildError, match="repos in the INIT state may not be used"):
        runroot.find_repo(_Hub("", "", init), "t", 4)


def test_extra_logs_are_read_only_inside_the_runroot(tmp_path):
    mounts = [{"source": str(tmp_path / "m"), "target": "/mnt/m", "mode": "rw"}]
    found = runroot.upload_log_paths(["/builddir/a.log", "/mnt/m/b.log", "mnt/m/c.log"],
                                     mounts, str(tmp_path / "task"))
    assert [f["path"] for f in found] == [str(tmp_path / "task" / "builddir" / "a.log"),
                                          str(tmp_path / "m" / "b.log"),
                                          str(tmp_path / "m" / "c.log")]
    with pytest.raises(koji.GenericError, match="/etc/shadow is neither under /builddir"):
        runroot.upload_log_paths(["/etc/shadow"], mounts, str(tmp_path / "task"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "b.log").write_text("b\n")
    (tmp_path / "m" / "c.log").symlink_to("/etc/passwd")
    assert runroot.existing_logs(found[:2]) == [str(tmp_path / "m" / "b.log")]
    with pytest.raises(koji.GenericError, match="c.log is not a regular file of the runroot"):
        runroot.existing_logs(found)

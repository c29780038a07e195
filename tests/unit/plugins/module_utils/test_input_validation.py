"""Validation of hostile task inputs: parameters, work/ paths, SCM URLs and checkouts."""

import os
import types

import koji
import koji.daemon
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms
from ansible_collections.koji_adjutant.builder.plugins.module_utils import scm
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_params


# -- task parameters -----------------------------------------------------------------------

# the options `koji dist-repo` sends (event filled in by the hub)
DIST_OPTS = {"arch": ["x86_64"], "comps": None, "delta": [], "event": 5, "volume": None,
             "inherit": True, "multilib": None, "split_debuginfo": False,
             "skip_missing_signatures": False, "allow_missing_signatures": True,
             "zck": False, "zck_dict_dir": None, "write_signed_rpms": False, "latest": True}


@pytest.mark.parametrize("method, request_, text", [
    ("buildArch", [{"__method__": "buildArch", "pkg": "x.src.rpm"}],
     "Invalid signature for buildArch: missing required argument 'root'"),
    ("sleep", [{"__method__": "sleep", "n": 1, "evil": 2}],
     "Invalid signature for sleep: unexpected keyword argument 'evil'"),
    ("buildArch", ["x.src.rpm", "tag", "x86_64; rm -rf /", True, {"repo_id": 1}],
     "Invalid parameter 'arch' for buildArch: 'x86_64; rm -rf /' is not an arch name"),
    ("buildArch", ["x.src.rpm", "tag", "", True, {"repo_id": 1}], "is not an arch name"),
    ("createrepo", [1, "../../etc", None], "Invalid parameter 'arch' for createrepo"),
    ("buildArch", ["x.src.rpm", "tag", "x86_64", True, {"repo_id": "3"}],
     "Invalid parameter 'opts' for buildArch: repo_id must be an integer, got '3'"),
    ("build", ["x.src.rpm", None, {"repo_id": True}], "repo_id must be an integer, got True"),
    ("rebuildSRPM", ["x.src.rpm", "tag", {"repo_id": 2.5}], "repo_id must be an integer"),
    ("createdistrepo", ["t", 1, "x86_64/../..", [], DIST_OPTS],
     "Invalid parameter 'arch' for createdistrepo"),
    ("createdistrepo", ["t", 1, "x86_64", [], {"event": 1}],
     "Invalid parameter 'opts' for createdistrepo: missing latest, inherit, multilib, "
     "skip_missing_signatures, allow_missing_signatures"),
    ("distRepo", ["t", 1, [], dict(DIST_OPTS, arch=["x86_64", "../x"])],
     "Invalid parameter 'task_opts' for distRepo: arch must be a list of arch names"),
    ("distRepo", ["t", 1, [], dict(DIST_OPTS, delta=["3"])],
     "delta must be a list of repo ids, got ['3']"),
    ("distRepo", ["t", 1, [7], DIST_OPTS], "signing keys must be strings, got [7]"),
    ("distRepo", ["t", 1, "abcd", DIST_OPTS], "Invalid"),
    ("runroot", ["tag", "x86_64 && x", "true"], "'arch' for runroot: 'x86_64 && x' is not an"),
    ("runroot", ["tag", "x86_64", {"a": 1}], "Invalid parameter 'command' for runroot"),
    ("runroot", ["tag", "x86_64", ["echo", 3]], "'command' for runroot: 3 is not a non-empty"),
    ("runroot", ["tag", "x86_64", "true", False, ["--setopt=reposdir=/tmp"]],
     "'packages' for runroot: '--setopt=reposdir=/tmp' is not a name (it starts with '-')"),
    ("runroot", ["tag", "x86_64", "true", False, "bash"], "Invalid parameter 'packages'"),
    ("runroot", ["tag", "x86_64", "true", False, [], [None]], "'mounts' for runroot: None"),
    ("runroot", ["tag", "x86_64", "true", False, [], [], "7"], "Invalid parameter 'repo_id'"),
    ("runroot", ["tag", "x86_64", "true", False, [], [], True], "Invalid parameter 'repo_id'"),
    ("runroot", ["tag", "x86_64", "true", False, [], [], None, False, "heavy"],
     "Invalid parameter 'weight'"),
])
def test_malformed_requests_raise_parameter_error(method, request_, text):
    with pytest.raises(koji.ParameterError) as excinfo:
        task_params.parse(method, request_)
    assert text in str(excinfo.value)


@pytest.mark.parametrize("method, request_", [
    ("sleep", [{"__method__": "sleep", "n": 1}]),
    ("buildArch", [{"__method__": "buildArch", "pkg": "a.src.rpm", "root": "t",
                    "arch": "noarch", "keep_srpm": False}]),
    ("buildArch", ["x.src.rpm", "tag", "aarch64", True, {"repo_id": 3}]),
    ("buildArch", ["x.src.rpm", "tag", "i686", True, None]),
    ("build", ["x.src.rpm", "target", {"repo_id": None, "scratch": True}]),
    ("createrepo", [1, "ppc64le", None]),
    ("distRepo", ["t", 1, ["ABCD1234"], DIST_OPTS]),
    ("createdistrepo", ["t", 1, "src", [], dict(DIST_OPTS, delta=[4])]),
    ("runroot", ["tag", "noarch", "echo hi"]),
    ("runroot", ["tag", "x86_64", ["echo", "it's"], False, ["bash"], ["/mnt/x"], 3, True,
                 2.5, ["/builddir/x.log"], None]),
    ("runroot", ["tag", "x86_64", "true",
                 {"packages": [], "mounts": [], "repo_id": None, "new_chroot": False,
                  "__starstar": True}]),
])
def test_well_formed_requests_pass(method, request_):
    assert isinstance(task_params.parse(method, request_), dict)


class _Session(object):
    """getTag and getBuildConfig of a hub that knows ``tags`` (name -> info)."""

    def __init__(self, tags):
        self.tags = tags

    def getTag(self, tag):
        return self.tags.get(tag)

    def getBuildConfig(self, tag):
        if tag not in self.tags:
            raise koji.GenericError("No such tagInfo: %r" % (tag,))
        return self.tags[tag]


@pytest.mark.parametrize("method, params, text", [
    ("buildArch", {"root": "gone", "arch": "x86_64"},
     "Invalid parameter 'root' for buildArch: no such tag 'gone'"),
    ("rebuildSRPM", {"build_tag": 99}, "Invalid parameter 'build_tag' for rebuildSRPM: no such "
                                       "tag 99"),
    ("buildSRPMFromSCM", {"build_tag": "gone"}, "'build_tag' for buildSRPMFromSCM"),
])
def test_unknown_build_tag_is_the_requests_fault(method, params, text):
    param_error, refusal = task_claim.build_tag_check(_Session({}), method, params,
                                                      {"arches": "x86_64"})
    assert text in param_error and refusal is None


def test_known_build_tag_and_other_methods_pass():
    session = _Session({"f40-build": {"id": 1, "name": "f40-build", "arches": "x86_64"}})
    host = {"arches": "x86_64"}
    assert task_claim.build_tag_check(session, "buildArch",
                                      {"root": "f40-build", "arch": "x86_64"}, host) == (None, None)
    assert task_claim.build_tag_check(session, "sleep", {"n": 1}, host) == (None, None)


# -- paths under work/ -----------------------------------------------------------------------

@pytest.mark.parametrize("path, text", [
    ("../x.src.rpm", "'..' is not allowed"),
    ("a/../../x.src.rpm", "'..' is not allowed"),
    ("/etc/passwd", "absolute paths are not allowed"),
    ("", "expected a path relative to work/"),
    (None, "expected a path relative to work/"),
    ("cli-build/x/.hidden.src.rpm", "file name '.hidden.src.rpm' starts with '.'"),
    ("cli-build/x/a\nb.src.rpm", "control characters are not allowed"),
    ("cli-build/x/a\x7fb.src.rpm", "control characters are not allowed"),
])
def test_unsafe_work_paths_are_refused(path, text):
    with pytest.raises(rpms.UnsafePathError) as excinfo:
        rpms.check_work_path(path)
    assert text in str(excinfo.value)


def test_plain_work_paths_are_normalized():
    assert rpms.check_work_path("cli-build/abc/x-1-1.src.rpm") == "cli-build/abc/x-1-1.src.rpm"
    assert rpms.check_work_path("cli-build//abc/./x.src.rpm") == "cli-build/abc/x.src.rpm"


def _topdir(tmp_path):
    work = tmp_path / "topdir" / "work" / "cli-build"
    work.mkdir(parents=True)
    (work / "good.src.rpm").write_bytes(b"srpm")
    outside = tmp_path / "outside.src.rpm"
    outside.write_bytes(b"secret")
    (work / "link.src.rpm").symlink_to(outside)
    (work / "inner-link.src.rpm").symlink_to(work / "good.src.rpm")
    dest = tmp_path / "dest"
    dest.mkdir()
    return types.SimpleNamespace(topdir=str(tmp_path / "topdir"), topurl=[]), str(dest)


def test_links_out_of_work_are_not_followed(tmp_path):
    config, dest = _topdir(tmp_path)
    with pytest.raises(rpms.UnsafePathError) as excinfo:
        rpms.fetch_work_file(config, "cli-build/link.src.rpm", dest)
    assert "link to a file outside work/" in str(excinfo.value)
    assert os.listdir(dest) == []
    copied = rpms.fetch_work_file(config, "cli-build/inner-link.src.rpm", dest)
    assert open(copied, "rb").read() == b"srpm"


def test_missing_input_is_not_an_unsafe_path(tmp_path):
    config, dest = _topdir(tmp_path)
    with pytest.raises(rpms.InputError) as excinfo:
        rpms.fetch_work_file(config, "cli-build/none.src.rpm", dest)
    assert not isinstance(excinfo.value, rpms.UnsafePathError)
    assert "does not exist" in str(excinfo.value)


# -- SCM URLs and checkouts --------------------------------------------------------------------

@pytest.mark.parametrize("url, text", [
    ("git://h/pkg.git#--upload-pack=touch /tmp/x", "invalid revision '--upload-pack=touch"),
    ("git://h/pkg.git#-c", "must not start with '-'"),
    ("git://h/pkg.git?../../etc#main", "module path '../../etc' leads outside the checkout"),
    ("git://h/pkg.git?..#main", "leads outside the checkout"),
])
def test_revision_options_and_escaping_modules_are_refused(url, text):
    with pytest.raises(koji.BuildError) as excinfo:
        scm.check_revision_and_module(koji.daemon.SCM(url))
    assert text in str(excinfo.value)


@pytest.mark.parametrize("url", ["git://h/pkg.git#main", "git://h/pkg.git?sub/dir#v1.0-1",
                                 "git://h/pkg.git?a/../b#0123abcd"])
def test_plain_revisions_and_modules_pass(url):
    scm.check_revision_and_module(koji.daemon.SCM(url))


def test_spec_links_out_of_the_checkout_are_refused(tmp_path):
    outside = tmp_path / "outside.spec"
    outside.write_text("Name: x\n")
    checkout = tmp_path / "scm" / "pkg"
    checkout.mkdir(parents=True)
    (checkout / "pkg.spec").symlink_to(outside)
    with pytest.raises(koji.BuildError) as excinfo:
        scm.find_spec(str(checkout), root=str(tmp_path / "scm"))
    assert "the spec file pkg/pkg.spec leads outside the checkout" in str(excinfo.value)


def test_specs_dir_link_out_of_the_checkout_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.spec").write_text("Name: x\n")
    checkout = tmp_path / "scm" / "pkg"
    checkout.mkdir(parents=True)
    (checkout / "SPECS").symlink_to(outside)
    with pytest.raises(koji.BuildError) as excinfo:
        scm.find_spec(str(checkout), root=str(tmp_path / "scm"))
    assert "leads outside the checkout" in str(excinfo.value)


def test_spec_links_inside_the_checkout_are_fine(tmp_path):
    checkout = tmp_path / "scm" / "pkg"
    (checkout / "packaging").mkdir(parents=True)
    (checkout / "packaging" / "real.spec").write_text("Name: x\n")
    (checkout / "pkg.spec").symlink_to(checkout / "packaging" / "real.spec")
    assert scm.find_spec(str(checkout), root=str(tmp_path / "scm")) == str(checkout / "pkg.spec")

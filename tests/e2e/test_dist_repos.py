"""Dist repos end to end: `koji dist-repo` makes a distRepo task, the real worker runs it and
its createdistrepo subtasks (createrepo_c in a container with the topdir read-only), the hub
moves each arch in (host.distRepoMove) and makes the repo READY.

What is asserted is what the hub and a user see: the task states and faults, the repo's
state, the files under the hub's topdir `repos-dist/<tag>/<id>/` and the task logs.
"""

import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import uuid

import koji
import pytest

from e2e_support import koji_cli, task_fault

from koji_adjutant_devhub.testing import make_signing_key, sign_rpm

SPEC = """\
%global debug_package %{nil}
Name: NAME
Version: VERSION
Release: 1
Summary: dist repo test package
License: MIT

%description
Test.

%package debuginfo
Summary: debug files of NAME

%description debuginfo
Debug.

%install
mkdir -p %{buildroot}/usr/share/NAME %{buildroot}/usr/lib/debug/NAME
echo VERSION > %{buildroot}/usr/share/NAME/version
# the same 256 KiB of incompressible bytes in every version: a delta rpm is much smaller
head -c 262144 /dev/zero | openssl enc -aes-128-ctr -nosalt -K 00112233445566778899aabbccddeeff \
    -iv 00000000000000000000000000000000 > %{buildroot}/usr/share/NAME/data
echo debug > %{buildroot}/usr/lib/debug/NAME/info

%files
/usr/share/NAME/version
/usr/share/NAME/data

%files debuginfo
/usr/lib/debug/NAME/info
"""

COMPS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>dist-e2e</id>
    <name>dist e2e</name>
    <description>group of the e2e dist repo</description>
    <packagelist><packagereq type="default">NAME</packagereq></packagelist>
  </group>
</comps>
"""


def build(tmp_path, name, version="1.0"):
    """rpmbuild NAME-VERSION: {'src', 'x86_64', 'debuginfo'} paths."""
    top = tmp_path / ("rpmbuild-%s-%s" % (name, version))
    spec = tmp_path / ("%s-%s.spec" % (name, version))
    spec.write_text(SPEC.replace("NAME", name).replace("VERSION", version))
    subprocess.run(["rpmbuild", "-ba", "--quiet", "--target", "x86_64", "--define",
                    "_topdir %s" % top, str(spec)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    nvr = "%s-%s-1" % (name, version)
    return {"src": str(top / "SRPMS" / ("%s.src.rpm" % nvr)),
            "x86_64": str(top / "RPMS" / "x86_64" / ("%s.x86_64.rpm" % nvr)),
            "debuginfo": str(top / "RPMS" / "x86_64" / ("%s-debuginfo-%s-1.x86_64.rpm"
                                                        % (name, version)))}


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:6])


def dist_repo(hub, tmp_path, tag, *args, ok=True):
    """`koji dist-repo TAG ARGS`, which waits for its distRepo task (and fails when the task
    fails); returns (task id, repo id, the CLI's output)."""
    out = koji_cli(hub, tmp_path, "dist-repo", "--wait", tag, *args)
    session = hub.admin_session()
    tasks = session.listTasks(opts={"method": "distRepo", "decode": True},
                              queryOpts={"order": "-id"})
    # (other tests leave distRepo tasks with malformed requests on the shared hub)
    mine = [t for t in tasks if t["request"][:1] == [tag]]
    assert mine, "no distRepo task for %s: %s" % (tag, out.stdout)
    task = mine[0]
    assert (out.returncode == 0) == ok, out.stdout
    if ok:
        assert task["state"] == koji.TASK_STATES["CLOSED"], task_fault(session, task["id"])
    else:
        assert task["state"] == koji.TASK_STATES["FAILED"], out.stdout
    return task["id"], task["request"][1], out.stdout


def primary_names(repo_dir):
    """(name, arch, href) of every package the repodata's primary.xml lists."""
    primary = glob.glob(os.path.join(repo_dir, "repodata", "*primary.xml.gz"))
    assert len(primary) == 1, os.listdir(os.path.join(repo_dir, "repodata"))
    with gzip.open(primary[0], "rt") as handle:
        text = handle.read()
    return sorted(re.findall(r"<name>([^<]+)</name>\s*<arch>([^<]+)</arch>.*?"
                             r'<location href="([^"]+)"', text, re.S))


def task_log(hub, task_id, name):
    path = os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(task_id), name)
    with open(path) as handle:
        return handle.read()


def child(hub, parent, label):
    return [c for c in hub.admin_session().getTaskChildren(parent) if c["label"] == label][0]


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory):
    if shutil.which("rpmsign") is None or shutil.which("gpg") is None:
        pytest.skip("rpmsign or gpg not installed")
    return make_signing_key(str(tmp_path_factory.mktemp("gpg")))


def test_dist_repo_with_src_debuginfo_and_comps(tmp_path, hub, worker):
    """--allow-missing-signatures: the unsigned rpms; --with-src: a src repo;
    --split-debuginfo: a debug/ subrepo; --comps: the group in the repodata."""
    session = hub.admin_session()
    tag, name = unique("dist-e2e"), unique("dpkg")
    hub.make_tag_with_repo(tag, ["x86_64"])
    rpms = build(tmp_path, name)
    hub.import_rpms(list(rpms.values()), tag=tag)
    comps = tmp_path / "comps.xml"
    comps.write_text(COMPS.replace("NAME", name))
    task_id, repo_id, out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures",
                                      "--with-src", "--split-debuginfo", "--comps", str(comps))
    assert session.getTaskResult(task_id) == "Dist repository #%s successfully generated" \
        % repo_id
    repo = session.repoInfo(repo_id)
    assert repo["state"] == koji.REPO_STATES["READY"] and repo["dist"]
    children = session.getTaskChildren(task_id)
    assert sorted((c["method"], c["label"], c["arch"], c["state"]) for c in children) == [
        ("createdistrepo", "src", "noarch", koji.TASK_STATES["CLOSED"]),
        ("createdistrepo", "x86_64", "noarch", koji.TASK_STATES["CLOSED"])]
    top = os.path.join(hub.topdir, "repos-dist", tag, str(repo_id))
    assert os.path.realpath(os.path.join(hub.topdir, "repos-dist", tag, "latest")) == top
    letter = name[0]
    assert primary_names(os.path.join(top, "x86_64")) == [
        (name, "x86_64", "Packages/%s/%s-1.0-1.x86_64.rpm" % (letter, name))]
    assert primary_names(os.path.join(top, "x86_64", "debug")) == [
        ("%s-debuginfo" % name, "x86_64",
         "../Packages/%s/%s-debuginfo-1.0-1.x86_64.rpm" % (letter, name))]
    assert primary_names(os.path.join(top, "src")) == [
        (name, "src", "Packages/%s/%s-1.0-1.src.rpm" % (letter, name))]
    # the rpms are the hub's own (unsigned) files, linked in by distRepoMove
    linked = os.path.join(top, "x86_64", "Packages", letter, "%s-1.0-1.x86_64.rpm" % name)
    build_dir = koji.PathInfo(topdir=hub.topdir).build(session.getBuild("%s-1.0-1" % name))
    assert os.path.samefile(linked, os.path.join(build_dir, "x86_64",
                                                 "%s-1.0-1.x86_64.rpm" % name))
    # comps: the group file is in the repodata of the arch repo
    repomd = open(os.path.join(top, "x86_64", "repodata", "repomd.xml")).read()
    assert '<data type="group">' in repomd
    group = glob.glob(os.path.join(top, "x86_64", "repodata", "*comps*.xml"))
    assert group and "dist-e2e" in open(group[0]).read()
    # kojipkgs and pkglist moved in; the unsigned rpms are listed in the task's log
    assert sorted(os.listdir(os.path.join(top, "x86_64"))) == [
        "Packages", "debug", "kojipkgs", "pkglist", "repodata"]
    x86 = child(hub, task_id, "x86_64")
    log = task_log(hub, x86["id"], "missing_signatures.log")
    assert "%s-1.0-1.x86_64: ['']" % name in log
    assert "--update" not in task_log(hub, x86["id"], "createrepo.log")


def test_missing_signature_fails_with_kojids_message(tmp_path, hub, worker):
    session = hub.admin_session()
    tag, name = unique("dist-unsigned"), unique("upkg")
    hub.make_tag_with_repo(tag, ["x86_64"])
    rpms = build(tmp_path, name)
    hub.import_rpms([rpms["src"], rpms["x86_64"]], tag=tag)
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "ABCD1234", ok=False)
    fault = task_fault(session, task_id)
    assert "Unsigned packages found. See missing_signatures.log" in str(fault)
    x86 = child(hub, task_id, "x86_64")
    assert x86["state"] == koji.TASK_STATES["FAILED"]
    log = task_log(hub, x86["id"], "missing_signatures.log")
    assert "Requested keys: ['abcd1234']" in log and "%s-1.0-1.x86_64" % name in log
    assert session.repoInfo(repo_id)["state"] == koji.REPO_STATES["INIT"]
    # --skip-missing-signatures leaves the unsigned rpms out: an empty repo
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "abcd1234",
                                       "--skip-missing-signatures")
    top = os.path.join(hub.topdir, "repos-dist", tag, str(repo_id), "x86_64")
    assert primary_names(top) == []
    assert os.path.isfile(os.path.join(top, "repodata", "EMPTY_REPO"))


def test_signed_copies_are_linked(tmp_path, hub, worker, signing_key):
    """The repo takes the signed copy of the first requested key an rpm has; a signature
    without its signed copy fails (missing_files.log) unless --write-signed-rpms."""
    session = hub.admin_session()
    tag, name = unique("dist-signed"), unique("spkg")
    key = signing_key["keyid"]
    hub.make_tag_with_repo(tag, ["x86_64"])
    rpms = build(tmp_path, name)
    hub.import_rpms(list(rpms.values()), tag=tag)
    copies = tmp_path / "signed"
    copies.mkdir()
    signed = [sign_rpm(rpms[a], signing_key, str(copies)) for a in ("x86_64", "debuginfo")]
    # signatures imported, signed copies not written
    assert hub.import_signatures(signed, write=False) == [key, key]
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "deadbeef", key.upper(), ok=False)
    assert "Packages missing from the filesystem. See missing_files.log." in \
        str(task_fault(session, task_id))
    x86 = child(hub, task_id, "x86_64")
    assert "data/signed/%s/x86_64/%s-1.0-1.x86_64.rpm" % (key, name) in \
        task_log(hub, x86["id"], "missing_files.log")
    # --write-signed-rpms: the task has the hub write them (host.writeSignedRPM)
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "deadbeef", key.upper(),
                                       "--write-signed-rpms")
    x86 = child(hub, task_id, "x86_64")
    assert "written with key %s" % key in task_log(hub, x86["id"], "written_signed_rpms.log")
    top = os.path.join(hub.topdir, "repos-dist", tag, str(repo_id), "x86_64")
    linked = os.path.join(top, "Packages", name[0], "%s-1.0-1.x86_64.rpm" % name)
    assert koji.get_sighdr_key(koji.rip_rpm_sighdr(linked)) == key
    assert [n for n, _a, _h in primary_names(top)] == sorted([name, name + "-debuginfo"])


def test_second_repo_updates_and_makes_deltas(tmp_path, hub, worker):
    session = hub.admin_session()
    tag, name = unique("dist-delta"), unique("delta")
    hub.make_tag_with_repo(tag, ["x86_64"])
    hub.import_rpms(list(build(tmp_path, name, "1.0").values()), tag=tag)
    _task, first, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures")
    hub.import_rpms(list(build(tmp_path, name, "2.0").values()), tag=tag)
    task_id, second, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures",
                                      "--delta-rpms", str(first))
    x86 = child(hub, task_id, "x86_64")
    log = task_log(hub, x86["id"], "createrepo.log")
    assert "--update" in log and "--deltas" in log
    assert "--skip-stat" not in log   # kojid's distrepo_skip_stat default
    top = os.path.join(hub.topdir, "repos-dist", tag, str(second), "x86_64")
    assert (name, "x86_64", "Packages/%s/%s-2.0-1.x86_64.rpm" % (name[0], name)) in \
        primary_names(top)
    drpms = os.listdir(os.path.join(top, "drpms"))
    assert "%s-1.0-1_2.0-1.x86_64.drpm" % name in drpms
    repomd = os.path.join(top, "repodata", "repomd.xml")
    assert '<data type="prestodelta">' in open(repomd).read()
    # a delta base that is not a dist repo
    buildroot_repo = session.getRepo(tag)["id"]
    task_id, _repo, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures",
                                     "--delta-rpms", str(buildroot_repo), ok=False)
    assert "Base repo for deltas must also be a dist repo" in str(task_fault(session, task_id))


ML_SPEC = """\
%global debug_package %{nil}
Name: NAME
Version: 1.0
Release: 1
Summary: multilib test package (no compiled code, not noarch)
License: MIT

%description
Test.

%package devel
Summary: headers of NAME
Requires: NAME = %{version}-%{release}

%description devel
Headers.

%install
mkdir -p %{buildroot}/usr/share/NAME %{buildroot}/usr/include
echo data > %{buildroot}/usr/share/NAME/data
echo '/* NAME */' > %{buildroot}/usr/include/NAME.h

%files
/usr/share/NAME/data

%files devel
/usr/include/NAME.h
"""

# python-multilib's config: the white and black lists of its runtime and devel methods
ML_CONF = "[runtime]\nwhite =\nblack =\n\n[devel]\nwhite =\nblack = BLACK\n"


def build_multilib(tmp_path, name, arches=("x86_64", "i686")):
    """rpmbuild NAME and NAME-devel for each arch; returns the rpm paths (the src first)."""
    spec = tmp_path / ("%s.spec" % name)
    spec.write_text(ML_SPEC.replace("NAME", name))
    top = tmp_path / ("rpmbuild-%s" % name)
    paths = [str(top / "SRPMS" / ("%s-1.0-1.src.rpm" % name))]
    for arch in arches:
        subprocess.run(["rpmbuild", "-ba" if arch == arches[0] else "-bb", "--quiet",
                        "--target", arch, "--define", "_topdir %s" % top, str(spec)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        paths += [str(top / "RPMS" / arch / ("%s%s-1.0-1.%s.rpm" % (name, sub, arch)))
                  for sub in ("", "-devel")]
    return paths


def multilib_conf(tmp_path, black="none"):
    conf = tmp_path / "multilib.conf"
    conf.write_text(ML_CONF.replace("BLACK", black))
    return str(conf)


def test_multilib_adds_the_32_bit_devel_packages_and_their_deps(tmp_path, hub, worker):
    """The i386 repo is made and moved first; the x86_64 repo gets the i686 -devel package the
    devel method selects and, from the dnf depsolve over the i386 repo, the i686 package it
    requires; nothing of a package that is not selected."""
    session = hub.admin_session()
    tag, name, other = unique("dist-multilib"), unique("mlpkg"), unique("plain")
    hub.make_tag_with_repo(tag, ["x86_64", "i686"])
    hub.import_rpms(build_multilib(tmp_path, name), tag=tag)
    hub.import_rpms([build(tmp_path, other)[a] for a in ("src", "x86_64")], tag=tag)
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures",
                                       "--multilib", multilib_conf(tmp_path))
    i386, x86 = child(hub, task_id, "i386"), child(hub, task_id, "x86_64")
    assert x86["create_ts"] >= i386["completion_ts"]
    assert session.repoInfo(repo_id)["state"] == koji.REPO_STATES["READY"]
    top = os.path.join(hub.topdir, "repos-dist", tag, str(repo_id))
    n, o = name[0], other[0]
    assert primary_names(os.path.join(top, "x86_64")) == sorted([
        (name, "i686", "Packages/%s/%s-1.0-1.i686.rpm" % (n, name)),
        (name, "x86_64", "Packages/%s/%s-1.0-1.x86_64.rpm" % (n, name)),
        (name + "-devel", "i686", "Packages/%s/%s-devel-1.0-1.i686.rpm" % (n, name)),
        (name + "-devel", "x86_64", "Packages/%s/%s-devel-1.0-1.x86_64.rpm" % (n, name)),
        (other, "x86_64", "Packages/%s/%s-1.0-1.x86_64.rpm" % (o, other))])
    assert primary_names(os.path.join(top, "i386")) == sorted([
        (name, "i686", "Packages/%s/%s-1.0-1.i686.rpm" % (n, name)),
        (name + "-devel", "i686", "Packages/%s/%s-devel-1.0-1.i686.rpm" % (n, name))])
    # the hub linked the 32-bit rpms into the 64-bit repo too, flagged in its kojipkgs
    linked = os.path.join(top, "x86_64", "Packages", n, "%s-devel-1.0-1.i686.rpm" % name)
    assert os.path.samefile(linked, os.path.join(top, "i386", "Packages", n,
                                                 "%s-devel-1.0-1.i686.rpm" % name))
    with open(os.path.join(top, "x86_64", "kojipkgs")) as handle:
        kojipkgs = json.load(handle)
    assert kojipkgs["%s-1.0-1.i686.rpm" % name]["_multilib"] is True
    assert "_multilib" not in kojipkgs["%s-1.0-1.x86_64.rpm" % name]
    # the dnf config of the depsolve is uploaded with the task
    conf = task_log(hub, x86["id"], "dnf.conf-koji-x86_64")
    assert "baseurl=file://%s" % os.path.join(top, "i386") in conf
    # the config's devel blacklist is honoured: no 32-bit package at all
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures",
                                       "--multilib", multilib_conf(tmp_path, name + "-devel"))
    top = os.path.join(hub.topdir, "repos-dist", tag, str(repo_id))
    assert [a for _n, a, _h in primary_names(os.path.join(top, "x86_64"))] == ["x86_64"] * 3


def test_multilib_missing_32_bit_package_fails_with_kojids_message(tmp_path, hub, worker):
    session = hub.admin_session()
    tag, name = unique("dist-mlmiss"), unique("mlmiss")
    hub.make_tag_with_repo(tag, ["x86_64", "i686"])
    hub.import_rpms(build_multilib(tmp_path, name, arches=("x86_64",)), tag=tag)
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures",
                                       "--multilib", multilib_conf(tmp_path), ok=False)
    i386, x86 = child(hub, task_id, "i386"), child(hub, task_id, "x86_64")
    assert i386["state"] == koji.TASK_STATES["CLOSED"]
    assert x86["state"] == koji.TASK_STATES["FAILED"]
    assert "multilib packages missing. See missing_multilib.log" in \
        str(task_fault(session, task_id))
    top = os.path.join(hub.topdir, "repos-dist", tag, str(repo_id))
    log = task_log(hub, x86["id"], "missing_multilib.log")
    assert os.path.join(top, "i386", "Packages", name[0], "%s-devel-1.0-1.i686.rpm" % name) \
        in log.splitlines()
    # the 32-bit repo was moved in; the repo stays INIT
    assert os.path.isfile(os.path.join(top, "i386", "repodata", "repomd.xml"))
    assert session.repoInfo(repo_id)["state"] == koji.REPO_STATES["INIT"]


def test_multilib_config_without_its_sections_is_refused(tmp_path, hub, worker):
    session = hub.admin_session()
    tag = unique("dist-mlconf")
    hub.make_tag_with_repo(tag, ["x86_64", "i686"])
    conf = tmp_path / "multilib.conf"
    conf.write_text("[multilib]\n")
    task_id, repo_id, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures",
                                       "--multilib", str(conf), ok=False)
    fault = str(task_fault(session, task_id))
    assert "invalid multilib config" in fault and "No section: 'runtime'" in fault
    assert child(hub, task_id, "i386")["state"] == koji.TASK_STATES["CLOSED"]


def test_failures_name_the_problem(tmp_path, hub, worker):
    session = hub.admin_session()
    tag2 = unique("dist-ready")
    hub.make_tag_with_repo(tag2, ["x86_64"])
    _t, repo_id, _o = dist_repo(hub, tmp_path, tag2, "--allow-missing-signatures")
    opts = session.getTaskInfo(_t, request=True)["request"][3]
    # no arches given and none on the tag (a distRepo task made by hand: the hub's distRepo
    # call makes no repo directory without arches)
    tag = unique("dist-noarch")
    out = koji_cli(hub, tmp_path, "add-tag", tag)
    assert out.returncode == 0, out.stdout
    task = hub.make_task("distRepo", [tag, repo_id, [], dict(opts, arch=[])],
                         channel="createrepo", arch="noarch")
    hub.wait_task(task, ["CLOSED", "FAILED"], timeout=120)
    assert "No arches specified nor for the tag!" in str(task_fault(session, task))
    # a createdistrepo for a repo that is not INIT (here READY)
    task = hub.make_task("createdistrepo", [tag2, repo_id, "x86_64", [], opts],
                         channel="createrepo", arch="noarch")
    hub.wait_task(task, ["CLOSED", "FAILED"], timeout=120)
    assert "Repo %s not in INIT state (got READY)" % repo_id in str(task_fault(session, task))
    # options kojid needs are missing: ParameterError before the playbook runs
    task = hub.make_task("createdistrepo", [tag2, repo_id, "x86_64", [], {"event": 1}],
                         channel="createrepo", arch="noarch")
    hub.wait_task(task, ["CLOSED", "FAILED"], timeout=120)
    fault = task_fault(session, task)
    assert isinstance(fault, koji.ParameterError) and "missing latest, inherit" in str(fault)
    # a zchunk dictionary without --zck (the hub takes the options as they are)
    task = session.distRepo(tag2, [], **dict(opts, event=None, zck_dict_dir="/usr/share"))
    hub.wait_task(task, ["CLOSED", "FAILED"], timeout=120)
    assert "--zck-dict-dir makes no sense without --zck" in str(task_fault(session, task))


def test_zck_metadata(tmp_path, hub, worker):
    tag = unique("dist-zck")
    hub.make_tag_with_repo(tag, ["x86_64"])
    _task, repo_id, _out = dist_repo(hub, tmp_path, tag, "--allow-missing-signatures", "--zck")
    repodata = os.path.join(hub.topdir, "repos-dist", tag, str(repo_id), "x86_64", "repodata")
    assert any(name.endswith("primary.xml.zck") for name in os.listdir(repodata))
    assert os.path.isfile(os.path.join(repodata, "EMPTY_REPO"))

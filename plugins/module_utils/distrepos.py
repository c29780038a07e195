# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""koji dist repos: what kojid's distRepo and createdistrepo handlers do.

distRepo (the parent, made by the hub's ``distRepo`` call, the repo already INIT with one
directory per arch under ``<topdir>/repos-dist/<tag>/<id>/``): one ``createdistrepo``
subtask per canonical arch, the arches that are not multilib arches first; with the
``multilib`` option it waits for those and moves them into the repo
(``host.distRepoMove``) before it makes the multilib arches' subtasks, which read them;
then it waits for all, moves the rest and ends the repo with ``host.repoDone(repo_id, {})``.

createdistrepo (one arch): the repo must be INIT; the tag's rpms of the arch's compatible
arches (``listTaggedRPMS`` with their signatures) are picked by the requested keys (the
first key of the list that an rpm has wins; none: the unsigned rpm, which fails the task
unless ``allow_missing_signatures``, or is left out with ``skip_missing_signatures``), the
signed copies written on request (``host.writeSignedRPM``); the repo is laid out in the
task's directory (``kojipkgs``, ``pkglist``, ``Packages/<letter>/<file>`` links to the rpms
under the topdir, a ``debug/`` subrepo with ``split_debuginfo``), createrepo_c runs over it
(comps, ``--update`` from the tag's READY dist repo, ``--deltas`` against the ``delta``
repos, ``--zck``), and every regular file is uploaded with a ``repo_manifest`` for
``host.distRepoMove``.
"""

from __future__ import annotations

import configparser
import glob
import json
import os
import shutil

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

from ansible_collections.koji_adjutant.builder.plugins.module_utils import repos
from ansible_collections.koji_adjutant.builder.plugins.module_utils import uploads

# the opts keys kojid's createdistrepo reads without a default
REQUIRED_OPTS = ("event", "latest", "inherit", "multilib", "skip_missing_signatures",
                 "allow_missing_signatures")

# the rpm arches that go into a repo of each arch (kojid's table); noarch is in every one
# but src's
COMPAT_ARCHES = {
    "i386": ("athlon", "i686", "i586", "i486", "i386", "noarch"),
    "x86_64": ("amd64", "ia32e", "x86_64", "noarch"),
    "ia64": ("ia64", "noarch"),
    "ppc": ("ppc", "noarch"),
    "ppc64": ("ppc64p7", "ppc64pseries", "ppc64iseries", "ppc64", "noarch"),
    "ppc64le": ("ppc64le", "noarch"),
    "s390": ("s390", "noarch"),
    "s390x": ("s390x", "noarch"),
    "sparc": ("sparcv9v", "sparcv9", "sparcv8", "sparc", "noarch"),
    "sparc64": ("sparc64v", "sparc64", "noarch"),
    "alpha": ("alphaev6", "alphaev56", "alphaev5", "alpha", "noarch"),
    "arm": ("arm", "armv4l", "armv4tl", "armv5tel", "armv5tejl", "armv6l", "armv7l", "noarch"),
    "armhfp": ("armv7hl", "armv7hnl", "noarch"),
    "aarch64": ("aarch64", "noarch"),
    "riscv64": ("riscv64", "noarch"),
    "sw_64": ("sw_64", "noarch"),
    "loongarch64": ("loongarch64", "noarch"),
    "src": ("src",),
}

# the canonical arches koji calls multilib arches (koji.arch.multilibArches; koji.arch itself
# needs the rpm Python bindings, which the worker does without)
MULTILIB_ARCHES = ("x86_64", "ppc64", "s390x", "sparc64", "sparc64v")
# the 32-bit partner of each multilib arch kojid makes multilib repos for
MULTILIB_PARTNER = {"x86_64": "i686", "ppc64": "ppc", "s390x": "s390"}


def is_multilib_arch(arch):
    """Whether the canonical ``arch`` is one of koji's multilib arches."""
    return arch in MULTILIB_ARCHES


EMPTY_REPO_TEXT = repos.EMPTY_REPO_TEXT
LOGS = ("written_signed_rpms.log", "missing_files.log", "missing_signatures.log",
        "missing_multilib.log")


def dist_repo_path(config, repo_id, tag_name):
    """``<topdir>/repos-dist/<tag>/<repo_id>`` (koji's ``pathinfo.distrepo``)."""
    return koji.PathInfo(topdir=config.topdir).distrepo(repo_id, tag_name)


def check_opts(opts, method="createdistrepo"):
    """The options kojid reads without a default are there."""
    missing = [key for key in REQUIRED_OPTS if key not in opts]
    if missing:
        raise koji.ParameterError("Invalid parameter 'opts' for %s: missing %s"
                                  % (method, ", ".join(missing)))


# -- distRepo (the parent) ------------------------------------------------------------------

def plan_dist_repo(session, params):
    """The subtasks of a distRepo task, in kojid's two rounds."""
    tag, repo_id, keys = params["tag"], params["repo_id"], params["keys"]
    task_opts = dict(params["task_opts"])
    check_opts(task_opts, "distRepo")
    tinfo = session.getTag(tag, strict=True, event=task_opts["event"])
    arches = list(task_opts.get("arch") or [])
    if not arches:
        arches = (tinfo["arches"] or "").split()
        task_opts["arch"] = arches
    if not arches:
        raise koji.GenericError("No arches specified nor for the tag!")
    canon = sorted(set(koji.canonArch(arch) for arch in arches))
    first = [arch for arch in canon if not is_multilib_arch(arch)]
    later = [arch for arch in canon if arch not in first]

    def spec(arch):
        return {"method": "createdistrepo", "arglist": [tag, repo_id, arch, keys, task_opts],
                "label": arch, "arch": "noarch"}

    return {"repo_id": repo_id, "tag_name": tinfo["name"], "arches": canon,
            "first_subtasks": [spec(arch) for arch in first],
            "later_subtasks": [spec(arch) for arch in later],
            "multilib": bool(task_opts.get("multilib")),
            "result": "Dist repository #%s successfully generated" % repo_id}


def move_arches(session, repo_id, subtask_ids, skip=()):
    """``host.distRepoMove(repo_id, <subtask's upload dir>, arch)`` for each arch (label)
    of ``subtask_ids`` not in ``skip``; returns the arches moved."""
    moved = []
    for arch in sorted(subtask_ids):
        if arch in skip:
            continue
        session.host.distRepoMove(repo_id, uploads.task_upload_path(subtask_ids[arch]), arch)
        moved.append(arch)
    return moved


# -- createdistrepo (one arch) --------------------------------------------------------------

def pick_key(keys, available):
    """The requested key earliest in ``keys`` that the rpm has, or None."""
    found = [key for key in available if key in keys]
    return min(found, key=keys.index) if found else None


def select_rpms(session, config, tag, arch, keys, opts):
    """kojid's choice of one signature per rpm; returns (selected, by_id, build dirs)."""
    pathinfo = koji.PathInfo(topdir=config.topdir)
    rpms, builddirs = [], {}
    for rpm_arch in COMPAT_ARCHES.get(arch, (arch, "noarch")):
        found, builds = session.listTaggedRPMS(tag, event=opts["event"], arch=rpm_arch,
                                               latest=opts["latest"], inherit=opts["inherit"],
                                               rpmsigs=True)
        for build in builds:
            if build.get("draft"):
                raise koji.BuildError("Draft build: %s is not allowed" % build["nvr"])
            builddirs[build["id"]] = pathinfo.build(build)
        rpms += list(found)
    by_id = {}
    for rpminfo in rpms:
        by_id.setdefault(rpminfo["id"], {})[rpminfo["sigkey"]] = rpminfo
    selected = {}
    for rpm_id, sigs in by_id.items():
        # the hub keeps sigkeys lowercase
        best = pick_key(keys, list(sigs))
        if best is None:
            rpminfo = dict(sigs[list(sigs)[0]], sigkey=None)
        else:
            rpminfo = dict(sigs[best], best_key=best)
        selected[rpm_id] = rpminfo
    return selected, by_id, builddirs


def write_signed_copies(session, selected, log_dir):
    """``host.writeSignedRPM`` for every signed pick, in one multicall (batches of 1000);
    what happened goes to ``written_signed_rpms.log``."""
    picks = [rpm_id for rpm_id in selected if selected[rpm_id].get("best_key")]
    if not picks:
        return None
    calls = []
    with session.multicall(batch=1000) as multi:
        for rpm_id in picks:
            calls.append(multi.host.writeSignedRPM(rpm_id, selected[rpm_id]["best_key"]))
    lines = []
    for rpm_id, call in zip(picks, calls):
        key = selected[rpm_id]["best_key"]
        try:
            call.result
        except (koji.GenericError, koji.xmlrpcplus.Fault) as exc:
            lines.append("FAILED: signed copy of rpm %s with key %s not written: %s"
                         % (rpm_id, key, getattr(exc, "faultString", exc)))
        else:
            lines.append("signed copy of rpm %s written with key %s" % (rpm_id, key))
    path = os.path.join(log_dir, "written_signed_rpms.log")
    with open(path, "a") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def nvra(rpminfo):
    return "%(name)s-%(version)s-%(release)s.%(arch)s" % rpminfo


def package_files(selected, by_id, builddirs, keys, opts, log_dir):
    """kojipkgs (file name -> rpm with ``_pkgpath``); the missing files and signatures are
    logged, and fail as kojid fails them."""
    fs_missing, sig_missing, kojipkgs = [], [], {}
    for rpm_id, rpminfo in selected.items():
        builddir = builddirs[rpminfo["build_id"]]
        if rpminfo["sigkey"] is None:
            sig_missing.append(rpm_id)
            if opts["skip_missing_signatures"]:
                continue
            pkgpath = os.path.join(builddir, koji.pathinfo.rpm(rpminfo))
        else:
            pkgpath = os.path.join(builddir, koji.pathinfo.signed(rpminfo, rpminfo["sigkey"]))
        if not os.path.exists(pkgpath):
            fs_missing.append(pkgpath)
            continue
        rpminfo["_pkgpath"] = pkgpath
        kojipkgs[os.path.basename(pkgpath)] = rpminfo
    if fs_missing:
        with open(os.path.join(log_dir, "missing_files.log"), "w") as handle:
            handle.write("These rpm files are not on the filesystem (signed copies are "
                         "written with koji write-signed-rpm or the write_signed_rpms "
                         "option):\n\n")
            handle.write("".join("%s\n" % path for path in sorted(fs_missing)))
        raise koji.GenericError("Packages missing from the filesystem. See missing_files.log.")
    if sig_missing:
        with open(os.path.join(log_dir, "missing_signatures.log"), "w") as handle:
            handle.write("These rpms have none of the requested signatures%s.\n"
                         % (" and were left out (skip_missing_signatures)"
                            if opts["skip_missing_signatures"] else ""))
            handle.write("Requested keys: %r\n\n# rpm: its keys\n" % keys)
            for name, rpm_id in sorted((nvra(selected[r]), r) for r in sig_missing):
                handle.write("%s: %r\n" % (name, list(by_id.get(rpm_id, {}))))
        if not opts["skip_missing_signatures"] and not opts["allow_missing_signatures"]:
            raise koji.GenericError("Unsigned packages found. See missing_signatures.log")
    return kojipkgs


def lay_out(repo_dir, kojipkgs, split_debuginfo):
    """``kojipkgs``, ``pkglist`` (and ``debug/pkglist``) and the ``Packages/`` links;
    returns the subrepos."""
    subrepos = set()
    lines, sublines = [], {}
    for bnp in kojipkgs:
        rpminfo = kojipkgs[bnp]
        if split_debuginfo and koji.is_debuginfo(rpminfo["name"]):
            rpminfo["_subrepo"] = "debug"
            subrepos.add("debug")
    with open(os.path.join(repo_dir, "kojipkgs"), "w") as handle:
        json.dump(kojipkgs, handle, indent=2)
    for bnp in kojipkgs:
        letter = bnp[0].lower()
        subrepo = kojipkgs[bnp].get("_subrepo")
        if subrepo:
            sublines.setdefault(subrepo, []).append("../Packages/%s/%s\n" % (letter, bnp))
        else:
            lines.append("Packages/%s/%s\n" % (letter, bnp))
        link_dir = os.path.join(repo_dir, "Packages", letter)
        if not os.path.isdir(link_dir):
            os.makedirs(link_dir)
        os.symlink(kojipkgs[bnp]["_pkgpath"], os.path.join(link_dir, bnp))
    with open(os.path.join(repo_dir, "pkglist"), "w") as handle:
        handle.write("".join(lines))
    for subrepo, entries in sublines.items():
        os.makedirs(os.path.join(repo_dir, subrepo))
        with open(os.path.join(repo_dir, subrepo, "pkglist"), "w") as handle:
            handle.write("".join(entries))
    return sorted(subrepos)


# -- multilib (the 32-bit packages of a 64-bit repo) -----------------------------------------

MULTILIB_MISSING = "multilib packages missing. See missing_multilib.log"


def multilib_library():
    """The multilib selection library, or an error naming what to install."""
    try:
        from multilib import multilib as mlib
    except ImportError as exc:
        raise koji.GenericError(
            "multilib dist repos need the python-multilib library on the worker (%s): install "
            "koji-adjutant with its multilib extra (pip install 'koji-adjutant[multilib]'; the "
            "worker role: worker_multilib: true)" % exc)
    return mlib


def dnf_library():
    """dnf's Python API, or an error naming what to install."""
    try:
        import dnf
        import dnf.exceptions
    except ImportError as exc:
        raise koji.GenericError(
            "multilib dist repos need dnf's Python API on the worker (%s): install the OS "
            "package python3-dnf (the worker's venv sees it through its system site packages)"
            % exc)
    return dnf


def multilib_libraries():
    """The multilib selection library and dnf's Python API (see the two above)."""
    return multilib_library(), dnf_library()


def multilib_method(mlib, conf_path):
    """kojid's selection: the library's devel method with the uploaded config."""
    if not os.path.isfile(conf_path):
        raise koji.GenericError("multilib config missing: %s" % conf_path)
    try:
        try:
            return mlib.DevelMultilibMethod(conf_path)
        except AttributeError:
            # python-multilib 1.3 reads its config with ConfigParser.readfp, which Python
            # 3.12 removed: read the same four lists (as the strings the library keeps)
            parser = configparser.ConfigParser()
            with open(conf_path) as handle:
                parser.read_file(handle)
            method = mlib.DevelMultilibMethod(None)
            method.runtime_whitelist = parser.get("runtime", "white")
            method.runtime_blacklist = parser.get("runtime", "black")
            method.devel_whitelist = parser.get("devel", "white")
            method.devel_blacklist = parser.get("devel", "black")
            return method
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise koji.GenericError(
            "invalid multilib config %s (it needs [runtime] and [devel] sections, each with "
            "'white' and 'black' lists): %s" % (conf_path, exc))


def partner_file(rpminfo, partner):
    """The file name of an rpm's 32-bit partner (a noarch rpm is its own partner)."""
    if rpminfo["arch"] == "noarch":
        return "%s.rpm" % nvra(rpminfo)
    return "%s-%s-%s.%s.rpm" % (rpminfo["name"], rpminfo["version"], rpminfo["release"],
                                partner)


def ml_path(mldir, bnp):
    """Where distRepoMove put a file of the 32-bit repo."""
    return os.path.join(mldir, "Packages", bnp[0].lower(), bnp)


def write_dnf_conf(path, installroot, repo_name, mldir):
    values = (installroot, os.path.join(installroot, "dnfcache"), repo_name, mldir)
    with open(path, "w") as handle:
        handle.write("[main]\ngpgcheck=0\ninstallroot=%s\ncachedir=%s\nreposdir=\n"
                     "debuglevel=2\n\n[%s]\nname=koji multilib repo\nbaseurl=file://%s\n"
                     "enabled=1\n" % values)


def add_multilib(config, distdir, arch, conf, kojipkgs, work_dir, log_dir):
    """kojid's multilib step for a multilib arch: the packages the devel method selects get
    their 32-bit partner from the (already moved) 32-bit repo of the dist repo, and a dnf
    depsolve over that repo adds the partners' dependencies; they join ``kojipkgs`` with
    ``_multilib``. Missing files fail the task (``missing_multilib.log``). Returns the
    files to upload (the dnf config)."""
    if arch not in MULTILIB_PARTNER:
        raise koji.GenericError("no 32-bit partner arch is known for the multilib arch %s "
                                "(kojid makes multilib repos for %s)"
                                % (arch, ", ".join(sorted(MULTILIB_PARTNER))))
    mlib, dnf = multilib_libraries()
    partner = MULTILIB_PARTNER[arch]
    mldir = os.path.join(distdir, koji.canonArch(partner))
    ml_pkgfile = os.path.join(mldir, "kojipkgs")
    if not os.path.isfile(ml_pkgfile):
        raise koji.GenericError("the %s repo is not in the dist repo: %s is missing (the "
                                "distRepo task moves it in before the %s subtask)"
                                % (koji.canonArch(partner), ml_pkgfile, arch))
    with open(ml_pkgfile) as handle:
        ml_pkgs = json.load(handle)
    method = multilib_method(mlib, os.path.join(config.topdir, "work", conf))

    # step 1: the packages of this repo that need their 32-bit partner
    wanted, fs_missing = {}, set()
    base = dnf.Base()
    base.fill_sack(load_system_repo=False, load_available_repos=False)
    for bnp in sorted(kojipkgs):
        po = base.sack.add_cmdline_package(kojipkgs[bnp]["_pkgpath"])
        if not method.select(po):
            continue
        ml_bnp = partner_file(kojipkgs[bnp], partner)
        if ml_bnp not in ml_pkgs:
            fs_missing.add(ml_path(mldir, ml_bnp))
            continue
        wanted[ml_bnp] = ml_path(mldir, ml_bnp)
    base.close()

    # step 2: a dnf depsolve over the 32-bit repo (as a file:// repo) for their dependencies
    if os.path.exists(work_dir):
        shutil.rmtree(work_dir)
    os.makedirs(os.path.join(work_dir, "dnfcache"))
    repo_name = "koji-multilib-%s" % partner
    conf_path = os.path.join(log_dir, "dnf.conf-koji-%s" % arch)
    write_dnf_conf(conf_path, work_dir, repo_name, mldir)
    dnf_conf = dnf.conf.Conf()
    dnf_conf.reposdir = []
    dnf_conf.read(conf_path)
    dnf_conf.arch = arch
    base = dnf.Base(dnf_conf)
    try:
        base.read_all_repos()
        base.fill_sack(load_system_repo=False, load_available_repos=True)
        available = {}
        for po in base.sack.query().available().filter(reponame=repo_name):
            available[os.path.basename(po.location)] = po
        for ml_bnp in sorted(wanted):
            if ml_bnp in available:
                base.package_install(available[ml_bnp], strict=True)
            else:
                fs_missing.add(wanted[ml_bnp])
        needed = {}
        try:
            base.resolve()
        except dnf.exceptions.DepsolveError as exc:
            raise koji.GenericError("dnf depsolve was unsuccessful (multilib packages of the "
                                    "%s repo in the %s repo): %s" % (arch, partner, exc))
        for po in base.transaction.install_set if base.transaction else ():
            bnp = os.path.basename(po.location)
            dep_path = ml_path(mldir, bnp)
            needed[bnp] = (dep_path, po.arch)
            if not os.path.exists(dep_path) or bnp not in ml_pkgs:
                fs_missing.add(dep_path)
    finally:
        base.close()

    if fs_missing:
        with open(os.path.join(log_dir, "missing_multilib.log"), "w") as handle:
            handle.write("The following multilib files were missing:\n")
            handle.write("".join("%s\n" % path for path in sorted(fs_missing)))
        raise koji.GenericError(MULTILIB_MISSING)

    # step 3: the 32-bit packages join the repo
    for bnp in sorted(needed):
        if bnp in kojipkgs:
            # a noarch package is in both repos
            continue
        rpminfo = dict(ml_pkgs[bnp])
        rpminfo["_pkgpath"] = needed[bnp][0]
        rpminfo["_multilib"] = True
        kojipkgs[bnp] = rpminfo
    return [conf_path]


def delta_dirs(session, config, delta_repos):
    """The dist repos to make delta rpms against (kojid's checks)."""
    dirs = []
    for delta_id in delta_repos or []:
        old = session.repoInfo(delta_id, strict=True)
        if not old["dist"]:
            raise koji.GenericError("Base repo for deltas must also be a dist repo")
        path = dist_repo_path(config, delta_id, old["tag_name"])
        if not os.path.exists(path):
            raise koji.GenericError("Base drpm repo missing: %s" % path)
        dirs.append(path)
    return dirs


def createrepo_command(config, repo_dir, container_dir, subrepo, groupdata, oldpkgs,
                       oldrepodata, opts, skip_stat):
    """kojid's createrepo_c command for the repo or a subrepo (paths as the container sees
    them: the topdir at its own path, the task's repo dir at ``container_dir``)."""
    here = os.path.join(repo_dir, subrepo) if subrepo else repo_dir
    there = os.path.join(container_dir, subrepo) if subrepo else container_dir
    cmd = ["createrepo_c", "--error-exit-val", "-vd", "-i", os.path.join(there, "pkglist")]
    if groupdata:
        cmd += ["-g", groupdata]
    update_from = None
    if oldrepodata and config.createrepo_update and os.path.isdir(oldrepodata):
        repos.reuse_repodata(oldrepodata, os.path.join(here, "repodata"))
        cmd.append("--update")
        if skip_stat:
            cmd.append("--skip-stat")
        update_from = oldrepodata
    if oldpkgs:
        cmd.append("--deltas")
        for path in oldpkgs:
            cmd += ["--oldpackagedirs", path]
            # kojid names only the repo's top directory; createrepo_c looks for old rpms at
            # the top of each directory it is given, and the rpms of a dist repo are in
            # <arch>/Packages/<letter>/: name those too, or no delta is ever made
            for letter_dir in sorted(glob.glob(os.path.join(path, "*", "Packages", "*"))):
                cmd += ["--oldpackagedirs", letter_dir]
    if opts.get("zck"):
        cmd.append("--zck")
    if opts.get("zck_dict_dir"):
        cmd += ["--zck-dict-dir", os.path.normpath(opts["zck_dict_dir"])]
    cmd.append(there)
    return {"name": "createrepo_%s" % subrepo if subrepo else "createrepo",
            "log_name": "createrepo_%s.log" % subrepo if subrepo else "createrepo.log",
            "command": cmd, "update_from": update_from}


def check_zck(opts):
    zck_dict_dir = opts.get("zck_dict_dir")
    if not zck_dict_dir:
        return None
    if not opts.get("zck"):
        raise koji.GenericError("--zck-dict-dir makes no sense without --zck")
    zck_dict_dir = os.path.normpath(zck_dict_dir)
    if os.path.isfile(zck_dict_dir):
        raise koji.GenericError("zchunk dir path is file: %s" % zck_dict_dir)
    if not os.path.isdir(zck_dict_dir):
        raise koji.GenericError("zchunk dir path doesn't exist: %s" % zck_dict_dir)
    return zck_dict_dir


def prepare_dist_repo(session, config, params, repo_dir, container_dir, log_dir):
    """Check the repo, pick the rpms, lay the repo out in ``repo_dir`` and return the
    createrepo_c commands (one for the repo, one per subrepo)."""
    tag, repo_id, arch = params["tag"], params["repo_id"], params["arch"]
    keys = [key.lower() for key in params["keys"]]
    opts = params["opts"]
    check_opts(opts)
    rinfo = repos.init_repo_info(session, repo_id)
    if not rinfo.get("dist"):
        raise koji.GenericError("Repo %s is not a dist repo" % repo_id)
    distdir = dist_repo_path(config, repo_id, rinfo["tag_name"])
    if not os.path.isdir(distdir):
        raise koji.GenericError("Dist repo directory missing: %s (is the topdir %s mounted "
                                "on this worker?)" % (distdir, config.topdir))
    groupdata = os.path.join(distdir, "groups", "comps.xml")
    groupdata = groupdata if os.path.isfile(groupdata) else None
    zck_dict_dir = check_zck(opts)
    if os.path.exists(repo_dir):
        shutil.rmtree(repo_dir)
    os.makedirs(repo_dir)
    if not os.path.isdir(log_dir):
        os.makedirs(log_dir)
    for name in LOGS:
        if os.path.exists(os.path.join(log_dir, name)):
            os.unlink(os.path.join(log_dir, name))
    oldpkgs = delta_dirs(session, config, opts.get("delta"))
    oldrepo = session.getRepo(tag, dist=True, state=koji.REPO_STATES["READY"])
    olddir = dist_repo_path(config, oldrepo["id"], oldrepo["tag_name"]) if oldrepo else None

    selected, by_id, builddirs = select_rpms(session, config, tag, arch, keys, opts)
    if opts.get("write_signed_rpms"):
        write_signed_copies(session, selected, log_dir)
    kojipkgs = package_files(selected, by_id, builddirs, keys, opts, log_dir)
    extra_files = []
    if opts["multilib"] and is_multilib_arch(arch):
        extra_files = add_multilib(config, distdir, arch, opts["multilib"], kojipkgs,
                                   os.path.join(os.path.dirname(repo_dir), "dnf"), log_dir)
    subrepos = lay_out(repo_dir, kojipkgs, opts.get("split_debuginfo"))

    main_skip = opts.get("createrepo_skip_stat")
    if main_skip is None:
        main_skip = config.distrepo_skip_stat
    commands = [createrepo_command(
        config, repo_dir, container_dir, None, groupdata, oldpkgs,
        os.path.join(olddir, arch, "repodata") if olddir else None, opts, main_skip)]
    for subrepo in subrepos:
        commands.append(createrepo_command(
            config, repo_dir, container_dir, subrepo, groupdata, oldpkgs,
            os.path.join(olddir, arch, subrepo, "repodata") if olddir else None, opts,
            config.distrepo_skip_stat))
    mounts = [config.topdir]
    if zck_dict_dir and not zck_dict_dir.startswith(config.topdir.rstrip("/") + "/"):
        mounts.append(zck_dict_dir)
    return {"repo_id": repo_id, "tag_name": rinfo["tag_name"], "arch": arch,
            "commands": commands, "subrepos": subrepos, "empty": not kojipkgs,
            "packages": sorted(kojipkgs), "oldrepo": oldrepo, "delta_dirs": oldpkgs,
            "mounts": [{"source": path, "target": path, "mode": "ro"} for path in mounts],
            "topdir": config.topdir,
            "logs": [os.path.join(log_dir, name) for name in LOGS] + extra_files}


def collect_dist_repo(repo_dir, manifest_path, empty):
    """``repodata/EMPTY_REPO`` for a repo without rpms, then ``repo_manifest``; returns
    the manifest's entries."""
    if empty:
        repos.write_empty_repo_marker(os.path.join(repo_dir, "repodata"))
    # the Packages/ links are not uploaded: distRepoMove links the rpms itself
    entries = uploads.tree_files(repo_dir)
    with open(manifest_path, "w") as handle:
        json.dump(entries, handle, indent=4)
    return entries

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""koji repositories: what kojid's newRepo and createrepo handlers do around createrepo_c.

newRepo: ``host.repoInit`` writes the repo's layout under the topdir (one dir
per arch with ``pkglist``, ``groups/comps.xml``); one ``createrepo`` subtask per
arch dir; ``host.repoDone(repo_id, {arch: [uploadpath, files]})``.

createrepo: the repo must be INIT and the topdir mounted; ``createrepo_c`` over
the arch dir's pkglist with the comps, ``--update`` from the previous repo's
repodata when there is one, ``mergerepo_c --koji`` when the tag has external
repos, ``repodata/EMPTY_REPO`` for an arch without packages; every file of
``repodata/`` is uploaded and returned as ``[uploadpath, files]``.
"""

from __future__ import annotations

import os
import shutil

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

LEGACY_REPO_FLAGS = ("src", "debuginfo", "separate_src")
EMPTY_REPO_TEXT = "This repo is empty because its tag has no content for this arch\n"


class RepoRefused(Exception):
    """This host cannot do the task (no access to the repos dir): refuse it softly."""


def repo_path(config, repo_id, tag_name):
    return os.path.join(config.topdir, "repos", tag_name, str(repo_id))


def check_repos_dir(config):
    repos = os.path.join(config.topdir, "repos")
    if not os.path.isdir(repos):
        raise RepoRefused("No access to repos dir %s" % repos)


def repo_opts(params):
    """newRepo's ``opts``: the legacy flags become opts; both at once is an error."""
    legacy = dict((flag, bool(params[flag])) for flag in LEGACY_REPO_FLAGS
                  if params.get(flag) is not None)
    opts = params.get("opts")
    if legacy and opts is not None:
        raise koji.ParameterError("opts cannot be combined with the legacy options %s"
                                  % ", ".join(sorted(legacy)))
    return legacy if legacy else opts


def init_repo(session, config, task_id, params):
    """``host.repoInit`` for a newRepo task; returns a dict describing the new repo."""
    check_repos_dir(config)
    tag = session.getTag(params["tag"], strict=True, event=params.get("event"))
    kwargs = {"opts": repo_opts(params), "task_id": task_id}
    if params.get("event") is not None:
        kwargs["event"] = params["event"]
    repo_id, event_id = session.host.repoInit(tag["id"], **kwargs)
    path = repo_path(config, repo_id, tag["name"])
    if not os.path.isdir(path):
        raise koji.GenericError("Repo directory missing: %s" % path)
    arches = sorted(entry for entry in os.listdir(path)
                    if entry != "groups" and os.path.isfile(os.path.join(path, entry, "pkglist")))
    oldrepo = find_old_repo(session, config, tag)
    return {"repo_id": repo_id, "event_id": event_id, "tag_id": tag["id"],
            "tag_name": tag["name"], "arches": arches, "oldrepo": oldrepo, "path": path,
            "result": [repo_id, event_id],
            # kojid: createrepo [repo_id, arch, oldrepo], label arch, task arch noarch
            "createrepo_subtasks": [{"method": "createrepo", "arglist": [repo_id, arch, oldrepo],
                                     "label": arch, "arch": "noarch"} for arch in arches]}


def find_old_repo(session, config, tag):
    """The READY repo whose repodata createrepo may update (kojid's get_old_repo).

    The same tag first, then the tag's ``repo.oldrepo_hint`` tags, then its
    inheritance, nearest first.
    """
    if not config.createrepo_update:
        return None
    repo = session.getRepo(tag["id"])
    if repo:
        return dict(repo, tag_id=tag["id"])
    hints = (tag.get("extra") or {}).get("repo.oldrepo_hint") or []
    if isinstance(hints, str):
        hints = [hints]
    for hint in hints:
        hint_tag = session.getTag(hint, strict=False)
        if not hint_tag:
            continue
        repo = session.getRepo(hint_tag["id"])
        if repo:
            return dict(repo, tag_id=hint_tag["id"])
    for parent in sorted(session.getFullInheritance(tag["id"]), key=lambda p: p["currdepth"]):
        repo = session.getRepo(parent["parent_id"])
        if repo:
            return dict(repo, tag_id=parent["parent_id"])
    return None


def repo_done(session, repo_id, subtask_ids, results):
    """``host.repoDone(repo_id, {arch: [uploadpath, files]})``.

    ``subtask_ids`` maps each arch (the createrepo subtask's label) to its task
    id, ``results`` maps task ids (as strings or ints) to createrepo results.
    """
    results = dict((str(task_id), value) for task_id, value in results.items())
    data = {}
    for arch, task_id in subtask_ids.items():
        if str(task_id) not in results:
            raise koji.GenericError("no result for the createrepo subtask %s (%s)"
                                    % (task_id, arch))
        data[arch] = results[str(task_id)]
    session.host.repoDone(repo_id, data)
    return data


def init_repo_info(session, repo_id):
    """``repoInfo`` of a repo a createrepo task may work on: one in the INIT state."""
    repo = session.repoInfo(repo_id, strict=True)
    if repo["state"] != koji.REPO_STATES["INIT"]:
        raise koji.GenericError("Repo %s not in INIT state (got %s)"
                                % (repo_id, koji.REPO_STATES[repo["state"]]))
    return repo


def reuse_repodata(olddatadir, datadir):
    """Start ``datadir`` from an older repo's repodata, for ``createrepo_c --update``
    (without its ``pkgorigins.gz``, which describes the old repo only)."""
    shutil.copytree(olddatadir, datadir)
    origins = os.path.join(datadir, "pkgorigins.gz")
    if os.path.exists(origins):
        os.unlink(origins)


def createrepo_plan(session, config, repo_id, arch, oldrepo, outdir, container_outdir):
    """Check the repo and prepare ``outdir``; return the commands to run and the files.

    ``outdir`` is the host directory for the new repodata, ``container_outdir``
    the same directory in the task container.  The topdir is mounted at its own
    path in the container, read-only, so repo paths are the same on both sides.
    """
    repo = init_repo_info(session, repo_id)
    toprepodir = repo_path(config, repo_id, repo["tag_name"])
    repodir = os.path.join(toprepodir, arch)
    if not os.path.isdir(repodir):
        check_repos_dir(config)
        raise koji.GenericError("Repo directory missing: %s" % repodir)
    groupdata = os.path.join(toprepodir, "groups", "comps.xml")
    if not os.path.exists(groupdata):
        groupdata = None
    pkglist = os.path.join(repodir, "pkglist")
    if not os.path.exists(pkglist) or os.path.getsize(pkglist) == 0:
        pkglist = None
    datadir = os.path.join(outdir, "repodata")
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)

    cmd = ["createrepo_c", "--error-exit-val", "-vd", "-o", container_outdir]
    if pkglist:
        cmd += ["-i", pkglist]
    if groupdata:
        cmd += ["-g", groupdata]
    update_from = None
    if pkglist and oldrepo and config.createrepo_update:
        old = session.repoInfo(oldrepo["id"], strict=True)
        olddatadir = os.path.join(repo_path(config, old["id"], old["tag_name"]), arch,
                                  "repodata")
        if os.path.isdir(olddatadir):
            reuse_repodata(olddatadir, datadir)
            cmd.append("--update")
            if config.createrepo_skip_stat:
                cmd.append("--skip-stat")
            update_from = olddatadir
    cmd.append(repodir if pkglist else container_outdir)

    external = session.getExternalRepoList(repo["tag_id"], event=repo["create_event"])
    merge = merge_command(external, arch, repodir, container_outdir, groupdata, repo_id) \
        if external else None
    return {
        "repo": repo, "repodir": repodir, "toprepodir": toprepodir, "datadir": datadir,
        "pkglist": pkglist, "groupdata": groupdata, "update_from": update_from,
        "createrepo": cmd, "mergerepo": merge,
        "premerge_dir": premerge_dir(container_outdir, repo_id) if merge else None,
        "empty": pkglist is None and not external,
        "topdir": config.topdir,
    }


def premerge_dir(outdir, repo_id):
    return os.path.join(os.path.dirname(outdir), "repo_%s_premerge" % repo_id)


def merge_command(external_repos, arch, repodir, outdir, groupdata, repo_id):
    """kojid's ``mergerepo_c`` command for the tag's external repos."""
    modes = set(erepo.get("merge_mode") or "koji" for erepo in external_repos)
    if len(modes) > 1:
        raise koji.GenericError("Found multiple merge modes for external repos: %s"
                                % ", ".join(sorted(modes)))
    mode = modes.pop()
    urls = ["file://%s/" % premerge_dir(outdir, repo_id)]
    for erepo in external_repos:
        arches = erepo.get("arches")
        if arches and arch not in arches.split():
            continue
        urls.append(erepo["url"].replace("$arch", arch))
    if mode == "simple":
        cmd = ["mergerepo_c", "--koji", "--simple"]
    elif mode == "bare":
        cmd = ["mergerepo_c", "--pkgorigins", "--all"]
    else:
        cmd = ["mergerepo_c", "--koji"]
    if mode != "bare":
        cmd += ["-b", os.path.join(repodir, "blocklist")]
    cmd += ["-a", arch, "-o", outdir, "--arch-expand"]
    if groupdata:
        cmd += ["-g", groupdata]
    for url in urls:
        cmd += ["-r", url]
    return cmd


def write_empty_repo_marker(datadir):
    if not os.path.isdir(datadir):
        os.makedirs(datadir)
    path = os.path.join(datadir, "EMPTY_REPO")
    with open(path, "w") as handle:
        handle.write(EMPTY_REPO_TEXT)
    return path


def repodata_files(datadir):
    """Every file of ``repodata/`` (flat), as kojid uploads them."""
    return sorted(name for name in os.listdir(datadir)
                  if os.path.isfile(os.path.join(datadir, name)))

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parent ``build`` task of ``koji build``, in the steps kojid's build handler takes.

1. :func:`prepare` - options checked, repo (``opts.repo_id``) and target looked up, the
   hub's build policies asserted, a current repo found (or a ``waitrepo`` subtask planned).
2. :func:`plan_srpm` - the SRPM subtask (``buildSRPMFromSCM`` for an SCM URL,
   ``rebuildSRPM`` for an uploaded SRPM unless the build tag says ``rebuild_srpm: false``).
3. :func:`init_build` - the SRPM header read, the destination tag's package list checked,
   the arch list computed, the build created with ``host.initBuild`` (not for scratch), and
   one ``buildArch`` subtask planned per arch.
4. :func:`complete_build` - the children's results merged and imported
   (``host.completeBuild``, or ``host.moveBuildToScratch``), the ``tagBuild`` subtask planned.
5. :func:`fail_build` - ``host.failBuild`` when anything fails after ``initBuild``, unless
   the task is no longer ours (canceled: the hub canceled the build with it).

Every step is safe to repeat when a freed parent runs again: the hub returns the existing
child for a ``(parent, label)`` pair and ``initBuild`` keeps the build its own task made.
"""

from __future__ import annotations

import json
import random

try:
    import koji
    import koji.daemon
    import koji.util
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms as rpm_lib
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result


def _is_scm_url(src):
    return isinstance(src, str) and koji.daemon.SCM.is_scm_url(src)


def check_options(opts):
    """kojid's checks of the build options before anything is looked up."""
    if opts.get("arch_override") and not opts.get("scratch"):
        raise koji.BuildError("arch_override is only allowed for scratch builds")
    metadata = opts.get("custom_user_metadata")
    if metadata:
        if not isinstance(metadata, dict):
            raise koji.BuildError("custom_user_metadata must be serializable to a JSON object")
        try:
            json.dumps(metadata)
        except TypeError:
            raise koji.BuildError("custom_user_metadata is not JSON serializable")


def _given_repo(session, repo_id):
    """The repo of ``opts.repo_id``: it must exist and be READY or EXPIRED."""
    repo = session.repoInfo(repo_id)
    if not repo:
        raise koji.BuildError("No such repo: %s" % repo_id)
    state = koji.REPO_STATES[repo["state"]]
    if state not in ("READY", "EXPIRED"):
        raise koji.BuildError("Bad repo: %s (%s)" % (repo["id"], state))
    return repo


def _tags(session, target, repo, opts):
    """(build tag id, destination tag id, target info or None, skip_tag) as kojid resolves
    them: a target, or - with a repo id - a plain destination tag or none at all."""
    event = repo["create_event"] if repo else None
    skip_tag = bool(opts.get("skip_tag"))
    target_info = session.getBuildTarget(target, event=event) if target else None
    if target_info:
        if repo is not None and repo["tag_id"] != target_info["build_tag"]:
            raise koji.BuildError("Repo/Target mismatch: %s/%s"
                                  % (repo["tag_name"], target_info["build_tag_name"]))
        return target_info["build_tag"], target_info["dest_tag"], target_info, skip_tag
    if repo is None:
        raise koji.GenericError("unknown build target: %s" % target)
    if target is None:
        return repo["tag_id"], repo["tag_id"], None, True
    tag = session.getTag(target, event=event)
    if not tag:
        raise koji.GenericError("neither tag nor target: %s" % target)
    return repo["tag_id"], tag["id"], None, skip_tag


def assert_policies(session, task_id, src, opts, build_tag, dest_tag, target_info, skip_tag):
    """The hub's policy checks kojid makes (a denial raises ActionNotAllowed)."""
    owner = session.getTaskInfo(task_id)["owner"]
    data = {
        "user_id": owner,
        "source": src,
        "task_id": task_id,
        "build_tag": build_tag,
        "skip_tag": skip_tag,
        "scratch": opts.get("scratch"),
        "draft": opts.get("draft"),
        "from_scm": _is_scm_url(src),
        "repo_id": opts.get("repo_id"),
    }
    if target_info:
        data["target"] = target_info["name"]
    if not skip_tag:
        data["tag"] = dest_tag
    if not _is_scm_url(src) and not opts.get("scratch"):
        session.host.assertPolicy("build_from_srpm", data)
    if opts.get("repo_id") is not None:
        session.host.assertPolicy("build_from_repo_id", data)
    session.host.assertPolicy("build_rpm", data)


def prepare(session, task_id, params):
    """Step 1. Returns the build's tags and flags, and either the repo or the ``waitrepo``
    subtask that waits for one (label ``waitrepo``, as kojid's getRepo makes it)."""
    src, target = params["src"], params["target"]
    opts = dict(params.get("opts") or {})
    check_options(opts)
    repo = _given_repo(session, opts["repo_id"]) if opts.get("repo_id") is not None else None
    build_tag, dest_tag, target_info, skip_tag = _tags(session, target, repo, opts)
    assert_policies(session, task_id, src, opts, build_tag, dest_tag, target_info, skip_tag)
    waitrepo = None
    # the event the rest of the build reads tag data at: the given repo's, else the
    # hub's last event once a current repo is there
    event_id = repo["create_event"] if repo else None
    if repo is None:
        watcher = koji.util.RepoWatcher(session, build_tag, nvrs=opts.get("wait_builds"),
                                        min_event="last" if opts.get("wait_repo") else None)
        repo = watcher.getRepo()
        if repo:
            event_id = session.getLastEvent()["id"]
        else:
            waitrepo = {"method": "waitrepo", "arglist": list(watcher.task_args()),
                        "label": "waitrepo"}
    return {
        "build_tag": build_tag,
        "dest_tag": dest_tag,
        "dest_tag_name": (target_info or {}).get("dest_tag_name")
        or session.getTag(dest_tag, strict=True)["name"],
        "skip_tag": skip_tag,
        "scratch": bool(opts.get("scratch")),
        "repo_id": repo["id"] if repo else None,
        "event_id": event_id,
        "waitrepo_subtask": waitrepo,
    }


def _noarch_task_arch(session, build_tag, event_id, exclusivearch=(), excludearch=()):
    """The task arch of a noarch child (kojid's choose_taskarch): ``noarch`` unless the
    SRPM's ExclusiveArch/ExcludeArch or tag extra ``noarch_arches`` leave only some of
    the tag's arches, then one of those at random."""
    buildconfig = session.getBuildConfig(build_tag, event=event_id)
    noarch_arches = (buildconfig.get("extra") or {}).get("noarch_arches")
    if not (exclusivearch or excludearch or noarch_arches):
        return "noarch"
    tag_arches = [koji.canonArch(a) for a in (buildconfig["arches"] or "").split()]
    exclusive = [koji.canonArch(a) for a in exclusivearch]
    exclude = [koji.canonArch(a) for a in excludearch]
    if noarch_arches:
        choices = [a for a in (koji.canonArch(x) for x in noarch_arches.split())
                   if a in tag_arches]
    else:
        choices = list(tag_arches)
    if exclusive:
        choices = [a for a in choices if a in exclusive]
    if exclude:
        choices = [a for a in choices if a not in exclude]
    if not choices:
        raise koji.BuildError("No valid arches were found. tag %r, extra %r, exclusive %r, "
                              "exclude %r" % (tag_arches, noarch_arches, exclusive, exclude))
    if set(choices) != set(tag_arches):
        return random.choice(choices)
    return "noarch"


def task_arch(session, config, arch, build_tag, event_id, srpm_fields=None):
    """The ``arch`` of a child task for a build arch (kojid's choose_taskarch)."""
    if koji.util.multi_fnmatch(arch, config.literal_task_arches):
        return arch
    if arch != "noarch":
        return koji.canonArch(arch)
    fields = srpm_fields or {}
    return _noarch_task_arch(session, build_tag, event_id,
                             fields.get("exclusivearch") or (), fields.get("excludearch") or ())


def repo_ready(session, prepared, repo):
    """Step 1b, after a ``waitrepo`` subtask: the build goes on with its repo, reading
    tag data at the hub's last event."""
    prepared = dict(prepared)
    prepared["repo_id"] = repo["id"]
    prepared["event_id"] = session.getLastEvent()["id"]
    return prepared


def plan_srpm(session, config, params, prepared):
    """Step 2. The SRPM subtask (label ``srpm``), or None when the uploaded SRPM is used as
    it is (build tag extra ``rebuild_srpm: false``; scratch builds may choose)."""
    build_tag, repo_id = prepared["build_tag"], prepared["repo_id"]
    event_id = prepared["event_id"]
    src = params["src"]
    opts = params.get("opts") or {}
    if not isinstance(src, str):
        raise koji.BuildError("Invalid source specification: %s" % (src,))
    if _is_scm_url(src):
        method = "buildSRPMFromSCM"
    else:
        rpm_lib.check_work_path(src)
        buildconfig = session.getBuildConfig(build_tag, event=event_id)
        rebuild = (buildconfig.get("extra") or {}).get("rebuild_srpm", True)
        if opts.get("scratch") and opts.get("rebuild_srpm") is not None:
            rebuild = opts["rebuild_srpm"]
        if not rebuild:
            return None
        method = "rebuildSRPM"
    return {"method": method,
            "arglist": [src, build_tag, {"repo_id": repo_id, "scratch": opts.get("scratch")}],
            "label": "srpm",
            "arch": task_arch(session, config, "noarch", build_tag, event_id)}


def arch_list(buildconfig, fields, extra_arches=None, arch_override=None):
    """The arches to build for, as kojid computes them.

    The tag's arches (plus the package's ``extra_arches``), replaced by the SRPM's
    BuildArch list when it has one, filtered by ExclusiveArch and ExcludeArch; ``noarch``
    added when BuildArch or ExclusiveArch names it and ExcludeArch does not; a scratch
    build's ``arch_override`` replaces it all. Only arches whose canonical arch is a tag
    arch (and noarch) stay.
    """
    arches = buildconfig["arches"]
    if not arches:
        raise koji.BuildError("No arches for tag %(name)s [%(id)s]" % buildconfig)
    tag_arches = [koji.canonArch(a) for a in arches.split()]
    if extra_arches:
        arches = "%s %s" % (arches, extra_arches)
    buildarchs = list(fields.get("buildarchs") or [])
    exclusive = list(fields.get("exclusivearch") or [])
    exclude = list(fields.get("excludearch") or [])
    candidates = buildarchs or arches.split()
    if exclusive:
        candidates = [a for a in candidates if a in exclusive]
    if exclude:
        candidates = [a for a in candidates if a not in exclude]
    if "noarch" not in exclude and ("noarch" in buildarchs or "noarch" in exclusive):
        candidates.append("noarch")
    if arch_override:
        candidates = arch_override.split()
    result = []
    for arch in candidates:
        if (arch == "noarch" or koji.canonArch(arch) in tag_arches) and arch not in result:
            result.append(arch)
    if not result:
        raise koji.BuildError("No matching arches were found")
    return result


def read_srpm(config, srpm, dest_dir):
    """Header facts of the build's SRPM (``work/<srpm>``, from topdir or topurl)."""
    path = rpm_lib.fetch_work_file(config, srpm, dest_dir)
    try:
        return rpm_lib.inspect_srpm(path)
    except rpm_lib.InputError as exc:
        raise koji.BuildError("%s: %s" % (srpm, exc))


def init_build(session, config, task_id, params, prepared, srpm, source, dest_dir):
    """Step 3. Returns the build id (None for scratch), the arches and the ``buildArch``
    subtasks (label = arch, ``keep_srpm`` on the first)."""
    opts = params.get("opts") or {}
    build_tag, dest_tag = prepared["build_tag"], prepared["dest_tag"]
    event_id, repo_id = prepared["event_id"], prepared["repo_id"]
    fields = read_srpm(config, srpm, dest_dir)
    data = dict((key, fields[key]) for key in ("name", "version", "release", "epoch"))
    data["task_id"] = task_id
    if source:
        data["source"] = source["source"]
        data["extra"] = {"source": {"original_url": source["url"]}}
    if opts.get("custom_user_metadata"):
        data.setdefault("extra", {})["custom_user_metadata"] = opts["custom_user_metadata"]
    pkg_cfg = session.getPackageConfig(dest_tag, data["name"], event=event_id)
    extra_arches = pkg_cfg.get("extra_arches") if pkg_cfg else None
    if not prepared["skip_tag"] and not prepared["scratch"]:
        if pkg_cfg is None:
            raise koji.BuildError("package %s not in list for tag %s"
                                  % (data["name"], prepared["dest_tag_name"]))
        if pkg_cfg["blocked"]:
            raise koji.BuildError("package %s is blocked for tag %s"
                                  % (data["name"], prepared["dest_tag_name"]))
    buildconfig = session.getBuildConfig(build_tag, event=event_id)
    arches = arch_list(buildconfig, fields, extra_arches,
                       opts.get("arch_override") if opts.get("scratch") else None)
    if opts.get("draft"):
        data["draft"] = opts["draft"]
    build_id = None
    if not prepared["scratch"]:
        build_id = session.host.initBuild(data)
    subtasks = []
    for index, arch in enumerate(arches):
        subtasks.append({
            "method": "buildArch",
            "arglist": [srpm, build_tag, arch, index == 0, {"repo_id": repo_id}],
            "label": arch,
            "arch": task_arch(session, config, arch, build_tag, event_id, fields),
        })
    return {"build_id": build_id, "nvr": fields["nvr"], "arches": arches,
            "subtasks": subtasks,
            "failany": bool(opts.get("fail_fast")) or not config.build_arch_can_fail}


def merge_results(by_label, results):
    """The children's results merged for the import: (srpm, rpms, brmap, logs by arch).

    Exactly one child must return the SRPM (kojid's runBuilds)."""
    rpms, brmap, logs = [], {}, {}
    built_srpm = None
    for arch, child in by_label.items():
        result = results.get(str(child), results.get(child))
        if result is None:
            raise koji.BuildError("no result from the %s subtask %s" % (arch, child))
        for path in result["rpms"]:
            rpms.append(path)
            brmap[path] = result["brootid"]
        for path in result["logs"]:
            logs.setdefault(arch, []).append(path)
        if result["srpms"]:
            if built_srpm:
                raise koji.BuildError("multiple builds returned a srpm.  task %s" % child)
            built_srpm = result["srpms"][0]
            brmap[built_srpm] = result["brootid"]
    if not built_srpm:
        raise koji.BuildError("could not find a built srpm")
    return built_srpm, rpms, brmap, logs


def complete_build(session, task_id, prepared, build_id, by_label, results):
    """Step 4. Import the build (or move a scratch build's files); returns the
    ``tagBuild`` subtask to make next (label ``tag``), or None."""
    srpm, rpms, brmap, logs = merge_results(by_label, results)
    if prepared["scratch"]:
        session.host.moveBuildToScratch(task_id, srpm, rpms, logs=logs)
        return None
    session.host.completeBuild(task_id, build_id, srpm, rpms, brmap, logs=logs)
    if prepared["skip_tag"]:
        return None
    return {"method": "tagBuild", "arglist": [prepared["dest_tag"], build_id, False, None, True],
            "label": "tag", "arch": "noarch"}


def fail_build(session, task_id, build_id):
    """Step 5. Mark the build FAILED (kojid does so on any error after initBuild); returns
    ``(failed, task state)``.  A task no longer OPEN on this host is left alone: the hub
    refuses the call then, and canceling the task has canceled its BUILDING build."""
    ours, state = task_result.task_ownership(session, task_id)
    if not ours:
        return False, state
    session.host.failBuild(task_id, build_id)
    return True, state

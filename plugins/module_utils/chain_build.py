# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kojid's chain build (``chainbuild(srcs, target, opts)``), as plans for the playbook.

The chain is a list of levels run in order. Each SCM URL of a level becomes a ``build``
subtask ``[src, target, opts]`` (label ``build <level>,<index>``); anything else is taken as
the N-V-R of an existing build. Before a level starts, when the previous level left N-V-Rs
(its N-V-R entries and the builds its build subtasks made), a ``waitrepo`` subtask
``[build tag name, None, nvrs]`` (label ``wait <level>``) waits until the build tag's repo
holds them. The first failed subtask fails the chain with its fault (its siblings are
canceled); the chain returns None.
"""

from __future__ import annotations

try:
    import koji
    import koji.daemon
except ImportError:  # pragma: no cover - reported by the modules
    koji = None


def is_scm_url(src):
    return isinstance(src, str) and koji.daemon.SCM.is_scm_url(src)


def plan(session, params):
    """Check the request as kojid does and plan every level.

    Returns ``{"build_tag_name": ..., "levels": [{"builds": [subtask spec, ...],
    "nvrs": [...]}, ...]}``; raises BuildError for a scratch chain, GenericError for an
    unknown target."""
    opts = params.get("opts")
    if opts and opts.get("scratch"):
        raise koji.BuildError("--scratch is not allowed with chain-builds")
    target = params["target"]
    target_info = session.getBuildTarget(target)
    if not target_info:
        raise koji.GenericError("unknown build target: %s" % target)
    levels = []
    for n_level, level in enumerate(params["srcs"]):
        builds, nvrs = [], []
        for n_src, src in enumerate(level):
            if is_scm_url(src):
                builds.append({"method": "build", "arglist": [src, target, opts],
                               "label": "build %d,%d" % (n_level, n_src)})
            else:
                nvrs.append(src)
        levels.append({"builds": builds, "nvrs": nvrs})
    return {"build_tag_name": target_info["build_tag_name"], "levels": levels}


def waitrepo_subtask(build_tag_name, n_level, nvrs):
    """The ``waitrepo`` subtask before level ``n_level``, or None when nothing is waited for."""
    if not nvrs:
        return None
    return {"method": "waitrepo", "arglist": [build_tag_name, None, list(nvrs)],
            "label": "wait %d" % n_level}


def level_nvrs(session, level, build_task_ids):
    """What the next level waits for: the level's N-V-R entries, then the N-V-R of the
    build each of its build subtasks made (in subtask order)."""
    nvrs = list(level.get("nvrs") or [])
    for task_id in build_task_ids:
        builds = session.listBuilds(taskID=task_id)
        if builds:
            nvrs.append(builds[0]["nvr"])
    return nvrs

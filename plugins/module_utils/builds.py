# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds on the hub: tagging (kojid's tagBuild task)."""

from __future__ import annotations

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None


def tag_build(session, task_id, params):
    """kojid's TagBuildTask: ``host.tagBuild``, then ``host.tagNotification``.

    On a failure the notification says so (with the message) and the error is
    raised again, so the task fails with it.
    """
    owner = session.getTaskInfo(task_id)["owner"]
    tag_id, build_id = params["tag_id"], params["build_id"]
    fromtag = params.get("fromtag")
    try:
        session.host.tagBuild(task_id, tag_id, build_id, force=bool(params.get("force")),
                              fromtag=fromtag)
    except koji.GenericError as exc:
        session.host.tagNotification(False, tag_id, fromtag, build_id, owner,
                                     bool(params.get("ignore_success")), str(exc))
        raise
    session.host.tagNotification(True, tag_id, fromtag, build_id, owner,
                                 bool(params.get("ignore_success")))

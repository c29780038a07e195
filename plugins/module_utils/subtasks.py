# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Subtasks and waiting for them, as kojid's task handlers do.

Creating: ``host.subtask(method, arglist, parent, label=…, arch=…, …)``; the hub
returns the existing child for a ``(parent, label)`` pair, so a parent that runs
again re-attaches to the children it already made.

Waiting (kojid's ``BaseTaskHandler.wait``): ``host.taskSetWait(parent, ids)``
marks the parent waiting — its weight stops counting toward the host's load,
on the hub and in the worker — then ``host.taskWait(parent)`` is polled until
the children are done.  With ``failany``, the first failed child cancels the
others (``cancelTaskChildren``) and its fault becomes the parent's.  Results
come from ``host.taskWaitResults(parent, ids, canfail=…)``.  A parent that is no longer
ours (canceled: its children were canceled with it) cancels nothing, as the hub would
refuse it.

Dependencies (koji's ``dependantTask``): tasks that are not children, waited for with
``taskFinished`` polls; one that FAILED or was CANCELED fails the waiting task
("Dependency N failed to complete."). Its ``[method, arglist, options]`` requests then
become children (``requests_to_specs``).
"""

from __future__ import annotations

import time

from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_types

try:
    import koji
    from koji.xmlrpcplus import Fault
except ImportError:  # pragma: no cover - reported by the modules
    koji = None
    Fault = Exception

SUBTASK_OPTIONS = ("label", "arch", "priority", "channel", "parent_weight", "assign")


class SubtasksTimedOut(Exception):
    """The children did not finish within the timeout."""


def requests_to_specs(requests):
    """kojid's dependantTask requests ``[method, arglist]`` or ``[method, arglist, options]``
    as subtask specs (no label: each run of the task makes new children). Options the hub's
    ``host.subtask`` would ignore are left out; a request of another shape raises
    ParameterError naming it."""
    specs = []
    for index, request in enumerate(requests or []):
        if not task_types.is_task_request(request):
            raise koji.ParameterError("task request %d must be [method, arglist] or "
                                      "[method, arglist, options], got %r" % (index, request))
        options = (request[2] if len(request) == 3 else None) or {}
        spec = dict((key, options[key]) for key in SUBTASK_OPTIONS if key in options)
        spec.update(method=request[0], arglist=list(request[1]))
        specs.append(spec)
    return specs


def wait_for_dependencies(session, wait_list, poll_interval=1.0, sleep=time.sleep):
    """koji's DependantTask wait: entries that are not task ids of the hub are dropped; the
    others are polled (``taskFinished``) until all are done. Raises GenericError
    "Dependency N failed to complete." for the first one found FAILED or CANCELED.
    Returns the ids waited for."""
    pending = [task_id for task_id in wait_list or []
               if isinstance(task_id, int) and not isinstance(task_id, bool)
               and session.getTaskInfo(task_id)]
    waited = list(pending)
    while pending:
        for task_id in list(pending):
            if session.taskFinished(task_id):
                info = session.getTaskInfo(task_id)
                if info and koji.TASK_STATES[info["state"]] in ("CANCELED", "FAILED"):
                    raise koji.GenericError("Dependency %s failed to complete." % info["id"])
                pending.remove(task_id)
        if pending:
            sleep(poll_interval)
    return waited


def create_subtasks(session, parent, specs):
    """Create (or re-attach to) children; returns ``[(spec, task_id, new)]``."""
    existing = set(child["id"] for child in session.getTaskChildren(parent))
    created = []
    for spec in specs:
        opts = dict((key, spec[key]) for key in SUBTASK_OPTIONS if spec.get(key) is not None)
        task_id = session.host.subtask(spec["method"], list(spec.get("arglist") or []), parent,
                                       **opts)
        created.append((spec, task_id, task_id not in existing))
    return created


def _fault_of(session, task_id):
    """The exception a finished child's result raises, or None if it succeeded."""
    try:
        session.getTaskResult(task_id)
    except (koji.GenericError, Fault) as exc:
        return exc
    return None


def cancel_children(session, parent):
    """``cancelTaskChildren``, unless the parent is no longer OPEN on this host (the hub
    refuses it then; canceling the parent canceled its children)."""
    if task_result.task_ownership(session, parent)[0]:
        session.cancelTaskChildren(parent)


def wait_for_subtasks(session, parent, subtasks=None, wait_all=True, failany=True,
                      canfail=None, timeout=None, poll_interval=2.0, sleep=time.sleep):
    """Wait like kojid; return ``{child id: result}`` of the finished children.

    Raises the failed child's exception (a koji error keeps its class) with
    ``failany``, :class:`SubtasksTimedOut` after ``timeout`` seconds (the
    children are canceled first).
    """
    checked = set(canfail or [])
    session.host.taskSetWait(parent, subtasks)
    start = time.time()
    while True:
        finished, unfinished = session.host.taskWait(parent)
        if not unfinished:
            break
        if finished and not wait_all:
            break
        if finished and failany:
            for task_id in sorted(set(finished) - checked):
                fault = _fault_of(session, task_id)
                if fault is not None:
                    cancel_children(session, parent)
                    raise fault
                checked.add(task_id)
        if timeout and time.time() - start > timeout:
            cancel_children(session, parent)
            raise SubtasksTimedOut("Subtasks timed out after %.1f seconds"
                                   % (time.time() - start))
        sleep(poll_interval)
    if wait_all:
        finished = subtasks if subtasks is not None else finished
    return dict(session.host.taskWaitResults(parent, finished, canfail=canfail))

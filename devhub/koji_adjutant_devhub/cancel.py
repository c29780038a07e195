"""Canceling tasks and builds (kojihub's ``Task.cancel``, ``cancelChildren``, ``cancelFull``
and ``cancel_build``).

A task that is canceled cancels the build it was making (still BUILDING) and, by
default, its children; a canceled build notifies its owners (``notifications``)
and, by default, cancels its task's whole family.
"""

import time

import koji

from . import builds
from . import notifications
from . import tasks

BS = koji.BUILD_STATES


def cancel_task(hub, task_id, recurse=True):
    """Cancel an unfinished task; True if canceled (now or before), False if done."""
    task = tasks.Task(hub, task_id)
    if not task.set_canceled():
        return task.is_canceled()
    # as kojihub: a build this task was making (still BUILDING) is canceled too
    for build_id in hub.db.column('SELECT id FROM build WHERE task_id = ? AND state = ?',
                                  (task.id, BS['BUILDING'])):
        cancel_build(hub, build_id, cancel_task=False)
    if recurse:
        cancel_children(hub, task.id)
    return True


def cancel_children(hub, task_id):
    """Cancel the children of a task (recursively)."""
    task = tasks.Task(hub, task_id)
    for child_id in hub.db.column('SELECT id FROM tasks WHERE parent = ? ORDER BY id',
                                  (task.id,)):
        cancel_task(hub, child_id, recurse=True)


def cancel_full(hub, task_id, strict=True):
    """Cancel a task and its whole family (from the top-level task down); with strict,
    the task must be top-level."""
    task = tasks.Task(hub, task_id)
    parent = task.get_info()['parent']
    if parent is not None:
        if strict:
            raise koji.GenericError('Task %d is not top-level (parent=%d)' % (task.id, parent))
        top, seen = task.id, {task.id}
        while parent is not None:
            if parent in seen:
                raise koji.GenericError('Task LOOP at task %i' % task.id)
            seen.add(parent)
            top = parent
            parent = hub.db.value('SELECT parent FROM tasks WHERE id = ?', (top,))
        return cancel_full(hub, top, strict=True)
    todo = [task.id]
    seen = set()
    while todo:
        family_id = todo.pop(0)
        if family_id in seen:
            raise koji.GenericError('Task LOOP at task %i' % family_id)
        seen.add(family_id)
        cancel_task(hub, family_id, recurse=False)
        todo.extend(hub.db.column('SELECT id FROM tasks WHERE parent = ? ORDER BY id',
                                  (family_id,)))
    return None


def cancel_build(hub, build_id, cancel_task=True):
    """BUILDING -> CANCELED (kojihub's cancel_build); True if it was canceled."""
    build = builds.get_build(hub, build_id, strict=True)
    if build['state'] != BS['BUILDING']:
        return False
    hub.db.update('build', 'id = ? AND state = ?', (build['id'], BS['BUILDING']),
                  state=BS['CANCELED'], completion_ts=time.time())
    if build['task_id'] is not None:
        notifications.build_notification(hub, build['task_id'], build['id'])
        if cancel_task:
            cancel_full(hub, build['task_id'], strict=False)
    return True

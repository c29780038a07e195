# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checking in with the hub and taking assigned tasks, as kojid does.

Shared by the worker daemon (which takes tasks in-process, for low pickup
latency) and the ``koji_task_claim`` module (which takes or confirms a task from
a playbook).
"""

from __future__ import annotations

import os

try:
    import koji
    import koji.tasks
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

from ansible_collections.koji_adjutant.builder.plugins.module_utils import config as config_lib
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_params
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_types

# The status of a worker that takes no new work until it restarts.
RESTART_PENDING_STATUS = "Pending restart"


def available_methods(playbook_root):
    """Methods this worker handles: a playbook ``tasks/<method>.yml`` and a declaration in
    ``task_types`` each; a playbook without a declaration raises task_types.TaskTypeError.

    A module runs from its AnsiballZ payload, which holds the collection's module_utils but
    not its playbooks: there, without a ``playbook_dir`` of its own, the methods are the ones
    the collection declares (each has its playbook in the collection)."""
    if not os.path.isdir(playbook_root) and not os.path.isdir(config_lib.collection_root()):
        return sorted(task_types.TASK_TYPES)
    return task_types.handled_methods(playbook_root)


def task_weight(session, method, params):
    """The weight kojid would set for a task (its declaration's, raised from the request
    for a method that weighs it, as buildArch does)."""
    task_type = task_types.get(method)
    if task_type is None:
        return task_types.DEFAULT_WEIGHT
    if task_type.weigh is not None and params:
        return task_type.weigh(session, params, task_type.weight)
    return task_type.weight


def effective_capacity(config, host):
    """The task load this worker takes: ``[adjutant] capacity``, else the hub's for the host."""
    return config.capacity or host.get("capacity") or 0.0


def readiness(config, host, task_load, running_count, restart_pending=False):
    """Decide whether we can take another task; returns ``(ready, reason)``.

    The checks and their order are kojid's ``readyForTask``.
    """
    if restart_pending:
        return False, RESTART_PENDING_STATUS
    if not host.get("enabled"):
        return False, "Host is disabled"
    capacity = effective_capacity(config, host)
    if task_load > capacity:
        return False, "Task load (%.2f) exceeds capacity (%.2f)" % (task_load, capacity)
    if running_count >= config.maxjobs:
        return False, "Full queue"
    space_dir = config.workdir if os.path.exists(config.workdir) else "/"
    stat = os.statvfs(space_dir)
    available_mb = stat.f_bavail * stat.f_frsize // 1024 // 1024
    if available_mb < config.minspace:
        return False, ("Insufficient disk space at %s: %i MB, %i MB required"
                       % (space_dir, available_mb, config.minspace))
    maxload = 4.0 * (os.cpu_count() or 1)
    load1 = os.getloadavg()[0]
    if load1 > maxload:
        return False, "Load average %.2f > %.2f" % (load1, maxload)
    return True, "ready"


def check_in(session, config, task_load, ready, methods):
    """Report load and readiness (``host.updateHost``) as kojid does each pass."""
    data = {"methods": list(methods), "maxjobs": config.maxjobs}
    session.host.updateHost(task_load, ready, data=data)


def assigned_tasks(session, host_id, skip_ids=()):
    """Tasks ASSIGNED to this host that we are not already running."""
    result = []
    for task in session.host.getTasks():
        if task["id"] in skip_ids:
            continue
        if task["state"] != koji.TASK_STATES["ASSIGNED"] or task["host_id"] != host_id:
            continue
        result.append(task)
    return result


class Claim(object):
    """Outcome of trying to take one task."""

    TAKEN = "taken"
    ALREADY_OURS = "already_ours"
    REFUSED = "refused"
    LOST = "lost"

    def __init__(self, status, task_id, method=None, params=None, weight=None,
                 info=None, reason=None, param_error=None):
        self.status = status
        self.task_id = task_id
        self.method = method
        self.params = params
        self.weight = weight
        self.info = info or {}
        self.reason = reason
        self.param_error = param_error

    @property
    def owned(self):
        return self.status in (self.TAKEN, self.ALREADY_OURS)

    def as_dict(self):
        return {
            "status": self.status,
            "task_id": self.task_id,
            "method": self.method,
            "params": self.params,
            "weight": self.weight,
            "arch": self.info.get("arch"),
            "channel_id": self.info.get("channel_id"),
            "parent": self.info.get("parent"),
            "priority": self.info.get("priority"),
            "reason": self.reason,
            "param_error": self.param_error,
        }


def build_tag_check(session, method, params, host):
    """kojid's checkHost, with an unknown tag told apart; returns ``(param_error, refusal)``.

    The build tag (the declaration's ``build_tag_param``) must exist; its arches
    (inherited ones included, as ``getBuildConfig`` gives them) must meet the host's
    arches, or, for a task of one arch (``arch_param``), the host must have that arch,
    else the task is refused.  A build tag that
    does not exist is the request's fault, not this host's: ``param_error`` says so
    and the task is failed with ParameterError (kojid's host check would refuse it,
    and no host would ever take it).
    """
    task_type = task_types.get(method)
    if task_type is None or not task_type.build_tag_param or not isinstance(params, dict):
        return None, None
    name = task_type.build_tag_param
    tag = params.get(name)
    if tag is None:
        return None, None
    try:
        tag_info = session.getBuildConfig(tag)
    except koji.GenericError as exc:
        if session.getTag(tag) is None:
            return "Invalid parameter %r for %s: no such tag %r" % (name, method, tag), None
        return None, "cannot look up build tag %r: %s" % (tag, exc)
    return None, _arch_refusal(task_type, params, tag_info, host)


def _arch_refusal(task_type, params, tag_info, host):
    tag_arches = set(koji.canonArch(a) for a in (tag_info.get("arches") or "").split())
    host_arches = set((host.get("arches") or "").split())
    if task_type.arch_param:
        arch = params.get(task_type.arch_param)
        if arch == "noarch":
            if tag_arches and not tag_arches & host_arches:
                return "no buildroot arch: tag arches %s, host arches %s" % (
                    " ".join(sorted(tag_arches)), " ".join(sorted(host_arches)))
            return None
        if koji.canonArch(arch or "") not in host_arches and arch not in host_arches:
            return "host arches %s do not include %s" % (" ".join(sorted(host_arches)), arch)
        return None
    if tag_arches and not tag_arches & host_arches:
        return "tag %s arches (%s) do not meet host arches (%s)" % (
            tag_info["name"], " ".join(sorted(tag_arches)), " ".join(sorted(host_arches)))
    return None


def take_task(session, task_id, methods, host, host_id):
    """Take one task the way kojid's ``takeTask`` does.

    * method without a playbook → ``host.refuseTask(soft=False)``;
    * failed host (arch) check → ``host.refuseTask(soft=False)``;
    * ``host.openTask`` (None means another host got it);
    * ``host.setTaskWeight``.

    A task that is already OPEN on this host (taken by the daemon before the
    playbook started) is returned as ``ALREADY_OURS`` without hub changes.

    Parameters that do not match the method's signature do not stop the claim:
    the task is opened and ``param_error`` says why, so the caller fails it
    with ParameterError as kojid's handler would.
    """
    info = session.getTaskInfo(task_id, request=True)
    if not info:
        return Claim(Claim.LOST, task_id, reason="no such task")
    method = info["method"]
    state = koji.TASK_STATES[info["state"]]
    request = info.get("request")
    params, param_error = None, None
    if request is not None:
        try:
            params = task_params.parse(method, request)
        except koji.ParameterError as exc:
            param_error = str(exc)

    if state == "OPEN" and info.get("host_id") == host_id:
        return Claim(Claim.ALREADY_OURS, task_id, method, params, info.get("weight"), info,
                     param_error=param_error)
    if state != "ASSIGNED" or info.get("host_id") != host_id:
        return Claim(Claim.LOST, task_id, method, info=info,
                     reason="task is %s, host %s" % (state, info.get("host_id")))
    if method not in methods:
        session.host.refuseTask(task_id, soft=False, msg="no handler for method")
        return Claim(Claim.REFUSED, task_id, method, info=info,
                     reason="no handler for method %s" % method)
    if request is None:
        return Claim(Claim.LOST, task_id, method, info=info, reason="task has no request")
    if param_error is None:
        param_error, problem = build_tag_check(session, method, params, host)
        if problem:
            session.host.refuseTask(task_id, soft=False, msg="failed host check")
            return Claim(Claim.REFUSED, task_id, method, params, info=info,
                         reason="failed host check: %s" % problem)
    opened = session.host.openTask(task_id)
    if opened is None:
        return Claim(Claim.LOST, task_id, method, info=info, reason="another host opened it")
    weight = task_weight(session, method, params)
    try:
        session.host.setTaskWeight(task_id, weight)
    except koji.ActionNotAllowed:
        current = session.getTaskInfo(task_id)
        if current["host_id"] != host_id or koji.TASK_STATES[current["state"]] != "OPEN":
            return Claim(Claim.LOST, task_id, method, info=current,
                         reason="task changed while being opened")
        raise
    return Claim(Claim.TAKEN, task_id, method, params, weight, opened, param_error=param_error)

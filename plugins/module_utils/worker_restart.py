# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""koji's graceful restart tasks: ``restart``, ``restartVerify`` and ``restartHosts``.

- ``restart(host)``: on the host it names, the worker stops taking tasks and
  restarts once idle (the daemon's SIGUSR1); result ``"graceful restart initiated"``.
- ``restartVerify(task_id, host)``: assigned to the same host, taken after the
  restart; fails unless the ``restart`` task is CLOSED and the worker started
  after that task completed.
- ``restartHosts(options)``: a ``restart`` and a ``restartVerify`` child per
  enabled host (optionally of one channel, or with given arches), assigned to
  that host, then waits for all of them (``timeout``, default one day).
- ``shutdown()``: the worker stops, as kojid does: the step reports the request
  to the daemon (``module_common.daemon_report``), which frees its tasks (the
  shutdown task too: it is never closed), reports the host not ready, logs out
  and exits with status 0.
"""

from __future__ import annotations

import os
import signal
import time

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

RESTART_RESULT = "graceful restart initiated"
DEFAULT_TIMEOUT = 86400


def check_host(session, host):
    """The task's ``host`` must be this host (kojid: "Host mismatch")."""
    if not isinstance(host, dict) or host.get("id") != session.host.getID():
        raise koji.GenericError("Host mismatch")


def request_restart(session, host, worker_pid):
    """``restart``: ask the worker daemon (``worker_pid``) for a graceful restart."""
    check_host(session, host)
    if not worker_pid:
        raise koji.GenericError("no worker daemon to restart (run this task through "
                                "koji-adjutant worker)")
    try:
        os.kill(worker_pid, signal.SIGUSR1)
    except OSError as exc:
        raise koji.GenericError("cannot signal the worker daemon (pid %s): %s"
                                % (worker_pid, exc))
    return RESTART_RESULT


def verify_restart(session, restart_task_id, host, worker_started):
    """``restartVerify``: raise unless the worker restarted after the restart task closed."""
    info = session.getTaskInfo(restart_task_id)
    if not info:
        raise koji.GenericError("No such task: %s" % restart_task_id)
    state = koji.TASK_STATES[info["state"]]
    if state != "CLOSED":
        raise koji.GenericError("Stage one restart task is %s" % state)
    check_host(session, host)
    completed = info.get("completion_ts") or 0
    if worker_started < completed:
        raise koji.GenericError("Restart failed - start time is %s"
                                % time.asctime(time.localtime(worker_started)))


def hosts_to_restart(session, options):
    """The hosts ``restartHosts`` restarts (enabled; ``channel``, ``arches`` options)."""
    options = options or {}
    query = {"enabled": True}
    if options.get("channel"):
        query["channelID"] = session.getChannel(options["channel"], strict=True)["id"]
    if options.get("arches"):
        query["arches"] = options["arches"]
    hosts = session.listHosts(**query)
    if not hosts:
        raise koji.GenericError("No matching hosts")
    return hosts


def wait_timeout(options):
    """The ``timeout`` option of restartHosts (seconds; default one day)."""
    timeout = (options or {}).get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise koji.ParameterError("Invalid restartHosts option timeout: %r (expected seconds)"
                                  % (timeout,))
    return int(timeout)


def restart_subtasks(hosts):
    """Specs of the ``restart`` children (for koji_subtask), one per host."""
    return [{"method": "restart", "arglist": [host], "assign": host["id"],
             "label": "restart %d" % host["id"]} for host in hosts]


def verify_subtasks(hosts, restart_ids):
    """Specs of the ``restartVerify`` children, each after its host's ``restart``."""
    return [{"method": "restartVerify", "arglist": [task_id, host], "assign": host["id"],
             "label": "sleep %d" % host["id"]} for host, task_id in zip(hosts, restart_ids)]

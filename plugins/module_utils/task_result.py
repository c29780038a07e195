# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task results and faults in the form kojid reports them.

``host.closeTask`` takes a complete XML-RPC methodResponse string holding the
handler's return value; ``host.failTask`` takes a methodResponse string holding a
Fault.  A known koji error keeps its fault code; anything unexpected is code 1.

Both, like every ``host.*`` call about a task (``failBuild``, uploads into its
directory, ...), are refused once the task is no longer OPEN on this host
(canceled, or given to another host): ``ActionNotAllowed`` "host N does not own
task M".  :func:`task_ownership` is the check made before such a call on a
failure path, so that a canceled task ends quietly instead.
"""

from __future__ import annotations

try:
    import koji
    import koji.xmlrpcplus
except ImportError:  # pragma: no cover - reported by the modules
    koji = None


def fault_code(name_or_code):
    """Fault code for a koji exception name (``"BuildError"``) or a number."""
    if isinstance(name_or_code, int):
        return name_or_code
    text = str(name_or_code).strip()
    if text.isdigit():
        return int(text)
    cls = getattr(koji, text, None)
    code = getattr(cls, "faultCode", None)
    if not isinstance(code, int):
        raise ValueError("unknown koji fault %r (use a koji exception name such as "
                         "BuildError, ParameterError, GenericError, or a number)" % text)
    return code


def fault_name(code):
    """The koji exception name for a fault code, or ``"Fault"`` when unknown."""
    for name in dir(koji):
        cls = getattr(koji, name)
        if isinstance(cls, type) and issubclass(cls, koji.GenericError) and \
                getattr(cls, "faultCode", None) == code and cls is not koji.GenericError:
            return name
    if code == koji.GenericError.faultCode:
        return "GenericError"
    return "Fault"


def encode_result(value):
    """The methodResponse string ``host.closeTask`` expects."""
    return koji.xmlrpcplus.dumps((value,), methodresponse=1, allow_none=1)


def encode_fault(code, message):
    """The methodResponse string (a Fault) ``host.failTask`` expects."""
    return koji.xmlrpcplus.dumps(koji.xmlrpcplus.Fault(fault_code(code), message))


def encode_exception(exc):
    """Encode an exception as kojid does: koji errors keep code and message."""
    code = getattr(exc, "faultCode", 1)
    if isinstance(exc, koji.GenericError):
        return encode_fault(code, str(exc))
    return encode_fault(code, "%s: %s" % (type(exc).__name__, exc))


def task_ownership(session, task_id, host_id=None):
    """``(ours, state)``: whether the task is OPEN and held by this host, and its state name
    (``MISSING`` for no such task).  One round trip: ``getTaskInfo`` (with ``host.getID``
    in the same multicall unless ``host_id`` is given)."""
    if host_id is None:
        with session.multicall(strict=True) as multi:
            info_call = multi.getTaskInfo(task_id)
            host_call = multi.host.getID()
        info, host_id = info_call.result, host_call.result
    else:
        info = session.getTaskInfo(task_id)
    if not info:
        return False, "MISSING"
    state = koji.TASK_STATES[info["state"]]
    return state == "OPEN" and info["host_id"] == host_id, state


def not_ours_message(task_id, state, what="the task was not changed"):
    """What a step says when it leaves a task that is no longer ours alone."""
    return "task %s is %s and not open on this host; %s" % (task_id, state, what)


def close_task(session, task_id, result):
    session.host.closeTask(task_id, encode_result(result))


def fail_task(session, task_id, code, message):
    session.host.failTask(task_id, encode_fault(code, message))

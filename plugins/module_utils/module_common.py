# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every koji_adjutant module shares: options, session, error reporting."""

from __future__ import annotations

import contextlib
import traceback

from ansible_collections.koji_adjutant.builder.plugins.module_utils import config as config_lib
from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session

try:
    import koji
except ImportError:
    koji = None
    KOJI_TRACEBACK = traceback.format_exc()
else:
    KOJI_TRACEBACK = None

# The key of a step's result that carries what the worker daemon must know about its task
# (docs/architecture.md, "What the daemon learns from a playbook"): the task ended on the hub
# and how, the task's container in use or removed, a buildroot cache lookup's outcome, a stop of
# the worker asked for by a shutdown task. Only the
# modules set it, on purpose; the daemon reads nothing else of a step's result.
DAEMON_REPORT_KEY = "koji_adjutant"

# its values
TASK_ENDED = "task_ended"            # CLOSED or FAILED: this step closed or failed the task
CONTAINER = "container"              # the task container's name, when this step used it
CONTAINER_STATE = "container_state"  # running (started or used by this step) or removed
BUILDROOT_CACHE = "buildroot_cache"  # hit or miss
WORKER_STOP = "worker_stop"          # requested: stop the worker (a shutdown task)


def daemon_report(**facts):
    """``{DAEMON_REPORT_KEY: facts}``, to add to a module's result."""
    return {DAEMON_REPORT_KEY: facts}


# Options of every module that talks to the hub (doc fragment koji_adjutant.builder.hub).
HUB_ARGUMENT_SPEC = dict(
    koji_config=dict(type="path", default=config_lib.DEFAULT_CONFIG_FILE),
    hub_session_file=dict(type="path", required=True),
)

# Options of every module that works on one task (doc fragment koji_adjutant.builder.task).
TASK_ARGUMENT_SPEC = dict(
    task_id=dict(type="int", required=True),
)


def task_argument_spec(**options):
    """The argument spec of a module working on one task: the hub and task options, plus
    the module's own."""
    spec = dict(HUB_ARGUMENT_SPEC)
    spec.update(TASK_ARGUMENT_SPEC)
    spec.update(options)
    return spec


def require_koji(module):
    if koji is None:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib("koji"), exception=KOJI_TRACEBACK)


def require_for_state(module, *names):
    """Fail the module (ParameterError) naming the options among ``names`` its ``state``
    needs that were not given."""
    missing = [name for name in names if module.params[name] is None]
    if missing:
        module.fail_json(msg="state=%s needs %s" % (module.params["state"], ", ".join(missing)),
                         koji_fault="ParameterError")


def load_module_config(module):
    """The worker config named by ``koji_config``; fails the module on a bad file."""
    require_koji(module)
    try:
        return config_lib.load_config(module.params["koji_config"])
    except config_lib.ConfigError as exc:
        module.fail_json(msg=str(exc), koji_fault="ConfigurationError")


def open_module_session(module, config):
    """The task's hub session from ``hub_session_file``."""
    try:
        return hub_session.open_task_session(config, module.params["hub_session_file"])
    except hub_session.HubLoginError as exc:
        module.fail_json(msg=str(exc), koji_fault="AuthError")


def fault_name_of(exc):
    """The koji exception name to fail the task with, for an exception."""
    if koji is not None and isinstance(exc, koji.GenericError):
        name = type(exc).__name__
        return name if hasattr(koji, name) else "GenericError"
    return "GenericError"


def fail_from_exception(module, exc, prefix=None, **extra):
    """Fail the module with a message and the koji fault class for the task."""
    message = str(exc) if not prefix else "%s: %s" % (prefix, exc)
    module.fail_json(msg=message, koji_fault=extra.pop("koji_fault", fault_name_of(exc)),
                     **extra)


@contextlib.contextmanager
def task_hub_session(module, config, prefix=None):
    """The task's hub session for a module's work: a koji error fails the module with
    its fault class, and the session is released (never logged out) in any case."""
    session = open_module_session(module, config)
    try:
        yield session
    except koji.GenericError as exc:
        fail_from_exception(module, exc, prefix)
    finally:
        hub_session.release_session(session)

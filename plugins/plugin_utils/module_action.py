# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a task-pipeline module's own code in the controller, as an action plugin.

Each module of the task pipeline (``plugins/modules/koji_upload.py``, ...) declares its
options as ``ARGUMENT_SPEC`` and ``MODULE_OPTIONS`` and keeps its logic in
``run_module(module)``; its ``main()`` runs that under ``AnsibleModule``.  The action plugin
of the same name (``plugins/action/koji_upload.py``, a subclass of :class:`ModuleAction`)
runs the same ``run_module`` in the task's own worker process instead: the task's
arguments are checked with ansible-core's public ``ArgumentSpecValidator`` against the
same spec, and ``run_module`` gets a :class:`ControllerModule`, the part of
``AnsibleModule`` the modules use (``params``, ``check_mode``, ``exit_json``,
``fail_json``, ``warn``).  No AnsiballZ payload is built and no interpreter started per
step; the action plugin's Python module, and with it koji and the collection's
module_utils, is imported once in the ``ansible-playbook`` process (the play strategy looks
the action plugin up before it forks the task's worker).

The result is what the module returns: the same keys (``changed``, ``failed``, ``msg``,
``koji_fault``, ``koji_adjutant``, ``invocation``, ...), passed through JSON as a module's
result is.
"""

from __future__ import annotations

import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

# AnsibleModule options that are not constraints between parameters
NOT_VALIDATOR_OPTIONS = ("supports_check_mode",)


class ModuleExit(BaseException):
    """``exit_json`` or ``fail_json`` was called: the module's run ends with ``result``.

    A BaseException, as the SystemExit that ``AnsibleModule`` raises there: a module's
    ``except Exception`` does not catch it, its ``finally`` clauses run."""

    def __init__(self, result):
        super(ModuleExit, self).__init__(result.get("msg"))
        self.result = result


class ControllerModule(object):
    """What ``run_module`` uses of ``AnsibleModule``, for a run inside an action plugin."""

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._warnings = []

    def warn(self, warning):
        self._warnings.append(str(warning))

    def _result(self, kwargs):
        result = dict(kwargs)
        result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = list(self._warnings)
        return result

    def exit_json(self, **kwargs):
        raise ModuleExit(self._result(kwargs))

    def fail_json(self, msg, **kwargs):
        kwargs.pop("exception", None)  # a traceback: Ansible adds one for unexpected errors
        kwargs.update(failed=True, msg=str(msg))
        raise ModuleExit(self._result(kwargs))


def _jsonable(value):
    """What a module's JSON output makes of values JSON has no type for."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError("%r is not JSON serializable" % (value,))


def as_module_result(result):
    """The result as it would come back from the module's process (through JSON); also the
    arguments as the module's process would read them."""
    return json.loads(json.dumps(result, default=_jsonable))


def run_in_controller(module, args, check_mode=False):
    """Run ``module.run_module`` with ``args`` validated against ``module.ARGUMENT_SPEC``;
    returns the module's result (a failed one for arguments that do not validate)."""
    name = module.__name__.rsplit(".", 1)[-1]
    options = dict(getattr(module, "MODULE_OPTIONS", {}))
    if check_mode and not options.get("supports_check_mode", False):
        return {"skipped": True, "changed": False,
                "msg": "%s does not support check mode" % name}
    for key in NOT_VALIDATOR_OPTIONS:
        options.pop(key, None)
    # plain Python values, as a module reads them from its JSON input (the task's arguments
    # may be objects of Ansible's own types, which koji's XML-RPC marshalling does not take)
    args = as_module_result(dict(args))
    validator = ArgumentSpecValidator(module.ARGUMENT_SPEC, **options)
    validation = validator.validate(args)
    if validation.error_messages:
        unsupported = validation.unsupported_parameters
        message = "; ".join(validation.error_messages)
        if unsupported:
            message = "%s module: %s" % (name, message)
        return {"failed": True, "msg": message,
                "invocation": {"module_args": args}}
    controller_module = ControllerModule(validation.validated_parameters, check_mode)
    try:
        module.run_module(controller_module)
    except ModuleExit as end:
        return as_module_result(end.result)
    # a run_module that returns without exit_json or fail_json is a bug of the module
    return {"failed": True, "msg": "%s ended without a result" % name}


class ModuleAction(ActionBase):
    """The action plugin of a task-pipeline module; subclasses name the module (``MODULE``,
    the Python module of ``plugins/modules/<name>.py``)."""

    MODULE = None
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ModuleAction, self).run(tmp, task_vars)
        result.update(run_in_controller(self.MODULE, self._task.args,
                                        check_mode=bool(self._task.check_mode)))
        return result

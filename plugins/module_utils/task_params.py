# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decoding and checking a koji task's parameters.

The request is decoded with koji's own ``koji.tasks.parse_task_params`` (the
signatures kojid's handlers have), then the types each task type relies on are
checked as the method's declaration (``task_types``) says, so bad input fails the task
with ParameterError and a message that names the parameter, instead of failing somewhere
inside a build.
"""

from __future__ import annotations

try:
    import koji
    import koji.tasks
    import koji.util
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_types

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "a struct",
               type(None): "nil", bool: "a boolean"}


def _describe(types):
    names = []
    for kind in types:
        name = _TYPE_NAMES.get(kind, kind.__name__)
        if name not in names:
            names.append(name)
    return " or ".join(names)


def parse(method, request):
    """Decode ``request`` for ``method``; raise koji.ParameterError on a mismatch."""
    if not isinstance(request, (list, tuple)):
        raise koji.ParameterError("Invalid request for %s: expected a list of parameters, "
                                  "got %s" % (method, type(request).__name__))
    try:
        params = koji.tasks.parse_task_params(method, list(request))
    except TypeError:
        # no legacy signature known to koji: pass positional/keyword args through
        args, kwargs = koji.decode_args(*request)
        params = {"args": list(args), "kwargs": kwargs}
    else:
        if _is_new_style(request):
            _check_new_style(method, params)
    task_type = task_types.get(method)
    if task_type is None:
        return params
    for name, types in task_type.params.items():
        if name not in params:
            continue
        value = params[name]
        if isinstance(value, bool) and bool not in types and types != task_types.BOOL:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            raise koji.ParameterError(
                "Invalid parameter %r for %s: expected %s, got %r"
                % (name, method, _describe(types), value))
    for check in task_type.checks:
        check(method, params)
    return params


def _is_new_style(request):
    return len(request) == 1 and isinstance(request[0], dict) and "__method__" in request[0]


def _check_new_style(method, params):
    """A new-style request (one struct) must still fit the method's signature: kojid would
    call the handler with it as keyword arguments."""
    signatures = koji.tasks.LEGACY_SIGNATURES.get(method)
    if not signatures:
        return
    error = None
    for argspec in signatures:
        try:
            koji.util.apply_argspec(argspec, (), params)
            return
        except koji.ParameterError as exc:
            error = error or exc.args[0]
    raise koji.ParameterError("Invalid signature for %s: %s" % (method, error))

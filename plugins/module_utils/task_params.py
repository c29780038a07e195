# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decoding and checking a koji task's parameters.

The request is decoded with koji's own ``koji.tasks.parse_task_params`` (the
signatures kojid's handlers have), then the types each task type relies on are
checked, so bad input fails the task with ParameterError and a message that
names the parameter, instead of failing somewhere inside a build.
"""

from __future__ import annotations

import re

try:
    import koji
    import koji.tasks
    import koji.util
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

_STR = (str,)
_INT = (int,)
_TAG = (int, str)
_TAG_OR_INFO = (int, str, dict)
_DICT_OR_NONE = (dict, type(None))
_BOOL = (bool, int)
_STR_OR_NONE = (str, type(None))
_TAG_OR_NONE = (int, str, dict, type(None))
_LIST = (list,)

# method -> {param: accepted types}
PARAM_TYPES = {
    "buildArch": {"pkg": _STR, "root": _TAG, "arch": _STR, "keep_srpm": _BOOL,
                  "opts": _DICT_OR_NONE},
    "sleep": {"n": (int, float)},
    "rebuildSRPM": {"srpm": _STR, "build_tag": _TAG, "opts": _DICT_OR_NONE},
    "buildSRPMFromSCM": {"url": _STR, "build_tag": _TAG, "opts": _DICT_OR_NONE},
    # target may be None when opts carry a repo_id (kojid then skips tagging)
    "build": {"src": _STR, "target": _STR_OR_NONE, "opts": _DICT_OR_NONE},
    "tagBuild": {"tag_id": _TAG, "build_id": _TAG},
    "newRepo": {"tag": _TAG_OR_INFO, "opts": _DICT_OR_NONE},
    "createrepo": {"repo_id": _INT, "arch": _STR, "oldrepo": _DICT_OR_NONE},
    "waitrepo": {"tag": _TAG_OR_INFO, "nvrs": (list, type(None))},
    "tagNotification": {"recipients": _LIST, "is_successful": _BOOL, "tag_info": _TAG_OR_NONE,
                        "from_info": _TAG_OR_NONE, "build_info": _TAG_OR_INFO,
                        "user_info": _TAG_OR_INFO, "failure_msg": _STR_OR_NONE},
    "buildNotification": {"recipients": _LIST, "build": (dict,), "target": _DICT_OR_NONE,
                          "weburl": _STR},
    "restart": {"host": (dict,)},
    "restartVerify": {"task_id": _INT, "host": (dict,)},
    "restartHosts": {"options": _DICT_OR_NONE},
}

# methods whose 'arch' parameter names an rpm arch: a word, never a path or shell text
ARCH_PARAMS = ("buildArch", "createrepo")
ARCH_RE = re.compile(r"^[A-Za-z0-9_]+$")

# methods whose opts may carry the repo id of their buildroot
REPO_ID_OPTS = ("buildArch", "rebuildSRPM", "buildSRPMFromSCM", "build")

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
    for name, types in PARAM_TYPES.get(method, {}).items():
        if name not in params:
            continue
        value = params[name]
        if isinstance(value, bool) and bool not in types and types != _BOOL:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            raise koji.ParameterError(
                "Invalid parameter %r for %s: expected %s, got %r"
                % (name, method, _describe(types), value))
    if method == "sleep" and params.get("n", 0) < 0:
        raise koji.ParameterError("Invalid parameter 'n' for sleep: must not be negative")
    if method in ARCH_PARAMS and not ARCH_RE.match(params.get("arch") or ""):
        raise koji.ParameterError("Invalid parameter 'arch' for %s: %r is not an arch name"
                                  % (method, params.get("arch")))
    opts = params.get("opts")
    if method in REPO_ID_OPTS and isinstance(opts, dict):
        repo_id = opts.get("repo_id")
        if repo_id is not None and (isinstance(repo_id, bool) or not isinstance(repo_id, int)):
            raise koji.ParameterError("Invalid parameter 'opts' for %s: repo_id must be an "
                                      "integer, got %r" % (method, repo_id))
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

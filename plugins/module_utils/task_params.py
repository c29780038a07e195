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

try:
    import koji
    import koji.tasks
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
}

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
    return params

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The koji task types this worker handles: one declaration per method.

A task type is its declaration here and its playbook ``playbooks/tasks/<method>.yml``. The
declaration says what the worker needs to know before the playbook runs:

* ``weight`` - kojid's weight for the task (the handler's ``_taskWeight``), set with
  ``host.setTaskWeight`` when the task is taken; ``weigh`` optionally raises it from the
  request, as kojid's handler does (buildArch, from the package's build history);
* ``params`` - the type of each parameter, after koji's own signature has decoded the request
  (``koji.tasks.parse_task_params``); ``checks`` - further checks of the decoded parameters;
  a request that fails either fails the task with ParameterError before the playbook starts;
* ``build_tag_param`` - the parameter naming the build tag whose arches must meet the host's
  (kojid's ``checkHost``), or None; ``arch_param`` - with it, the parameter naming the task's
  own arch, which the host must have instead (for noarch, the tag and the host must share an
  arch);
* ``foreground`` - kojid's ``Foreground``: while such a task runs, the worker takes no other.

The worker daemon, ``task_claim`` and ``task_params`` read these declarations and nothing
else. A playbook without a declaration stops the daemon at start-up (``handled_methods``); a
method without a playbook in the worker's ``playbook_dir`` is refused, as kojid refuses a
method it has no handler for.
"""

from __future__ import annotations

import os
import re

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

# -- the types a parameter may have (after koji has decoded the request) --------------------
STR = (str,)
INT = (int,)
BOOL = (bool, int)
TAG = (int, str)
TAG_OR_INFO = (int, str, dict)
TAG_OR_NONE = (int, str, dict, type(None))
STR_OR_NONE = (str, type(None))
DICT = (dict,)
DICT_OR_NONE = (dict, type(None))
LIST = (list,)
LIST_OR_NONE = (list, type(None))
NUMBER = (int, float)
NUMBER_OR_NONE = (int, float, type(None))
INT_OR_NONE = (int, type(None))
BOOL_OR_NONE = (bool, int, type(None))
STR_OR_LIST = (str, list)

ARCH_RE = re.compile(r"^[A-Za-z0-9_]+$")


# -- checks of decoded parameters: each raises koji.ParameterError --------------------------
def arch_name(name):
    """The parameter ``name`` names an rpm arch: a word, never a path or shell text."""
    def check(method, params):
        if not ARCH_RE.match(params.get(name) or ""):
            raise koji.ParameterError("Invalid parameter %r for %s: %r is not an arch name"
                                      % (name, method, params.get(name)))
    return check


def repo_id_in_opts(method, params):
    """``opts.repo_id``, the repo of the task's buildroot, is an integer when given."""
    opts = params.get("opts")
    if isinstance(opts, dict):
        repo_id = opts.get("repo_id")
        if repo_id is not None and (isinstance(repo_id, bool) or not isinstance(repo_id, int)):
            raise koji.ParameterError("Invalid parameter 'opts' for %s: repo_id must be an "
                                      "integer, got %r" % (method, repo_id))


def not_negative(name):
    """The number ``name`` is not negative."""
    def check(method, params):
        if params.get(name, 0) < 0:
            raise koji.ParameterError("Invalid parameter %r for %s: must not be negative"
                                      % (name, method))
    return check


def strings(name, option_like=False):
    """The list ``name`` (when it is a list) holds strings only; ``option_like`` False: none
    of them starts with ``-`` (a package name, never an option of the installer)."""
    def check(method, params):
        value = params.get(name)
        if not isinstance(value, list):
            return
        for item in value:
            if not isinstance(item, str) or not item:
                raise koji.ParameterError("Invalid parameter %r for %s: %r is not a non-empty "
                                          "string" % (name, method, item))
            if not option_like and item.startswith("-"):
                raise koji.ParameterError("Invalid parameter %r for %s: %r is not a name (it "
                                          "starts with '-')" % (name, method, item))
    return check


def dist_repo_opts(name):
    """The options of a dist repo task (``name``): the keys kojid reads without a default,
    a list of arch names, a list of repo ids for ``delta``; and the signing keys are
    strings."""
    required = ("event", "latest", "inherit", "multilib", "skip_missing_signatures",
                "allow_missing_signatures")

    def check(method, params):
        opts = params.get(name) or {}
        missing = [key for key in required if key not in opts]
        if missing:
            raise koji.ParameterError("Invalid parameter %r for %s: missing %s"
                                      % (name, method, ", ".join(missing)))
        arches = opts.get("arch", [])
        if not isinstance(arches, list) or not all(
                isinstance(arch, str) and ARCH_RE.match(arch) for arch in arches):
            raise koji.ParameterError("Invalid parameter %r for %s: arch must be a list of "
                                      "arch names, got %r" % (name, method, arches))
        delta = opts.get("delta") or []
        if not isinstance(delta, list) or not all(
                isinstance(repo, int) and not isinstance(repo, bool) for repo in delta):
            raise koji.ParameterError("Invalid parameter %r for %s: delta must be a list of "
                                      "repo ids, got %r" % (name, method, delta))
        keys = params.get("keys") or []
        if not all(isinstance(key, str) for key in keys):
            raise koji.ParameterError("Invalid parameter 'keys' for %s: signing keys must be "
                                      "strings, got %r" % (method, keys))
    return check


def chain_levels(name):
    """The parameter ``name`` of a chain build is a list of levels, each a non-empty list of
    strings (SCM URLs and N-V-Rs), as ``koji chain-build`` sends them."""
    def check(method, params):
        levels = params.get(name)
        if not levels:
            raise koji.ParameterError("Invalid parameter %r for %s: no build levels"
                                      % (name, method))
        for index, level in enumerate(levels):
            if (not isinstance(level, list) or not level
                    or not all(isinstance(src, str) and src for src in level)):
                raise koji.ParameterError(
                    "Invalid parameter %r for %s: level %d must be a non-empty list of SCM "
                    "URLs and N-V-Rs, got %r" % (name, method, index, level))
    return check


def is_task_request(request):
    """Whether ``request`` is a task to create as kojid's dependantTask lists them:
    ``[method, arglist]`` or ``[method, arglist, options]``."""
    return (isinstance(request, list) and len(request) in (2, 3)
            and isinstance(request[0], str) and bool(request[0])
            and isinstance(request[1], list)
            and (len(request) == 2 or isinstance(request[2], (dict, type(None)))))


def task_requests(name):
    """The parameter ``name`` lists tasks to create (``is_task_request``)."""
    def check(method, params):
        for index, request in enumerate(params.get(name) or []):
            if not is_task_request(request):
                raise koji.ParameterError(
                    "Invalid parameter %r for %s: entry %d must be [method, arglist] or "
                    "[method, arglist, options], got %r" % (name, method, index, request))
    return check


# -- weights kojid raises from the request ----------------------------------------------------
def build_history_weight(session, params, weight):
    """kojid's buildArch weight: raised by the package's average build duration."""
    try:
        name = koji.parse_NVRA(os.path.basename(params["pkg"]))["name"]
        average = session.getAverageBuildDuration(name)
    except Exception:
        average = None
    if average:
        weight += min(4.5, average / 4800.0)
    return weight


def requested_weight(session, params, weight):
    """kojid's runroot weight: the request's ``weight`` when given (at least 0.5)."""
    requested = params.get("weight")
    if requested is None or isinstance(requested, bool):
        return weight
    return max(float(requested), 0.5)


class TaskType(object):
    """One koji task method as this worker handles it (see the module's docstring)."""

    def __init__(self, method, weight, params=None, checks=(), build_tag_param=None,
                 arch_param=None, foreground=False, weigh=None):
        self.method = method
        self.weight = weight
        self.params = dict(params or {})
        self.checks = tuple(checks)
        self.build_tag_param = build_tag_param
        self.arch_param = arch_param
        self.foreground = foreground
        self.weigh = weigh

    def __repr__(self):
        return "TaskType(%r)" % self.method


TASK_TYPES = dict((task_type.method, task_type) for task_type in (
    # kojid's BuildTask: the parent of `koji build`. target may be None when opts carry a
    # repo_id (kojid then skips tagging)
    TaskType("build", 0.2,
             params={"src": STR, "target": STR_OR_NONE, "opts": DICT_OR_NONE},
             checks=[repo_id_in_opts]),
    TaskType("buildSRPMFromSCM", 1.0,
             params={"url": STR, "build_tag": TAG, "opts": DICT_OR_NONE},
             checks=[repo_id_in_opts], build_tag_param="build_tag"),
    TaskType("rebuildSRPM", 1.0,
             params={"srpm": STR, "build_tag": TAG, "opts": DICT_OR_NONE},
             checks=[repo_id_in_opts], build_tag_param="build_tag"),
    TaskType("buildArch", 1.5,
             params={"pkg": STR, "root": TAG, "arch": STR, "keep_srpm": BOOL,
                     "opts": DICT_OR_NONE},
             checks=[arch_name("arch"), repo_id_in_opts], build_tag_param="root",
             arch_param="arch", weigh=build_history_weight),
    TaskType("tagBuild", 1.0, params={"tag_id": TAG, "build_id": TAG}),
    TaskType("newRepo", 0.1, params={"tag": TAG_OR_INFO, "opts": DICT_OR_NONE}),
    TaskType("createrepo", 1.5,
             params={"repo_id": INT, "arch": STR, "oldrepo": DICT_OR_NONE},
             checks=[arch_name("arch")]),
    TaskType("distRepo", 0.1,
             params={"tag": TAG, "repo_id": INT, "keys": LIST, "task_opts": DICT},
             checks=[dist_repo_opts("task_opts")]),
    TaskType("createdistrepo", 1.5,
             params={"tag": TAG, "repo_id": INT, "arch": STR, "keys": LIST, "opts": DICT},
             checks=[arch_name("arch"), dist_repo_opts("opts")]),
    TaskType("waitrepo", 0.2, params={"tag": TAG_OR_INFO, "nvrs": LIST_OR_NONE}),
    TaskType("tagNotification", 0.1,
             params={"recipients": LIST, "is_successful": BOOL, "tag_info": TAG_OR_NONE,
                     "from_info": TAG_OR_NONE, "build_info": TAG_OR_INFO,
                     "user_info": TAG_OR_INFO, "failure_msg": STR_OR_NONE}),
    TaskType("buildNotification", 0.1,
             params={"recipients": LIST, "build": DICT, "target": DICT_OR_NONE,
                     "weburl": STR}),
    TaskType("restart", 0.1, params={"host": DICT}, foreground=True),
    TaskType("restartVerify", 0.1, params={"task_id": INT, "host": DICT}, foreground=True),
    TaskType("restartHosts", 0.1, params={"options": DICT_OR_NONE}),
    # kojid's runroot builder plugin (RunRootTask): a command in a buildroot of a tag
    TaskType("runroot", 2.0,
             params={"root": TAG, "arch": STR, "command": STR_OR_LIST, "keep": BOOL,
                     "packages": LIST, "mounts": LIST, "repo_id": INT_OR_NONE,
                     "skip_setarch": BOOL, "weight": NUMBER_OR_NONE,
                     "upload_logs": LIST_OR_NONE, "new_chroot": BOOL_OR_NONE},
             checks=[arch_name("arch"), strings("command", option_like=True),
                     strings("packages"), strings("mounts", option_like=True),
                     strings("upload_logs", option_like=True)],
             weigh=requested_weight),
    # kojid's ChainBuildTask: build subtasks level by level, each level once the previous
    # level's builds are in the build tag's repo (a waitrepo subtask)
    TaskType("chainbuild", 0.1,
             params={"srcs": LIST, "target": STR, "opts": DICT_OR_NONE},
             checks=[chain_levels("srcs")]),
    # koji's DependantTask: the listed tasks become subtasks once the tasks waited for are done
    TaskType("dependantTask", 0.2, params={"wait_list": LIST, "task_list": LIST},
             checks=[task_requests("task_list")]),
    # koji's ShutdownTask: the worker stops (the task is freed, not closed)
    TaskType("shutdown", 0.0, foreground=True),
    TaskType("sleep", 0.25, params={"n": NUMBER}, checks=[not_negative("n")]),
    # kojid's DefaultTask: fails every task it is given ("Invalid method")
    TaskType("default", 0.1),
))

# the weight of a task whose method has no declaration (koji's BaseTaskHandler)
DEFAULT_WEIGHT = 1.0


class TaskTypeError(Exception):
    """The worker's playbooks and the declarations here do not match."""


def get(method):
    """The declaration of ``method``, or None."""
    return TASK_TYPES.get(method)


def is_foreground(method):
    task_type = TASK_TYPES.get(method)
    return bool(task_type and task_type.foreground)


def playbook_methods(playbook_root):
    """``{method: playbook path}`` of the playbooks ``tasks/<method>.yml`` under
    ``playbook_root`` (names starting with ``_`` or ``.`` are not task playbooks)."""
    tasks_dir = os.path.join(playbook_root, "tasks")
    found = {}
    if os.path.isdir(tasks_dir):
        for name in sorted(os.listdir(tasks_dir)):
            if name.endswith(".yml") and not name.startswith(("_", ".")):
                found[name[:-4]] = os.path.join(tasks_dir, name)
    return found


def handled_methods(playbook_root):
    """The methods this worker takes: a playbook under ``playbook_root`` and a declaration
    each. A playbook without a declaration raises TaskTypeError naming it."""
    playbooks = playbook_methods(playbook_root)
    undeclared = sorted(method for method in playbooks if method not in TASK_TYPES)
    if undeclared:
        raise TaskTypeError("; ".join(
            "playbook %s has no task type declaration: declare method %r in "
            "plugins/module_utils/task_types.py of the koji_adjutant.builder collection (see "
            "'Adding a task type' in docs/development.md) or remove the playbook"
            % (playbooks[method], method) for method in undeclared))
    return sorted(playbooks)

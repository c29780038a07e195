"""Hostile and broken task inputs (issue 6, item 6).

Generated cases for every task type that takes input: parameters of the wrong type or count,
SRPM paths that try to leave ``work/`` (``..``, absolute paths, links), missing files,
non-source and corrupt rpms, file names koji does not accept, SCM URLs with passwords,
disallowed hosts, bad schemes, shell metacharacters, unknown revisions and module paths that
leave the checkout, specs that set forbidden tags, unknown tags, repos, builds and arches.

Each case is created on the dev hub as admin (``makeTask``), so the malformed request reaches
the worker unchanged.  Every case must end FAILED with a fault whose message names the
problem; the one worker (module-scoped, high capacity) must stay up and keep taking normal
tasks (checked half-way and at the end); and nothing may be written outside the task
directories (the hub's topdir outside ``work/tasks``, the worker's workdir outside
``tasks/``, canary paths in /tmp), nor read from outside ``work/``: a valid SRPM is planted
where each escaping path points, so a worker that followed the path would build it.
"""

import collections
import os
import random
import re
import shutil
import subprocess
import time
import uuid

import koji
import pytest

from e2e_support import (GitServer, HOST_NAME, TAG, WorkerProcess, git, task_fault,
                         write_worker_config)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data", "bad-input")
REPO_SPECS = os.path.join(os.path.dirname(HERE), "data", "repo-specs")

FAILED = koji.TASK_STATES["FAILED"]
CLOSED = koji.TASK_STATES["CLOSED"]
DONE = (FAILED, CLOSED, koji.TASK_STATES["CANCELED"])
# a marker no case may ever create (shell metacharacters try to)
RUN_ID = uuid.uuid4().hex[:10]
CANARY = "/tmp/koji-bad-input-canary-%s" % RUN_ID

Case = collections.namedtuple("Case", "cid method args pattern fault arch")


def case(cid, method, args, pattern, fault=None, arch="noarch"):
    """A case: args is a list or a function of the context; pattern a regex (or a function of
    the context giving one) that the fault message must match."""
    return Case(cid, method, args, pattern, fault, arch)


# -- the cases ------------------------------------------------------------------------------

PE = koji.ParameterError
BE = koji.BuildError


def _sig(name):
    return r"Invalid signature for %s: " % name


def _param(name, method):
    return r"Invalid parameter '%s' for %s: expected " % (name, method)


def _replace(base, index, value):
    def args(c):
        values = base(c)
        values[index] = value(c) if callable(value) else value
        return values
    return args


def ba_args(c):
    return [c.srpm, TAG, "x86_64", True, {"repo_id": c.repo_id}]


def rebuild_args(c):
    return [c.srpm, TAG, {"repo_id": c.repo_id}]


def scm_args(c):
    return ["%s/scm-pkg.git#main" % c.git_url, TAG, {"repo_id": c.repo_id}]


def runroot_args(c):
    return [TAG, "x86_64", "true", False, [], [], c.repo_id, False, None, None, None]


def build_args(c):
    return [c.srpm, None, {"repo_id": c.repo_id, "scratch": True}]


def _first_params(base, count):
    """A parameter builder giving the first ``count`` parameters of ``base``."""
    def build(context):
        return base(context)[:count]
    return build


def _file_of(key):
    """A parameter builder giving the path of the generated file ``key``."""
    def build(context):
        return context.files[key]
    return build


def _count_and_type_cases(method, base, names, bad_types, arch="noarch", extra=()):
    """Too few / too many parameters, and each named parameter with wrong-typed values."""
    cases = []
    for n in range(len(names)):
        cases.append(case("%s-only-%d-params" % (method, n), method,
                          _first_params(base, n),
                          _sig(method) + r"missing required argument '%s'" % names[n], PE, arch))
    cases.append(case("%s-too-many-params" % method, method,
                      lambda c: base(c) + [1] * (8 - len(names) + 1) + ["x"],
                      _sig(method) + "too many args", PE, arch))
    cases.append(case("%s-unknown-keyword" % method, method,
                      lambda c: base(c) + [{"bogus": 1, "__starstar": True}],
                      _sig(method) + r"unexpected keyword argument 'bogus'", PE, arch))
    for index, name, values in bad_types:
        for value in values:
            cases.append(case("%s-%s-%s" % (method, name, _slug(value)), method,
                              _replace(base, index, value),
                              _param(name, method) + ".*got %s" % re.escape(repr(value)), PE,
                              arch))
    return cases + list(extra)


def _slug(value):
    text = re.sub(r"[^A-Za-z0-9]+", "_", repr(value)).strip("_")
    return "%s-%s" % (type(value).__name__, text[:20] or "empty")


def param_cases():
    cases = []
    cases += _count_and_type_cases(
        "buildArch", ba_args, ["pkg", "root", "arch", "keep_srpm"],
        [(0, "pkg", [1, None, ["x.src.rpm"], {"a": 1}]),
         (1, "root", [None, ["tag"], 1.5]),
         (2, "arch", [1, None, ["x86_64"]]),
         (3, "keep_srpm", ["yes", None]),
         (4, "opts", ["repo_id=1", [1]])], arch="x86_64")
    cases += _count_and_type_cases(
        "rebuildSRPM", rebuild_args, ["srpm", "build_tag"],
        [(0, "srpm", [1, None]), (1, "build_tag", [None, []]), (2, "opts", ["x", 7])])
    cases += _count_and_type_cases(
        "buildSRPMFromSCM", scm_args, ["url", "build_tag"],
        [(0, "url", [1, None, ["git://x/y#z"]]), (1, "build_tag", [None]), (2, "opts", ["x"])])
    cases += _count_and_type_cases(
        "build", build_args, ["src", "target"],
        [(0, "src", [1, None, ["a.src.rpm"]]), (1, "target", [1, ["t"]]), (2, "opts", ["x"])])
    cases += _count_and_type_cases(
        "tagBuild", lambda c: [c.tag_id, c.build_id, False, None, True], ["tag_id", "build_id"],
        [(0, "tag_id", [None, 1.5]), (1, "build_id", [[1], None])])
    cases += _count_and_type_cases(
        "newRepo", lambda c: [TAG], ["tag"],
        [(0, "tag", [None, [TAG]])])
    cases += _count_and_type_cases(
        "createrepo", lambda c: [c.repo_id, "x86_64", None], ["repo_id", "arch", "oldrepo"],
        [(0, "repo_id", ["1", None, True]), (1, "arch", [1, None]), (2, "oldrepo", ["x"])])
    cases += _count_and_type_cases(
        "waitrepo", lambda c: [TAG, None, None], ["tag"],
        [(0, "tag", [None]), (2, "nvrs", ["x-1-1", 1])])
    cases += _count_and_type_cases(
        "runroot", runroot_args, ["root", "arch", "command"],
        [(0, "root", [None, 1.5]), (2, "command", [None, 7]), (4, "packages", ["bash"]),
         (5, "mounts", ["/mnt/x"]), (6, "repo_id", ["1", True]), (8, "weight", ["heavy"])],
        arch="x86_64")
    cases += [case("sleep-no-params", "sleep", [], _sig("sleep") + "missing required", PE),
              case("sleep-two-params", "sleep", [1, 2], _sig("sleep") + "too many", PE),
              case("sleep-negative", "sleep", [-1], r"'n' for sleep: must not be negative", PE)]
    cases += [case("sleep-n-%s" % _slug(v), "sleep", [v],
                   _param("n", "sleep") + ".*got %s" % re.escape(repr(v)), PE)
              for v in ["x", "1", None, [1], {}, True]]

    def tag_note(c):
        return [["a@example.com"], True, c.tag_id, None, c.build_id, 1, None]

    cases += _count_and_type_cases(
        "tagNotification", tag_note, ["recipients", "is_successful", "tag_info", "from_info",
                                      "build_info", "user_info"],
        [(0, "recipients", ["a@example.com"]), (1, "is_successful", ["yes"])])

    def build_note(c):
        return [["a@example.com"], {"id": c.build_id}, None, "http://web"]

    cases += _count_and_type_cases(
        "buildNotification", build_note, ["recipients", "build", "target", "weburl"],
        [(0, "recipients", ["a@example.com"]), (1, "build", [None, 3]), (3, "weburl", [1])])

    def dist_opts(c):
        return {"arch": ["x86_64"], "event": None, "latest": False, "inherit": False,
                "multilib": False, "skip_missing_signatures": False,
                "allow_missing_signatures": True}

    cases += _count_and_type_cases(
        "chainbuild", lambda c: [[["%s/scm-pkg.git#main" % c.git_url]], "no-such-target", {}],
        ["srcs", "target"],
        [(0, "srcs", ["git://x/y#z", None]), (1, "target", [None, 1]), (2, "opts", ["x"])],
        extra=[case("chainbuild-no-levels", "chainbuild", [[], "t", {}],
                    r"Invalid parameter 'srcs' for chainbuild: no build levels", PE),
               case("chainbuild-empty-level", "chainbuild", [[["a-1-1"], []], "t", {}],
                    r"Invalid parameter 'srcs' for chainbuild: level 1 must be a non-empty list",
                    PE),
               case("chainbuild-level-not-list", "chainbuild", [["a-1-1"], "t", {}],
                    r"Invalid parameter 'srcs' for chainbuild: level 0 must be a non-empty list",
                    PE),
               case("chainbuild-scratch", "chainbuild",
                    lambda c: [[["%s/scm-pkg.git#main" % c.git_url]], TAG, {"scratch": True}],
                    r"--scratch is not allowed with chain-builds", BE)])
    cases += _count_and_type_cases(
        "dependantTask", lambda c: [[], [["sleep", [0]]]], ["wait_list", "task_list"],
        [(0, "wait_list", ["1", None]), (1, "task_list", ["sleep", None])],
        extra=[case("dependantTask-entry-%s" % _slug(entry), "dependantTask", [[], [entry]],
                    r"Invalid parameter 'task_list' for dependantTask: entry 0 must be "
                    r"\[method, arglist\]", PE)
               for entry in (["sleep"], "sleep", [None, [0]], ["sleep", 0], ["sleep", [0], 3],
                             ["sleep", [0], {}, 4])])
    cases += _count_and_type_cases(
        "distRepo", lambda c: [TAG, c.repo_id, [], dist_opts(c)],
        ["tag", "repo_id", "keys", "task_opts"],
        [(0, "tag", [None, [TAG]]), (1, "repo_id", ["1", None]), (2, "keys", ["abc", None]),
         (3, "task_opts", [None, "x"])],
        extra=[case("distRepo-opts-missing", "distRepo", lambda c: [TAG, c.repo_id, [], {}],
                    r"Invalid parameter 'task_opts' for distRepo: missing event, latest", PE),
               case("distRepo-arch-shell", "distRepo",
                    lambda c: [TAG, c.repo_id, [], dict(dist_opts(c), arch=["x86_64;true"])],
                    r"Invalid parameter 'task_opts' for distRepo: arch must be a list of arch "
                    r"names", PE),
               case("distRepo-key-number", "distRepo",
                    lambda c: [TAG, c.repo_id, [1], dist_opts(c)],
                    r"Invalid parameter 'keys' for distRepo: signing keys must be strings",
                    PE)])
    cases += _count_and_type_cases(
        "createdistrepo", lambda c: [TAG, c.repo_id, "x86_64", [], dist_opts(c)],
        ["tag", "repo_id", "arch", "keys", "opts"],
        [(1, "repo_id", ["1"]), (2, "arch", [1, None]), (4, "opts", [None, []])],
        extra=[case("createdistrepo-arch-path", "createdistrepo",
                    lambda c: [TAG, c.repo_id, "../x86_64", [], dist_opts(c)],
                    r"Invalid parameter 'arch' for createdistrepo: .*not an arch name", PE),
               case("createdistrepo-delta-text", "createdistrepo",
                    lambda c: [TAG, c.repo_id, "x86_64", [], dict(dist_opts(c), delta=["1"])],
                    r"Invalid parameter 'opts' for createdistrepo: delta must be a list of "
                    r"repo ids", PE),
               case("createdistrepo-not-dist", "createdistrepo",
                    lambda c: [TAG, c.repo_id, "x86_64", [], dist_opts(c)],
                    r"Repo \d+ not in INIT state \(got READY\)")])
    # a shutdown task with a parameter is refused before it stops anything
    cases += [case("shutdown-one-param", "shutdown", [1], _sig("shutdown") + "too many", PE)]
    # new-style requests: one struct with __method__
    cases += [
        case("buildArch-new-style-missing", "buildArch",
             [{"__method__": "buildArch", "pkg": "x.src.rpm"}],
             r"Invalid (signature|parameters) for buildArch: missing required argument 'root'",
             PE, "x86_64"),
        case("sleep-new-style-unknown", "sleep", [{"__method__": "sleep", "n": 0, "evil": 1}],
             r"Invalid (signature|parameters) for sleep: unexpected keyword argument 'evil'", PE),
        case("tagBuild-new-style-empty", "tagBuild", [{"__method__": "tagBuild"}],
             r"Invalid (signature|parameters) for tagBuild: missing required argument 'tag_id'",
             PE),
    ]
    # arches that are no arch name at all (paths, shell)
    for arch in ["x86_64; touch %s" % CANARY, "../../x86_64", "", "x86_64/../../etc"]:
        cases.append(case("buildArch-arch-%s" % _slug(arch), "buildArch",
                          _replace(ba_args, 2, arch),
                          r"Invalid parameter 'arch' for buildArch: .*not an arch name", PE,
                          "x86_64"))
        cases.append(case("createrepo-arch-%s" % _slug(arch), "createrepo",
                          [1, arch, None],
                          r"Invalid parameter 'arch' for createrepo: .*not an arch name", PE))
    return cases


# Input paths and files: (id, which task types get it, path, pattern).  The task types are
# buildArch (a), rebuildSRPM (r) and the build parent (b); they share the checks, so each
# input goes through one or two of them (every case that runs a playbook costs CPU seconds).
# Paths that are not plain paths inside work/ (refused before anything is read):
ESCAPING_PATHS = [
    ("dotdot-topdir", "ab", lambda c: "../outside-%s.src.rpm" % RUN_ID, r"'\.\.' is not allowed"),
    ("dotdot-nested", "r", lambda c: "cli-build/x/../../../outside-%s.src.rpm" % RUN_ID,
     r"'\.\.' is not allowed"),
    ("dotdot-tmp", "a", lambda c: "cli-build/../../../../../../..%s/good.src.rpm"
     % c.outside_dir, r"'\.\.' is not allowed"),
    ("absolute-etc", "b", lambda c: "/etc/passwd", r"absolute paths are not allowed"),
    ("absolute-tmp", "a", lambda c: "%s/good.src.rpm" % c.outside_dir,
     r"absolute paths are not allowed"),
    ("absolute-topdir", "a", lambda c: "%s/outside-%s.src.rpm" % (c.topdir, RUN_ID),
     r"absolute paths are not allowed"),
    ("empty", "a", lambda c: "", r"invalid input path ''"),
    ("hidden-name", "a", lambda c: c.files["hidden"],
     r"file name '\.good\.src\.rpm' starts with '\.'"),
    ("newline-name", "r", lambda c: c.files["newline"], r"control characters are not allowed"),
    ("link-outside", "ar", lambda c: c.files["link"], r"link to a file outside work/"),
]
MISSING_PATHS = [
    ("missing-file", "ar", lambda c: "cli-build/no-such-dir/none-1-1.src.rpm",
     r"SRPM file missing: .*work/cli-build/no-such-dir/none-1-1\.src\.rpm does not exist"),
    ("directory", "a", lambda c: c.files["dir"], r"SRPM file missing: .*does not exist"),
]
BROKEN_RPMS = [
    ("zero-bytes", "a", "zero", r"zero\.src\.rpm is not a readable rpm file"),
    ("random-bytes", "a", "random", r"random\.src\.rpm is not a readable rpm file"),
    ("truncated-lead", "r", "lead", r"lead\.src\.rpm is not a readable rpm file"),
    ("truncated-header", "a", "header", r"header\.src\.rpm is not a readable rpm file"),
    ("binary-rpm", "ar", "binary", r"binary\.src\.rpm is not a source package"),
]
INPUT_TASKS = {"a": ("buildArch-pkg", "buildArch", ba_args, "x86_64"),
               "r": ("rebuildSRPM-srpm", "rebuildSRPM", rebuild_args, "noarch"),
               "b": ("build-src", "build", build_args, "noarch")}


def input_cases():
    cases = []
    table = list(ESCAPING_PATHS + MISSING_PATHS)
    table += [(cid, kinds, _file_of(key), pattern)
              for cid, kinds, key, pattern in BROKEN_RPMS]
    for cid, kinds, path, pattern in table:
        for kind in kinds:
            prefix, method, base, arch = INPUT_TASKS[kind]
            cases.append(case("%s-%s" % (prefix, cid), method, _replace(base, 0, path),
                              pattern, BE, arch))
    # a header that says source rpm over a corrupt payload: fails when it is unpacked
    cases.append(case("buildArch-pkg-corrupt-payload", "buildArch",
                      _replace(ba_args, 0, lambda c: c.files["payload"]),
                      r"error building package \(arch x86_64\).*see build\.log", BE, "x86_64"))
    return cases


def other_cases():
    """Well-typed parameters naming things that do not exist or are not allowed."""
    no_tag = "no-such-tag-%s" % RUN_ID
    return [
        case("buildArch-no-repo-id", "buildArch", _replace(ba_args, 4, {}),
             r"a repo id must be provided", BE, "x86_64"),
        case("buildArch-unknown-repo", "buildArch", _replace(ba_args, 4, {"repo_id": 999999}),
             r"repo 999999", koji.BuildrootError, "x86_64"),
        case("buildArch-repo-id-text", "buildArch", _replace(ba_args, 4, {"repo_id": "abc"}),
             r"Invalid parameter 'opts' for buildArch: repo_id must be an integer, got 'abc'",
             PE, "x86_64"),
        case("build-repo-id-list", "build", _replace(build_args, 2, {"repo_id": [1]}),
             r"Invalid parameter 'opts' for build: repo_id must be an integer, got \[1\]", PE),
        case("buildArch-unknown-tag", "buildArch", _replace(ba_args, 1, no_tag),
             r"Invalid parameter 'root' for buildArch: no such tag '%s'" % no_tag, PE, "x86_64"),
        case("buildArch-unknown-tag-id", "buildArch", _replace(ba_args, 1, 999999),
             r"Invalid parameter 'root' for buildArch: no such tag 999999", PE, "x86_64"),
        case("rebuildSRPM-unknown-tag", "rebuildSRPM", _replace(rebuild_args, 1, no_tag),
             r"Invalid parameter 'build_tag' for rebuildSRPM: no such tag '%s'" % no_tag, PE),
        case("buildSRPMFromSCM-unknown-tag", "buildSRPMFromSCM", _replace(scm_args, 1, no_tag),
             r"Invalid parameter 'build_tag' for buildSRPMFromSCM: no such tag '%s'" % no_tag,
             PE),
        case("build-unknown-target", "build",
             lambda c: [c.srpm, "no-such-target-%s" % RUN_ID, {}],
             r"unknown build target: no-such-target-%s" % RUN_ID),
        case("build-unknown-repo", "build", _replace(build_args, 2, {"repo_id": 999999}),
             r"No such repo: 999999", BE),
        case("build-arch-override-not-scratch", "build",
             _replace(build_args, 2, lambda c: {"repo_id": c.repo_id, "arch_override": "x"}),
             r"arch_override is only allowed for scratch builds", BE),
        case("tagBuild-unknown-tag", "tagBuild", lambda c: [999999, c.build_id, False, None, True],
             r"(?i)no such tag.*999999|tag.*999999.*(not|no such)"),
        case("tagBuild-unknown-build", "tagBuild", lambda c: [c.tag_id, 999999, False, None, True],
             r"(?i)no such build.*999999|build.*999999.*(not|no such)"),
        case("newRepo-unknown-tag", "newRepo", [no_tag], r"(?i)no such tag.*%s" % no_tag),
        case("createrepo-unknown-repo", "createrepo", [999999, "x86_64", None],
             r"(?i)repo.*999999"),
        # runroot (the worker's runroot.conf is kojid's default path, absent: no mounts)
        case("runroot-arch-shell", "runroot",
             _replace(runroot_args, 1, "x86_64; touch %s" % CANARY),
             r"Invalid parameter 'arch' for runroot: .*not an arch name", PE, "x86_64"),
        case("runroot-package-option", "runroot",
             _replace(runroot_args, 4, ["--setopt=reposdir=/tmp"]),
             r"'packages' for runroot: '--setopt=reposdir=/tmp' is not a name", PE, "x86_64"),
        case("runroot-command-list-of-numbers", "runroot", _replace(runroot_args, 2, [1, 2]),
             r"'command' for runroot: 1 is not a non-empty string", PE, "x86_64"),
        case("runroot-unsafe-mount", "runroot", _replace(runroot_args, 5, ["/etc"]),
             r"mount point is not safe: /etc \(not under the safe_roots of \[paths\] in "
             r"/etc/kojid/plugins/runroot.conf: none configured\)", None, "x86_64"),
        case("runroot-unknown-repo", "runroot", _replace(runroot_args, 6, 999999),
             r"(?i)no such repo.*999999", None, "x86_64"),
        case("runroot-unknown-tag", "runroot", [no_tag, "x86_64", "true"],
             r"(?i)no such tag.*%s|%s.*(not|no such)" % (no_tag, no_tag), None, "x86_64"),
        case("runroot-log-outside", "runroot", _replace(runroot_args, 9, ["/etc/shadow"]),
             r"upload_logs: /etc/shadow is neither under /builddir nor under a mount", None,
             "x86_64"),
        case("runroot-unknown-package", "runroot", _replace(runroot_args, 4, ["no-such-pkg"]),
             r"--install no-such-pkg exited with status 1; see root.log",
             koji.BuildrootError, "x86_64"),
        case("runroot-command-fails", "runroot", _replace(runroot_args, 2, "false"),
             r"^false exited with status 1$", koji.BuildrootError, "x86_64"),
        case("waitrepo-bad-newer-than", "waitrepo", [TAG, "yesterday", None],
             r"Invalid value for newer_than: yesterday"),
        case("waitrepo-unknown-tag", "waitrepo", [no_tag, None, None],
             r"(?i)no such tag.*%s|%s.*(not|no such)" % (no_tag, no_tag)),
    ]


def _scm(path):
    return lambda c: "%s/%s" % (c.git_url, path)


def scm_cases():
    specs = [("vendor", r"Vendor is not allowed to be set in spec file"),
             ("packager", r"Packager is not allowed to be set in spec file"),
             ("distribution", r"Distribution is not allowed to be set in spec file"),
             ("define-vendor", r"vendor is not allowed to be defined in spec file"),
             ("no-spec", r"No spec file found"),
             ("spec-link", r"spec file .*outside the checkout"),
             ("specs-dir-link", r"spec file .*outside the checkout")]
    urls = [(name, _scm("%s.git#main" % name), pattern, BE) for name, pattern in specs]
    urls += [
        ("password", lambda c: c.git_url.replace("git://", "git://user:hunter2@") +
         "/scm-pkg.git#main", r"username:password format not supported", None),
        ("host-remote", lambda c: "git+https://scm.example.com/pkg.git#main",
         r"scm\.example\.com:/pkg\.git is not in the list of allowed SCMs", BE),
        ("no-revision", _scm("scm-pkg.git"), r"Could not find the fragment element", None),
        ("scheme-file", lambda c: "file:///etc/passwd#main", r"Invalid scheme in scm url", None),
        ("unknown-repo", _scm("no-such-repo.git#main"),
         r"Error running GIT command \"git clone .*no-such-repo\.git", BE),
        ("unknown-revision", _scm("scm-pkg.git#no-such-branch"),
         r"Error running GIT command .*no-such-branch", BE),
        ("revision-shell", _scm("scm-pkg.git#main;touch %s" % CANARY),
         r"Error running GIT command .*main;touch", BE),
        ("revision-option", _scm("scm-pkg.git#--upload-pack=touch %s" % CANARY),
         r"invalid revision '--upload-pack=", BE),
        ("repo-subst", _scm("scm-pkg.git$(touch %s)#main" % CANARY),
         r"Error running GIT command \"git clone .*\$\(touch", BE),
        ("module-escape", lambda c: "%s/scm-pkg.git?%s%s#main" % (
            c.git_url, "../" * 30, c.outside_dir.lstrip("/") + "/specdir"),
         r"module path .* leads outside the checkout", BE),
    ]
    cases = []
    for name, url, pattern, fault in urls:
        cases.append(case("buildSRPMFromSCM-%s" % name, "buildSRPMFromSCM",
                          _replace(scm_args, 0, url), pattern, fault))
    return cases


CASES = param_cases() + input_cases() + other_cases() + scm_cases()
assert len(set(c.cid for c in CASES)) == len(CASES), "duplicate case ids"


# -- fixtures -------------------------------------------------------------------------------

class Context(object):
    """What the cases' parameters refer to."""


def _rpmbuild(mode, spec, topdir):
    subprocess.run(["rpmbuild", mode, "--define", "_topdir %s" % topdir, spec], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _upload(session, path, name=None):
    target = "cli-build/%s" % uuid.uuid4().hex[:12]
    session.uploadWrapper(path, target, name=name)
    return "%s/%s" % (target, name or os.path.basename(path))


def _broken_rpms(directory, srpm, binary):
    """{key: path} of broken rpm files, generated from a real SRPM and binary rpm."""
    data = open(srpm, "rb").read()
    rand = random.Random(RUN_ID)
    files = {
        "zero": b"",
        "random": bytes(rand.getrandbits(8) for dummy in range(8192)),
        "lead": data[:96],          # the rpm lead only
        "header": data[:300],       # lead and a part of the signature header
        "binary": open(binary, "rb").read(),
    }
    # header intact, payload garbled: readable as a source rpm until it is unpacked
    hdr_end = _header_end(srpm)
    payload = bytearray(data)
    for index in range(hdr_end + 16, len(payload)):
        payload[index] = rand.getrandbits(8)
    files["payload"] = bytes(payload)
    paths = {}
    for key, content in files.items():
        path = os.path.join(directory, "%s.src.rpm" % key)
        with open(path, "wb") as handle:
            handle.write(content)
        paths[key] = path
    return paths


def _header_end(path):
    """Offset where the payload of an rpm starts."""
    import rpm
    ts = rpm.TransactionSet()
    ts.setVSFlags(-1)
    with open(path, "rb") as handle:
        ts.hdrFromFdno(handle.fileno())
        return handle.tell()


def _git_repo(server, name, files, links=None):
    """Like GitServer.add_repo, with symbolic links ({name: target})."""
    work = os.path.join(server.base, name)
    os.makedirs(work)
    git(work, "init", "-q", "-b", "main")
    for filename, text in files.items():
        path = os.path.join(work, filename)
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, "w") as handle:
            handle.write(text)
    for filename, target in (links or {}).items():
        os.symlink(target, os.path.join(work, filename))
    git(work, "add", "-A", ".")
    git(work, "commit", "-q", "--allow-empty", "-m", "import")
    git(server.base, "clone", "-q", "--bare", work, "%s.git" % name)


def _snapshot(root, skip):
    """{relative path: (size, mtime)} of every file and dir under root, minus skipped trees."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames
                       if os.path.normpath(os.path.join(rel_dir, d)) not in skip]
        for name in dirnames + filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in skip:
                continue
            try:
                stat = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            result[rel] = (stat.st_size, stat.st_mtime) if not os.path.isdir(
                os.path.join(dirpath, name)) else (0, 0)
    return result


@pytest.fixture(scope="module")
def context(tmp_path_factory, hub):
    c = Context()
    session = hub.admin_session()
    c.topdir = hub.topdir
    c.repo_id = hub.repo["id"]
    c.tag_id = session.getTag(TAG)["id"]
    build_dir = tmp_path_factory.mktemp("bad-input-rpms")
    spec = os.path.join(DATA, "tiny.spec")
    _rpmbuild("-bs", spec, build_dir)
    _rpmbuild("-bb", spec, build_dir)
    srpm = str(build_dir / "SRPMS" / "tiny-1.0-1.src.rpm")
    binary = str(build_dir / "RPMS" / "noarch" / "tiny-1.0-1.noarch.rpm")
    c.srpm = _upload(session, srpm)
    c.build_id = hub.import_rpms([srpm, binary])[0]["id"]
    broken_dir = tmp_path_factory.mktemp("broken")
    c.files = dict((key, _upload(session, path))
                   for key, path in _broken_rpms(str(broken_dir), srpm, binary).items())
    # valid SRPMs where escaping paths point: followed, they would build
    c.outside_dir = "/tmp/koji-bad-input-%s" % RUN_ID
    os.makedirs(os.path.join(c.outside_dir, "specdir"))
    shutil.copyfile(srpm, os.path.join(c.outside_dir, "good.src.rpm"))
    shutil.copyfile(srpm, os.path.join(hub.topdir, "outside-%s.src.rpm" % RUN_ID))
    spec_text = open(os.path.join(REPO_SPECS, "dist-test.spec")).read()
    with open(os.path.join(c.outside_dir, "specdir", "outside.spec"), "w") as handle:
        handle.write(spec_text.replace("License:        MIT", "License: MIT\nVendor: Outside"))
    # files koji's own uploads would refuse, planted straight into work/
    odd_dir = os.path.join(hub.topdir, "work", "cli-build", "odd-%s" % RUN_ID)
    os.makedirs(odd_dir)
    shutil.copyfile(srpm, os.path.join(odd_dir, ".good.src.rpm"))
    shutil.copyfile(srpm, os.path.join(odd_dir, "new\nline.src.rpm"))
    os.symlink(os.path.join(c.outside_dir, "good.src.rpm"), os.path.join(odd_dir, "link.src.rpm"))
    os.makedirs(os.path.join(odd_dir, "dir.src.rpm"))
    rel = "cli-build/odd-%s/" % RUN_ID
    c.files.update(hidden=rel + ".good.src.rpm", newline=rel + "new\nline.src.rpm",
                   link=rel + "link.src.rpm", dir=rel + "dir.src.rpm")
    yield c
    shutil.rmtree(c.outside_dir, ignore_errors=True)
    shutil.rmtree(odd_dir, ignore_errors=True)
    os.unlink(os.path.join(hub.topdir, "outside-%s.src.rpm" % RUN_ID))


@pytest.fixture(scope="module")
def git_repos(tmp_path_factory, context):
    spec = open(os.path.join(REPO_SPECS, "dist-test.spec")).read()

    def with_line(line):
        return spec.replace("License:        MIT", "License:        MIT\n" + line)

    with GitServer(str(tmp_path_factory.mktemp("bad-git"))) as server:
        server.add_repo("scm-pkg", {"scm-pkg.spec": spec.replace("dist-test", "scm-pkg")})
        for name, line in [("vendor", "Vendor: Someone"), ("packager", "packager : someone"),
                           ("distribution", "Distribution: Other"),
                           ("define-vendor", "%define vendor Someone")]:
            server.add_repo(name, {"%s.spec" % name: with_line(line)})
        server.add_repo("no-spec", {"README": "no spec here\n"})
        outside = os.path.join(context.outside_dir, "specdir")
        _git_repo(server, "spec-link", {"README": "x\n"},
                  links={"spec-link.spec": os.path.join(outside, "outside.spec")})
        _git_repo(server, "specs-dir-link", {"README": "x\n"}, links={"SPECS": outside})
        context.git_url = server.url
        context.git_port = server.port
        yield server


@pytest.fixture(scope="module")
def bad_worker(tmp_path_factory, hub, buildroot_image):
    base = tmp_path_factory.mktemp("bad-worker")
    config = write_worker_config(base / "kojid.conf", hub, str(base / "work"),
                                 extra_adjutant={"capacity": "40"},
                                 extra_kojid={"maxjobs": "6"})
    host = hub.admin_session().getHost(HOST_NAME)
    hub.admin_session().editHost(HOST_NAME, capacity=40.0)
    proc = WorkerProcess(config, str(base / "worker.log")).start()
    proc.workdir = str(base / "work")
    yield proc
    proc.stop()
    hub.admin_session().editHost(HOST_NAME, capacity=host["capacity"])


def _make(hub, c, one):
    args = one.args(c) if callable(one.args) else list(one.args)
    return hub.make_task(one.method, args, arch=one.arch)


def _wait_all(hub, task_ids, timeout):
    session = hub.admin_session()
    pending = set(task_ids)
    infos = {}
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        with session.multicall(strict=True) as multi:
            calls = [(task_id, multi.getTaskInfo(task_id)) for task_id in sorted(pending)]
        for task_id, call in calls:
            if call.result["state"] in DONE:
                infos[task_id] = call.result
                pending.discard(task_id)
        if pending:
            time.sleep(2)
    for task_id in pending:
        infos[task_id] = session.getTaskInfo(task_id)
    return infos


def _health(hub, worker, method, args, arch="noarch"):
    """The worker is alive and closes a normal task."""
    alive = worker.proc.poll() is None
    task_id = hub.make_task(method, args, arch=arch)
    info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=300) \
        if alive else hub.task_info(task_id)
    return {"alive": alive, method: koji.TASK_STATES[info["state"]]}


@pytest.fixture(scope="module")
def outcomes(hub, context, git_repos, bad_worker):
    """Runs every case (in two batches, with a health check after each); returns
    {case id: (task id, info, fault or None)} plus the checks."""
    session = hub.admin_session()
    hub_skip = {"work/tasks", "devhub.sqlite", "devhub.sqlite-journal", "devhub.sqlite-wal",
                "devhub.sqlite-shm", ".devhub-port"}
    worker_skip = {"tasks", "state", "log"}
    before = (_snapshot(hub.topdir, hub_skip), _snapshot(bad_worker.workdir, worker_skip))
    results, health = {}, []
    # half-way a sleep task, at the end a real build of a good SRPM
    batches = [(CASES[0::2], ("sleep", [0], "noarch")),
               (CASES[1::2], ("buildArch", ba_args(context), "x86_64"))]
    for batch, normal_task in batches:
        ids = dict((_make(hub, context, one), one) for one in batch)
        infos = _wait_all(hub, list(ids), timeout=300)
        for task_id, one in ids.items():
            info = infos[task_id]
            fault = task_fault(session, task_id) if info["state"] == FAILED else None
            results[one.cid] = (task_id, info, fault)
        health.append(_health(hub, bad_worker, *normal_task))
    after = (_snapshot(hub.topdir, hub_skip), _snapshot(bad_worker.workdir, worker_skip))
    return {"results": results, "health": health, "before": before, "after": after,
            "task_ids": [r[0] for r in results.values()]}


# -- the tests ------------------------------------------------------------------------------

@pytest.mark.parametrize("one", CASES, ids=[c.cid for c in CASES])
def test_bad_input_fails_with_a_message_naming_the_problem(outcomes, context, one):
    task_id, info, fault = outcomes["results"][one.cid]
    state = koji.TASK_STATES[info["state"]]
    assert state == "FAILED", "task %s (%s) ended %s" % (task_id, one.cid, state)
    pattern = one.pattern(context) if callable(one.pattern) else one.pattern
    message = str(fault)
    assert re.search(pattern, message), "fault of task %s does not match %r:\n%s" % (
        task_id, pattern, message)
    # a message, not a traceback or a placeholder
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    assert not first_line.startswith("Traceback"), message
    assert "the task failed" not in message and "MODULE FAILURE" not in message, message
    if one.fault is not None:
        assert isinstance(fault, one.fault), "%s is a %s, not a %s" % (
            message, type(fault).__name__, one.fault.__name__)


def test_there_are_at_least_100_cases():
    assert len(CASES) >= 100


def test_worker_stays_up_and_takes_normal_tasks(outcomes, bad_worker):
    assert outcomes["health"] == [{"alive": True, "sleep": "CLOSED"},
                                  {"alive": True, "buildArch": "CLOSED"}]
    assert bad_worker.proc.poll() is None
    assert "Traceback" not in bad_worker.log()


def test_nothing_written_outside_the_task_directories(outcomes, hub, bad_worker):
    (hub_before, worker_before), (hub_after, worker_after) = outcomes["before"], outcomes["after"]
    changed = sorted(p for p in set(hub_before) | set(hub_after)
                     if hub_before.get(p) != hub_after.get(p))
    assert changed == [], "hub topdir changed outside work/tasks: %s" % changed
    changed = sorted(p for p in set(worker_before) | set(worker_after)
                     if worker_before.get(p) != worker_after.get(p))
    assert changed == [], "worker workdir changed outside tasks/: %s" % changed
    # task directories only for our tasks, at tasks/<id % 10000>/<id>
    ours = set(outcomes["task_ids"])
    for top in (os.path.join(hub.topdir, "work", "tasks"),
                os.path.join(bad_worker.workdir, "tasks")):
        if not os.path.isdir(top):
            continue
        for bucket in os.listdir(top):
            for name in os.listdir(os.path.join(top, bucket)):
                assert name.isdigit() and int(name) % 10000 == int(bucket), (top, bucket, name)
    assert not os.path.exists(CANARY), "a shell metacharacter in a task parameter ran"
    assert sorted(os.listdir(os.path.join("/tmp", "koji-bad-input-%s" % RUN_ID))) == \
        ["good.src.rpm", "specdir"]
    assert ours

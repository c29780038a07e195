# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources from an SCM for buildSRPMFromSCM, with koji's own ``koji.daemon.SCM``.

The URL is parsed and checked against ``allowed_scms`` (and/or the hub's
``build_from_scm`` policy) before anything is fetched; the checkout runs on the
worker host (never in the build container) and its log, ``checkout.log``, goes
to the hub as kojid sends it.  Then the spec file is found (top dir, else
``SPECS/``; of several, the one named after the checkout dir) and rejected if
it sets Packager, Distribution or Vendor.
"""

from __future__ import annotations

import glob
import os
import re

try:
    import koji
    import koji.daemon
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

from ansible_collections.koji_adjutant.builder.plugins.module_utils import uploads

FORBIDDEN_SPEC_TAGS = ("packager", "distribution", "vendor")


def parse_and_check(session, config, url, task_info, opts):
    """koji's SCM object for ``url``, allowed by config and/or policy (BuildError if not)."""
    scm = koji.daemon.SCM(url, allow_password=config.allow_password_in_scm_url)
    policy_data = {
        "user_id": task_info.get("owner"),
        "channel": task_info.get("channel_id"),
        "scratch": bool((opts or {}).get("scratch")),
    }
    scm.assert_allowed(allowed=config.allowed_scms, session=session,
                       by_config=config.allowed_scms_use_config,
                       by_policy=config.allowed_scms_use_policy, policy_data=policy_data)
    check_revision_and_module(scm)
    return scm


def check_revision_and_module(scm):
    """The URL's revision and module go into the checkout's command lines and paths: a
    revision that reads as a command option, or a module path leaving the checkout, is
    refused (BuildError) before anything is fetched."""
    if scm.revision.startswith("-"):
        raise koji.BuildError("invalid revision %r in the SCM URL: it must not start with '-'"
                              % scm.revision)
    module = scm.module or ""
    normalized = os.path.normpath(module) if module else ""
    if module.startswith("/") or normalized == ".." or normalized.startswith("../"):
        raise koji.BuildError("invalid SCM URL: the module path %r leads outside the checkout"
                              % module)


def check_inside(path, root, what):
    """BuildError unless ``path`` (links resolved) is inside ``root``."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise koji.BuildError("the %s %s leads outside the checkout"
                              % (what, os.path.relpath(path, root)))


def checkout(scm, session, task_id, scmdir, logfile):
    """Check out on this host (kojid's SCM.checkout); returns the source dir, which must be
    inside ``scmdir`` (a module path may be a link in the repository)."""
    if not os.path.isdir(scmdir):
        os.makedirs(scmdir)
    sourcedir = scm.checkout(scmdir, session, uploads.task_upload_path(task_id), logfile)
    check_inside(sourcedir, scmdir, "module path")
    return sourcedir


def find_spec(sourcedir, support_rpm_source_layout=True, root=None):
    """The spec file: top dir, else SPECS/ (rpm source layout); BuildError if none or ambiguous,
    or if it is a link to a file outside ``root`` (the checkout; default ``sourcedir``)."""
    specs = sorted(glob.glob(os.path.join(sourcedir, "*.spec")))
    if not specs and support_rpm_source_layout:
        specs = sorted(glob.glob(os.path.join(sourcedir, "SPECS", "*.spec")))
    if not specs:
        raise koji.BuildError("No spec file found")
    if len(specs) > 1:
        named = [s for s in specs
                 if os.path.basename(s) == "%s.spec" % os.path.basename(sourcedir.rstrip("/"))]
        if len(named) != 1:
            raise koji.BuildError("Multiple spec files found: %s"
                                  % ", ".join(os.path.basename(s) for s in specs))
        specs = named
    check_inside(specs[0], root or sourcedir, "spec file")
    return specs[0]


def sources_dir(sourcedir, spec, support_rpm_source_layout=True):
    """Where the spec's sources are: SOURCES/ with the rpm source layout, else the checkout."""
    candidate = os.path.join(sourcedir, "SOURCES")
    if support_rpm_source_layout and os.path.basename(os.path.dirname(spec)) == "SPECS" \
            and os.path.isdir(candidate):
        return candidate
    return sourcedir


def spec_sanity_check(spec):
    """Reject a spec that sets Packager, Distribution or Vendor (the build system sets them)."""
    tag_re = re.compile(r"^(%s)\s*:" % "|".join(FORBIDDEN_SPEC_TAGS), re.IGNORECASE)
    define_re = re.compile(r"^%%(define|global)\s+(%s)\b" % "|".join(FORBIDDEN_SPEC_TAGS),
                           re.IGNORECASE)
    with open(spec, errors="replace") as handle:
        for line in handle:
            line = line.strip()
            match = tag_re.match(line)
            if match:
                raise koji.BuildError("%s is not allowed to be set in spec file"
                                      % match.group(1).capitalize())
            match = define_re.match(line)
            if match:
                raise koji.BuildError("%s is not allowed to be defined in spec file"
                                      % match.group(2))

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RPM inputs and outputs of build tasks, checked as kojid checks them.

Headers are read with koji's own helpers (``koji.get_rpm_header``,
``koji.get_header_fields``), which need the ``rpm`` Python bindings.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil

try:
    import koji
    import koji.rpmdiff
    HAS_KOJI = True
except ImportError:  # pragma: no cover - reported by the modules
    koji = None
    HAS_KOJI = False

try:
    # koji's header helpers need the rpm bindings
    import rpm  # noqa: F401  pylint: disable=unused-import
    HAS_RPM = True
except ImportError:  # pragma: no cover
    HAS_RPM = False

from ansible.module_utils.urls import open_url

HEADER_FIELDS = ["name", "version", "release", "epoch", "arch", "sourcepackage",
                 "packager", "vendor", "distribution", "buildarchs", "exclusivearch",
                 "excludearch", "requirenevrs"]


class InputError(Exception):
    """A task input (file or path) is unusable; the message says why."""


class UnsafePathError(InputError):
    """A task input path that would lead outside ``work/`` (or koji would not accept)."""


def check_work_path(relpath):
    """A task's input path relative to ``<topdir>/work``: no escape, not absolute."""
    if not isinstance(relpath, str) or not relpath:
        raise UnsafePathError("invalid input path %r: expected a path relative to work/"
                              % relpath)
    if relpath.startswith("/"):
        raise UnsafePathError("invalid input path %r: absolute paths are not allowed; "
                              "expected a path relative to work/" % relpath)
    normalized = posixpath.normpath(relpath)
    if normalized.startswith("../") or normalized == ".." or "/../" in "/%s/" % relpath:
        raise UnsafePathError("invalid input path %r: '..' is not allowed" % relpath)
    if any(ord(char) < 32 or ord(char) == 127 for char in relpath):
        raise UnsafePathError("invalid input path %r: control characters are not allowed"
                              % relpath)
    name = posixpath.basename(normalized)
    if name.startswith(".") and name != ".":
        # koji refuses such upload names ("." itself is looked up, and is no file)
        raise UnsafePathError("invalid input path %r: file name %r starts with '.', which "
                              "koji does not accept" % (relpath, name))
    return normalized


def fetch_work_file(config, relpath, dest_dir):
    """Copy ``work/<relpath>`` from the local topdir, else download it from topurl.

    Returns the local path of the copy in ``dest_dir``.
    """
    relpath = check_work_path(relpath)
    dest = os.path.join(dest_dir, os.path.basename(relpath))
    local = os.path.join(config.topdir, "work", relpath)
    work = os.path.join(config.topdir, "work")
    if os.path.isdir(work):
        if not os.path.isfile(local):
            raise InputError("input file work/%s does not exist (looked in %s)"
                             % (relpath, config.topdir))
        real_work = os.path.realpath(work)
        if not os.path.realpath(local).startswith(real_work + os.sep):
            raise UnsafePathError("invalid input path %r: it is a link to a file outside work/"
                                  % relpath)
        shutil.copyfile(local, dest)
        return dest
    errors = []
    for topurl in config.topurl:
        url = "%s/work/%s" % (topurl.rstrip("/"), relpath)
        try:
            response = open_url(url, timeout=300)
            with open(dest, "wb") as out:
                shutil.copyfileobj(response, out)
            return dest
        except Exception as exc:  # open_url raises HTTPError, URLError, SSL errors…
            errors.append("%s: %s" % (url, exc))
    raise InputError("cannot download input file work/%s: %s" % (relpath, "; ".join(errors)))


def read_header(path):
    """Selected header fields of an rpm, decoded; InputError if it is not an rpm."""
    try:
        hdr = koji.get_rpm_header(path)
    except Exception as exc:
        raise InputError("%s is not a readable rpm file: %s" % (os.path.basename(path), exc))
    fields = koji.get_header_fields(hdr, HEADER_FIELDS)
    return fields


def inspect_srpm(path):
    """Header facts of a source rpm; InputError if it is not one."""
    fields = read_header(path)
    if fields["sourcepackage"] != 1:
        raise InputError("%s is not a source package" % os.path.basename(path))
    # BuildRequires with their versions ("gcc >= 4"), as dnf takes them
    requires = sorted(set(r for r in (fields.get("requirenevrs") or [])
                          if not r.startswith("rpmlib(")))
    return {
        "name": fields["name"],
        "version": fields["version"],
        "release": fields["release"],
        "epoch": fields["epoch"],
        "nvr": "%(name)s-%(version)s-%(release)s" % fields,
        "buildarchs": fields.get("buildarchs") or [],
        "exclusivearch": fields.get("exclusivearch") or [],
        "excludearch": fields.get("excludearch") or [],
        "buildrequires": requires,
        "path": path,
    }


def expected_rpm_name(fields):
    """The flat ``N-V-R.A.rpm`` name the hub requires (``.src.rpm`` for sources)."""
    arch = "src" if fields.get("sourcepackage") == 1 else fields["arch"]
    return "%s-%s-%s.%s.rpm" % (fields["name"], fields["version"], fields["release"], arch)


def check_no_links(path, levels=1):
    """Refuse an output path that is a symbolic link (or whose ``levels - 1`` parents are):
    the build made it inside its container, and on the host a link would point at the host's
    own files."""
    for dummy in range(levels):
        if os.path.islink(path):
            raise koji.BuildError("output %s is a symbolic link; builds must leave regular "
                                  "files and directories" % path)
        path = os.path.dirname(path)


def collect_outputs(rpm_dir, srpm_dir, keep_srpm):
    """Binary rpms and (if keep_srpm) the one rebuilt SRPM; checked like kojid.

    Raises koji.BuildError when an output is misnamed, the SRPM count is not
    exactly one, or the kept SRPM lacks packager/vendor/distribution.
    """
    rpms, srpms = [], []
    for directory, bucket in ((rpm_dir, rpms), (srpm_dir, srpms)):
        check_no_links(directory, levels=2)  # RPMS and build/
        if not os.path.isdir(directory):
            continue
        for root, dirs, files in os.walk(directory):
            for name in sorted(dirs + files):
                check_no_links(os.path.join(root, name))
            for name in sorted(files):
                if name.endswith(".rpm"):
                    bucket.append(os.path.join(root, name))
    for path in rpms + srpms:
        fields = read_header(path)
        if os.path.basename(path) != expected_rpm_name(fields):
            raise koji.BuildError("unexpected file name %s for rpm %s (koji needs "
                                  "N-V-R.A.rpm names)" % (os.path.basename(path),
                                                          expected_rpm_name(fields)))
    if not rpms:
        raise koji.BuildError("the build produced no binary rpms")
    if keep_srpm:
        if len(srpms) != 1:
            raise koji.BuildError("expected exactly one source rpm, found %d: %s"
                                  % (len(srpms), ", ".join(os.path.basename(s) for s in srpms)))
        fields = read_header(srpms[0])
        missing = [tag for tag in ("packager", "vendor", "distribution") if not fields.get(tag)]
        if missing:
            raise koji.BuildError("the source rpm %s lacks %s" % (
                os.path.basename(srpms[0]), ", ".join(missing)))
    return sorted(rpms), (sorted(srpms) if keep_srpm else [])


def collect_srpm(srpm_dir):
    """The one SRPM an SRPM task made, named ``N-V-R.src.rpm`` from its own header."""
    check_no_links(srpm_dir, levels=2)
    srpms = sorted(os.path.join(srpm_dir, name) for name in os.listdir(srpm_dir)
                   if name.endswith(".src.rpm")) if os.path.isdir(srpm_dir) else []
    if len(srpms) != 1:
        raise koji.BuildError("expected exactly one source rpm, found %d: %s"
                              % (len(srpms), ", ".join(os.path.basename(s) for s in srpms)))
    check_no_links(srpms[0])
    fields = read_header(srpms[0])
    expected = expected_rpm_name(fields)
    if os.path.basename(srpms[0]) != expected:
        raise koji.BuildError("srpm name mismatch: %s != %s"
                              % (os.path.basename(srpms[0]), expected))
    return srpms[0]


def noarch_rpmdiff(task_id, rpm_paths, dest):
    """Write kojid's ``noarch_rpmdiff.json`` for the noarch rpms; return its path or None."""
    noarch = [p for p in rpm_paths if p.endswith(".noarch.rpm")]
    if not noarch:
        return None
    hashes = {}
    for path in noarch:
        hashes[os.path.basename(path)] = koji.rpmdiff.Rpmdiff(path, path, ignore="S5TN").kojihash()
    with open(dest, "w") as handle:
        json.dump({str(task_id): hashes}, handle, indent=2, sort_keys=True)
    return dest

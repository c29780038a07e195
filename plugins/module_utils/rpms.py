# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RPM inputs and outputs of build tasks, checked as kojid checks them.

Headers are read with the ``rpm`` command (``rpm -qp --queryformat``), not the ``rpm`` Python
bindings: the pipeline runs in the controller's Python (the action plugins), whichever it is,
and distributions build the bindings for their system Python only.  One query per rpm gives
what :func:`read_header` returns (the fields koji's ``get_header_fields`` would) and what
:func:`kojihash` hashes (the data of koji's ``Rpmdiff``).  Text values are shell-quoted by
rpm (``:shescape``), so any text (newlines, quotes) comes back whole, and a tag the header
lacks prints as an unquoted ``(none)``.  The query formats use no conditionals
(``%|TAG?{...}|``): rpm 4.18 drops the text of the first one in some long formats.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess

try:
    import koji
    HAS_KOJI = True
except ImportError:  # pragma: no cover - reported by the modules
    koji = None
    HAS_KOJI = False

from ansible.module_utils.urls import open_url

# seconds one rpm query may take
RPM_QUERY_TIMEOUT = 120

# read_header's fields: (field, rpm tag, kind); a "scalar" is None when the header lacks it,
# an "int" too, a "list" is empty
HEADER_FIELDS = (
    ("name", "NAME", "scalar"), ("version", "VERSION", "scalar"),
    ("release", "RELEASE", "scalar"), ("epoch", "EPOCH", "int"), ("arch", "ARCH", "scalar"),
    ("sourcepackage", "SOURCEPACKAGE", "int"), ("packager", "PACKAGER", "scalar"),
    ("vendor", "VENDOR", "scalar"), ("distribution", "DISTRIBUTION", "scalar"),
    ("buildarchs", "BUILDARCHS", "list"), ("exclusivearch", "EXCLUSIVEARCH", "list"),
    ("excludearch", "EXCLUDEARCH", "list"), ("requirenevrs", "REQUIRENEVRS", "list"),
)

# What koji's Rpmdiff compares, for kojihash: single tags by their rpm tag numbers (the keys
# of its data), the dependency lists, and per file the attributes its "S5TN" comparison keeps
# (the index of each in its file record: mode 1, flags 3, rdev 4, state 7, verify flags 8,
# user 9, group 10; size, digest, mtime and nlink are left out)
RPMDIFF_TAGS = (("NAME", 1000), ("SUMMARY", 1004), ("DESCRIPTION", 1005), ("GROUP", 1016),
                ("LICENSE", 1014), ("URL", 1020), ("PREIN", 1023), ("POSTIN", 1024),
                ("PREUN", 1025), ("POSTUN", 1026))
RPMDIFF_DEPENDENCIES = (("REQUIRES", "REQUIRE"), ("PROVIDES", "PROVIDE"),
                        ("CONFLICTS", "CONFLICT"), ("OBSOLETES", "OBSOLETE"))
RPMDIFF_FILE_FIELDS = ((1, "FILEMODES", "int"), (3, "FILEFLAGS", "int"),
                       (4, "FILERDEVS", "int"), (7, "FILESTATES", "int"),
                       (8, "FILEVERIFYFLAGS", "int32"), (9, "FILEUSERNAME", "scalar"),
                       (10, "FILEGROUPNAME", "scalar"))
RPMDIFF_IGNORE = "S5TN"
RPMSENSE_EQUAL = 8


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


# a value in rpm's output: shell-quoted text ('...', a quote in it as '\''), or a bare word
# (a number, or (none) for a tag the header lacks)
_VALUE = re.compile(r"('[^']*'(?:\\''[^']*')*)|(\S+)")


def _scalar_format(marker, tag):
    """A query format giving ``=marker value`` (``(none)`` when the header lacks the tag)."""
    return "=%s %%{%s:shescape} " % (marker, tag)


def _record_format(marker, tags):
    """A query format giving ``+marker v1 v2 ...`` for each element of parallel array tags."""
    return "[+%s %s ]" % (marker, " ".join("%%{%s:shescape}" % tag for tag in tags))


def query_rpm(path, query):
    """The tokens of ``rpm -qp --queryformat query path`` (the header only: no signature
    check, as koji reads headers; never a manifest); InputError when rpm cannot read it."""
    try:
        proc = subprocess.run(["rpm", "-qp", "--nosignature", "--nomanifest", "--queryformat",
                               query, "--", path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=RPM_QUERY_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError("cannot read the rpm header of %s: %s" % (os.path.basename(path), exc))
    if proc.returncode != 0:
        message = (proc.stderr.decode("utf-8", "replace").strip()
                   or "rpm exit status %d" % proc.returncode)
        raise InputError("%s is not a readable rpm file: %s"
                         % (os.path.basename(path), message))
    tokens = []
    for quoted, bare in _VALUE.findall(proc.stdout.decode("utf-8", "surrogateescape")):
        if quoted:
            tokens.append(quoted[1:-1].replace("'\\''", "'"))
        else:
            tokens.append(None if bare == "(none)" else Bare(bare))
    return tokens


class Bare(str):
    """A word rpm printed without quotes: a marker of the query format, or a number."""


def parse_query(tokens, record_sizes, scalars=()):
    """``{marker: value}`` for scalars (None when absent) and ``{marker: [record, ...]}`` for
    records (``record_sizes``: marker -> values per record); ValueError for output that is
    not that, or that lacks one of ``scalars``."""
    values = dict((marker, []) for marker in record_sizes)
    tokens = iter(tokens)
    for token in tokens:
        if not isinstance(token, Bare):
            raise ValueError("unexpected rpm query output %r" % token)
        kind, marker = token[:1], token[1:]
        if kind == "=":
            values[marker] = next(tokens)
        elif kind == "+":
            values[marker].append([next(tokens) for dummy in range(record_sizes[marker])])
        else:
            raise ValueError("unexpected rpm query output %r" % token)
    missing = [marker for marker in scalars if marker not in values]
    if missing:
        raise ValueError("rpm query output lacks %s" % ", ".join(missing))
    return values


def _parse(path, tokens, record_sizes, scalars):
    try:
        return parse_query(tokens, record_sizes, scalars)
    except (ValueError, KeyError, StopIteration) as exc:
        raise InputError("cannot read the rpm header of %s: %s" % (os.path.basename(path), exc))


def _int(value, bits=None):
    """An rpm number as rpm's Python bindings give it (``bits``: a signed integer of that size,
    which the command prints unsigned); None for a value the header lacks."""
    if value is None or value == "(none)":
        return None if bits is None else -1
    number = int(value)
    if bits and number >= 2 ** (bits - 1):
        number -= 2 ** bits
    return number


def read_header(path):
    """Selected header fields of an rpm (as koji's ``get_header_fields`` gives them: a field
    the header lacks is None, an array one is empty); InputError if it is not an rpm."""
    query = "".join(_record_format(field, [tag]) if kind == "list" else
                    _scalar_format(field, tag) for field, tag, kind in HEADER_FIELDS)
    sizes = dict((field, 1) for field, dummy, kind in HEADER_FIELDS if kind == "list")
    values = _parse(path, query_rpm(path, query), sizes,
                    [field for field, dummy, kind in HEADER_FIELDS if kind != "list"])
    fields = {}
    for field, dummy, kind in HEADER_FIELDS:
        value = values.get(field)
        if kind == "list":
            value = [record[0] for record in value]
        elif kind == "int":
            value = _int(value)
        fields[field] = value
    return fields


def rpmdiff_data(path):
    """What koji's ``Rpmdiff(path, path, ignore="S5TN")`` keeps of an rpm for its
    ``kojihash``: the single tags, the dependencies (without the package's own provide) and
    each file's compared attributes."""
    query = "".join(_scalar_format("t%d" % number, tag) for tag, number in RPMDIFF_TAGS)
    query += _scalar_format("version", "VERSION") + _scalar_format("release", "RELEASE")
    sizes = {"files": 1 + len(RPMDIFF_FILE_FIELDS)}
    for name, prefix in RPMDIFF_DEPENDENCIES:
        query += _record_format(name, [prefix + "NAME", prefix + "FLAGS", prefix + "VERSION"])
        sizes[name] = 3
    query += _record_format("files", ["FILENAMES"] + [tag for dummy, tag, kind in
                                                      RPMDIFF_FILE_FIELDS])
    values = _parse(path, query_rpm(path, query), sizes,
                    ["t%d" % number for dummy, number in RPMDIFF_TAGS] + ["version", "release"])
    data = {"tags": dict((number, values.get("t%d" % number)) for dummy, number in RPMDIFF_TAGS),
            "ignore": RPMDIFF_IGNORE}
    own_provide = [values.get("t1000"), RPMSENSE_EQUAL,
                   "%s-%s" % (values.get("version"), values.get("release"))]
    for name, dummy in RPMDIFF_DEPENDENCIES:
        entries = [[dep_name, _int(flags), version]
                   for dep_name, flags, version in values[name]]
        if name == "PROVIDES":
            entries = [entry for entry in entries if entry != own_provide]
        data[name] = sorted(entries)
    files = {}
    for record in values["files"]:
        attributes = {}
        for (index, dummy, kind), value in zip(RPMDIFF_FILE_FIELDS, record[1:]):
            if kind == "int":
                attributes[index] = _int(value, bits=32 if index == 7 else None)
            elif kind == "int32":
                attributes[index] = _int(value, bits=32)
            else:
                attributes[index] = value
        files[record[0]] = attributes
    data["files"] = files
    return data


def kojihash(path):
    """koji's ``Rpmdiff(path, path, ignore="S5TN").kojihash()`` of an rpm, which the hub
    compares between the builds of a noarch rpm on different arches."""
    text = json.dumps(rpmdiff_data(path), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        # rpmbuild -bs marks a spec with %generate_buildrequires so: its build needs the
        # rpmbuild -br rounds (mock's dynamic BuildRequires)
        "dynamic_buildrequires": any(r.startswith("rpmlib(DynamicBuildRequires)")
                                     for r in (fields.get("requirenevrs") or [])),
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
        try:
            hashes[os.path.basename(path)] = kojihash(path)
        except InputError as exc:
            raise koji.BuildError(str(exc))
    with open(dest, "w") as handle:
        json.dump({str(task_id): hashes}, handle, indent=2, sort_keys=True)
    return dest

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task's buildroot: its record on the hub and its configuration.

Like kojid's BuildRoot: ``repoInfo`` → ``getBuildConfig(event=…)`` →
``host.newBuildRoot``; the buildroot's dnf repository is the koji repo of the
task's ``repo_id``; rpm macros are the ones kojid sets (vendor, packager,
distribution, flat ``_rpmfilename``, ``_topdir``, ``_host_cpu``, ``_host``) then
the build tag's ``rpm.macro.*``; environment from ``rpm.env.*``.  After
population the package list goes to ``host.setBuildRootList`` and the state to
BUILDING; at the end ``host.updateBuildRootList`` and EXPIRED.
"""

from __future__ import annotations

import os
import shlex

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

BUILD_TOPDIR = "/builddir/build"
EXCLUDED_PACKAGES = ("buildsys-build", "gpg-pubkey")
RPM_QUERY_FORMAT = ("%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{EPOCH}\\t%{ARCH}\\t%{SIGMD5}"
                    "\\t%{SIZE}\\t%{BUILDTIME}\\n")
# the image's own packages, saved in the container before its first step that installs packages
# (with_rpmlist_file)
BASELINE_FILE = "/var/lib/koji-adjutant/baseline.rpmlist"
# lines between the two lists of a package query (no rpm query line looks like them)
BASELINE_MARK = "--- koji-adjutant baseline ---"
NO_BASELINE_MARK = "--- koji-adjutant no baseline ---"


def usable_repo(session, repo_id):
    """``repoInfo`` for a repo a buildroot may use (READY, or EXPIRED)."""
    try:
        repo = session.repoInfo(repo_id, strict=True)
    except koji.GenericError as exc:
        raise koji.BuildrootError("repo %s: %s" % (repo_id, exc))
    state = koji.REPO_STATES[repo["state"]]
    if state not in ("READY", "EXPIRED"):
        raise koji.BuildrootError("repo %s of tag %s is %s, not usable for a buildroot"
                                  % (repo_id, repo.get("tag_name"), state))
    return repo


def tag_build_config(session, repo):
    """The build tag as it was when the repo was made (arches and extra inherited)."""
    return session.getBuildConfig(repo["tag_id"], event=repo["create_event"])


def buildroot_arch(task_arch, tag_arches, host_arches, preferred=None):
    """The arch to build in (kojid's find_arch).

    noarch builds use an arch both the tag and the host have, the preferred one
    (the task's assigned arch) when possible.
    """
    if task_arch != "noarch":
        return koji.canonArch(task_arch)
    if not host_arches:
        raise koji.BuildError("no arch list for this host")
    if not tag_arches:
        raise koji.BuildError("no arch list for tag")
    host = set(koji.canonArch(a) for a in host_arches)
    common = sorted(set(koji.canonArch(a) for a in tag_arches) & host)
    if not common:
        raise koji.BuildError("host arches (%s) do not support any arches of the tag (%s)"
                              % (" ".join(sorted(host)), " ".join(tag_arches)))
    if preferred and preferred != "noarch" and koji.canonArch(preferred) in common:
        return koji.canonArch(preferred)
    return common[0]


def rpm_macros(config, arch, tag_config):
    """Macros kojid gives a build, then the tag's ``rpm.macro.*`` overrides."""
    macros = {
        "vendor": config.vendor,
        "packager": config.packager,
        "distribution": config.distribution,
        "_rpmfilename": "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
    }
    extra = tag_config.get("extra") or {}
    for key in sorted(extra):
        if key.startswith("rpm.macro."):
            macros[key[len("rpm.macro."):]] = str(extra[key])
    # fixed: a tag cannot override these (kojid's order)
    macros.update({
        "_topdir": BUILD_TOPDIR,
        "_host_cpu": arch,
        "_host": "%s-%s" % (arch, config.mockhost),
    })
    return macros


def rpm_env(tag_config):
    extra = tag_config.get("extra") or {}
    return dict((key[len("rpm.env."):], str(extra[key]))
                for key in sorted(extra) if key.startswith("rpm.env."))


def macros_text(macros):
    lines = ["# rpm macros of this koji buildroot (written by koji-adjutant)"]
    for name in sorted(macros):
        value = macros[name].replace("\n", "\\\n")
        lines.append("%%%s %s" % (name, value))
    return "\n".join(lines) + "\n"


def repo_location(config, repo, arch):
    """(baseurl, topdir to mount or None) of the koji repo for ``arch``.

    When the topdir is mounted on the worker (as kojid can use it) the repo is
    read from disk: the topdir is bind-mounted read-only at its own path in the
    container, so the repo's ``toplink`` (a relative link up to the topdir)
    resolves.  Otherwise the repo is read over topurl.
    """
    canon = koji.canonArch(arch)
    rel = "repos/%s/%s/%s" % (repo["tag_name"], repo["id"], canon)
    local = os.path.join(config.topdir, rel)
    if os.path.isdir(os.path.join(local, "repodata")):
        return "file://%s" % os.path.abspath(local), os.path.abspath(config.topdir)
    return "%s/%s" % (config.primary_topurl.rstrip("/"), rel), None


def dnf_repo_text(repo, baseurl):
    return ("[koji-build]\n"
            "name=koji repo %(tag)s #%(id)s\n"
            "baseurl=%(url)s\n"
            "enabled=1\n"
            "gpgcheck=0\n"
            "skip_if_unavailable=0\n"
            "metadata_expire=0\n" % {"tag": repo["tag_name"], "id": repo["id"], "url": baseurl})


def find_task_buildroot(session, task_id, repo_id, arch):
    """An active buildroot this task already has on the hub (a re-run re-uses it)."""
    for broot in session.listBuildroots(taskID=task_id,
                                        state=[koji.BR_STATES["INIT"],
                                               koji.BR_STATES["BUILDING"]]):
        if broot.get("repo_id") == repo_id and broot.get("arch") == arch:
            return broot
    return None


def new_buildroot(session, task_id, repo_id, arch):
    """Create the hub's buildroot record (state INIT); return ``(id, created)``."""
    existing = find_task_buildroot(session, task_id, repo_id, arch)
    if existing:
        return existing["id"], False
    return session.host.newBuildRoot(repo_id, arch, task_id=task_id), True


def package_query_script(baseline_file=BASELINE_FILE):
    """Shell text run in the container: its rpm database in koji's rpmlist fields, a mark,
    then the baseline saved before anything was installed (or a mark saying there is none)."""
    return "rpm -qa --qf %s || exit 1; echo %s; cat %s 2>/dev/null || echo %s" % (
        shlex.quote(RPM_QUERY_FORMAT), shlex.quote(BASELINE_MARK), shlex.quote(baseline_file),
        shlex.quote(NO_BASELINE_MARK))


def save_baseline_script(baseline_file=BASELINE_FILE):
    """Shell text run in the container: unless saved before, its rpm database now (the image's
    own packages, when nothing was installed yet) is saved as the baseline, whole or not at
    all; exits non-zero when it cannot be saved."""
    partial = shlex.quote(baseline_file + ".part")
    return "test -f %s || { mkdir -p %s && rpm -qa --qf %s > %s && mv -f %s %s; }" % (
        shlex.quote(baseline_file), shlex.quote(os.path.dirname(baseline_file)),
        shlex.quote(RPM_QUERY_FORMAT), partial, partial, shlex.quote(baseline_file))


def parse_package_query(text):
    """(current, baseline) rpm lists from the output of :func:`package_query_script`."""
    query, dummy, base = text.partition(BASELINE_MARK + "\n")
    current = parse_rpm_query(query)
    baseline = current if base.strip() == NO_BASELINE_MARK else parse_rpm_query(base)
    return current, baseline


def with_rpmlist_file(command, path, baseline_file=BASELINE_FILE):
    """``command`` (an argv list or a shell string) followed, when it succeeds, by the package
    query written to ``path`` in the container (whole or not at all): the step that installs
    packages records the list itself, so no podman exec of its own reads it.

    Before the command, the container's baseline (the image's own packages) is saved unless it
    was before: the first step given an ``rpmlist_file`` runs before anything is installed from
    the koji repo (the buildroot's set-up). When it cannot be saved, the step fails (exit 1)
    without running the command."""
    if isinstance(command, list):
        command = " ".join(shlex.quote(str(part)) for part in command)
    partial = shlex.quote(path + ".part")
    return ("%s || exit 1; (%s); rc=$?; if [ $rc -eq 0 ]; then ( %s ) > %s && mv -f %s %s "
            "|| rm -f %s; fi; exit $rc" % (
                save_baseline_script(baseline_file), command,
                package_query_script(baseline_file), partial, partial, shlex.quote(path),
                partial))


def read_rpmlist_file(path):
    """(current, baseline) from a file :func:`with_rpmlist_file` wrote; None when absent."""
    try:
        with open(path) as handle:
            return parse_package_query(handle.read())
    except FileNotFoundError:
        return None


def parse_rpm_query(text):
    """Parse ``rpm -qa --qf RPM_QUERY_FORMAT`` output into koji rpmlist entries."""
    result = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 8:
            continue
        name, version, release, epoch, arch, sigmd5, size, buildtime = parts
        if name in EXCLUDED_PACKAGES:
            continue
        result.append({
            "name": name,
            "version": version,
            "release": release,
            "epoch": None if epoch in ("(none)", "") else int(epoch),
            "arch": arch,
            "payloadhash": "" if sigmd5 == "(none)" else sigmd5,
            "size": int(size) if size.isdigit() else 0,
            "buildtime": int(buildtime) if buildtime.isdigit() else 0,
        })
    return result


def _nevra(entry):
    return (entry["name"], entry["epoch"], entry["version"], entry["release"], entry["arch"])


def installed_from_repo(current, baseline):
    """Packages present now that the image did not bring (they came from koji's repo)."""
    base = set(_nevra(e) for e in baseline)
    return [e for e in current if _nevra(e) not in base]


# getRPM calls per multicall: a buildroot has a few hundred packages
RPM_LOOKUP_BATCH = 500


def attach_koji_ids(session, entries):
    """Give each entry its koji rpm ``id``; entries unknown to koji are returned apart.

    The hub accepts only rpms built in koji (by id) or from an external repo.  The look-ups
    go in multicalls (one round trip per :data:`RPM_LOOKUP_BATCH` packages, not one each).
    """
    known, unknown = [], []
    with session.multicall(strict=True, batch=RPM_LOOKUP_BATCH) as multi:
        lookups = [multi.getRPM({"name": entry["name"], "version": entry["version"],
                                 "release": entry["release"], "epoch": entry["epoch"],
                                 "arch": entry["arch"]})
                   for entry in entries]
    for entry, lookup in zip(entries, lookups):
        info = lookup.result
        if info:
            item = dict(entry)
            item["id"] = info["id"]
            known.append(item)
        else:
            unknown.append(entry)
    return known, unknown


def set_state(session, brootid, state):
    session.host.setBuildRootState(brootid, state)


def buildroot_state(session, brootid):
    info = session.getBuildroot(brootid, strict=True)
    return koji.BR_STATES[info["state"]]


def expire_buildroot(session, brootid):
    """Set a buildroot EXPIRED unless it is already (the hub refuses to change an expired
    one); True when it changed."""
    if buildroot_state(session, brootid) == "EXPIRED":
        return False
    set_state(session, brootid, "EXPIRED")
    return True

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The builder side of koji's runroot plugin: its configuration file, the mounts, the
command and the texts of its result.

The configuration is kojid's plugin file (``[adjutant] runroot_config`` of the worker's
kojid.conf, kojid's ``/etc/kojid/plugins/runroot.conf`` by default), read in the same format:

* ``[runroot] internal_dev_setup`` - accepted (a container always has its own ``/dev``);
* ``[paths] default_mounts`` (comma list: mounted in every runroot), ``safe_roots`` (comma
  list: a mount the task asks for must be under one), ``path_subs`` (lines ``from,to``,
  applied to a requested mount after the safe-root check);
* ``[pathN]`` sections (N orders them): ``mountpoint``, ``path``, ``fstype``, ``options``; a
  mount uses the first section whose mountpoint it starts with, the host path being ``path``
  plus the rest of the mount point;
* koji-adjutant's own ``[adjutant]`` section, which kojid does not read: ``network`` (the
  command gets a network; default no) and ``writable_mounts`` (a requested mount is
  read-write, kojid's behaviour; default read-only).

Each mount becomes a podman bind mount at its mount point. Only bind mounts can be mapped
(``bind`` or ``rbind`` in the options): another fstype (nfs, ...) is refused with a message
that says so, and so is a mount option a bind mount cannot honour. A mount is read-write
only when its options say ``rw`` (or, with ``writable_mounts``, when the task asked for it);
otherwise it is read-only.
"""

from __future__ import annotations

import configparser
import os
import re

from ansible_collections.koji_adjutant.builder.plugins.module_utils import config as config_lib

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

PATH_SECTION_RE = re.compile(r"^path(\d+)$")
PATH_OPTIONS = ("mountpoint", "path", "fstype", "options")
# mount options a podman bind mount honours (or that mean nothing for one)
BIND_OPTIONS = ("bind", "rbind", "ro", "rw", "defaults")
ADJUTANT_KEYS = ("network", "writable_mounts")
# where the command's output goes (kojid: /builddir/runroot.log in the buildroot)
LOG_NAME = "runroot.log"
BUILDDIR = "/builddir"


class RunrootConfigError(ValueError):
    """The runroot configuration file is not valid."""


def _bool(path, section, key, raw):
    try:
        return config_lib.parse_bool(raw)
    except ValueError as exc:
        raise RunrootConfigError("%s: [%s] %s = %r: %s" % (path, section, key, raw, exc))


def _comma_list(value):
    return [item.strip() for item in value.split(",") if item.strip()]


def read_config(path):
    """The runroot configuration of ``path``: ``{internal_dev_setup, default_mounts,
    safe_roots, path_subs, paths, network, writable_mounts, file}``.

    A missing file is an empty configuration, as for kojid (no default mounts, no safe
    roots: every requested mount is refused). A file that cannot be read or parsed, or a
    value that is not valid, raises RunrootConfigError naming the file, section and key.
    """
    config = {"file": path, "internal_dev_setup": None, "default_mounts": [],
              "safe_roots": [], "path_subs": [], "paths": [], "network": False,
              "writable_mounts": False}
    if not os.path.exists(path):
        return config
    parser = configparser.RawConfigParser()
    try:
        with open(path) as handle:
            parser.read_file(handle)
    except (IOError, OSError) as exc:
        raise RunrootConfigError("cannot read the runroot configuration %s: %s" % (path, exc))
    except configparser.Error as exc:
        raise RunrootConfigError("the runroot configuration %s is not valid: %s"
                                 % (path, str(exc).replace("\n", " ")))
    if parser.has_option("runroot", "internal_dev_setup"):
        config["internal_dev_setup"] = _bool(path, "runroot", "internal_dev_setup",
                                             parser.get("runroot", "internal_dev_setup"))
    for key in ("default_mounts", "safe_roots"):
        if parser.has_option("paths", key):
            config[key] = _comma_list(parser.get("paths", key))
    if parser.has_option("paths", "path_subs"):
        for line in parser.get("paths", "path_subs").splitlines():
            line = line.strip()
            if not line:
                continue
            parts = [part.strip() for part in line.split(",")]
            if len(parts) != 2 or not parts[0]:
                raise RunrootConfigError("%s: [paths] path_subs: %r is not a 'from,to' line"
                                         % (path, line))
            config["path_subs"].append(parts)
    for key in ("default_mounts", "safe_roots"):
        for value in config[key]:
            if not value.startswith("/"):
                raise RunrootConfigError("%s: [paths] %s: %r is not an absolute path"
                                         % (path, key, value))
    for sub in config["path_subs"]:
        if not sub[0].startswith("/"):
            raise RunrootConfigError("%s: [paths] path_subs: %r is not an absolute path"
                                     % (path, sub[0]))
    sections = sorted((int(match.group(1)), name) for name, match in
                      ((name, PATH_SECTION_RE.match(name)) for name in parser.sections())
                      if match)
    for dummy, name in sections:
        missing = [key for key in PATH_OPTIONS if not parser.has_option(name, key)]
        if missing:
            raise RunrootConfigError("%s: [%s] lacks %s" % (path, name, ", ".join(missing)))
        entry = dict((key, parser.get(name, key).strip()) for key in PATH_OPTIONS)
        entry["section"] = name
        if not entry["mountpoint"].startswith("/"):
            raise RunrootConfigError("%s: [%s] mountpoint = %r: not an absolute path"
                                     % (path, name, entry["mountpoint"]))
        config["paths"].append(entry)
    if parser.has_section("adjutant"):
        for key in parser.options("adjutant"):
            if key not in ADJUTANT_KEYS:
                raise RunrootConfigError("%s: [adjutant] %s: unknown setting (known: %s)"
                                         % (path, key, ", ".join(ADJUTANT_KEYS)))
            config[key] = _bool(path, "adjutant", key, parser.get("adjutant", key))
    return config


def _under(path, root):
    root = root.rstrip("/")
    return path == root or path.startswith(root + "/") or root == ""


def bind_mount(config, mountpoint, requested=False):
    """The podman bind mount ``{source, target, mode}`` of one runroot mount point.

    Raises koji.GenericError naming the mount and what is wrong: no ``[pathN]`` section for
    it, a background mount, an fstype or option a bind mount cannot give, a host directory
    that does not exist.
    """
    if not mountpoint.startswith("/"):
        raise koji.GenericError("invalid mount point: %s" % mountpoint)
    for entry in config["paths"]:
        if mountpoint.startswith(entry["mountpoint"]):
            break
    else:
        raise koji.GenericError(
            "bad config: missing corresponding mountpoint for %s (no [pathN] section of %s "
            "has a mountpoint it is under)" % (mountpoint, config["file"]))
    options = [opt.strip() for opt in entry["options"].split(",") if opt.strip()]
    where = "mount %s ([%s] of %s)" % (mountpoint, entry["section"], config["file"])
    if "bg" in options:
        raise koji.GenericError("bad config: background mount not allowed: %s" % where)
    if "bind" not in options and "rbind" not in options:
        raise koji.GenericError(
            "%s: fstype %s cannot be mapped to a container mount; only bind mounts can "
            "(options with 'bind': mount the file system on the worker host and bind it)"
            % (where, entry["fstype"] or "(none)"))
    unknown = [opt for opt in options if opt not in BIND_OPTIONS]
    if unknown:
        raise koji.GenericError("%s: option %s cannot be applied to a container bind mount "
                                "(possible: %s)" % (where, ",".join(unknown),
                                                    ", ".join(BIND_OPTIONS)))
    rest = mountpoint[len(entry["mountpoint"]):].lstrip("/")
    source = os.path.join(entry["path"], rest) if rest else entry["path"]
    if not os.path.isdir(source):
        raise koji.GenericError("No such directory or mount: %s (for %s)" % (source, where))
    writable = "rw" in options or (requested and config["writable_mounts"])
    return {"source": source, "target": mountpoint, "mode": "rw" if writable else "ro"}


def requested_mount(config, mount):
    """The bind mount of a mount the task asked for (``mounts`` of the request): it must be
    under one of the configured safe roots; ``path_subs`` are applied afterwards."""
    if not isinstance(mount, str) or not mount.startswith("/"):
        raise koji.GenericError("invalid mount point: %r" % (mount,))
    mount = os.path.normpath(mount)
    if "/../" in mount or not any(_under(mount, root) for root in config["safe_roots"]):
        raise koji.GenericError(
            "mount point is not safe: %s (not under the safe_roots of [paths] in %s: %s)"
            % (mount, config["file"], ", ".join(config["safe_roots"]) or "none configured"))
    for old, new in config["path_subs"]:
        mount = mount.replace(old, new)
    return bind_mount(config, mount, requested=True)


def plan_mounts(config, requested):
    """The bind mounts of a runroot: the default mounts, then the requested ones (a later
    mount at the same mount point replaces an earlier one, as a mount over a mount does)."""
    mounts = [bind_mount(config, path) for path in config["default_mounts"]]
    mounts += [requested_mount(config, mount) for mount in requested or []]
    by_target = {}
    for mount in mounts:
        if _under(mount["target"], BUILDDIR) or mount["target"] == "/":
            raise koji.GenericError("mount %s: the container's %s is the task directory; "
                                    "it cannot be mounted over" % (mount["target"], BUILDDIR))
        by_target[mount["target"]] = mount
    return [by_target[target] for target in sorted(by_target)]


def quote(arg):
    """``arg`` as one word of /bin/sh."""
    return "'%s'" % arg.replace("'", "'\"'\"'")


def command_text(command):
    """The shell text of the request's command: a string as it is, a list word by word
    quoted, so that its structure is kept."""
    if isinstance(command, str):
        return command
    return " ".join(quote(str(arg)) for arg in command)


def command_name(command):
    """The name results and errors give the command: the base name of its first word that
    is not a variable assignment (``(none)`` when there is none)."""
    words = command.split() if isinstance(command, str) else [str(arg) for arg in command]
    words = [word for word in words if "=" not in word]
    return os.path.basename(words[0]) if words else "(none)"


def success_text(command):
    return "%s completed successfully" % command_name(command)


def exit_text(command):
    """The failure text of a command that exited non-zero (``{rc}`` for its status)."""
    name = command_name(command).replace("{", "{{").replace("}", "}}")
    return "%s exited with status {rc}" % name


def install_failure_text(packages):
    """The failure text of the package installation (``{rc}`` for dnf's status)."""
    words = " ".join(["--install"] + list(packages)).replace("{", "{{").replace("}", "}}")
    return "%s exited with status {rc}; see root.log for more information" % words


def container_command(command, br_arch, host_arch, skip_setarch=False):
    """The argv the container runs: the command's shell text with ``/bin/sh -c``, under
    ``setarch`` of the buildroot arch when it is not the host's own (as mock sets the
    personality of the chroot's arch; ``skip_setarch`` keeps the host's)."""
    argv = ["/bin/sh", "-c", command_text(command)]
    if not skip_setarch and koji.canonArch(br_arch) != koji.canonArch(host_arch):
        argv = ["setarch", br_arch] + argv
    return argv


def buildroot_arch(session, root, arch):
    """The buildroot's arch: the task's, or for noarch the first canonical arch of the tag
    that this host has."""
    if arch != "noarch":
        return arch
    host_arches = (session.host.getHost() or {}).get("arches")
    if not host_arches:
        raise koji.BuildError("No arch list for this host")
    tag_arches = (session.getBuildConfig(root) or {}).get("arches")
    if not tag_arches:
        raise koji.BuildError("No arch list for tag: %s" % root)
    have = set(koji.canonArch(a) for a in host_arches.split())
    for candidate in tag_arches.split():
        if koji.canonArch(candidate) in have:
            return koji.canonArch(candidate)
    raise koji.BuildError("host does not match tag arches: %s (%s)" % (root, tag_arches))


def find_repo(session, root, repo_id):
    """The repo of the runroot: ``repo_id`` (of the tag ``root``, READY or EXPIRED), else
    the tag's current repo; None when there is none (a ``waitrepo`` subtask waits then)."""
    if repo_id:
        repo = session.repoInfo(repo_id, strict=True)
        if repo["tag_name"] != root:
            raise koji.BuildError("build tag (%s) does not match repo tag (%s)"
                                  % (root, repo["tag_name"]))
        if repo["state"] not in (koji.REPO_STATES["READY"], koji.REPO_STATES["EXPIRED"]):
            raise koji.BuildError("repos in the %s state may not be used by runroot"
                                  % koji.REPO_STATES[repo["state"]])
        return repo
    return session.getRepo(root) or None


def upload_log_paths(entries, mounts, task_dir):
    """Where the extra logs (``upload_logs`` of the request, paths in the buildroot) are on
    the worker, ``[{path, base}]``: under /builddir in the task's directory, under a mount in
    its host directory (``base`` is that directory); anything else is not reachable from the
    worker and is refused."""
    found = []
    for entry in entries or []:
        if not isinstance(entry, str) or not entry:
            raise koji.GenericError("upload_logs: %r is not a path" % (entry,))
        inside = os.path.normpath(os.path.join("/", entry))
        places = [{"target": BUILDDIR, "source": os.path.join(task_dir, "builddir")}]
        places += sorted(mounts, key=lambda m: -len(m["target"]))
        for place in places:
            if _under(inside, place["target"]):
                rest = inside[len(place["target"]):].lstrip("/")
                found.append({"path": os.path.join(place["source"], rest),
                              "base": place["source"]})
                break
        else:
            raise koji.GenericError("upload_logs: %s is neither under %s nor under a mount of "
                                    "the runroot: the worker cannot read it" % (entry, BUILDDIR))
    return found


def existing_logs(entries):
    """The extra logs that exist, after the command: each must be a regular file inside its
    directory (a symbolic link, which the command may have planted, is refused)."""
    files = []
    for entry in entries:
        path, base = entry["path"], entry["base"]
        if not os.path.lexists(path):
            continue
        real = os.path.realpath(path)
        if os.path.islink(path) or not _under(real, os.path.realpath(base)) \
                or not os.path.isfile(real):
            raise koji.GenericError("upload_logs: %s is not a regular file of the runroot "
                                    "(a symbolic link or another kind of file)" % path)
        files.append(path)
    return files


def plan(session, config, params, host_arch, task_dir):
    """Everything the runroot playbook needs before the buildroot is made: the arch, the
    repo (or None), the mounts, the command, the network and the texts of its result."""
    conf = read_config(config.runroot_config)
    root, arch, command = params["root"], params["arch"], params["command"]
    packages = list(params.get("packages") or [])
    mounts = plan_mounts(conf, params.get("mounts"))
    br_arch = buildroot_arch(session, root, arch)
    repo = find_repo(session, root, params.get("repo_id"))
    waitrepo = None
    if repo is None:
        waitrepo = {"method": "waitrepo", "arglist": [root, None, None]}
    return {
        "arch": br_arch,
        "repo_id": repo["id"] if repo else None,
        "waitrepo_subtask": waitrepo,
        "packages": packages,
        "mounts": mounts,
        "network": bool(conf["network"] and config.network_enabled),
        "command": container_command(command, br_arch, host_arch,
                                     bool(params.get("skip_setarch"))),
        "command_name": command_name(command),
        "result": success_text(command),
        "failure_message": exit_text(command),
        "install_failure_message": install_failure_text(packages),
        "upload_logs": upload_log_paths(params.get("upload_logs"), mounts, task_dir),
        "config_file": conf["file"],
    }

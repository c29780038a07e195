# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task container: one ephemeral podman container per koji task.

The container is started once per task (``sleep infinity`` as its command), each
build step runs in it with ``podman exec`` as its own command, and the container
is removed when the task ends, whatever happened.  Containers carry labels that
name the worker and the task, so orphans are found after a crash.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

LABEL_TASK_ID = "io.koji.adjutant.task_id"
LABEL_WORKER_ID = "io.koji.adjutant.worker_id"
LABEL_METHOD = "io.koji.adjutant.method"
CONTAINER_PREFIX = "koji-task-"
BUILDDIR = "/builddir"

# Capabilities the root steps (dnf, file ownership) need; everything else is dropped.
ROOT_STEP_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID",
                          "SETFCAP")


class ContainerError(Exception):
    """A podman operation failed."""


def podman(args, check=True, timeout=None, input_data=None):
    """Run ``podman <args>``; return CompletedProcess (text)."""
    try:
        proc = subprocess.run(["podman"] + list(args), check=False, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=timeout, input=input_data)
    except FileNotFoundError:
        raise ContainerError("podman is not installed (no 'podman' on PATH)")
    except subprocess.TimeoutExpired:
        raise ContainerError("podman %s timed out after %s s" % (args[0], timeout))
    if check and proc.returncode != 0:
        raise ContainerError("podman %s failed (exit %d): %s"
                             % (" ".join(args[:2]), proc.returncode, proc.stderr.strip()))
    return proc


def container_name(task_id, worker_id):
    """``koji-task-<task id>-<worker id>``: unique per task and worker.

    The worker id keeps two workers on one host (say, for two hubs whose task
    numbers overlap) from touching each other's containers.
    """
    safe_worker = re.sub(r"[^A-Za-z0-9_.-]", "_", worker_id)
    return "%s%d-%s" % (CONTAINER_PREFIX, int(task_id), safe_worker)


def task_labels(config, task_id, method):
    labels = dict(config.container_labels)
    labels.update({
        LABEL_TASK_ID: str(task_id),
        LABEL_WORKER_ID: config.worker_name,
        LABEL_METHOD: method,
    })
    return labels


def image_present(image):
    return podman(["image", "exists", image], check=False).returncode == 0


def _local_image(image):
    """``{"id", "digest"}`` of a local image, or None when it is not here."""
    proc = podman(["image", "inspect", "--format", "{{.Id}} {{.Digest}}", image], check=False)
    info = proc.stdout.split() if proc.returncode == 0 else []
    if not info:
        return None
    return {"id": info[0], "digest": info[1] if len(info) > 1 else ""}


def ensure_image(image, pull_policy="if-not-present", timeout=300):
    """Make ``image`` available locally per the pull policy; return ``{"id", "digest"}``."""
    local = _local_image(image)
    if pull_policy == "always" or (pull_policy == "if-not-present" and local is None):
        proc = podman(["pull", "-q", image], check=False, timeout=timeout)
        if proc.returncode != 0 and not (local is not None and pull_policy == "always"):
            raise ContainerError("cannot pull image %s: %s" % (image, proc.stderr.strip()))
        local = _local_image(image)
    if local is None:
        if pull_policy == "never":
            raise ContainerError("image %s is not present and image_pull_policy is 'never'"
                                 % image)
        raise ContainerError("image %s is not present after pulling it" % image)
    return local


def container_status(name):
    """``{"status": "running"|"exited"|…, "pid": int}``, or None when there is no such
    container (one inspect: what a step needs to know before it runs)."""
    proc = podman(["container", "inspect", "--format", "{{.State.Status}} {{.State.Pid}}",
                   name], check=False)
    words = proc.stdout.split() if proc.returncode == 0 else []
    if not words:
        return None
    pid = words[1] if len(words) > 1 else ""
    return {"status": words[0], "pid": int(pid) if pid.isdigit() else 0}


def container_state(name):
    """``running``, ``exited``, … or None when there is no such container."""
    status = container_status(name)
    return status and status["status"]


def start_task_container(config, task_id, method, image, builddir, network=False,
                         mounts=(), extra_args=()):
    """Start the task's container if it is not running; return its name.

    ``builddir`` (the task's directory on the host) is mounted at /builddir;
    it is the only writable host path.  ``network`` False means ``--network none``.
    """
    name = container_name(task_id, config.worker_name)
    state = container_state(name)
    if state == "running":
        return name
    if state is not None:
        remove_container(name)
    args = ["run", "-d", "--name", name, "--hostname", name,
            "--cap-drop=all"]
    for cap in ROOT_STEP_CAPABILITIES:
        args += ["--cap-add", cap]
    args += ["--security-opt", "no-new-privileges",
             "--pids-limit", str(config.container_pids_limit),
             "--network", "slirp4netns" if network and _rootless() else
             ("bridge" if network else "none")]
    if config.container_memory:
        args += ["--memory", config.container_memory]
    if config.container_cpus:
        args += ["--cpus", config.container_cpus]
    if config.container_cgroupns:
        args += ["--cgroupns", config.container_cgroupns]
    for key, value in sorted(task_labels(config, task_id, method).items()):
        args += ["--label", "%s=%s" % (key, value)]
    args += ["-v", "%s:%s:rw" % (builddir, BUILDDIR)]
    for mount in list(config.container_mounts) + list(mounts):
        if not os.path.exists(mount["source"]):
            continue
        opts = mount["mode"]
        if mount.get("label"):
            opts += "," + mount["label"]
        args += ["-v", "%s:%s:%s" % (mount["source"], mount["target"], opts)]
    args += list(extra_args)
    args += [image, "sleep", "infinity"]
    podman(args, timeout=config.container_timeouts["start"] or None)
    return name


def _rootless():
    return os.geteuid() != 0


def remove_container(name, timeout=0):
    """Remove a container (killing it first); absent containers are fine."""
    proc = podman(["rm", "-f", "-t", str(timeout), name], check=False)
    if proc.returncode != 0 and "no such container" not in proc.stderr.lower():
        raise ContainerError("cannot remove container %s: %s" % (name, proc.stderr.strip()))
    return proc.returncode == 0


def task_containers(worker_id=None):
    """Containers labelled as koji-adjutant task containers (optionally of one worker).

    podman ORs several ``label=`` filters, so only the first is given to podman
    and the worker is matched here.
    """
    args = ["ps", "-a", "--format", "json", "--filter", "label=%s" % LABEL_TASK_ID]
    out = podman(args).stdout.strip() or "[]"
    result = []
    for entry in json.loads(out):
        labels = entry.get("Labels") or {}
        if worker_id and labels.get(LABEL_WORKER_ID) != worker_id:
            continue
        names = entry.get("Names") or []
        result.append({
            "name": names[0] if names else entry.get("Id"),
            "id": entry.get("Id"),
            "task_id": int(labels.get(LABEL_TASK_ID, 0) or 0),
            "worker_id": labels.get(LABEL_WORKER_ID),
            "method": labels.get(LABEL_METHOD),
            "state": entry.get("State"),
            "image": entry.get("Image"),
        })
    return result


def disconnect_networks(name):
    """Take the container off every network (only loopback remains); return their names."""
    out = podman(["container", "inspect", "--format",
                  "{{range $name, $net := .NetworkSettings.Networks}}{{$name}} {{end}}", name])
    networks = out.stdout.split()
    for network in networks:
        podman(["network", "disconnect", network, name])
    return networks


def copy_into(name, source, target):
    """Copy a host file into the container (root-owned, the source's mode), creating the
    target's directory: one ``podman exec`` with the file on stdin (coreutils only)."""
    with open(source, "rb") as handle:
        data = handle.read()
    mode = "%o" % (os.stat(source).st_mode & 0o7777)
    script = 'mkdir -p -- "$1" && cat > "$2" && chmod "$3" "$2"'
    argv = ["podman", "exec", "-i", "--user", "root", name, "/bin/sh", "-c", script, "sh",
            os.path.dirname(target) or "/", target, mode]
    proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    if proc.returncode != 0:
        raise ContainerError("podman exec failed (exit %d): %s"
                             % (proc.returncode, proc.stderr.decode("utf-8", "replace").strip()))


def exec_step(name, command, log_path, user=None, workdir=None, env=None, timeout=None,
              header=None, before_kill=None):
    """Run one step in the container, appending its output to ``log_path``.

    ``command`` is an argv list (run as is) or a string (run with ``/bin/sh -c``).
    Returns ``(exit_code, timed_out, seconds)``.  On timeout the container is
    killed (which ends every process of the step); ``before_kill`` is called
    first (to read its counters while it still exists).
    """
    argv = ["podman", "exec"]
    if user:
        argv += ["--user", user]
    if workdir:
        argv += ["--workdir", workdir]
    for key, value in sorted((env or {}).items()):
        argv += ["--env", "%s=%s" % (key, value)]
    argv.append(name)
    if isinstance(command, str):
        argv += ["/bin/sh", "-c", command]
    else:
        argv += list(command)
    start = time.time()
    with open(log_path, "ab", buffering=0) as log:
        if header:
            log.write(header.encode("utf-8", "replace"))
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            if before_kill is not None:
                before_kill()
            # stop everything running in the container, then the client
            podman(["kill", "--signal", "KILL", name], check=False)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
            log.write(("\n*** step killed after %s seconds (timeout)\n" % timeout).encode())
    return proc.returncode, timed_out, time.time() - start


NO_SPACE_TEXT = "No space left on device"


def no_space_reason(path, log_path=None, min_free=1024 * 1024):
    """Why a failed step probably failed for lack of space, or None: the filesystem of ``path``
    has less than ``min_free`` bytes left, or the end of the step's log says so."""
    try:
        stat = os.statvfs(path)
        free = stat.f_bavail * stat.f_frsize
    except OSError:
        free = None
    tail = ""
    if log_path and os.path.exists(log_path):
        try:
            with open(log_path, "rb") as handle:
                handle.seek(max(0, os.path.getsize(log_path) - 16384))
                tail = handle.read().decode("utf-8", "replace")
        except OSError:
            pass
    if (free is not None and free < min_free) or NO_SPACE_TEXT in tail:
        return "no space left on device in %s (%s KB free)" % (
            path, "?" if free is None else free // 1024)
    return None


def step_failure_message(template, rc, step, log_name, timeout=None, timed_out=False,
                         oom_killed=False, memory_limit=None, container_gone=None,
                         no_space=None):
    """The message of a failed step: the template (``{rc}``, ``{step}``, ``{log}``), and why
    the step was stopped when the worker knows (its timeout, the container's memory limit, the
    container removed from outside, a full disk)."""
    message = template.format(rc=rc, step=step, log=log_name)
    if timed_out:
        message = "%s (killed after the %s s timeout)" % (message, timeout)
    if oom_killed:
        message = "%s (out of memory: a process was killed at the container's memory limit%s)" % (
            message, " of %s" % memory_limit if memory_limit else "")
    if container_gone:
        message = ("the task container %s went away during the %s step (removed or killed from "
                   "outside the worker): %s" % (container_gone, step, message))
    if no_space:
        message = "%s (%s)" % (message, no_space)
    return message

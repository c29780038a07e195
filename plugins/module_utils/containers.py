# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task container: one ephemeral podman container per koji task.

The container is started once per task (``sleep infinity`` as its command), each
build step runs in it with ``podman exec`` as its own command, and the container
is removed when the task ends, whatever happened (it runs with ``--rm``: a container whose
main process ended is removed by podman's own clean-up).  The step that starts the
container may instead run as the start of its main process, before the sleep
(``start_step_argv``): that saves the step a ``podman exec``.  Containers carry labels that
name the worker and the task, so orphans are found after a crash.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time

from ansible_collections.koji_adjutant.builder.plugins.module_utils import atomic_files

LABEL_TASK_ID = "io.koji.adjutant.task_id"
LABEL_WORKER_ID = "io.koji.adjutant.worker_id"
LABEL_METHOD = "io.koji.adjutant.method"
CONTAINER_PREFIX = "koji-task-"
BUILDDIR = "/builddir"

# Capabilities the root steps (dnf, file ownership) need; everything else is dropped.
ROOT_STEP_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID",
                          "SETFCAP")


# Go's garbage collector in a podman command: a command lives for a fraction of a second, and
# the default (GOGC=100, a collection each time the heap doubles) costs it about a fifth of its
# CPU time, mostly on threads of its own beside the command's work; at 400 it collects when
# the heap has grown five-fold.  An operator's own GOGC is kept.
PODMAN_GOGC = "400"


class ContainerError(Exception):
    """A podman operation failed."""


def podman_environment():
    """The environment of the podman commands the pipeline runs: this process's, with
    ``GOGC`` (``PODMAN_GOGC``) unless it is set."""
    env = dict(os.environ)
    env.setdefault("GOGC", PODMAN_GOGC)
    return env


def podman(args, check=True, timeout=None, input_data=None):
    """Run ``podman <args>``; return CompletedProcess (text)."""
    try:
        proc = subprocess.run(["podman"] + list(args), check=False, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=timeout, input=input_data, env=podman_environment())
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


def local_image(image):
    """``{"id", "digest"}`` of a local image, or None when it is not here."""
    proc = podman(["image", "inspect", "--format", "{{.Id}} {{.Digest}}", image], check=False)
    info = proc.stdout.split() if proc.returncode == 0 else []
    if not info:
        return None
    return {"id": info[0], "digest": info[1] if len(info) > 1 else ""}


def ensure_image(image, pull_policy="if-not-present", timeout=300):
    """Make ``image`` available locally per the pull policy; return ``{"id", "digest"}``."""
    local = local_image(image)
    if pull_policy == "always" or (pull_policy == "if-not-present" and local is None):
        proc = podman(["pull", "-q", image], check=False, timeout=timeout)
        if proc.returncode != 0 and not (local is not None and pull_policy == "always"):
            raise ContainerError("cannot pull image %s: %s" % (image, proc.stderr.strip()))
        local = local_image(image)
    if local is None:
        if pull_policy == "never":
            raise ContainerError("image %s is not present and image_pull_policy is 'never'"
                                 % image)
        raise ContainerError("image %s is not present after pulling it" % image)
    return local


def container_status(name):
    """``{"status": "running"|"exited"|…, "pid": int, "id": str, "image_id": str,
    "image_digest": str}``, or None when there is no such container (one inspect: what a
    step needs to know before it runs, and what the container was started from)."""
    proc = podman(["container", "inspect", "--format",
                   "{{.State.Status}} {{.State.Pid}} {{.Id}} {{.Image}} {{.ImageDigest}}",
                   name], check=False)
    words = proc.stdout.split() if proc.returncode == 0 else []
    if not words:
        return None
    words += [""] * (5 - len(words))
    return {"status": words[0], "pid": int(words[1]) if words[1].isdigit() else 0,
            "id": words[2], "image_id": words[3], "image_digest": words[4]}


# -- what the steps of a task know of its running container, without asking podman --------
# The step that starts the container notes its id and main process; a later step of the task
# takes the container as running while that process lives in the container's cgroup (whose
# path names the container id), and asks podman otherwise.
RUN_STATE_DIR = "containers"


def _run_state_path(state_dir, name):
    return os.path.join(state_dir, RUN_STATE_DIR, name + ".json")


def note_running(state_dir, name, status):
    """Note a running container's ``container_status`` for the task's later steps."""
    if not state_dir or not status or status["status"] != "running" or not status["id"]:
        return
    path = _run_state_path(state_dir, name)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        atomic_files.write_json(path, {"id": status["id"], "pid": status["pid"]})
    except OSError:
        pass  # (only a shortcut: the next step asks podman)


def forget_running(state_dir, name):
    if state_dir:
        try:
            os.unlink(_run_state_path(state_dir, name))
        except OSError:
            pass


def noted_running(state_dir, name, proc_root="/proc"):
    """The noted ``container_status`` of the task container while its main process is
    alive in the container's cgroup (whose path names the container id), else None."""
    try:
        with open(_run_state_path(state_dir, name)) as handle:
            noted = json.load(handle)
        with open(os.path.join(proc_root, str(int(noted["pid"])), "cgroup")) as handle:
            if noted["id"] and noted["id"] in handle.read():
                return {"status": "running", "pid": int(noted["pid"]), "id": noted["id"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def running_status(state_dir, name, proc_root="/proc"):
    """``container_status`` of the task container, from the note of the step that started
    it while its main process is alive in the container's cgroup, else from podman."""
    noted = noted_running(state_dir, name, proc_root)
    if noted:
        return noted
    status = container_status(name)
    if status and status["status"] == "running":
        note_running(state_dir, name, status)
    else:
        forget_running(state_dir, name)
    return status


def container_state(name):
    """``running``, ``exited``, … or None when there is no such container."""
    status = container_status(name)
    return status and status["status"]


def start_task_container(config, task_id, method, image, builddir, network=False,
                         mounts=(), extra_args=(), start_step=None, user=None,
                         pull_policy=None):
    """Start the task's container (one of the task that is there already is replaced);
    return its name.

    ``builddir`` (the task's directory on the host) is mounted at /builddir;
    it is the only writable host path.  ``network`` False means ``--network none``.
    ``start_step`` (from ``start_step_argv``) is the main process's command instead of
    a bare sleep, run as ``user``.  ``pull_policy`` ``never``: the image must be here (the
    caller has not looked: podman says so when it is not).
    """
    name = container_name(task_id, config.worker_name)
    # --rm: a container whose main process has ended is removed by podman's own clean-up
    # (conmon runs it), so that killing that process ends the container (end_container)
    args = ["run", "-d", "--rm", "--name", name, "--hostname", name,
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
    if user:
        args += ["--user", user]
    if pull_policy == "never":
        args += ["--pull", "never"]
    args += list(extra_args)
    args += [image] + list(start_step or ["sleep", "infinity"])
    timeout = config.container_timeouts["start"] or None
    proc = podman(args, check=False, timeout=timeout)
    if proc.returncode != 0 and "already in use" in proc.stderr:
        # a container of an earlier run of this task
        remove_container(name)
        proc = podman(args, check=False, timeout=timeout)
    if proc.returncode != 0 and pull_policy == "never" and "image not known" in proc.stderr:
        raise ContainerError("image %s is not present and image_pull_policy is 'never'"
                             % image)
    if proc.returncode != 0:
        raise ContainerError("podman run failed (exit %d): %s"
                             % (proc.returncode, proc.stderr.strip()))
    return name


# -- a step run as the start of the container's main process ---------------------------------
# Its output and exit code go to files in this directory of the task's builddir (created by
# the host side, mounted with the builddir): the exit code is written whole, after the output.
START_STEP_DIR = ".koji-adjutant-start"
START_STEP_OUTPUT = "output"
START_STEP_RC = "rc"

_START_STEP_SCRIPT = (
    'd=%(dir)s; "$@" > "$d/%(output)s" 2>&1 < /dev/null; rc=$?; '
    'echo "$rc" > "$d/%(rc)s.part" && mv -f "$d/%(rc)s.part" "$d/%(rc)s"; '
    '[ "$rc" -eq 0 ] || exit "$rc"; exec sleep infinity')


def start_step_argv(command, workdir=None, env=None):
    """The container's main process for a step run at its start: the step (``command``, an
    argv list or a ``/bin/sh -c`` string, in ``workdir`` with ``env`` added), its exit code
    noted, then - when it succeeded - the sleep that keeps the container up for the later
    steps (a failed step ends the container with its exit code; --rm removes it)."""
    step = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    if env:
        step = ["env", "--"] + ["%s=%s" % item for item in sorted(env.items())] + step
    script = _START_STEP_SCRIPT % {"dir": shlex.quote(BUILDDIR + "/" + START_STEP_DIR),
                                   "output": START_STEP_OUTPUT, "rc": START_STEP_RC}
    if workdir:
        script = "cd %s || exit 1; %s" % (shlex.quote(workdir), script)
    return ["/bin/sh", "-c", script, "koji-start-step"] + step


def prepare_start_step(builddir):
    """Create (empty) the host directory a start step writes its output and exit code to."""
    path = os.path.join(builddir, START_STEP_DIR)
    if os.path.isdir(path):
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
    else:
        os.makedirs(path, 0o755)
    return path


def wait_start_step(name, builddir, pid, log_path, timeout=None, header=None,
                    before_kill=None, started=None, poll=0.005):
    """Wait for the step a container runs at its start (``start_step_argv``); append its
    output to ``log_path``.  Returns ``(exit_code, timed_out, seconds)``; the exit code is
    None when the container ended without one (killed or removed meanwhile).  On timeout
    the container is killed (``before_kill`` first)."""
    started = started or time.time()
    path = os.path.join(builddir, START_STEP_DIR)
    rc_path = os.path.join(path, START_STEP_RC)
    rc, timed_out = None, False
    while True:
        if os.path.exists(rc_path):
            with open(rc_path) as handle:
                text = handle.read().strip()
            rc = int(text) if text.lstrip("-").isdigit() else 1
            break
        if not pid or not os.path.exists("/proc/%d" % pid):
            if not os.path.exists(rc_path):  # (it may have come just before the exit)
                break
            continue
        if timeout and time.time() - started > timeout:
            timed_out = True
            if before_kill is not None:
                before_kill()
            podman(["kill", "--signal", "KILL", name], check=False)
            break
        time.sleep(poll)
    seconds = time.time() - started
    with open(log_path, "ab") as log:
        if header:
            log.write(header.encode("utf-8", "replace"))
        try:
            with open(os.path.join(path, START_STEP_OUTPUT), "rb") as output:
                log.write(output.read())
        except OSError:
            pass
        if timed_out:
            log.write(("\n*** step killed after %s seconds (timeout)\n" % timeout).encode())
        elif rc is None:
            log.write(b"\n*** the container ended before the step did\n")
    return rc, timed_out, seconds


def _rootless():
    return os.geteuid() != 0


def remove_container(name, timeout=0, state_dir=None):
    """Remove a container (killing it first); absent containers are fine.  With the
    worker's ``state_dir``, the note of its running state goes too."""
    forget_running(state_dir, name)
    proc = podman(["rm", "-f", "-t", str(timeout), name], check=False)
    if proc.returncode != 0 and "no such container" not in proc.stderr.lower():
        raise ContainerError("cannot remove container %s: %s" % (name, proc.stderr.strip()))
    return proc.returncode == 0


def end_container(name, state_dir, proc_root="/proc"):
    """End the task container once its task is over: kill its main process when a step
    noted it running (the container runs with ``--rm``: podman's clean-up, run by conmon,
    removes it a moment later, without a podman call of ours), else remove it with podman
    (``remove_container``).  True when there was a container to end."""
    noted = noted_running(state_dir, name, proc_root)
    forget_running(state_dir, name)
    if noted:
        try:
            os.kill(noted["pid"], signal.SIGKILL)
            return True
        except OSError:  # gone meanwhile, or not ours to signal (rootless): podman does it
            pass
    return remove_container(name)


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


def connect_networks(name, networks):
    """Connect the container to ``networks`` again (those ``disconnect_networks`` named);
    return the ones it was not connected to before."""
    out = podman(["container", "inspect", "--format",
                  "{{range $name, $net := .NetworkSettings.Networks}}{{$name}} {{end}}", name])
    connected = set(out.stdout.split())
    added = [network for network in networks if network not in connected]
    for network in added:
        podman(["network", "connect", network, name])
    return added


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
                          check=False, env=podman_environment())
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
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=podman_environment())
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

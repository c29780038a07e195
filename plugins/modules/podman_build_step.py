#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: podman_build_step
short_description: Start a koji task's podman container, run one step in it with a live log, remove it
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - The one owner of a koji task's container - it starts it (the first step that needs it),
    runs each step in it, takes it off the network and removes it.
  - Every koji task runs in its own ephemeral container, named C(koji-task-<id>-<worker id>) and labelled
    C(io.koji.adjutant.task_id), C(io.koji.adjutant.worker_id) and C(io.koji.adjutant.method).
  - C(state=present) starts the container if needed (image per O(image_pull_policy), the task
    directory O(builddir) mounted at C(/builddir) as the only writable host path, all
    capabilities dropped but those root steps need, C(no-new-privileges), a pids limit, and
    C(--network none) unless O(network) is true), copies O(copy_in) files in, and runs
    O(command) as O(user).
  - The step's output is appended to O(log_dir)/O(log_name) and, with a hub session, sent to
    the task's upload directory on the hub every second while the step runs (as kojid does,
    so C(koji watch-logs) follows it). Once the task is no longer OPEN on this host (canceled,
    reassigned) nothing more is sent; the upload stops at the hub's first refusal, and after a
    step that failed (a cancel kills the container) the rest is sent only if the task is still
    ours.
  - A step that exits non-zero or runs past O(timeout) fails the module with O(fault_class)
    and O(failure_message); the message adds the timeout when the step was killed at it, and
    C(out of memory) when the kernel killed a process of the step at the container's memory
    limit (C(container_memory) of the config; the step's log says so too).
  - Each step that runs adds its record (step name, log, wall time, exit code, and where the
    container's cgroup can be read - v1 or v2, from the host or from inside the container -
    CPU time, peak memory and whether it ran out of memory; null otherwise) to
    O(log_dir)/C(resource_stats.json), to be uploaded with the task's logs.
  - When this call starts the container, the first line of the step's log names the image,
    its image id and its digest.
  - With O(run_at_start), a call that starts the container runs the step as the start of the
    container's main process instead of with C(podman exec) (one podman call less); a step that
    fails there ends the container (it runs with C(--rm), so podman removes a container whose
    main process has ended).
  - C(state=offline) disconnects the running container from every network, so that the next
    steps run with loopback only (for example after dependencies were installed from a remote
    repo, before rpmbuild).
  - C(state=online) connects the running container again to O(networks) (those a
    C(state=offline) call returned), for a step that needs the repo again after one that ran
    offline (the dnf rounds of the C(%generate_buildrequires) loop).
  - C(state=absent) removes the container; use it in an C(always) section. When an earlier
    step of the task noted the container running, its main process is killed and podman's own
    clean-up removes the container a moment later (no podman call); otherwise C(podman rm).
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
  - koji_adjutant.builder.hub.TASK
attributes:
  check_mode:
    support: partial
    details: In check mode nothing is started or run; the command that would run is returned.
  diff_mode:
    support: none
options:
  hub_session_file:
    description:
      - The task's hub session file. Without it the log is kept on the worker only.
    type: path
    required: false
  state:
    description: >-
      Run a step (C(present)), only start the container (C(started)), take it off the network
      (C(offline)), connect it again (C(online)), or remove it (C(absent)).
    type: str
    choices: [present, started, offline, online, absent]
    default: present
  method:
    description: The task's method, recorded as a container label.
    type: str
    default: unknown
  image:
    description: Image for the container. Default - C(task_image_default) of the config.
    type: str
  image_pull_policy:
    description: C(if-not-present), C(always) or C(never). Default - C(image_pull_policy) of the config.
    type: str
    choices: [if-not-present, always, never]
  builddir:
    description: Host directory mounted at C(/builddir) in the container. Needed to start it.
    type: path
  network:
    description: Give the container a network. Only task types that need one should.
    type: bool
    default: false
  networks:
    description: With O(state=online), the networks to connect the container to.
    type: list
    elements: str
    default: []
  mounts:
    description: Extra bind mounts for the container (added to C(container_mounts) of the config).
    type: list
    elements: dict
    default: []
    suboptions:
      source: {description: Host path., type: path, required: true}
      target: {description: Container path., type: str, required: true}
      mode: {description: ro or rw., type: str, default: ro, choices: [ro, rw]}
  copy_in:
    description: Files copied into the container before the command runs.
    type: list
    elements: dict
    default: []
    suboptions:
      src: {description: Host file., type: path, required: true}
      dest: {description: Path in the container., type: str, required: true}
  name:
    description: Name of the step, used in messages and the log header.
    type: str
    default: step
  command:
    description: The step - a list runs as is, a string runs with C(/bin/sh -c).
    type: raw
  user:
    description: User in the container. Default - C(container_user) of the config (non-root).
    type: str
  workdir:
    description: Working directory in the container.
    type: str
  env:
    description: Environment variables for the step.
    type: dict
    default: {}
  run_at_start:
    description:
      - When this call starts the container, run the step as the start of the container's main
        process (as O(user), in O(workdir), with O(env)), before the sleep that keeps the
        container up for the later steps; its output and exit code pass through
        C(/builddir/.koji-adjutant-start). A step that fails there ends the container (podman
        removes it).
      - When an earlier step of the task noted the container running, or with O(copy_in),
        the step runs with C(podman exec) as usual. Any other container of the task (one an
        earlier run of the task left) is replaced by the one this step starts.
    type: bool
    default: false
  rpmlist_file:
    description:
      - Container path (under C(/builddir)) where, when the step succeeded, the container's
        package list is written in the same podman exec (C(rpm -qa) in koji's rpmlist fields and
        the image's baseline list), for
        O(koji_adjutant.builder.koji_buildroot#module:rpmlist_file). Give it to every step that
        installs packages before the buildroot is recorded.
      - Before the step, the image's own package list (the baseline) is saved in the
        container unless it was before; so the first step given it must run before anything is
        installed (the buildroot's set-up). A step whose baseline cannot be saved fails
        without running.
      - The file is written whole or not at all; the step's exit code is the command's.
    type: str
  timeout:
    description: Seconds the step may run; it is killed after that. 0 means no limit.
    type: int
    default: 0
  log_dir:
    description: Host directory for the step's log.
    type: path
  log_name:
    description: Log file name; it is uploaded under this name. Must not contain C(/) or start with C(.).
    type: str
    default: build.log
  log_header:
    description:
      - Start the step's output in the log with a line naming the step, its time and its
        command (and the image, when this call starts the container). False - the log holds
        the command's output only (a runroot's C(runroot.log), as kojid's).
    type: bool
    default: true
  fault_class:
    description: koji fault to fail the task with when the step fails (a koji exception name).
    type: str
    default: BuildError
  failure_message:
    description: Message for a failed step. C({rc}), C({step}) and C({log}) are replaced.
    type: str
    default: "{step} failed with exit code {rc}; see {log}"
  exit_messages:
    description:
      - Messages for particular exit codes of the step (the code as the key), used instead of
        O(failure_message) when the step exits with that code; the same fields are replaced.
        For a step whose program says why it stopped with its exit code.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Rebuild the SRPM as the build user, with no network and a live build.log
  koji_adjutant.builder.podman_build_step:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    method: buildArch
    builddir: "{{ koji_task_dir }}/builddir"
    name: rpmbuild
    command: [rpmbuild, --rebuild, /builddir/input/foo-1-1.src.rpm, --target, x86_64]
    log_dir: "{{ koji_task_dir }}/logs"
    log_name: build.log
    timeout: 86400
    failure_message: "error building package (arch x86_64), rpmbuild exited with status {rc}; see build.log"

- name: Remove the task container whatever happened
  koji_adjutant.builder.podman_build_step:
    koji_config: /etc/kojid/kojid.conf
    task_id: "{{ koji_task_id }}"
    state: absent
"""

RETURN = r"""
container:
  description: Container name.
  returned: always
  type: str
  sample: koji-task-1234-builder01
rc:
  description: Exit code of the step.
  returned: state=present and the step ran
  type: int
seconds:
  description: How long the step ran.
  returned: state=present and the step ran
  type: float
timed_out:
  description: Whether the step was killed at its timeout.
  returned: state=present and the step ran
  type: bool
log:
  description: Host path of the log.
  returned: state=present
  type: str
uploaded:
  description: Hub path of the log (C(tasks/<id % 10000>/<id>/<log_name>)), when uploaded.
  returned: state=present with a hub session
  type: str
upload_stopped:
  description:
    - Why the log's upload stopped before its end - the task is no longer OPEN on this host
      (canceled, reassigned), so the hub refuses it; the rest of the log stays on the worker.
  returned: when the upload stopped early
  type: str
networks:
  description: Networks the container was disconnected from (O(state=offline)) or connected to (O(state=online)).
  returned: state=offline or state=online
  type: list
  elements: str
image:
  description: The image the container was started from (also written at the top of the step's log).
  returned: when the container was started by this call
  type: dict
  contains:
    name: {description: Image name as given., type: str, sample: localhost/koji-adjutant-buildroot:bookworm}
    id: {description: Local image id., type: str}
    digest: {description: Image digest (manifest sha256)., type: str, sample: "sha256:0f3c..."}
resources:
  description: >-
    This step's record in C(resource_stats.json) - C(step), C(log), C(started), C(wall_seconds),
    C(exit_code), C(timed_out), C(cpu_seconds), C(peak_memory_bytes), C(peak_memory_scope)
    (C(step) when the high-water mark could be reset for the step, C(container) for the
    container's peak so far), C(oom_killed), C(cgroup_version), C(source) (C(host) or
    C(container)); values that could not be read are null.
  returned: state=present and the step ran
  type: dict
resource_stats:
  description: Host path of C(resource_stats.json).
  returned: state=present and the step ran
  type: str
koji_adjutant:
  description:
    - What the worker daemon learns from this step (see the collection's C(docs/architecture.md)) -
      C(container), the container's name, and C(container_state), C(running) when this call
      started or used the container (also when the step failed), C(removed) for O(state=absent).
  returned: when this call started, used or removed the container
  type: dict
  sample: {container: koji-task-1234-builder01, container_state: running}
"""

import os
import threading
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot as br
from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session
from ansible_collections.koji_adjutant.builder.plugins.module_utils import resource_stats
from ansible_collections.koji_adjutant.builder.plugins.module_utils import uploads


def name_of(module, config):
    """The task container's name."""
    return containers.container_name(module.params["task_id"], config.worker_name)


def container_report(name, state="running"):
    """What the worker daemon learns from this step: the task's container was used (or
    started), or removed."""
    return module_common.daemon_report(**{module_common.CONTAINER: name,
                                          module_common.CONTAINER_STATE: state})


def start_container(module, config, start_step=None):
    """Start the task container; ``(name, status, image)``: its ``container_status`` and
    ``{"name", "id", "digest"}`` of the image it was started from."""
    params = module.params
    if not params["builddir"]:
        module.fail_json(msg="the task container is not running and builddir is not given",
                         koji_fault="GenericError")
    image = params["image"] or config.task_image_default
    policy = params["image_pull_policy"] or config.image_pull_policy
    try:
        # with 'never' the image must be here: podman run says when it is not, and the
        # container's inspect names the image (no image inspect of its own)
        if policy != "never":
            containers.ensure_image(image, policy, config.container_timeouts["pull"])
        mounts = [dict(m, label="") for m in params["mounts"]]
        name = containers.start_task_container(
            config, params["task_id"], params["method"], image, params["builddir"],
            network=params["network"], mounts=mounts, start_step=start_step,
            user=params["user"] or config.container_user if start_step else None,
            pull_policy=policy)
    except containers.ContainerError as exc:
        module.fail_json(msg="cannot start the task container: %s" % exc,
                         koji_fault="BuildrootError", **container_report(name_of(module, config)))
    status = containers.container_status(name)
    if status and status["image_id"]:
        image_info = {"id": status["image_id"], "digest": status["image_digest"]}
    else:  # (a start step that failed at once: podman has removed the container already)
        image_info = containers.local_image(image) or {"id": "", "digest": ""}
    image_info["name"] = image
    return name, status, image_info


ARGUMENT_SPEC = module_common.task_argument_spec(
    # (optional here: without it the step's log stays on the worker)
    hub_session_file=dict(type="path", required=False),
    state=dict(type="str", default="present",
               choices=["present", "started", "offline", "online", "absent"]),
    networks=dict(type="list", elements="str", default=[]),
    method=dict(type="str", default="unknown"),
    image=dict(type="str"),
    image_pull_policy=dict(type="str", choices=["if-not-present", "always", "never"]),
    builddir=dict(type="path"),
    network=dict(type="bool", default=False),
    mounts=dict(type="list", elements="dict", default=[], options=dict(
        source=dict(type="path", required=True),
        target=dict(type="str", required=True),
        mode=dict(type="str", default="ro", choices=["ro", "rw"]))),
    copy_in=dict(type="list", elements="dict", default=[], options=dict(
        src=dict(type="path", required=True),
        dest=dict(type="str", required=True))),
    name=dict(type="str", default="step"),
    command=dict(type="raw"),
    user=dict(type="str"),
    workdir=dict(type="str"),
    env=dict(type="dict", default={}),
    run_at_start=dict(type="bool", default=False),
    rpmlist_file=dict(type="str"),
    timeout=dict(type="int", default=0),
    log_dir=dict(type="path"),
    log_name=dict(type="str", default="build.log"),
    log_header=dict(type="bool", default=True),
    fault_class=dict(type="str", default="BuildError"),
    failure_message=dict(type="str", default="{step} failed with exit code {rc}; see {log}"),
    exit_messages=dict(type="dict", default={}),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
    required_if=[("state", "present", ("command", "log_dir"))],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    params = module.params
    config = module_common.load_module_config(module)
    name = name_of(module, config)

    if params["state"] == "absent":
        if module.check_mode:
            module.exit_json(changed=containers.container_state(name) is not None, container=name)
        try:
            removed = containers.end_container(name, config.state_dir)
        except containers.ContainerError as exc:
            module.fail_json(msg=str(exc), container=name)
        module.exit_json(changed=removed, container=name,
                         **container_report(name, state="removed"))

    if params["state"] in ("offline", "online"):
        status = containers.running_status(config.state_dir, name)
        if not status or status["status"] != "running":
            module.fail_json(msg="the task container %s is not running" % name,
                             koji_fault="BuildrootError")
        if module.check_mode:
            module.exit_json(changed=True, container=name)
        try:
            if params["state"] == "offline":
                networks = containers.disconnect_networks(name)
            else:
                networks = containers.connect_networks(name, params["networks"])
        except containers.ContainerError as exc:
            module.fail_json(msg="cannot %s: %s" % (
                "take the container off the network" if params["state"] == "offline"
                else "connect the container to the network again", exc),
                koji_fault="BuildrootError")
        module.exit_json(changed=bool(networks), container=name, networks=networks,
                         **container_report(name))

    command = params["command"]
    if params["state"] == "present" and not isinstance(command, (str, list)):
        module.fail_json(msg="command must be a string or a list", koji_fault="ParameterError")
    if params["state"] == "present":
        try:
            uploads.check_upload_name(params["log_name"])
        except uploads.UploadError as exc:
            module.fail_json(msg=str(exc), koji_fault="ParameterError")
    if module.check_mode:
        module.exit_json(changed=True, container=name, command=command)

    # from here on the step may start or use the container, also when it fails
    result = dict(container=name, changed=False, **container_report(name))
    command = params["command"]
    if params["state"] == "present" and params["rpmlist_file"]:
        command = br.with_rpmlist_file(command, params["rpmlist_file"])
    starts = params["run_at_start"] and params["state"] == "present" and not params["copy_in"]
    if starts:
        # the step that starts the task's container: a container of the task noted running
        # takes the step with podman exec; any other one of the task (an earlier run's) is
        # replaced when this one starts
        status = containers.noted_running(config.state_dir, name)
    else:
        status = containers.running_status(config.state_dir, name)
    start_step = None
    if not status or status["status"] != "running":
        if starts:
            start_step = containers.start_step_argv(command, params["workdir"], params["env"])
            if params["builddir"]:
                containers.prepare_start_step(params["builddir"])
        started = time.time()
        name, status, result["image"] = start_container(module, config, start_step)
        result["changed"] = True
        containers.note_running(config.state_dir, name, status)
        if start_step:
            start_step = started
    for item in params["copy_in"]:
        try:
            containers.copy_into(name, item["src"], item["dest"])
        except containers.ContainerError as exc:
            module.fail_json(msg="cannot copy %s into the container: %s" % (item["src"], exc),
                             koji_fault="BuildrootError", **result)
    if params["state"] == "started":
        result["changed"] = True
        module.exit_json(**result)

    run_step(module, config, name, result, command, container_pid=status and status["pid"],
             started_at=start_step)


def run_step(module, config, name, result, command, container_pid=None, started_at=None):
    """Run the step (``command``) with podman exec, or - ``started_at``, when the container
    was started then with the step as its main process - wait for it."""
    params = module.params
    if not os.path.isdir(params["log_dir"]):
        os.makedirs(params["log_dir"])
    log_path = os.path.join(params["log_dir"], params["log_name"])
    session = None
    uploader = None
    if params["hub_session_file"]:
        session = module_common.open_module_session(module, config)
        follower = uploads.LogFollower(session, log_path, params["task_id"],
                                       params["log_name"], lock=threading.Lock())
        uploader = uploads.LiveLogUploader([follower], config.log_upload_interval).start()
        result["uploaded"] = "%s/%s" % (follower.upload_path, params["log_name"])
    header = "=== %s: %s (%s) ===\n" % (
        time.strftime("%Y-%m-%d %H:%M:%S"), params["name"],
        command_text(params["command"]))
    if result.get("image"):
        header += "image: %(name)s id %(id)s digest %(digest)s\n" % result["image"]
    if not params["log_header"]:
        header = None
    ended_early = False
    rc = timed_out = None
    meter = resource_stats.StepMeter(name, pid=container_pid).start(
        since_creation=started_at is not None)
    try:
        if started_at is not None:
            meter.started = started_at
            rc, timed_out, seconds = containers.wait_start_step(
                name, params["builddir"], container_pid, log_path,
                timeout=params["timeout"] or config.container_timeouts["start"] or None,
                header=header, before_kill=meter.stop, started=started_at)
            ended_early = rc is None  # (the container ended without the step's exit code)
            if ended_early:
                rc = -1
        else:
            rc, timed_out, seconds = containers.exec_step(
                name, command, log_path, user=params["user"] or config.container_user,
                workdir=params["workdir"], env=params["env"],
                timeout=params["timeout"] or None, header=header, before_kill=meter.stop)
        usage = meter.stop()
        if usage["oom_killed"] is None and rc != 0:
            usage["oom_killed"] = resource_stats.container_oom_killed(name)
        if usage["oom_killed"]:
            with open(log_path, "a") as log:
                log.write("\n*** out of memory: a process of this step was killed at the "
                          "container's memory limit (%s)\n" % (config.container_memory or "none"))
    finally:
        if uploader is not None:
            # after a step that did not succeed (a cancel kills the container) the rest of
            # the log goes only to a task that is still ours
            failures = uploader.stop(check_task=rc != 0 or bool(timed_out))
            if failures:
                result["upload_warnings"] = failures
            if uploader.stopped:
                result["upload_stopped"] = uploader.stopped
            hub_session.release_session(session)
    record = resource_stats.step_record(params["name"], params["log_name"], meter.started,
                                        seconds, rc, timed_out, usage)
    try:
        result["resource_stats"] = resource_stats.append_step(
            params["log_dir"], params["task_id"], name, record, image=result.get("image"))
    except (OSError, ValueError) as exc:
        result["resource_stats_warning"] = "cannot write %s: %s" % (
            resource_stats.STATS_FILE, exc)
    result.update(changed=True, rc=rc, seconds=round(seconds, 3), timed_out=timed_out,
                  log=log_path, resources=record)
    if rc != 0 or timed_out:
        # (a timeout kills the container itself, a failed start step stops it; otherwise a
        # stopped container was removed or killed from outside)
        gone = None
        if not timed_out and (started_at is None or ended_early):
            gone = None if containers.container_state(name) == "running" else name
        exit_messages = dict((str(code), text) for code, text in params["exit_messages"].items())
        message = containers.step_failure_message(
            exit_messages.get(str(rc), params["failure_message"]), rc, params["name"],
            params["log_name"],
            timeout=params["timeout"], timed_out=timed_out, oom_killed=usage["oom_killed"],
            memory_limit=config.container_memory, container_gone=gone,
            no_space=containers.no_space_reason(params["log_dir"], log_path))
        module.fail_json(msg=message, koji_fault=params["fault_class"], **result)
    module.exit_json(**result)


def command_text(command):
    if isinstance(command, list):
        return " ".join(str(part) for part in command)
    return str(command)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

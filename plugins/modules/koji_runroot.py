#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_runroot
short_description: Plan a koji runroot task (kojid's runroot builder plugin)
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Runs one step of a C(runroot) task (C(koji runroot)), as kojid's runroot builder plugin
    does. The C(runroot) task playbook makes the buildroot, runs the command and uploads its
    logs with the collection's other modules.
  - O(state=planned) reads the runroot configuration (C(runroot_config) of the worker's
    C([adjutant]) section, kojid's C(/etc/kojid/plugins/runroot.conf) by default, in kojid's
    format), maps the default and requested mounts to bind mounts (a requested mount must be
    under a C(safe_roots) entry; only C(bind) mounts can be mapped, read-only unless the
    configuration says C(rw)), picks the buildroot arch (for C(noarch), the first arch of the
    tag this host has), checks the requested repo (of the tag, READY or EXPIRED) or finds the
    tag's current one (none - it returns the C(waitrepo) subtask to wait with), and returns
    the command as the container runs it with the texts of its result.
  - O(state=logs) returns the extra logs (C(upload_logs) of the request) that exist, as
    regular files, after the command has run; a symbolic link is refused.
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
  - koji_adjutant.builder.hub.TASK
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
options:
  state:
    description: The step to run.
    type: str
    choices: [planned, logs]
    default: planned
  params:
    description:
      - The runroot task's decoded parameters (C(root), C(arch), C(command), C(packages),
        C(mounts), C(repo_id), C(skip_setarch), C(weight), C(upload_logs), C(new_chroot)).
      - Required for O(state=planned).
    type: dict
  task_dir:
    description:
      - The task's directory on the worker (C(koji_task_dir)); its C(builddir) is
        C(/builddir) in the container. Required for O(state=planned).
    type: path
  upload_logs:
    description: What O(state=planned) returned as C(plan.upload_logs) (O(state=logs)).
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Host path of the log., type: path, required: true}
      base: {description: The host directory it must stay inside., type: path, required: true}
"""

EXAMPLES = r"""
- name: Plan the runroot
  koji_adjutant.builder.koji_runroot:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    params: "{{ claim.task.params }}"
    task_dir: "{{ koji_task_dir }}"
  register: runroot
"""

RETURN = r"""
plan:
  description: What the runroot playbook needs (O(state=planned)).
  returned: state=planned
  type: dict
  contains:
    arch: {description: The buildroot arch., type: str, sample: x86_64}
    repo_id: {description: "The repo of the buildroot; null when a waitrepo subtask must wait for one.", type: int}
    waitrepo_subtask: {description: The waitrepo subtask (for M(koji_adjutant.builder.koji_subtask)) or null., type: dict}
    packages: {description: Packages to install from the koji repo., type: list, elements: str}
    mounts: {description: "Bind mounts for the container - C(source), C(target), C(mode).", type: list, elements: dict}
    network: {description: Whether the command runs with a network., type: bool}
    command: {description: The argv the container runs., type: list, elements: str}
    command_name: {description: The command's name in the result texts., type: str}
    result: {description: The task's result when the command succeeds., type: str, sample: pungi completed successfully}
    failure_message: {description: "The failure text, C({rc}) for the exit status.", type: str}
    install_failure_message: {description: "The failure text of the package installation, C({rc}) for dnf's status.", type: str}
    upload_logs: {description: "The extra logs to upload: C(path) on the worker, C(base) the directory it must stay in.", type: list, elements: dict}
    config_file: {description: The runroot configuration read., type: str}
files:
  description: The extra logs that exist (O(state=logs)).
  returned: state=logs
  type: list
  elements: str
"""

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import runroot

ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", default="planned", choices=["planned", "logs"]),
    params=dict(type="dict"),
    task_dir=dict(type="path"),
    upload_logs=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="path", required=True),
        base=dict(type="path", required=True))),
)

MODULE_OPTIONS = dict(
    supports_check_mode=False,
    required_if=[("state", "planned", ("params", "task_dir"))],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    params = module.params
    if params["state"] == "logs":
        try:
            files = runroot.existing_logs(params["upload_logs"])
        except runroot.koji.GenericError as exc:
            module_common.fail_from_exception(module, exc)
        module.exit_json(changed=False, files=files)
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config) as session:
        try:
            plan = runroot.plan(session, config, params["params"], platform.machine(),
                                params["task_dir"])
        except runroot.RunrootConfigError as exc:
            module.fail_json(msg=str(exc), koji_fault="ConfigurationError")
    module.exit_json(changed=False, plan=plan)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_build
short_description: The steps of a koji build parent task (policies, initBuild, import)
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Runs one step of the parent C(build) task of C(koji build), as kojid's build handler
    does. The C(build) task playbook calls it once per O(state), making and waiting for the
    children with M(koji_adjutant.builder.koji_subtask) and
    M(koji_adjutant.builder.koji_task_wait) in between.
  - O(state=prepared) checks the options, looks up C(opts.repo_id) (READY or EXPIRED) and the
    target, asserts the hub's policies C(build_from_srpm) (SRPM, not scratch),
    C(build_from_repo_id) (with a repo id) and C(build_rpm), and finds a current repo of the
    build tag. When there is none it returns the C(waitrepo) subtask to wait with.
  - O(state=repo_ready) takes the repo a C(waitrepo) subtask returned.
  - O(state=srpm_planned) returns the SRPM subtask (label C(srpm)). C(buildSRPMFromSCM)
    for an SCM URL, C(rebuildSRPM) for an uploaded SRPM unless the build tag's extra says
    C(rebuild_srpm=false) (a scratch build's C(opts.rebuild_srpm) wins), in which case the
    uploaded SRPM is used as it is.
  - O(state=initialized) reads the SRPM header, checks that the package is listed and not
    blocked in the destination tag (unless scratch or skip_tag), computes the arch list as
    kojid does (tag arches and the package's extra_arches, BuildArch, ExclusiveArch,
    ExcludeArch, noarch, a scratch build's arch_override), calls C(host.initBuild) (not for
    scratch builds; it fails with the hub's error when the N-V-R exists) and returns one
    C(buildArch) subtask per arch, C(keep_srpm) on the first.
  - O(state=completed) merges the C(buildArch) results (exactly one SRPM, the buildroot of
    every rpm, the logs per arch) and calls C(host.completeBuild), or
    C(host.moveBuildToScratch) for a scratch build. It returns the C(tagBuild) subtask
    (label C(tag)) unless the build is scratch or skip_tag.
  - O(state=failed) calls C(host.failBuild), for any failure after C(initBuild). A task that
    is no longer OPEN on this host (canceled, reassigned) is left alone, as the hub would
    refuse the call (canceling the task canceled its build); the module then reports it and
    succeeds, unchanged.
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
    required: true
    choices: [prepared, repo_ready, srpm_planned, initialized, completed, failed]
  params:
    description:
      - The build task's decoded parameters (C(src), C(target), C(opts)).
      - Required for every state but O(state=failed).
    type: dict
  prepared:
    description:
      - What O(state=prepared) (or O(state=repo_ready)) returned as RV(prepared).
      - Required for O(state=repo_ready), O(state=srpm_planned), O(state=initialized) and
        O(state=completed).
    type: dict
  repo:
    description: The repo the C(waitrepo) subtask returned (O(state=repo_ready)).
    type: dict
  srpm:
    description: The SRPM to build, relative to the hub's C(work/) (O(state=initialized)).
    type: str
  source:
    description: The C(source) of the SRPM subtask's result, if it gave one (O(state=initialized)).
    type: dict
  work_dir:
    description: A directory of the task where the SRPM is copied to read its header (O(state=initialized)).
    type: path
  build_id:
    description: The build made by O(state=initialized) (O(state=completed), O(state=failed)).
    type: int
  by_label:
    description: The C(buildArch) children by label (arch), as M(koji_adjutant.builder.koji_subtask) returns them (O(state=completed)).
    type: dict
  task_results:
    description: Their results, as M(koji_adjutant.builder.koji_task_wait) returns them (O(state=completed)).
    type: dict
requirements:
  - koji (Python library, with the rpm bindings)
notes:
  - Every step may run again when a freed parent task is rerun. The hub returns the existing
    child for a label and C(host.initBuild) keeps the build that its own task made.
"""

EXAMPLES = r"""
- name: Check policies and find the repo
  koji_adjutant.builder.koji_build:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: prepared
    params: "{{ claim.task.params }}"
  register: build

- name: Create the build and plan one buildArch subtask per arch
  koji_adjutant.builder.koji_build:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: initialized
    params: "{{ claim.task.params }}"
    prepared: "{{ build.prepared }}"
    srpm: "{{ srpm_result.srpm }}"
    source: "{{ srpm_result.source }}"
    work_dir: "{{ koji_task_dir }}/work"
  register: initialized
"""

RETURN = r"""
prepared:
  description: The build's tags, flags and repo (O(state=prepared), O(state=repo_ready)).
  returned: state is prepared or repo_ready
  type: dict
  sample: {build_tag: 2, dest_tag: 3, dest_tag_name: f43, skip_tag: false, scratch: false,
           repo_id: 17, event_id: 1234, waitrepo_subtask: null}
subtask:
  description:
    - The next subtask to make, or C(null) when there is none. O(state=srpm_planned) gives the
      SRPM subtask and O(state=completed) gives the tagBuild subtask.
  returned: state is srpm_planned or completed
  type: dict
  sample: {method: buildSRPMFromSCM, arglist: ["git://pkgs/hello.git#abc", 2, {repo_id: 17, scratch: null}],
           label: srpm, arch: noarch}
build_id:
  description: The build's id (C(null) for a scratch build).
  returned: state is initialized
  type: int
nvr:
  description: The N-V-R of the SRPM.
  returned: state is initialized
  type: str
arches:
  description: The arches to build for.
  returned: state is initialized
  type: list
  elements: str
subtasks:
  description: The C(buildArch) subtasks, one per arch.
  returned: state is initialized
  type: list
  elements: dict
failany:
  description: Whether the first failed C(buildArch) cancels its siblings (C(opts.fail_fast), or C(build_arch_can_fail) off).
  returned: state is initialized
  type: bool
task_state:
  description: The build task's state on the hub; the build was failed only when it is C(OPEN).
  returned: state is failed
  type: str
  sample: CANCELED
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import build_task
from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms as rpm_lib
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result

REQUIRED = {
    "prepared": ["params"],
    "repo_ready": ["prepared", "repo"],
    "srpm_planned": ["params", "prepared"],
    "initialized": ["params", "prepared", "srpm", "work_dir"],
    "completed": ["prepared", "by_label", "task_results"],
    "failed": ["build_id"],
}


def run_step(module, config, session):
    params = module.params
    state, task_id = params["state"], params["task_id"]
    if state == "prepared":
        return dict(prepared=build_task.prepare(session, task_id, params["params"]))
    if state == "repo_ready":
        return dict(prepared=build_task.repo_ready(session, params["prepared"], params["repo"]))
    if state == "srpm_planned":
        return dict(subtask=build_task.plan_srpm(session, config, params["params"],
                                                 params["prepared"]))
    if state == "initialized":
        if not os.path.isdir(params["work_dir"]):
            os.makedirs(params["work_dir"])
        return build_task.init_build(session, config, task_id, params["params"],
                                     params["prepared"], params["srpm"], params["source"],
                                     params["work_dir"])
    if state == "completed":
        return dict(subtask=build_task.complete_build(
            session, task_id, params["prepared"], params["build_id"], params["by_label"],
            params["task_results"]))
    failed, current = build_task.fail_build(session, task_id, params["build_id"])
    if not failed:
        return dict(changed=False, task_state=current,
                    msg=task_result.not_ours_message(task_id, current, "the build was not failed"))
    return dict(task_state=current)


ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", required=True, choices=list(REQUIRED)),
    params=dict(type="dict"),
    prepared=dict(type="dict"),
    repo=dict(type="dict"),
    srpm=dict(type="str"),
    source=dict(type="dict"),
    work_dir=dict(type="path"),
    build_id=dict(type="int"),
    by_label=dict(type="dict"),
    task_results=dict(type="dict"),
)

MODULE_OPTIONS = dict(
    supports_check_mode=False,
    required_if=[("state", state, fields, False) for state, fields in REQUIRED.items()],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config) as session:
        try:
            result = run_step(module, config, session)
        except rpm_lib.InputError as exc:
            module.fail_json(msg=str(exc), koji_fault="BuildError")
    result.setdefault("changed", module.params["state"] not in ("prepared", "srpm_planned"))
    module.exit_json(**result)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

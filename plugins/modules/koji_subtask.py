#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_subtask
short_description: Create the subtasks of a koji task
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Creates children of the parent task O(task_id) with C(host.subtask), as kojid's task handlers
    do (the parent must be OPEN on this host).
  - The hub does not create a second child with the same label under one parent - it returns the
    existing one - so a parent task that runs again re-attaches to the children it already made.
  - O(task_list) gives the children in the form of koji's C(dependantTask) requests instead.
  - Wait for them with M(koji_adjutant.builder.koji_task_wait).
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
  task_list:
    description:
      - The children as koji's C(dependantTask) requests, each C([method, arglist]) or C([method,
        arglist, options]) (options C(priority), C(arch), C(channel), C(label) ...; others are left
        out, as the hub ignores them). A request of another shape fails the module
        (ParameterError). One of O(subtasks) and O(task_list) is required.
    type: list
    elements: raw
  subtasks:
    description: The children to create.
    type: list
    elements: dict
    suboptions:
      method: {description: Task method., type: str, required: true}
      arglist: {description: Positional parameters of the child., type: list, elements: raw, default: []}
      label:
        description: Label unique under the parent (kojid uses the arch, C(srpm), C(tag) and so on).
        type: str
      arch: {description: Task arch (decides which hosts can take it)., type: str}
      priority: {description: Priority (default - the parent's priority + 1)., type: int}
      channel: {description: Channel name (default - the parent's channel)., type: str}
      assign:
        description: Host id to assign the child to (kojid's restartHosts assigns each host its own restart).
        type: int
"""

EXAMPLES = r"""
- name: One createrepo subtask per arch (kojid's newRepo)
  koji_adjutant.builder.koji_subtask:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    subtasks:
      - {method: createrepo, arglist: [7, x86_64, null], label: x86_64, arch: noarch}
      - {method: createrepo, arglist: [7, aarch64, null], label: aarch64, arch: noarch}

- name: A sleep child
  koji_adjutant.builder.koji_subtask:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    subtasks:
      - {method: sleep, arglist: [5], label: nap, arch: noarch}
  register: children

- name: The tasks of a dependantTask
  koji_adjutant.builder.koji_subtask:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    task_list: [[tagBuild, [3, 77, null, 2], {priority: 15}]]
"""

RETURN = r"""
task_ids:
  description: Ids of the children, in the order given.
  returned: success
  type: list
  elements: int
  sample: [1235, 1236]
by_label:
  description: Child id by label (children with a label).
  returned: success
  type: dict
  sample: {x86_64: 1235, aarch64: 1236}
created:
  description: Ids of the children this call created (the others existed already).
  returned: success
  type: list
  elements: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import subtasks as subtask_lib


ARGUMENT_SPEC = module_common.task_argument_spec(
    task_list=dict(type="list", elements="raw"),
    subtasks=dict(type="list", elements="dict", options=dict(
        method=dict(type="str", required=True),
        arglist=dict(type="list", elements="raw", default=[]),
        label=dict(type="str"),
        arch=dict(type="str"),
        priority=dict(type="int"),
        channel=dict(type="str"),
        assign=dict(type="int"),
    )))

MODULE_OPTIONS = dict(
    supports_check_mode=False,
    required_one_of=[("subtasks", "task_list")],
    mutually_exclusive=[("subtasks", "task_list")],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config, "cannot create subtasks") as session:
        specs = module.params["subtasks"]
        if specs is None:
            specs = subtask_lib.requests_to_specs(module.params["task_list"])
        created = subtask_lib.create_subtasks(session, module.params["task_id"], specs)
    new = [task_id for _spec, task_id, is_new in created if is_new]
    module.exit_json(changed=bool(new), task_ids=[task_id for _s, task_id, _n in created],
                     by_label=dict((spec["label"], task_id) for spec, task_id, _n in created
                                   if spec.get("label")),
                     created=new)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

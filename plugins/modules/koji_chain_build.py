#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_chain_build
short_description: The steps of a koji chainbuild task (kojid's ChainBuildTask)
version_added: 0.3.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - C(state=planned) - checks the request as kojid does (C(--scratch is not allowed with
    chain-builds), BuildError; C(unknown build target), GenericError, after C(getBuildTarget)) and
    plans each level of the chain - a C(build) subtask C([src, target, opts]) per SCM URL (label
    C(build <level>,<index>)), and the N-V-Rs the level names.
  - C(state=level_built) - after a level's build subtasks, the N-V-Rs the next level waits for
    (the level's N-V-Rs, then the build each build subtask made, C(listBuilds(taskID=...))) and
    the C(waitrepo) subtask C([build tag, None, nvrs]) (label C(wait <next level>)) that waits for
    them, none when there is nothing to wait for.
  - Create and wait for the subtasks with M(koji_adjutant.builder.koji_subtask) and
    M(koji_adjutant.builder.koji_task_wait).
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
  - koji_adjutant.builder.hub.TASK
attributes:
  check_mode:
    support: full
    details: Only reads from the hub.
  diff_mode:
    support: none
options:
  state:
    description: Which step.
    type: str
    choices: [planned, level_built]
    required: true
  params:
    description: The task's decoded parameters (C(srcs), C(target), C(opts)); O(state=planned).
    type: dict
  plan:
    description: The C(plan) the O(state=planned) step returned; O(state=level_built).
    type: dict
  level:
    description: Index of the level whose builds are done (from 0); O(state=level_built).
    type: int
  build_task_ids:
    description: Ids of the level's build subtasks, in order; O(state=level_built).
    type: list
    elements: int
    default: []
"""

EXAMPLES = r"""
- name: Plan the chain
  koji_adjutant.builder.koji_chain_build:
    state: planned
    params: "{{ claim.task.params }}"
  register: chain

- name: What the next level waits for
  koji_adjutant.builder.koji_chain_build:
    state: level_built
    plan: "{{ chain.plan }}"
    level: 0
    build_task_ids: "{{ level_builds.task_ids }}"
  register: built
"""

RETURN = r"""
plan:
  description: The build tag's name and, per level, its build subtasks and N-V-Rs.
  returned: state=planned
  type: dict
  sample: {build_tag_name: f40-build, levels: [{builds: [{method: build, arglist: ["git://h/a#1", f40, {}], label: "build 0,0"}], nvrs: []}]}
nvrs:
  description: The N-V-Rs the next level waits for.
  returned: state=level_built
  type: list
  elements: str
waitrepo_subtask:
  description: The waitrepo subtask to create before the next level (null - none).
  returned: state=level_built
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import chain_build
from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common


ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", required=True, choices=["planned", "level_built"]),
    params=dict(type="dict"),
    plan=dict(type="dict"),
    level=dict(type="int"),
    build_task_ids=dict(type="list", elements="int", default=[]),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
    required_if=[("state", "planned", ("params",)),
                 ("state", "level_built", ("plan", "level"))],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    params = module.params
    with module_common.task_hub_session(module, config) as session:
        if params["state"] == "planned":
            plan = chain_build.plan(session, params["params"])
            module.exit_json(changed=False, plan=plan)
        plan = params["plan"]
        levels = plan.get("levels") or []
        if not 0 <= params["level"] < len(levels):
            module.fail_json(msg="level %s is not a level of the chain (0 to %d)"
                             % (params["level"], len(levels) - 1))
        nvrs = chain_build.level_nvrs(session, levels[params["level"]],
                                      params["build_task_ids"])
    module.exit_json(changed=False, nvrs=nvrs,
                     waitrepo_subtask=chain_build.waitrepo_subtask(
                         plan["build_tag_name"], params["level"] + 1, nvrs))


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

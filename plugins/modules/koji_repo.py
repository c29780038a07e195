#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_repo
short_description: The hub and topdir side of koji's newRepo and createrepo tasks
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - C(state=initialized) (newRepo) - needs the topdir's C(repos) dir (else the task is refused, as
    kojid refuses it); turns the legacy C(src)/C(debuginfo)/C(separate_src) flags into C(opts)
    (both at once is a ParameterError); C(host.repoInit); returns the repo id, event id, the arches
    (dirs of the new repo with a C(pkglist)) and the READY repo to update from (same tag, then the
    tag's C(repo.oldrepo_hint), then its inheritance), as kojid.
  - C(state=planned) (createrepo) - checks the repo is INIT and its arch dir exists, prepares the
    output dir (copying the old repo's repodata for C(--update)) and returns kojid's
    C(createrepo_c) command (C(--error-exit-val -vd -o OUT [-i pkglist] [-g comps] [--update
    [--skip-stat]] DIR)) and, when the tag has external repos, its C(mergerepo_c) command.
  - C(state=collected) (createrepo) - writes C(repodata/EMPTY_REPO) when the arch has no packages
    and no external repos, and returns the files to upload and the task result
    C([uploadpath, files]).
  - C(state=done) (newRepo) - C(host.repoDone(repo_id, {arch - [uploadpath, files]})).
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
    description: The step, see the description.
    type: str
    choices: [initialized, planned, collected, done]
    required: true
  params:
    description: The task's decoded parameters (from M(koji_adjutant.builder.koji_task_claim)).
    type: dict
  outdir:
    description: Host directory for the new repodata (createrepo).
    type: path
  container_outdir:
    description: The same directory as seen in the task container.
    type: str
    default: /builddir/repo
  empty:
    description: For O(state=collected) - the arch has no packages and the tag no external repos.
    type: bool
    default: false
  repo_id:
    description: The repo, for O(state=done).
    type: int
  subtask_ids:
    description: For O(state=done) - the createrepo subtask of each arch (C(by_label) of M(koji_adjutant.builder.koji_subtask)).
    type: dict
  task_results:
    description: For O(state=done) - the subtasks' results by task id (C(task_results) of M(koji_adjutant.builder.koji_task_wait)).
    type: dict
"""

EXAMPLES = r"""
- name: Initialise the repo (newRepo)
  koji_adjutant.builder.koji_repo:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: initialized
    params: "{{ claim.task.params }}"
  register: repo

- name: Plan createrepo for one arch
  koji_adjutant.builder.koji_repo:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: planned
    params: "{{ claim.task.params }}"
    outdir: "{{ koji_task_dir }}/builddir/repo"
  register: plan
"""

RETURN = r"""
repo_id:
  description: The new repo (O(state=initialized)).
  returned: state=initialized
  type: int
event_id:
  description: The repo's event (O(state=initialized)).
  returned: state=initialized
  type: int
arches:
  description: Arch dirs to run createrepo for.
  returned: state=initialized
  type: list
  elements: str
oldrepo:
  description: The READY repo to update from, or null.
  returned: state=initialized
  type: dict
createrepo_subtasks:
  description: The createrepo subtasks to create (for M(koji_adjutant.builder.koji_subtask)).
  returned: state=initialized
  type: list
  elements: dict
data:
  description: What was passed to C(host.repoDone).
  returned: state=done
  type: dict
refuse:
  description: The task must be refused (no access to the repos dir); with C(koji_fault=RefuseTask).
  returned: failure
  type: bool
createrepo:
  description: The createrepo_c command.
  returned: state=planned
  type: list
  elements: str
mergerepo:
  description: The mergerepo_c command, or null without external repos.
  returned: state=planned
  type: list
  elements: str
premerge_dir:
  description: Where the createrepo output moves before merging (container path), or null.
  returned: state=planned
  type: str
empty:
  description: The arch has no packages and the tag no external repos.
  returned: state=planned
  type: bool
files:
  description: Local files to upload (O(state=collected)).
  returned: state=collected
  type: list
  elements: str
result:
  description: The task result - C([repo_id, event_id]) (initialized) or C([uploadpath, files]) (collected).
  returned: state=initialized or collected
  type: list
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import repos
from ansible_collections.koji_adjutant.builder.plugins.module_utils import uploads


ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", required=True,
               choices=["initialized", "planned", "collected", "done"]),
    params=dict(type="dict"),
    outdir=dict(type="path"),
    container_outdir=dict(type="str", default="/builddir/repo"),
    empty=dict(type="bool", default=False),
    repo_id=dict(type="int"),
    subtask_ids=dict(type="dict"),
    task_results=dict(type="dict"),
)

MODULE_OPTIONS = dict(
    supports_check_mode=False,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    state = module.params["state"]
    task_id = module.params["task_id"]
    config = module_common.load_module_config(module)

    if state == "collected":
        module_common.require_for_state(module, "outdir")
        datadir = os.path.join(module.params["outdir"], "repodata")
        if module.params["empty"]:
            repos.write_empty_repo_marker(datadir)
        names = repos.repodata_files(datadir)
        module.exit_json(changed=True, files=[os.path.join(datadir, n) for n in names],
                         result=[uploads.task_upload_path(task_id), names])

    with module_common.task_hub_session(module, config) as session:
        try:
            if state == "initialized":
                module_common.require_for_state(module, "params")
                info = repos.init_repo(session, config, task_id, module.params["params"])
                module.exit_json(changed=True, **info)
            elif state == "planned":
                module_common.require_for_state(module, "params", "outdir")
                params = module.params["params"]
                plan = repos.createrepo_plan(session, config, params["repo_id"], params["arch"],
                                             params.get("oldrepo"), module.params["outdir"],
                                             module.params["container_outdir"])
                module.exit_json(changed=True, **plan)
            else:
                module_common.require_for_state(module, "repo_id", "subtask_ids", "task_results")
                data = repos.repo_done(session, module.params["repo_id"],
                                       module.params["subtask_ids"],
                                       module.params["task_results"])
                module.exit_json(changed=True, data=data)
        except repos.RepoRefused as exc:
            module.fail_json(msg=str(exc), refuse=True, koji_fault="RefuseTask")


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

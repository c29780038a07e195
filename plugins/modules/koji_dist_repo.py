#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_dist_repo
short_description: The hub and topdir side of koji's distRepo and createdistrepo tasks
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - C(state=planned) (distRepo) - looks the tag up at the repo's event, takes the requested
    arches (else the tag's; none is an error) and returns the C(createdistrepo) subtasks, one
    per canonical arch, in kojid's two rounds - the arches that are not multilib arches first.
  - C(state=moved) (distRepo) - C(host.distRepoMove(repo_id, <subtask's upload dir>, arch)) for
    each subtask of O(subtask_ids) not in O(skip).
  - C(state=done) (distRepo) - the same moves, then C(host.repoDone(repo_id, {})), which makes
    the dist repo READY.
  - C(state=prepared) (createdistrepo) - checks the repo (INIT, a dist repo, its directory
    under the topdir), picks one signature per rpm of the tag (the requested key earliest in
    the list; none - the unsigned rpm, an error unless C(allow_missing_signatures), left out
    with C(skip_missing_signatures)), writes the signed copies with C(write_signed_rpms),
    fails when rpm files are missing, adds the 32-bit packages of a multilib arch (x86_64,
    ppc64, s390x) when the C(multilib) option is set (python-multilib's devel method and a dnf
    depsolve over the 32-bit repo already moved into the dist repo, run here; this needs the
    python-multilib library and python3-dnf; missing ones - C(missing_multilib.log)), lays
    the repo out in O(outdir) (C(kojipkgs),
    C(pkglist), C(Packages/) links, a C(debug/) subrepo with C(split_debuginfo)) and returns
    kojid's createrepo_c commands. Its logs (C(missing_signatures.log), ...) go to O(log_dir).
  - C(state=collected) (createdistrepo) - writes C(repodata/EMPTY_REPO) for a repo without
    rpms and the C(repo_manifest) (O(manifest)) that C(host.distRepoMove) reads.
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
    choices: [planned, moved, done, prepared, collected]
    required: true
  params:
    description: The task's decoded parameters (from M(koji_adjutant.builder.koji_task_claim)).
    type: dict
  outdir:
    description: Host directory where the arch's repo is laid out (createdistrepo).
    type: path
  container_outdir:
    description: The same directory as seen in the task container.
    type: str
    default: /builddir/repo
  log_dir:
    description: Where the task's logs are written (O(state=prepared)).
    type: path
  manifest:
    description: Where C(repo_manifest) is written (O(state=collected)).
    type: path
  empty:
    description: For O(state=collected) - the repo has no rpms.
    type: bool
    default: false
  repo_id:
    description: The dist repo, for O(state=moved) and O(state=done).
    type: int
  subtask_ids:
    description: For O(state=moved) and O(state=done) - the createdistrepo subtask of each arch (C(by_label) of M(koji_adjutant.builder.koji_subtask)).
    type: dict
  skip:
    description: Arches of O(subtask_ids) already moved.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Plan the createdistrepo subtasks (distRepo)
  koji_adjutant.builder.koji_dist_repo:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: planned
    params: "{{ claim.task.params }}"
  register: dist_repo

- name: Lay the arch's repo out (createdistrepo)
  koji_adjutant.builder.koji_dist_repo:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: prepared
    params: "{{ claim.task.params }}"
    outdir: "{{ koji_task_dir }}/builddir/repo"
    log_dir: "{{ koji_task_dir }}/logs"
  register: plan
"""

RETURN = r"""
repo_id:
  description: The dist repo.
  returned: state=planned or prepared
  type: int
first_subtasks:
  description: The createdistrepo subtasks of the arches that are not multilib arches (for M(koji_adjutant.builder.koji_subtask)).
  returned: state=planned
  type: list
  elements: dict
later_subtasks:
  description: The createdistrepo subtasks of the multilib arches (x86_64, ppc64, s390x).
  returned: state=planned
  type: list
  elements: dict
multilib:
  description: The C(multilib) option is set - the first round is moved before the second is made.
  returned: state=planned
  type: bool
moved:
  description: The arches moved into the repo.
  returned: state=moved or done
  type: list
  elements: str
commands:
  description: The createrepo_c runs - C(name), C(log_name), C(command) (container paths), C(update_from).
  returned: state=prepared
  type: list
  elements: dict
mounts:
  description:
    - The container's read-only mounts (O(koji_adjutant.builder.podman_build_step#module:mounts)).
    - The topdir, and a C(zck_dict_dir) outside it, each at its own path.
  returned: state=prepared
  type: list
  elements: dict
empty:
  description: The repo has no rpms.
  returned: state=prepared
  type: bool
packages:
  description: The rpm file names in the repo.
  returned: state=prepared
  type: list
  elements: str
logs:
  description: The task's logs this step may have written and the multilib step's dnf config (upload those that exist).
  returned: state=prepared
  type: list
  elements: str
entries:
  description: The C(repo_manifest) entries (C(<reldir>/<name>)).
  returned: state=collected
  type: list
  elements: str
result:
  description: The task result - the text "Dist repository #N successfully generated" (planned) or null (collected).
  returned: state=planned or collected
  type: raw
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import distrepos
from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common


ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", required=True,
               choices=["planned", "moved", "done", "prepared", "collected"]),
    params=dict(type="dict"),
    outdir=dict(type="path"),
    container_outdir=dict(type="str", default="/builddir/repo"),
    log_dir=dict(type="path"),
    manifest=dict(type="path"),
    empty=dict(type="bool", default=False),
    repo_id=dict(type="int"),
    subtask_ids=dict(type="dict"),
    skip=dict(type="list", elements="str", default=[]),
)

MODULE_OPTIONS = dict(
    supports_check_mode=False,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    state = module.params["state"]
    config = module_common.load_module_config(module)

    if state == "collected":
        module_common.require_for_state(module, "outdir", "manifest")
        entries = distrepos.collect_dist_repo(module.params["outdir"], module.params["manifest"],
                                              module.params["empty"])
        module.exit_json(changed=True, entries=entries, result=None)

    with module_common.task_hub_session(module, config) as session:
        if state == "planned":
            module_common.require_for_state(module, "params")
            module.exit_json(changed=True, **distrepos.plan_dist_repo(session,
                                                                      module.params["params"]))
        elif state == "prepared":
            module_common.require_for_state(module, "params", "outdir", "log_dir")
            plan = distrepos.prepare_dist_repo(session, config, module.params["params"],
                                               module.params["outdir"],
                                               module.params["container_outdir"],
                                               module.params["log_dir"])
            module.exit_json(changed=True, **plan)
        else:
            module_common.require_for_state(module, "repo_id", "subtask_ids")
            moved = distrepos.move_arches(session, module.params["repo_id"],
                                          module.params["subtask_ids"], module.params["skip"])
            if state == "done":
                session.host.repoDone(module.params["repo_id"], {})
            module.exit_json(changed=True, moved=moved)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_image_policy
short_description: Choose the container image of a koji task from the hub's image policy
version_added: 0.2.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Reads the build tag's C(adjutant_image_policy) (tag extra, inherited; C(getBuildConfig))
    and returns the image of the most specific matching rule - C(tag_arch), then C(tag), then
    C(task_type), then C(default) - or the worker's C([adjutant] task_image_default) when the
    policy is disabled, absent, malformed or unreadable, or no rule matches.
  - Results are cached per tag, arch and task type for C([adjutant] policy_cache_ttl) seconds
    in C(<state_dir>/image-policy-cache.json), shared by all tasks of the worker. When the hub
    cannot be asked, a stale cached result is used before the default.
  - M(koji_adjutant.builder.koji_buildroot) applies the same policy for rpm tasks; this module
    serves the tasks without a buildroot (createrepo).
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP
  - koji_adjutant.builder.hub
attributes:
  action_group:
    support: full
    membership:
      - koji_adjutant.builder.worker_config
      - koji_adjutant.builder.task_session
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  tag:
    description: The build tag (name or id) whose policy applies. Give O(tag) or O(repo_id).
    type: str
  repo_id:
    description: A repo of the tag whose policy applies (the tag of C(repoInfo)).
    type: int
  arch:
    description: The task's arch.
    type: str
    required: true
  task_type:
    description: The koji task method, for C(task_type) rules.
    type: str
    required: true
  log_file:
    description: A task log to append the choice and its reason to (for example C(createrepo.log)).
    type: path
"""

EXAMPLES = r"""
- name: Choose the image of a createrepo task
  koji_adjutant.builder.koji_image_policy:
    hub_session_file: "{{ koji_session_file }}"
    repo_id: "{{ claim.task.params.repo_id }}"
    arch: "{{ claim.task.params.arch }}"
    task_type: createrepo
    log_file: "{{ koji_task_dir }}/logs/createrepo.log"
  register: task_image
"""

RETURN = r"""
image:
  description: The image to run.
  returned: success
  type: str
  sample: registry.example.com/koji/buildroot-f41:latest
source:
  description: C(policy), C(default) or C(disabled) (C(policy_enabled = false)).
  returned: success
  type: str
  sample: policy
reason:
  description: Which rule chose the image, or why the default was used.
  returned: success
  type: str
  sample: adjutant_image_policy rule task_type task_type=createrepo of tag f41-build
cached:
  description: Whether the result came from the worker's policy cache.
  returned: success
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import image_policy
from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common


ARGUMENT_SPEC = dict(module_common.HUB_ARGUMENT_SPEC)
ARGUMENT_SPEC.update(
    tag=dict(type="str"),
    repo_id=dict(type="int"),
    arch=dict(type="str", required=True),
    task_type=dict(type="str", required=True),
    log_file=dict(type="path"),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
    required_one_of=[("tag", "repo_id")],
    mutually_exclusive=[("tag", "repo_id")],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    params = module.params
    with module_common.task_hub_session(module, config) as session:
        tag = params["tag"]
        if params["repo_id"] is not None:
            tag = session.repoInfo(params["repo_id"], strict=True)["tag_name"]
        elif tag.isdigit():
            info = session.getTag(int(tag))
            tag = info["name"] if info else tag
        result = image_policy.resolve_image(session, config, tag, params["arch"],
                                            params["task_type"])
    if result.get("error"):
        module.warn(result["reason"])
    if params["log_file"] and not module.check_mode:
        with open(params["log_file"], "a") as log:
            log.write("container image %s (%s)\n" % (result["image"], result["reason"]))
    module.exit_json(changed=False, image=result["image"], source=result["source"],
                     reason=result["reason"], cached=result["cached"])


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

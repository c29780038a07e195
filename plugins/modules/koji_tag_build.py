#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_tag_build
short_description: Tag a build, the work of a koji tagBuild task
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - As kojid's tagBuild handler - C(host.tagBuild(task_id, tag, build, force=…, fromtag=…)), then
    C(host.tagNotification(True, …)). When tagging fails (for example the package is not in the
    tag's package list), C(host.tagNotification(False, …, message)) is sent and the module fails
    with the hub's fault (TagError and the like), so the task fails with it.
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
  params:
    description: The task's decoded parameters (C(tag_id), C(build_id), C(force), C(fromtag), C(ignore_success)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Tag the build
  koji_adjutant.builder.koji_tag_build:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    params: "{{ claim.task.params }}"
"""

RETURN = r"""
tagged:
  description: Whether the build was tagged.
  returned: success
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import builds


ARGUMENT_SPEC = module_common.task_argument_spec(params=dict(type="dict", required=True))

MODULE_OPTIONS = dict(
    supports_check_mode=False,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config) as session:
        builds.tag_build(session, module.params["task_id"], module.params["params"])
    module.exit_json(changed=True, tagged=True)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

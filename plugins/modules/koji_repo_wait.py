#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_repo_wait
short_description: Wait until a koji tag has a repo new enough and holding given builds
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - The work of a C(waitrepo) task. It runs the handler kojid itself uses, C(WaitrepoTask) from
    the koji client library, with the task's parameters, so the behaviour is kojid's exactly.
  - A C(newer_than) of C(now) or a timestamp becomes a minimum event. With C(nvrs), it waits
    until the builds are tagged. It then files or joins a hub repo request (C(repo.request)) and
    polls it (C(repo.checkRequest)) until a repo satisfies the conditions.
  - Fails with the handler's message on a timeout or when the request becomes inactive.
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
    description: The waitrepo task's decoded parameters (C(tag), C(newer_than), C(nvrs), C(min_event)).
    type: dict
    required: true
  poll_interval:
    description: Seconds between polls (kojid - 60).
    type: int
    default: 60
  timeout:
    description: Minutes to wait at most (kojid - 120).
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: Wait for the repo
  koji_adjutant.builder.koji_repo_wait:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    params: "{{ claim.task.params }}"
  register: waited
"""

RETURN = r"""
repo:
  description: The repo (the hub's repo info), the task's result.
  returned: success
  type: dict
  sample: {id: 12, tag_id: 3, tag_name: f41-build, create_event: 1500, state: 1}
"""

import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common

try:
    import koji
    import koji.tasks
except ImportError:
    koji = None


ARGUMENT_SPEC = module_common.task_argument_spec(
    params=dict(type="dict", required=True),
    poll_interval=dict(type="int", default=60),
    timeout=dict(type="int", default=120),
)

MODULE_OPTIONS = dict(
    supports_check_mode=False,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    params = dict(module.params["params"])
    with module_common.task_hub_session(module, config) as session:
        workdir = tempfile.mkdtemp(prefix="waitrepo-")
        handler = koji.tasks.WaitrepoTask(module.params["task_id"], "waitrepo", [], session,
                                          config, workdir=workdir)
        handler.PAUSE = module.params["poll_interval"]
        handler.TIMEOUT = module.params["timeout"]
        repo = koji.util.call_with_argcheck(handler.handler, [], params)
    module.exit_json(changed=False, repo=repo)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

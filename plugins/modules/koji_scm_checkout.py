#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_scm_checkout
short_description: Check out the sources of a buildSRPMFromSCM task on the worker
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Uses koji's own C(koji.daemon.SCM), as kojid does. The URL
    (C(scheme://[user@]host/path?module#revision)) is parsed, a password in it is refused unless
    C(allow_password_in_scm_url), and it is checked against C(allowed_scms) (first matching
    C(host:repository[:use_common[:source_cmd]]) entry decides) and/or the hub's
    C(build_from_scm) policy before anything is fetched. A URL that is not allowed fails with
    BuildError C(<host>:<repository> is not in the list of allowed SCMs).
  - The checkout runs on this host, not in the build container; its log C(checkout.log) is sent
    to the task's upload dir as it is written.
  - Finds the spec (top dir, else C(SPECS/); of several, the one named after the checkout dir)
    and rejects one that sets Packager, Distribution or Vendor.
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
  url:
    description: The SCM URL (the task's first parameter).
    type: str
    required: true
  opts:
    description: The task's C(opts) (C(scratch) goes into the policy data).
    type: dict
  dest:
    description: Host directory to check out into (under the task's build dir, which the container mounts).
    type: path
    required: true
  log:
    description: Host path of the checkout log.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Check out the sources
  koji_adjutant.builder.koji_scm_checkout:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    url: "{{ params.url }}"
    opts: "{{ params.opts }}"
    dest: "{{ koji_task_dir }}/builddir/scm"
    log: "{{ koji_task_dir }}/logs/checkout.log"
  register: checkout
"""

RETURN = r"""
sourcedir:
  description: The checked-out source dir (host path).
  returned: success
  type: str
spec:
  description: The spec file (host path).
  returned: success
  type: str
sources:
  description: The directory holding the spec's sources (host path).
  returned: success
  type: str
source:
  description: The task result's C(source) - C({url, source}), the source URL with the full commit id for git.
  returned: success
  type: dict
source_cmd:
  description: The source command of the matching C(allowed_scms) entry (for example C(make sources)), or null.
  returned: success
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import scm as scm_lib


ARGUMENT_SPEC = module_common.task_argument_spec(
    url=dict(type="str", required=True),
    opts=dict(type="dict"),
    dest=dict(type="path", required=True),
    log=dict(type="path", required=True),
)

MODULE_OPTIONS = dict(
    supports_check_mode=False,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    params = module.params
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config) as session:
        task_info = session.getTaskInfo(params["task_id"])
        scm = scm_lib.parse_and_check(session, config, params["url"], task_info, params["opts"])
        log_dir = os.path.dirname(params["log"])
        if not os.path.isdir(log_dir):
            os.makedirs(log_dir)
        sourcedir = scm_lib.checkout(scm, session, params["task_id"], params["dest"],
                                     params["log"])
        spec = scm_lib.find_spec(sourcedir, config.support_rpm_source_layout,
                                 root=params["dest"])
        scm_lib.spec_sanity_check(spec)
        source = scm.get_source()
    module.exit_json(changed=True, sourcedir=sourcedir, spec=spec,
                     sources=scm_lib.sources_dir(sourcedir, spec,
                                                 config.support_rpm_source_layout),
                     source=source, source_cmd=scm.source_cmd)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

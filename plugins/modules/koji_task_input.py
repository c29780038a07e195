#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_task_input
short_description: Fetch a koji task's input file from the work area and check it
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Copies C(<topdir>/work/<path>) when the topdir is mounted on the worker, else downloads
    C(<topurl>/work/<path>) - as kojid's C(localPath) does - into O(dest).
  - Rejects paths that are absolute or contain C(..) (C(koji_fault=BuildError)), a missing file
    (C(SRPM file missing)), and with O(kind=srpm) a file that is not a source rpm.
  - With O(kind=srpm) returns the header facts the task needs (NVR, BuildArch, ExclusiveArch,
    ExcludeArch, BuildRequires).
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP
attributes:
  action_group:
    support: full
    membership:
      - koji_adjutant.builder.worker_config
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  koji_config:
    description: Path of the worker's kojid.conf (gives C(topdir) and C(topurl)).
    type: path
    default: /etc/kojid/kojid.conf
  path:
    description: The input's path relative to C(<topdir>/work), as the task's parameters give it.
    type: str
    required: true
  dest:
    description: Host directory to put the file in.
    type: path
    required: true
  kind:
    description: What the file must be.
    type: str
    choices: [srpm, any]
    default: srpm
requirements:
  - koji (Python)
  - the C(rpm) command for O(kind=srpm) (headers are read with C(rpm -qp --queryformat))
"""

EXAMPLES = r"""
- name: Fetch and check the SRPM of a buildArch task
  koji_adjutant.builder.koji_task_input:
    koji_config: /etc/kojid/kojid.conf
    path: "{{ task.params.pkg }}"
    dest: "{{ koji_task_dir }}/builddir/input"
  register: srpm
"""

RETURN = r"""
file:
  description: Host path of the fetched file.
  returned: success
  type: str
srpm:
  description: Header facts of the source rpm.
  returned: kind=srpm
  type: dict
  contains:
    nvr: {description: N-V-R., type: str, sample: hello-1.0-1}
    name: {description: Name., type: str}
    buildarchs: {description: BuildArch values., type: list, elements: str}
    exclusivearch: {description: ExclusiveArch values., type: list, elements: str}
    excludearch: {description: ExcludeArch values., type: list, elements: str}
    buildrequires: {description: BuildRequires (rpmlib() requirements left out)., type: list, elements: str}
    dynamic_buildrequires:
      description: >-
        The SRPM requires C(rpmlib(DynamicBuildRequires)) - its spec has a
        C(%generate_buildrequires) section, whose build dependencies only C(rpmbuild -br) finds.
      type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms


ARGUMENT_SPEC = dict(
    koji_config=module_common.HUB_ARGUMENT_SPEC["koji_config"],
    path=dict(type="str", required=True),
    dest=dict(type="path", required=True),
    kind=dict(type="str", default="srpm", choices=["srpm", "any"]),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    params = module.params
    try:
        relpath = rpms.check_work_path(params["path"])
    except rpms.InputError as exc:
        module.fail_json(msg=str(exc), koji_fault="BuildError")
    if module.check_mode:
        module.exit_json(changed=True, file=os.path.join(params["dest"], os.path.basename(relpath)))
    if not os.path.isdir(params["dest"]):
        os.makedirs(params["dest"])
    try:
        local = rpms.fetch_work_file(config, relpath, params["dest"])
    except rpms.InputError as exc:
        missing = params["kind"] == "srpm" and not isinstance(exc, rpms.UnsafePathError)
        module.fail_json(msg="SRPM file missing: %s" % exc if missing else str(exc),
                         koji_fault="BuildError")
    result = dict(changed=True, file=local)
    if params["kind"] == "srpm":
        try:
            result["srpm"] = rpms.inspect_srpm(local)
        except rpms.InputError as exc:
            module.fail_json(msg=str(exc), koji_fault="BuildError", **result)
    module.exit_json(**result)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_build_results
short_description: Collect and check the rpms a build task made, and make kojid's result
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Collects the binary rpms and the rebuilt SRPM of an rpm build from the build directory
    (flat C(N-V-R.A.rpm) names, as koji's C(_rpmfilename) makes them), and checks them the way
    kojid does - the SRPM (kept only with O(keep_srpm)) must be exactly one and carry packager,
    vendor and distribution; a build without binary rpms fails.
  - Writes kojid's C(noarch_rpmdiff.json) - a map of task id to a map of file name to the
    C(Rpmdiff) kojihash - when there are noarch rpms, and adds it to the logs.
  - Returns the files to upload and the task result (C(rpms), C(srpms), C(logs), C(brootid)) with
    C(tasks/<id % 10000>/<id>/<file>) paths, for M(koji_adjutant.builder.koji_upload).
  - With O(kind=srpm) (rebuildSRPM, buildSRPMFromSCM) - exactly one SRPM, whose file name must be
    C(N-V-R.src.rpm) from its own header (kojid's "srpm name mismatch"); the result is
    C({srpm, logs, brootid, source}).
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP
attributes:
  action_group:
    support: full
    membership:
      - koji_adjutant.builder.task
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  task_id:
    description: The task.
    type: int
    required: true
  kind:
    description: C(rpms) for buildArch, C(srpm) for the SRPM tasks.
    type: str
    choices: [rpms, srpm]
    default: rpms
  rpm_dir:
    description: Directory holding the binary rpms (C(<builddir>/build/RPMS)); for O(kind=rpms).
    type: path
  srpm_dir:
    description: Directory holding the rebuilt SRPM (C(<builddir>/build/SRPMS)).
    type: path
    required: true
  keep_srpm:
    description: Whether the task returns the SRPM (kojid's C(keep_srpm)); for O(kind=rpms).
    type: bool
    default: false
  source:
    description: The C(source) of an SRPM task's result (C({source, url})); for O(kind=srpm).
    type: dict
  logs:
    description: Log files of the task (already uploaded live); they are listed in the result.
    type: list
    elements: path
    default: []
  brootid:
    description: The buildroot id.
    type: int
    required: true
  work_dir:
    description: Directory for C(noarch_rpmdiff.json).
    type: path
    required: true
requirements:
  - koji (Python)
  - rpm (Python bindings)
"""

EXAMPLES = r"""
- name: Collect the outputs of the rebuild
  koji_adjutant.builder.koji_build_results:
    task_id: "{{ koji_task_id }}"
    rpm_dir: "{{ koji_task_dir }}/builddir/build/RPMS"
    srpm_dir: "{{ koji_task_dir }}/builddir/build/SRPMS"
    keep_srpm: "{{ task.params.keep_srpm }}"
    logs: ["{{ koji_task_dir }}/logs/root.log", "{{ koji_task_dir }}/logs/build.log"]
    brootid: "{{ buildroot.brootid }}"
    work_dir: "{{ koji_task_dir }}/logs"
  register: outputs
"""

RETURN = r"""
files:
  description: Local files to upload before closing the task (rpms, the SRPM, noarch_rpmdiff.json).
  returned: success
  type: list
  elements: str
result:
  description: The task result as kojid returns it (buildArch shown; SRPM tasks - C({srpm, logs, brootid, source})).
  returned: success
  type: dict
  sample:
    rpms: [tasks/1234/1234/hello-1.0-1.x86_64.rpm]
    srpms: [tasks/1234/1234/hello-1.0-1.src.rpm]
    logs: [tasks/1234/1234/root.log, tasks/1234/1234/build.log]
    brootid: 42
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms
from ansible_collections.koji_adjutant.builder.plugins.module_utils import uploads

try:
    import koji
except ImportError:
    koji = None


ARGUMENT_SPEC = dict(
    task_id=dict(type="int", required=True),
    kind=dict(type="str", default="rpms", choices=["rpms", "srpm"]),
    rpm_dir=dict(type="path"),
    srpm_dir=dict(type="path", required=True),
    keep_srpm=dict(type="bool", default=False),
    source=dict(type="dict"),
    logs=dict(type="list", elements="path", default=[]),
    brootid=dict(type="int", required=True),
    work_dir=dict(type="path", required=True),
)

MODULE_OPTIONS = dict(
    required_if=[("kind", "rpms", ("rpm_dir",)), ("kind", "srpm", ("source",))],
    supports_check_mode=True,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    module_common.require_koji(module)
    params = module.params
    task_id = params["task_id"]
    upload_dir = uploads.task_upload_path(task_id)
    logs = [log for log in params["logs"] if os.path.exists(log)]
    if params["kind"] == "srpm":
        try:
            srpm = rpms.collect_srpm(params["srpm_dir"])
        except koji.GenericError as exc:
            module_common.fail_from_exception(module, exc)
        except rpms.InputError as exc:
            module.fail_json(msg=str(exc), koji_fault="BuildError")
        result = {
            "srpm": "%s/%s" % (upload_dir, os.path.basename(srpm)),
            "logs": ["%s/%s" % (upload_dir, os.path.basename(log)) for log in logs],
            "brootid": params["brootid"],
            "source": params["source"],
        }
        module.exit_json(changed=False, files=[srpm], result=result)
    try:
        rpm_files, srpm_files = rpms.collect_outputs(params["rpm_dir"], params["srpm_dir"],
                                                     params["keep_srpm"])
    except koji.GenericError as exc:
        module_common.fail_from_exception(module, exc)
    except rpms.InputError as exc:
        module.fail_json(msg=str(exc), koji_fault="BuildError")
    if not module.check_mode:
        diff = rpms.noarch_rpmdiff(task_id, rpm_files,
                                   os.path.join(params["work_dir"], "noarch_rpmdiff.json"))
        if diff:
            logs.append(diff)

    def hub_paths(paths):
        return ["%s/%s" % (upload_dir, os.path.basename(p)) for p in paths]

    result = {
        "rpms": hub_paths(rpm_files),
        "srpms": hub_paths(srpm_files),
        "logs": hub_paths(logs),
        "brootid": params["brootid"],
    }
    files = rpm_files + srpm_files + [log for log in logs if log.endswith(".json")]
    module.exit_json(changed=False, files=files, result=result)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_upload
short_description: End a koji task on the hub - upload its files, expire its buildroots, close, fail or refuse it
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - The step that ends a koji task on the hub - it uploads the task's files, expires its
    buildroots and closes, fails or refuses the task; or only uploads (O(state=uploaded)).
  - Uploads O(files) into the task's upload directory on the hub
    (C(tasks/<id % 10000>/<id>), koji's fast upload via C(ClientSession.uploadWrapper)).
  - C(state=closed) then closes the task (C(host.closeTask)) with O(result) encoded exactly as
    kojid encodes a handler's return value - an XML-RPC methodResponse string.
  - C(state=failed) fails it (C(host.failTask)) with a koji Fault of O(fault_class) and
    O(fault_message). Uploads are attempted first; an upload that fails then is reported in the
    message, never instead of it.
  - C(state=refused) gives the task back to the hub (C(host.refuseTask(soft=True))), as kojid
    does when a handler finds it cannot run the task on this host; O(fault_message) says why.
  - A task that is no longer OPEN on this host (canceled, reassigned) is not changed;
    C(state=failed) then reports it and succeeds, C(state=closed) fails.
  - O(expire_buildroots) are set EXPIRED first, as kojid expires a task's buildroots before it
    closes or fails the task (and expires those of a task that was canceled), which saves the
    task a module call of its own for it.
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
  - koji_adjutant.builder.hub.TASK
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  state:
    description: >-
      Only upload (C(uploaded)), or also close (C(closed)), fail (C(failed)) or refuse
      (C(refused)) the task.
    type: str
    choices: [uploaded, closed, failed, refused]
    default: uploaded
  files:
    description: Local files to upload; each keeps its base name, which koji restricts (no C(/), no leading dot).
    type: list
    elements: path
    default: []
  tree:
    description:
      - A directory whose regular files (symbolic links left out) are uploaded after O(files),
        each to the same relative directory below the task's upload directory (a dist repo's
        C(repodata/), C(debug/repodata/), ...).
    type: path
  result:
    description: The task's result for O(state=closed) (any XML-RPC value; null for tasks returning None).
    type: raw
  fault_class:
    description: koji exception name or fault code for O(state=failed).
    type: str
    default: GenericError
  fault_message:
    description: The failure message for O(state=failed); say what went wrong.
    type: str
  expire_buildroots:
    description:
      - Buildroot ids of the task (M(koji_adjutant.builder.koji_buildroot)'s C(brootid)) to set
        EXPIRED before anything else; an expired one is left as it is.
      - With C(state=closed) a failed expiry fails the module and the task is not closed; with
        C(state=failed) it is added to the failure message and the task is failed all the same.
      - The package list is not read again (see
        O(koji_adjutant.builder.koji_buildroot#module:update_rpmlist)); use
        M(koji_adjutant.builder.koji_buildroot) C(state=expired) when packages may have been
        installed since C(state=building).
    type: list
    elements: int
    default: []
  logout:
    description: Log the session out afterwards (stand-alone runs that logged in with M(koji_adjutant.builder.koji_task_claim)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Upload the build outputs and close the task with kojid's buildArch result
  koji_adjutant.builder.koji_upload:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    files: "{{ outputs.files }}"
    state: closed
    result: "{{ outputs.result }}"
    expire_buildroots: ["{{ buildroot.brootid }}"]

- name: Fail the task with the error of the step that failed
  koji_adjutant.builder.koji_upload:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    files: "{{ logs }}"
    state: failed
    fault_class: "{{ ansible_failed_result.koji_fault | default('GenericError') }}"
    fault_message: "{{ ansible_failed_result.msg }}"
"""

RETURN = r"""
uploaded:
  description: Hub paths of the uploaded files.
  returned: always
  type: list
  elements: str
  sample: [tasks/1234/1234/build.log]
task_state:
  description: The task's state after this call.
  returned: always
  type: str
  sample: CLOSED
expired_buildroots:
  description: The buildroots this call set EXPIRED (not those that were already).
  returned: always
  type: list
  elements: int
  sample: [42]
fault_code:
  description: The fault code the task was failed with.
  returned: state=failed
  type: int
  sample: 1005
koji_adjutant:
  description:
    - What the worker daemon learns from this step (see the collection's C(docs/architecture.md)) -
      C(task_ended), C(CLOSED) or C(FAILED), when this call closed or failed the task.
  returned: when this call closed or failed the task
  type: dict
  sample: {task_ended: CLOSED}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot
from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result
from ansible_collections.koji_adjutant.builder.plugins.module_utils import uploads

try:
    import koji
except ImportError:
    koji = None


def expire_buildroots(session, brootids):
    """(expired, problem): the buildroots set EXPIRED now, and what went wrong, if anything
    (the rest are still tried)."""
    expired, problems = [], []
    for brootid in brootids:
        try:
            if buildroot.expire_buildroot(session, brootid):
                expired.append(brootid)
        except koji.GenericError as exc:
            problems.append("could not expire buildroot %s: %s" % (brootid, exc))
    return expired, "; ".join(problems) or None


ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", default="uploaded",
               choices=["uploaded", "closed", "failed", "refused"]),
    files=dict(type="list", elements="path", default=[]),
    tree=dict(type="path"),
    result=dict(type="raw"),
    fault_class=dict(type="str", default="GenericError"),
    fault_message=dict(type="str"),
    expire_buildroots=dict(type="list", elements="int", default=[]),
    logout=dict(type="bool", default=False),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
    required_if=[("state", "failed", ("fault_message",)),
                 ("state", "refused", ("fault_message",))],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    params = module.params
    state = params["state"]
    try:
        code = task_result.fault_code(params["fault_class"]) if state == "failed" else None
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    config = module_common.load_module_config(module)
    session = module_common.open_module_session(module, config)
    task_id = params["task_id"]
    uploaded, problems, expired = [], [], []
    try:
        ours, current = task_result.task_ownership(session, task_id)
        problem = None
        if not module.check_mode:
            expired, problem = expire_buildroots(session, params["expire_buildroots"])
        if problem and state != "failed":
            module.fail_json(msg=problem, uploaded=[], task_state=current,
                             expired_buildroots=expired, koji_fault="BuildrootError")
        if problem:
            problems.append(problem)
        if not ours:
            message = task_result.not_ours_message(task_id, current)
            if state == "closed":
                module.fail_json(msg=message, uploaded=[], task_state=current,
                                 expired_buildroots=expired, koji_fault="ActionNotAllowed")
            module.exit_json(changed=bool(expired), uploaded=[], task_state=current,
                             expired_buildroots=expired, msg=message)
        if module.check_mode:
            module.exit_json(changed=True, uploaded=[], task_state=current,
                             expired_buildroots=[])
        for path in params["files"]:
            try:
                uploaded.append(uploads.upload_file(session, path, task_id))
            except uploads.UploadError as exc:
                if state != "failed":
                    module.fail_json(msg=str(exc), uploaded=uploaded, task_state=current,
                                     expired_buildroots=expired, koji_fault="GenericError")
                problems.append(str(exc))
        if params["tree"]:
            try:
                uploaded += uploads.upload_tree(session, params["tree"], task_id)
            except uploads.UploadError as exc:
                if state != "failed":
                    module.fail_json(msg=str(exc), uploaded=uploaded, task_state=current,
                                     expired_buildroots=expired, koji_fault="GenericError")
                problems.append(str(exc))
        if state == "closed":
            task_result.close_task(session, task_id, params["result"])
            current = "CLOSED"
        elif state == "refused":
            session.host.refuseTask(task_id, soft=True, msg=params["fault_message"])
            current = "FREE"
        elif state == "failed":
            message = params["fault_message"]
            if problems:
                message += "\n(also: %s)" % "; ".join(problems)
            task_result.fail_task(session, task_id, code, message)
            current = "FAILED"
        report = {}
        if current in ("CLOSED", "FAILED"):
            report = module_common.daemon_report(**{module_common.TASK_ENDED: current})
        module.exit_json(changed=True, uploaded=uploaded, task_state=current,
                         expired_buildroots=expired, fault_code=code, **report)
    except koji.GenericError as exc:
        module_common.fail_from_exception(module, exc, "hub call failed", uploaded=uploaded,
                                          expired_buildroots=expired)
    finally:
        if params["logout"] and session is not None and session.logged_in:
            try:
                session.logout()
            except koji.GenericError:
                pass
        hub_session.release_session(session)
        if params["logout"] and os.path.exists(params["hub_session_file"]):
            os.unlink(params["hub_session_file"])


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

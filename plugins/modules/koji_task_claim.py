#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_task_claim
short_description: Check in with the koji hub and take a task assigned to this build host
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Takes a koji task the way kojid does, so the hub cannot tell the difference.
  - With a session file that exists (the worker daemon writes one per task), the task given
    by O(task_id) is confirmed or taken with that session.
  - Without one, logs in as the build host (client certificate, else user/password, else
    GSSAPI), makes the session exclusive, checks in with C(host.updateHost) and writes the
    session to O(hub_session_file) for the next modules of the playbook.
  - Taking a task is kojid's sequence - C(getTaskInfo(request=True)), refusal
    (C(host.refuseTask)) of a method without a playbook or of a task whose build tag's arches
    the host lacks, C(host.openTask), C(host.setTaskWeight).
  - A task already OPEN on this host (taken by the daemon) is returned unchanged.
  - The task's parameters are decoded with koji's own signatures; parameters of the wrong
    number or type fail the module with C(koji_fault=ParameterError).
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
attributes:
  check_mode:
    support: partial
    details: In check mode the task is looked up and reported but not opened; no check-in.
  diff_mode:
    support: none
options:
  task_id:
    description:
      - The task to take or confirm. Without it, the first task the hub assigned to this
        host that can be taken is taken.
    type: int
  methods:
    description:
      - Task methods this worker handles. Default - one per playbook C(tasks/<method>.yml)
        in the collection's C(playbooks) directory (or C(playbook_dir) of the config), each
        declared in the collection's C(plugins/module_utils/task_types.py); a playbook without
        a declaration fails the module.
    type: list
    elements: str
  force_lock:
    description:
      - When logging in, take the exclusive session over from another session of this host.
      - Only when set here - the C(force_lock) setting of the C([adjutant]) section is the
        daemon's. A playbook whose session file has gone (its task was stopped by the daemon)
        must never take a running daemon's session over.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Confirm the task the worker daemon took for this playbook
  koji_adjutant.builder.koji_task_claim:
    koji_config: /etc/kojid/kojid.conf
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
  register: koji_task

- name: Stand-alone - log in, check in and take the next assigned task
  koji_adjutant.builder.koji_task_claim:
    hub_session_file: /var/lib/koji-adjutant/session.json
    methods: [buildArch, sleep]
  register: koji_task
"""

RETURN = r"""
task:
  description: The task, when one is ours.
  returned: success
  type: dict
  contains:
    task_id: {description: Task id., type: int, sample: 1234}
    method: {description: Task method., type: str, sample: buildArch}
    params: {description: Parameters decoded by the method's signature., type: dict,
             sample: {pkg: tasks/1233/1233/foo-1-1.src.rpm, root: 2, arch: x86_64,
                      keep_srpm: true, opts: {repo_id: 7}}}
    weight: {description: Weight set on the hub., type: float, sample: 1.5}
    arch: {description: Task arch., type: str, sample: x86_64}
    status:
      description: C(taken), C(already_ours), C(refused) or C(lost).
      type: str
      sample: taken
    reason: {description: Why a task was refused or lost., type: str}
claimed:
  description: Whether a task is now OPEN on this host for this playbook.
  returned: always
  type: bool
checked_in:
  description: Whether this run reported the host's load and readiness to the hub.
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim

try:
    import koji
except ImportError:
    koji = None


def _login(module, config):
    """Stand-alone mode: exclusive host session, check-in, session file."""
    try:
        session = hub_session.open_host_session(config, force=bool(module.params["force_lock"]))
    except hub_session.HubLoginError as exc:
        module.fail_json(msg=str(exc), koji_fault="AuthError")
    hub_session.write_session_file(module.params["hub_session_file"], session.sinfo,
                                   session.callnum, extra={"master": True})
    persistent = hub_session.open_task_session(config, module.params["hub_session_file"])
    session.setSession(None)  # the session lives on in the file
    return persistent


ARGUMENT_SPEC = dict(module_common.HUB_ARGUMENT_SPEC)
ARGUMENT_SPEC.update(
    task_id=dict(type="int"),
    methods=dict(type="list", elements="str"),
    force_lock=dict(type="bool", default=False),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    methods = module.params["methods"] or task_claim.available_methods(config.playbook_root)

    checked_in = False
    if os.path.exists(module.params["hub_session_file"]):
        session = module_common.open_module_session(module, config)
    elif module.check_mode:
        module.exit_json(changed=False, claimed=False, checked_in=False,
                         msg="check mode: would log in and take a task")
    else:
        session = _login(module, config)
    try:
        host = session.host.getHost()
        host_id = host["id"]
        task_ids = [module.params["task_id"]] if module.params["task_id"] else None
        if task_ids is None and not module.check_mode:
            ready, reason = task_claim.readiness(config, host, 0.0, 0)
            task_claim.check_in(session, config, 0.0, ready, methods)
            checked_in = True
            if not ready:
                module.exit_json(changed=False, claimed=False, checked_in=True,
                                 msg="host not ready: %s" % reason)
            task_ids = [t["id"] for t in task_claim.assigned_tasks(session, host_id)]
        elif task_ids is None:
            task_ids = [t["id"] for t in task_claim.assigned_tasks(session, host_id)]

        last = None
        for task_id in task_ids:
            if module.check_mode:
                info = session.getTaskInfo(task_id, request=True)
                module.exit_json(changed=info is not None, claimed=False, checked_in=False,
                                 task={"task_id": task_id, "status": "would_take",
                                       "method": info and info["method"]})
            claim = task_claim.take_task(session, task_id, methods, host, host_id)
            last = claim
            if claim.owned:
                result = dict(changed=claim.status == claim.TAKEN, claimed=True,
                              checked_in=checked_in, task=claim.as_dict())
                if claim.param_error:
                    module.fail_json(msg=claim.param_error, koji_fault="ParameterError",
                                     **result)
                module.exit_json(**result)
        if module.params["task_id"]:
            module.fail_json(msg="task %s cannot be taken: %s (%s)" % (
                module.params["task_id"], last.status, last.reason),
                claimed=False, checked_in=checked_in, task=last.as_dict(),
                changed=last.status == last.REFUSED, koji_fault="ActionNotAllowed")
        module.exit_json(changed=last is not None and last.status == last.REFUSED,
                         claimed=False, checked_in=checked_in,
                         msg="no task assigned to this host could be taken")
    except koji.GenericError as exc:
        module_common.fail_from_exception(module, exc, "hub call failed")
    finally:
        hub_session.release_session(session)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

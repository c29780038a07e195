#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_worker_restart
short_description: The steps of koji's restart and shutdown tasks (restart, restartVerify, restartHosts, shutdown)
version_added: 0.2.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - C(state=requested) (task C(restart)) - checks that the task's host is this host (C(Host
    mismatch) otherwise) and sends the worker daemon SIGUSR1. The daemon takes no new tasks,
    frees the tasks that are only waiting for children, and restarts once idle, as kojid does.
  - C(state=verified) (task C(restartVerify)) - fails unless the C(restart) task is CLOSED, the
    host is this host and the worker daemon started after the C(restart) task completed.
  - C(state=planned) (task C(restartHosts)) - lists the enabled hosts to restart (options
    C(channel), C(arches)) and returns the C(restart) children to create, one per host, assigned
    to it. With O(hosts) and O(restart_task_ids) (the first call's hosts and the ids of their
    C(restart) children) it returns the C(restartVerify) children instead.
  - C(state=stop_requested) (task C(shutdown)) - asks the worker daemon to stop, through the
    step's C(koji_adjutant) result (C(worker_stop=requested)). The daemon then does what kojid
    does on a shutdown task - its running tasks are stopped and freed (the shutdown task too,
    which is never closed), the host is reported not ready (C(host.updateHost(0.0, False))), the
    session logged out - and exits with status 0. Run by hand, nothing reads the request.
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
  - koji_adjutant.builder.hub.TASK
attributes:
  check_mode:
    support: full
    details: In check mode nothing is signalled.
  diff_mode:
    support: none
options:
  state:
    description: Which step.
    type: str
    choices: [requested, verified, planned, stop_requested]
    required: true
  host:
    description: The host the task names (its C(host) parameter, a C(getHost) struct).
    type: dict
  worker_pid:
    description: Process id of the worker daemon (the C(koji_worker_pid) extra variable).
    type: int
  worker_started:
    description: When the worker daemon started, seconds since the epoch (C(koji_worker_started)).
    type: float
  restart_task_id:
    description: The C(restart) task to verify (O(state=verified)).
    type: int
  options:
    description: The C(restartHosts) options (C(channel), C(arches), C(timeout)).
    type: dict
  hosts:
    description: For O(state=planned) - the hosts the first call returned.
    type: list
    elements: dict
  restart_task_ids:
    description: For O(state=planned) - the ids of the C(restart) children, in the order of O(hosts).
    type: list
    elements: int
"""

EXAMPLES = r"""
- name: Ask the worker for a graceful restart (task restart)
  koji_adjutant.builder.koji_worker_restart:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: requested
    host: "{{ claim.task.params.host }}"
    worker_pid: "{{ koji_worker_pid }}"
  register: restart

- name: Check that the worker restarted (task restartVerify)
  koji_adjutant.builder.koji_worker_restart:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: verified
    restart_task_id: "{{ claim.task.params.task_id }}"
    host: "{{ claim.task.params.host }}"
    worker_started: "{{ koji_worker_started }}"

- name: Ask the worker daemon to stop (task shutdown)
  koji_adjutant.builder.koji_worker_restart:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: stop_requested
"""

RETURN = r"""
result:
  description: The task's result (C(graceful restart initiated) for O(state=requested), else null).
  returned: state=requested or verified
  type: str
hosts:
  description: The hosts to restart (O(state=planned)).
  returned: state=planned
  type: list
  elements: dict
subtasks:
  description: The children to create with M(koji_adjutant.builder.koji_subtask).
  returned: state=planned
  type: list
  elements: dict
timeout:
  description: Seconds to wait for the children (the C(timeout) option, default one day).
  returned: state=planned
  type: int
koji_adjutant:
  description:
    - What the worker daemon learns from this step (see the collection's C(docs/architecture.md)) -
      C(worker_stop=requested), the worker is to stop.
  returned: state=stop_requested, not in check mode
  type: dict
  sample: {worker_stop: requested}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import worker_restart


ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", required=True,
               choices=["requested", "verified", "planned", "stop_requested"]),
    host=dict(type="dict"),
    worker_pid=dict(type="int"),
    worker_started=dict(type="float"),
    restart_task_id=dict(type="int"),
    options=dict(type="dict"),
    hosts=dict(type="list", elements="dict"),
    restart_task_ids=dict(type="list", elements="int"),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
    required_if=[("state", "requested", ("host",)),
                 ("state", "verified", ("host", "restart_task_id", "worker_started"))],
    required_together=[("hosts", "restart_task_ids")],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    params = module.params
    if params["state"] == "stop_requested":
        report = {} if module.check_mode else module_common.daemon_report(
            **{module_common.WORKER_STOP: "requested"})
        module.exit_json(changed=True, msg="worker stop requested", **report)
    with module_common.task_hub_session(module, config) as session:
        if params["state"] == "requested":
            if module.check_mode:
                worker_restart.check_host(session, params["host"])
                module.exit_json(changed=True, result=worker_restart.RESTART_RESULT)
            result = worker_restart.request_restart(session, params["host"], params["worker_pid"])
            module.exit_json(changed=True, result=result)
        if params["state"] == "verified":
            worker_restart.verify_restart(session, params["restart_task_id"], params["host"],
                                          params["worker_started"])
            module.exit_json(changed=False, result=None)
        options = params["options"] or {}
        if params["hosts"] is None:
            hosts = worker_restart.hosts_to_restart(session, options)
            subtasks = worker_restart.restart_subtasks(hosts)
        else:
            hosts = params["hosts"]
            if len(params["restart_task_ids"]) != len(hosts):
                module.fail_json(msg="expected %d restart task ids, got %d"
                                 % (len(hosts), len(params["restart_task_ids"])))
            subtasks = worker_restart.verify_subtasks(hosts, params["restart_task_ids"])
        timeout = worker_restart.wait_timeout(options)
        module.exit_json(changed=False, hosts=hosts, subtasks=subtasks, timeout=timeout)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

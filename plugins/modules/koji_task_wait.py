#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_task_wait
short_description: Wait for the subtasks of a koji task without holding capacity
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Waits the way kojid's handlers do. C(host.taskSetWait) marks the parent waiting, so its
    weight no longer counts toward the host's load (on the hub and in the worker daemon) and
    the host can take other work meanwhile. Then C(host.taskWait) is polled every
    O(poll_interval) seconds until the children are done, and their results are read with
    C(host.taskWaitResults).
  - With O(failany), the first child that fails or is canceled cancels its siblings
    (C(cancelTaskChildren)) and fails this module with the child's fault class and message, so
    the parent fails the same way (kojid re-raises the child's fault).
  - With O(dependencies) it waits instead for tasks that are not children, as koji's
    C(dependantTask) does - C(taskFinished) polled every O(poll_interval) seconds (entries that
    are not task ids of the hub are dropped) - and fails with GenericError C(Dependency N failed
    to complete.) when one of them FAILED or was CANCELED.
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
  subtasks:
    description: Ids of the children to wait for. Default - all children of the task.
    type: list
    elements: int
  dependencies:
    description:
      - Tasks to wait for that are not children of this one (koji's C(dependantTask)
        C(wait_list)). Not with O(subtasks).
    type: list
    elements: raw
  wait_all:
    description: Wait for all of them (C(false) - return when any is done).
    type: bool
    default: true
  failany:
    description: Fail fast on the first failed child (with O(wait_all)).
    type: bool
    default: true
  canfail:
    description: Children allowed to fail.
    type: list
    elements: int
    default: []
  timeout:
    description: Seconds to wait at most (0 - no limit); then the children are canceled.
    type: int
    default: 0
  poll_interval:
    description: Seconds between C(host.taskWait) polls.
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: Wait for all createrepo children, failing on the first failure
  koji_adjutant.builder.koji_task_wait:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    subtasks: "{{ children.task_ids }}"
  register: waited

- name: Wait for the tasks a dependantTask depends on
  koji_adjutant.builder.koji_task_wait:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    dependencies: "{{ claim.task.params.wait_list }}"
    poll_interval: 1
"""

RETURN = r"""
dependencies:
  description: The O(dependencies) waited for (the task ids the hub knows).
  returned: success, with O(dependencies)
  type: list
  elements: int
task_results:
  description: The children's results (decoded), by task id.
  returned: success
  type: dict
  sample: {"1235": ["tasks/1235/1235", ["repomd.xml", "primary.xml.gz"]]}
task_ids:
  description: Ids of the children whose results are returned.
  returned: success
  type: list
  elements: int
failed_task:
  description: The child that failed (with O(failany)).
  returned: failure
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import subtasks as subtask_lib

try:
    from koji.xmlrpcplus import Fault
except ImportError:
    Fault = Exception


ARGUMENT_SPEC = module_common.task_argument_spec(
    subtasks=dict(type="list", elements="int"),
    dependencies=dict(type="list", elements="raw"),
    wait_all=dict(type="bool", default=True),
    failany=dict(type="bool", default=True),
    canfail=dict(type="list", elements="int", default=[]),
    timeout=dict(type="int", default=0),
    poll_interval=dict(type="float", default=2.0),
)

MODULE_OPTIONS = dict(
    supports_check_mode=False,
    mutually_exclusive=[("subtasks", "dependencies")],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    params = module.params
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config) as session:
        if params["dependencies"] is not None:
            waited = subtask_lib.wait_for_dependencies(session, params["dependencies"],
                                                       poll_interval=params["poll_interval"])
            module.exit_json(changed=False, dependencies=waited)
        try:
            results = subtask_lib.wait_for_subtasks(
                session, params["task_id"], params["subtasks"], wait_all=params["wait_all"],
                failany=params["failany"], canfail=params["canfail"] or None,
                timeout=params["timeout"] or None, poll_interval=params["poll_interval"])
        except subtask_lib.SubtasksTimedOut as exc:
            module.fail_json(msg=str(exc), koji_fault="GenericError")
        except Fault as exc:
            # koji errors reach the session context (their class kept); this is an
            # unexpected error of a child (fault code 1 and its text), passed on as is
            module.fail_json(msg=exc.faultString, koji_fault=str(exc.faultCode))
    module.exit_json(changed=True,
                     task_results=dict((str(k), v) for k, v in results.items()),
                     task_ids=sorted(results))


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

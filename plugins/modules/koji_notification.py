#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_notification
short_description: Send the mail of a koji tagNotification or buildNotification task
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - The hub makes C(tagNotification) and C(buildNotification) tasks with the recipients
    already chosen. This module looks up what the mail says (the build, user and tags, or
    the build's whole task tree with its logs and rpms) and sends it through the config's
    C(smtphost) (C(host) or C(host:port)) from C(from_addr), logging in when C(smtp_user)
    and C(smtp_pass) are set.
  - "Subjects and C(X-Koji-*) headers are kojid's, so existing mail filters keep working.
    For a tag operation the subject is C(<nvr> successfully|unsuccessfully tagged|untagged|moved
    [from <tag>] [into <tag>] by <user>). For a build it is
    C(Package: <nvr> Tag: <dest tag> Status: <status> Built by: <owner>)."
  - No mail is sent when there are no recipients, or for a successful tag operation with
    C(ignore_success). An SMTP error fails the module, so the task fails, as with kojid.
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
  - koji_adjutant.builder.hub.TASK
attributes:
  check_mode:
    support: full
    details: In check mode the mail is composed but not sent.
  diff_mode:
    support: none
options:
  method:
    description: The task's method.
    type: str
    required: true
    choices: [tagNotification, buildNotification]
  params:
    description: The task's decoded parameters.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Send the tag notification
  koji_adjutant.builder.koji_notification:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    method: tagNotification
    params: "{{ claim.task.params }}"
  register: mail
"""

RETURN = r"""
result:
  description: The task's result, kojid's text naming the recipients (C(null) when no mail was due).
  returned: success
  type: str
  sample: "sent notification of tag operation 1234 to: alice@example.com, bob@example.com"
message:
  description: The mail as sent (in check mode, as it would be sent).
  returned: success
  type: str
"""

import smtplib
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import notifications


ARGUMENT_SPEC = module_common.task_argument_spec(
    method=dict(type="str", required=True, choices=["tagNotification", "buildNotification"]),
    params=dict(type="dict", required=True),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    params = module.params
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config) as session:
        if params["method"] == "tagNotification":
            message = notifications.tag_message(session, config, params["params"])
        else:
            message = notifications.build_message(session, config, params["task_id"],
                                                  params["params"])
    if message is None or module.check_mode:
        module.exit_json(changed=False, result=None, message=message)
    try:
        result = notifications.deliver(config, params["task_id"], params["method"],
                                       params["params"], message)
    except (smtplib.SMTPException, socket.error) as exc:
        module.fail_json(msg="cannot send the notification through %s: %s"
                         % (config.smtphost, exc), koji_fault="GenericError")
    module.exit_json(changed=True, result=result, message=message)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_host
short_description: Register a build host on a koji hub (arches, capacity, channels, enabled)
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - Makes a build host exist on a koji hub as described, what an administrator does with
    C(koji add-host), C(koji edit-host), C(koji enable-host)/C(disable-host) and
    C(koji add-host-to-channel)/C(remove-host-from-channel).
  - Logs in with the given (administrator) credentials and calls C(getHost), C(listChannels),
    C(getChannel), then only what is needed of C(addHost), C(editHost), C(enableHost),
    C(disableHost), C(addHostToChannel) and C(removeHostFromChannel). Running it again
    changes nothing.
  - Before changing anything it checks that every channel to join exists (or may be created)
    and is enabled, and that the user has the C(host) permission (C(admin) to create
    channels), so a refused registration leaves the hub as it was. Check mode makes the same
    checks.
  - Options left unset are left as the hub has them. A new host gets koji's defaults (enabled,
    the hub's default capacity, channel C(default)).
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  server:
    description: URL of the hub's XML-RPC interface, as in a koji profile.
    type: str
    required: true
  user:
    description:
      - User to log in as with a password (the hub's password authentication).
      - Ignored when O(cert) is given.
    type: str
  password:
    description: Password of O(user).
    type: str
  cert:
    description: Client certificate (with its key, PEM) to log in with (C(sslLogin)).
    type: path
  serverca:
    description: CA certificate to verify the hub's certificate with, for O(cert) logins.
    type: path
  principal:
    description:
      - Kerberos principal for a GSSAPI login, used when neither O(cert) nor O(user) is given.
        Without O(principal) and O(keytab) the default credentials cache is used (C(kinit)).
    type: str
  keytab:
    description: Keytab holding the key of O(principal), for a GSSAPI login.
    type: path
  validate_certs:
    description: Verify the hub's TLS certificate. Turn off only for test hubs.
    type: bool
    default: true
  name:
    description: The host's name (its koji user name, what the worker logs in as).
    type: str
    required: true
  arches:
    description:
      - Arches the host builds for. Needed to add a host that does not exist yet.
      - Compared as a set, so the order does not make a change.
    type: list
    elements: str
  capacity:
    description: The host's capacity (the task weight it takes at once).
    type: float
  description:
    description: The host's description. An empty string clears it.
    type: str
  comment:
    description: The host's comment. An empty string clears it.
    type: str
  enabled:
    description:
      - Whether the host is enabled (the scheduler gives tasks only to enabled hosts).
      - Unset leaves it as it is; a new host is enabled.
    type: bool
  channels:
    description:
      - Channels the host must be in. A new host is also in C(default), which is kept unless
        O(channels_exclusive) is set and C(default) is not listed.
    type: list
    elements: str
  channels_exclusive:
    description: Remove the host from every channel not listed in O(channels).
    type: bool
    default: false
  create_channels:
    description:
      - Create channels of O(channels) that do not exist (needs the C(admin) permission).
        Without it a missing channel fails the module before anything changes.
    type: bool
    default: false
  host_principal:
    description: Kerberos principal of the new host's user (C(addHost)'s C(krb_principal)).
      Used only when the host is added.
    type: str
  state:
    description:
      - V(present) makes the host exist as described.
      - koji has no way to delete a host (its history refers to it). V(absent) disables an
        existing host, as O(enabled=false), and leaves everything else; a host that does not
        exist is not added.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - koji (the koji client library, Python) where the module runs
notes:
  - The hub calls go through C(koji.ClientSession); the session is logged out at the end.
  - Logged-in calls are retried 3 times, 10 seconds apart, on connection errors.
  - Password logins work only where the hub allows them (the dev hub does); production hubs
    usually take certificates or Kerberos.
"""

EXAMPLES = r"""
- name: Register this worker on the hub
  koji_adjutant.builder.koji_host:
    server: https://koji.example.com/kojihub
    cert: /etc/pki/koji/kojiadmin.pem
    serverca: /etc/pki/koji/koji-ca.crt
    name: "{{ inventory_hostname }}"
    arches: [x86_64, i686]
    capacity: 4.0
    description: koji-adjutant worker
    channels: [default, createrepo]
  delegate_to: localhost

- name: Keep the host only in the image channel, created if missing
  koji_adjutant.builder.koji_host:
    server: http://127.0.0.1:8080/kojihub
    user: kojiadmin
    password: "{{ koji_admin_password }}"
    name: builder1
    channels: [image]
    channels_exclusive: true
    create_channels: true

- name: Take a host out of service (koji cannot delete hosts)
  koji_adjutant.builder.koji_host:
    server: https://koji.example.com/kojihub
    principal: admin@EXAMPLE.COM
    keytab: /etc/koji/admin.keytab
    name: old-builder.example.com
    state: absent
"""

RETURN = r"""
host:
  description:
    - The host as C(getHost) returns it after the run (id, user_id, name, arches, capacity,
      description, comment, enabled, ready, task_load, update_ts).
    - In check mode the host as it is now; null when it does not exist (yet).
  returned: success
  type: dict
  sample:
    id: 3
    name: builder1
    arches: x86_64 i686
    capacity: 4.0
    description: koji-adjutant worker
    comment: null
    enabled: true
    ready: false
    task_load: 0.0
    update_ts: null
    user_id: 5
channels:
  description: Names of the host's channels after the run (in check mode, as they would be).
  returned: success
  type: list
  elements: str
  sample: [createrepo, default]
changes:
  description: What was changed (in check mode, what would be), one line per change.
  returned: success
  type: list
  elements: str
  sample:
    - "add host builder1 (arches: x86_64 i686)"
    - "capacity: 2.0 -> 4.0"
    - "add host builder1 to channel createrepo"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import host_registration


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str", required=True),
            user=dict(type="str"),
            password=dict(type="str", no_log=True),
            cert=dict(type="path"),
            serverca=dict(type="path"),
            principal=dict(type="str"),
            keytab=dict(type="path", no_log=False),
            validate_certs=dict(type="bool", default=True),
            name=dict(type="str", required=True),
            arches=dict(type="list", elements="str"),
            capacity=dict(type="float"),
            description=dict(type="str"),
            comment=dict(type="str"),
            enabled=dict(type="bool"),
            channels=dict(type="list", elements="str"),
            channels_exclusive=dict(type="bool", default=False),
            create_channels=dict(type="bool", default=False),
            host_principal=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_together=[("user", "password")],
        required_if=[("channels_exclusive", True, ("channels",))],
        supports_check_mode=True,
    )
    module_common.require_koji(module)
    result = run(module)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


def run(module):
    session = None
    try:
        session = host_registration.open_admin_session(module.params)
        return host_registration.register_host(session, module.params,
                                               check_mode=module.check_mode)
    except host_registration.RegistrationError as exc:
        module.fail_json(msg=str(exc), koji_fault=exc.fault)
    except module_common.koji.GenericError as exc:
        module_common.fail_from_exception(module, exc, prefix="hub call failed")
    finally:
        host_registration.close_session(session)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Options shared by the modules that talk to the koji hub."""

    DOCUMENTATION = r"""
options:
  koji_config:
    description:
      - Path of the worker's configuration, kojid's own C(kojid.conf) with an optional
        C([adjutant]) section.
      - The C([kojid]) section gives the hub (C(server)), C(topdir), C(topurl), C(workdir),
        credentials and the macros kojid sets (C(vendor), C(packager), C(distribution)).
    type: path
    default: /etc/kojid/kojid.conf
  hub_session_file:
    description:
      - File holding the task's hub session (a subsession of the host's exclusive session)
        and its next call number, written by the worker daemon or by
        M(koji_adjutant.builder.koji_task_claim). Every call through it updates it.
    type: path
    required: true
requirements:
  - koji (the koji client library, Python)
notes:
  - Hub calls go through C(koji.ClientSession); the hub cannot tell this from kojid.
"""

    TASK = r"""
options:
  task_id:
    description:
      - The koji task this step belongs to. The task must be OPEN and owned by this host.
    type: int
    required: true
"""

# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Descriptions of the module attributes; each module states its support."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Whether the module can run in check mode, reporting what it would change without changing it.
  diff_mode:
    description: Whether the module reports a diff of what it changed.
"""

    # for the modules in some of the collection's action groups (meta/runtime.yml); each
    # states its membership. (Each fragment is one literal: ansible-test reads them as such.)
    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description:
      - The C(module_defaults) groups the module is in. The collection has one group per
        option its task modules share, made of the modules that take it -
        C(group/koji_adjutant.builder.worker_config) for C(koji_config),
        C(group/koji_adjutant.builder.task_session) for C(hub_session_file) and
        C(group/koji_adjutant.builder.task) for C(task_id). The task playbooks set the three
        options once per play that way.
"""

    # for the modules in all three groups: the membership in one place
    ACTION_GROUP_TASK = r"""
options: {}
attributes:
  action_group:
    description:
      - The C(module_defaults) groups the module is in. The collection has one group per
        option its task modules share, made of the modules that take it -
        C(group/koji_adjutant.builder.worker_config) for C(koji_config),
        C(group/koji_adjutant.builder.task_session) for C(hub_session_file) and
        C(group/koji_adjutant.builder.task) for C(task_id). The task playbooks set the three
        options once per play that way.
    support: full
    membership:
      - koji_adjutant.builder.worker_config
      - koji_adjutant.builder.task_session
      - koji_adjutant.builder.task
"""

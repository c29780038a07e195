# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local connection, with modules run by a pre-warmed interpreter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: warm_local
short_description: Run on the controller, modules in a pre-warmed interpreter
version_added: 0.1.0
author: koji-adjutant contributors (@koji-adjutant)
description:
  - The C(ansible.builtin.local) connection, except that a pipelined Python module is run by a
    module server - an interpreter that has imported koji, rpm and Ansible's module library
    once - in a process forked from it, instead of by a new interpreter.
  - The worker daemon uses it for every task playbook (C([adjutant] module_server)), with the
    server's directory inside the task's private directory. The first module call starts the
    server; the daemon stops it when the playbook ends. A playbook that is stopped stops the
    module it was running.
  - With O(ansiballz_cache_dir), the AnsiballZ payloads of this collection's modules are kept
    from one playbook run to the next, so that a playbook does not build them again (Ansible
    keeps them only for the life of one C(ansible-playbook) process).
  - Without O(module_server_dir), with privilege escalation, for anything but a pipelined
    module, or when the server cannot be started (a warning says why), the command runs exactly
    as with C(ansible.builtin.local).
extends_documentation_fragment:
  - connection_pipelining
options:
  module_server_dir:
    description:
      - Directory for the module servers' sockets, locks and logs (created with mode 0700);
        there is one server per Python interpreter.
      - Unset, every command runs as with C(ansible.builtin.local).
    type: path
    vars:
      - name: koji_adjutant_module_server_dir
  ansiballz_cache_dir:
    description:
      - Directory (created with mode 0700) that keeps the AnsiballZ payloads of the
        C(koji_adjutant.builder) modules between playbook runs, in a subdirectory named after
        a fingerprint of the ansible-core release and the collection's modules and
        module_utils; subdirectories of other fingerprints are removed.
      - The module processes also keep there, in C(bytecode/), the code Python compiles from
        the payloads' sources (a payload's zip holds sources only), under a hash of the
        interpreter's bytecode magic, the source's path in the zip and the source itself.
      - Unset, each playbook builds the payloads it needs, as Ansible does.
    type: path
    vars:
      - name: koji_adjutant_ansiballz_cache_dir
  become_success_timeout:
    description:
      - Seconds to wait for privilege escalation to succeed (as with C(ansible.builtin.local)).
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description:
      - Remove the privilege escalation output that comes before the command's own output
        (as with C(ansible.builtin.local)).
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
"""

import os
import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.utils.display import Display

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_server
from ansible_collections.koji_adjutant.builder.plugins.plugin_utils import ansiballz_cache

# inside the fingerprinted payload directory: the code compiled from the payloads' sources
BYTECODE_DIR = "bytecode"

display = Display()


def pipelined_interpreter(cmd):
    """The interpreter of a pipelined module command, ``/bin/sh -c 'PYTHON && sleep 0'``.

    For anything else (an environment prefix, another command) None.
    """
    try:
        words = shlex.split(to_text(cmd))
        if len(words) != 3 or os.path.basename(words[0]) != "sh" or words[1] != "-c":
            return None
        inner = shlex.split(words[2])
    except ValueError:
        return None
    if len(inner) == 4 and inner[1:] == ["&&", "sleep", "0"] and os.path.isabs(inner[0]):
        return inner[0]
    return None


class Connection(LocalConnection):
    """``local``, with pipelined modules sent to the module server."""

    transport = "koji_adjutant.builder.warm_local"

    _payload_cache = None

    def set_options(self, task_keys=None, var_options=None, direct=None):
        # the options are set before the task's module payload is built: seed the
        # playbook's own payload cache from the persistent one here
        super(Connection, self).set_options(task_keys=task_keys, var_options=var_options,
                                            direct=direct)
        root = self.get_option("ansiballz_cache_dir")
        self._payload_cache = None
        if root:
            try:
                self._payload_cache = ansiballz_cache.persistent_dir(root)
            except OSError as exc:
                display.warning("not using the AnsiballZ cache in %s: %s" % (root, exc))

    def _keep_payloads(self):
        if self._payload_cache:
            try:
                ansiballz_cache.keep_new_payloads(self._payload_cache)
            except OSError as exc:
                display.warning("cannot keep AnsiballZ payloads in %s: %s"
                                % (self._payload_cache, exc))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self._keep_payloads()
        root = self.get_option("module_server_dir")
        interpreter = pipelined_interpreter(cmd) if in_data else None
        if not root or interpreter is None or self.become:
            return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        directory = module_server.server_directory(root, interpreter)
        try:
            sock = module_server.connect(directory, interpreter)
        except module_server.ModuleServerError as exc:
            display.warning("running the module without the module server: %s" % exc)
            return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        display.vvv("EXEC (module server %s) %s" % (directory, to_text(cmd)),
                    host=self._play_context.remote_addr)
        try:
            return module_server.run_module(
                sock, to_bytes(in_data), dict(os.environ), self.cwd or os.getcwd(),
                bytecode_dir=os.path.join(self._payload_cache, BYTECODE_DIR)
                if self._payload_cache else None)
        except (OSError, EOFError, ValueError) as exc:
            # the module may have run in part: it is not run again
            raise AnsibleConnectionFailure("the module server in %s lost the module run: %s"
                                           % (directory, exc))
